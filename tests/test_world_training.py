"""Training recipes at a tiny size: they run, checkpoint, resume, and write loadable weights."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from latentedit.world import scoring
from latentedit.world.render import render_batch
from latentedit.world.train.gan import GanConfig, GanTrainer
from latentedit.world.train.state import load_state, save_state
from latentedit.world.train.supervised import (
    SupervisedConfig,
    SupervisedTrainer,
    build_scorer,
    build_segmenter,
    scorer_loss,
    segmenter_loss,
)
from latentedit.world.weights import load_module, save_module
from tests.helpers import one_line_error, run

TINY_GAN = GanConfig(
    resolution=16, z_dim=16, w_dim=16, mapping_layers=2, channel_base=128, channel_max=16, batch=4, quality_samples=20
)


def test_gan_recipe_trains_checkpoints_and_resumes(tmp_path: Path) -> None:
    trainer = GanTrainer(TINY_GAN, tmp_path)
    trainer.run(total_kimg=0.012, checkpoint_kimg=0.004, snapshot_kimg=0.008)
    assert trainer.nimg == 12 and trainer.checkpoint_path.is_file()
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == [
        "gan-00000kimg.safetensors",
        "grid-00000kimg.png",
        "quality.jsonl",
    ]
    quality = json.loads((tmp_path / "snapshots" / "quality.jsonl").read_text().splitlines()[0])
    assert quality["snapshot"] == "gan-00000kimg.safetensors" and quality["samples"] == 20
    assert 0 <= quality["binary_rate_gap"] <= 1 and "glasses" in quality["generated"]
    resumed = GanTrainer(TINY_GAN, tmp_path)
    resumed.resume()
    assert resumed.nimg == 12
    for saved, loaded in zip(trainer.G_ema.state_dict().values(), resumed.G_ema.state_dict().values(), strict=True):
        assert torch.equal(saved, loaded)
    # resuming continues the same optimiser state: one more step from either gives the same weights
    torch.manual_seed(1)
    trainer.train_step()
    torch.manual_seed(1)
    resumed.train_step()
    assert torch.allclose(next(trainer.G.parameters()), next(resumed.G.parameters()))


def test_the_ema_generator_moves_towards_the_live_one(tmp_path: Path) -> None:
    trainer = GanTrainer(TINY_GAN, tmp_path)
    before = [p.clone() for p in trainer.G_ema.parameters()]
    trainer.train_step()
    changed = [not torch.equal(a, b) for a, b in zip(before, trainer.G_ema.parameters(), strict=True)]
    assert any(changed)


def test_scorer_and_segmenter_recipes_take_steps_and_round_trip(tmp_path: Path) -> None:
    for build, loss_fn in ((build_scorer, scorer_loss), (build_segmenter, segmenter_loss)):
        config = SupervisedConfig(steps=2, batch=4, width=8)
        trainer = SupervisedTrainer(build(config), loss_fn, config, tmp_path / build.__name__)
        trainer.run(checkpoint_every=1)
        path = save_module(tmp_path / f"{build.__name__}.safetensors", trainer.model, "test")
        loaded = load_module(path, type(trainer.model), "test")
        images = torch.zeros(2, 3, 64, 64)
        expected = trainer.model.eval()(images)
        actual = loaded(images)
        if isinstance(expected, dict):
            expected, actual = torch.cat(list(expected.values()), 1), torch.cat(list(actual.values()), 1)
        assert torch.allclose(expected, actual, atol=5e-2)  # fp16 storage


def test_scoring_targets_decode_back_to_the_exact_values() -> None:
    _, _, records = render_batch(list(range(20)))
    target = scoring.targets(records)
    logits = {}
    for name, (kind, _) in scoring.HEADS.items():
        if kind == "binary":
            logits[name] = (target[name] * 2 - 1) * 20
        elif kind == "categorical":
            logits[name] = torch.nn.functional.one_hot(target[name], scoring.HEADS[name][1]).float() * 20
        else:
            logits[name] = target[name]
    report = scoring.accuracy_report(scoring.decode(logits), scoring.exact_scores(records))
    assert all(value > 0.999 for value in report.values()), report


def test_segmenter_command_trains_refuses_to_clobber_and_resumes_with_new_settings(cli, tmp_path: Path) -> None:
    run_dir = tmp_path / "seg"
    tiny = ["-o", "width=8", "-o", "batch=2", "-o", "heldout=4", "--quiet"]
    first = run(cli, "world", "train", "segmenter", "--out", str(run_dir), "--steps", "2", *tiny)
    assert first.exit_code == 0, first.output
    assert set(json.loads((run_dir / "heldout.json").read_text())) >= {"mean_iou", "iou_glasses"}

    again = run(cli, "world", "train", "segmenter", "--out", str(run_dir), "--steps", "3", "--quiet")
    assert again.exit_code == 2
    assert "--resume" in one_line_error(again)

    resumed = run(
        cli, "world", "train", "segmenter", "--out", str(run_dir), "--steps", "3", "--resume", "-o", "blur_sigma=0.5"
    )
    assert resumed.exit_code == 0, resumed.output
    assert "Resumed at step 2" in resumed.output
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["steps"], config["width"], config["blur_sigma"]) == (3, 8, 0.5)


def test_a_network_too_narrow_to_build_is_refused_in_one_line(cli, tmp_path: Path) -> None:
    result = run(cli, "world", "train", "scorers", "--out", str(tmp_path / "s"), "-o", "width=4")
    assert result.exit_code == 2
    assert "width must be an even number of at least 8" in one_line_error(result)


def test_encoder_command_trains_reports_and_becomes_the_embedded_worlds_encoder(
    cli, tmp_path: Path, monkeypatch
) -> None:
    from latentedit.checkpoints.layout import save_networks
    from latentedit.loaders import load_backend
    from latentedit.world.weights import GAN

    generator = load_backend("random:64")
    weights = tmp_path / "weights"
    save_networks(weights / GAN, generator.G, generator.D, source_format="latentedit")
    tiny = ["--steps", "2", "-o", "batch=2", "-o", "width=8", "-o", "render_every=2", "-o", "heldout=4", "--quiet"]
    result = run(
        cli,
        "world",
        "train",
        "encoder",
        "--backend",
        "random:64",
        "--out",
        str(tmp_path / "enc"),
        "--steps",
        "2",
        *tiny,
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "enc" / "heldout.json").read_text())
    assert report["images"] == 4
    assert all(math.isfinite(report[key]) for key in ("psnr_rendered", "psnr_generated", "latent_mse_generated"))

    first = tmp_path / "enc" / "world_encoder.safetensors"
    tuned = run(cli, "world", "train", "encoder", "--backend", "random:64", "--out", str(tmp_path / "tuned"), *tiny,
                "-o", "seed=1", "--init", str(first))  # fmt: skip
    assert tuned.exit_code == 0, tuned.output
    from latentedit.world.networks import Encoder
    from latentedit.world.weights import load_module

    before, after = (
        load_module(path, Encoder, "encoder").state_dict() for path in (first, tmp_path / "tuned" / first.name)
    )
    moved = max(float((before[key] - after[key]).abs().max()) for key in before if key != "w_avg")
    assert moved < 0.01  # two small steps from the given weights, not a seed-1 initialisation
    both = run(cli, "world", "train", "encoder", "--backend", "random:64", "--out", str(tmp_path / "enc"), *tiny,
               "--resume", "--init", str(first))  # fmt: skip
    assert both.exit_code == 2 and "Pick one" in one_line_error(both)

    first.rename(weights / "world_encoder.safetensors")
    monkeypatch.setenv("LATENTEDIT_WEIGHTS", str(weights))
    assert load_backend("embedded").encoder is not None


def test_the_encoder_recipe_refuses_a_generator_of_another_size(cli, tmp_path: Path) -> None:
    result = run(cli, "world", "train", "encoder", "--backend", "random:32", "--out", str(tmp_path / "e"), "--quiet")
    assert result.exit_code == 2
    assert "learns from 64 px world renders" in one_line_error(result)


def test_resuming_with_another_network_size_is_refused_in_one_line(cli, tmp_path: Path) -> None:
    tiny = ["--steps", "1", "-o", "batch=2", "-o", "heldout=2", "--quiet"]
    assert run(cli, "world", "train", "segmenter", "--out", str(tmp_path), *tiny, "-o", "width=8").exit_code == 0
    result = run(cli, "world", "train", "segmenter", "--out", str(tmp_path), "--resume", "-o", "width=16", *tiny)
    assert result.exit_code == 2
    assert "another shape than these settings make" in one_line_error(result)


def test_a_resumed_gan_takes_the_learning_rate_given_now(tmp_path: Path) -> None:
    GanTrainer(TINY_GAN, tmp_path).save()
    slower = GanTrainer(GanConfig(**{**TINY_GAN.__dict__, "lr": 0.001}), tmp_path)
    slower.resume()
    assert slower.opt_G.param_groups[0]["lr"] == 0.001
    assert slower.opt_D.param_groups[0]["lr"] == pytest.approx(0.001 * 16 / 17)


def test_the_path_length_regulariser_evens_out_how_far_steps_in_w_move_the_image(tmp_path: Path) -> None:
    config = GanConfig(**{**TINY_GAN.__dict__, "pl_weight": 2.0, "pl_interval": 1})
    trainer = GanTrainer(config, tmp_path)
    assert trainer.opt_G.param_groups[0]["lr"] == pytest.approx(config.lr / 2)  # lazy: scaled as StyleGAN2
    first = trainer.train_step()["path_length"]
    assert trainer.pl_mean == pytest.approx(first)  # switched on late, the target starts where the run is
    mapping_before = [p.clone() for p in trainer.G.mapping.parameters()]
    torch.manual_seed(0)
    trainer.path_length_step()
    assert any(not torch.equal(a, b) for a, b in zip(mapping_before, trainer.G.mapping.parameters(), strict=True))
    trainer.save()
    resumed = GanTrainer(config, tmp_path)
    resumed.resume()
    assert resumed.pl_mean == trainer.pl_mean != 0


def test_the_mapping_network_can_learn_faster_than_the_synthesis_network(tmp_path: Path) -> None:
    trainer = GanTrainer(GanConfig(**{**TINY_GAN.__dict__, "mapping_lr_scale": 10.0}), tmp_path)
    synthesis, mapping = trainer.opt_G.param_groups
    assert mapping["lr"] == pytest.approx(10 * synthesis["lr"])
    assert {id(p) for p in mapping["params"]} == {id(p) for p in trainer.G.mapping.parameters()}


def test_a_checkpoint_with_one_generator_parameter_group_resumes_into_two(tmp_path: Path) -> None:
    """Checkpoints from before the mapping had its own learning rate still resume, state intact."""
    trainer = GanTrainer(TINY_GAN, tmp_path)
    trainer.train_step()
    everything = [p for group in trainer.opt_G.param_groups for p in group["params"]]
    old_style = torch.optim.Adam(everything, betas=(0.0, 0.99))
    one_group = [old_style.state_dict()["param_groups"][0]]
    old_style.load_state_dict({**trainer.opt_G.state_dict(), "param_groups": one_group})
    counters = {"nimg": 4, "step": 1}
    save_state(trainer.checkpoint_path, trainer._modules(), {"G": old_style, "D": trainer.opt_D}, counters)
    resumed = GanTrainer(TINY_GAN, tmp_path)
    load_state(resumed.checkpoint_path, resumed._modules(), resumed._optimizers())
    sizes = [len(group["params"]) for group in trainer.opt_G.param_groups]
    assert [len(group["params"]) for group in resumed.opt_G.param_groups] == sizes
    saved_moments = [trainer.opt_G.state[p]["exp_avg"] for p in everything]
    loaded = [p for group in resumed.opt_G.param_groups for p in group["params"]]
    assert all(torch.equal(a, resumed.opt_G.state[p]["exp_avg"]) for a, p in zip(saved_moments, loaded, strict=True))


def test_recipes_refuse_settings_that_cannot_train(cli, tmp_path: Path) -> None:
    for recipe, option, message in (
        ("encoder", "width=6", "width must be an even number of at least 8"),
        ("encoder", "heldout=0", "heldout must be at least 1"),
        ("gan", "batch=6", "must be a multiple of mbstd_group=4"),
        ("gan", "pl_weight=-1", "pl_weight must be >= 0"),
        ("gan", "mapping_lr_scale=0", "mapping_lr_scale must be > 0"),
    ):
        result = run(cli, "world", "train", recipe, "--out", str(tmp_path / recipe), "-o", option, "--quiet")
        assert result.exit_code == 2, (recipe, option, result.output)
        assert message in one_line_error(result)


def test_render_workers_feed_the_same_faces_as_rendering_in_line() -> None:
    import numpy as np

    from latentedit.world.train.gan import RealFaces

    in_line = RealFaces(np.random.default_rng(3), batch=4, resolution=16)
    ahead = RealFaces(np.random.default_rng(3), batch=4, resolution=16, workers=1)
    try:
        for _ in range(3):
            assert torch.equal(in_line.next(), ahead.next())
    finally:
        ahead.close()


def test_gan_training_on_a_missing_gpu_is_refused_in_one_line(cli, tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = run(cli, "world", "train", "gan", "--out", str(tmp_path), "--device", "cuda", "--quiet")
    assert result.exit_code == 2
    assert "no CUDA GPU is available" in one_line_error(result)
    assert not (tmp_path / "checkpoint.safetensors").exists()


def test_paths_in_a_config_are_relative_to_its_folder_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from latentedit.world.train.config import read_config, write_config

    recipe = tmp_path / "training" / "guided"
    recipe.mkdir(parents=True)
    (recipe / "config.json").write_text(json.dumps({"guide_scorer": "../scorer/world_scorer.safetensors", "seed": 3}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = read_config(recipe / "config.json", GanConfig)
    assert Path(settings["guide_scorer"]).resolve() == tmp_path / "training" / "scorer" / "world_scorer.safetensors"
    assert settings["seed"] == 3
    # a run folder two levels away writes the same file relative to itself
    write_config(tmp_path / "runs" / "a" / "config.json", GanConfig(guide_scorer=settings["guide_scorer"]))
    written = json.loads((tmp_path / "runs" / "a" / "config.json").read_text())
    assert written["guide_scorer"] == "../../training/scorer/world_scorer.safetensors"


def test_a_guided_run_starts_from_a_recipe_config_and_resumes_from_another_directory(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses
    import shutil

    from latentedit.world.weights import SCORER, weights_path

    (tmp_path / "scorer").mkdir()
    shutil.copy(weights_path(SCORER), tmp_path / "scorer" / "world_scorer.safetensors")
    guided = {
        **dataclasses.asdict(TINY_GAN),
        "quality_samples": 0,
        "guide_linear_weight": 1.0,
        "guide_batch": 8,
        "guide_renders": 8,
        "guide_scorer": "../scorer/world_scorer.safetensors",
    }
    (tmp_path / "recipe").mkdir()
    (tmp_path / "recipe" / "config.json").write_text(json.dumps(guided))
    monkeypatch.chdir(tmp_path / "recipe")
    args = ["--kimg", "0.004", "--checkpoint-kimg", "0.004", "--quiet"]
    first = run(cli, "world", "train", "gan", "--out", "../run", "--config", "config.json", *args)
    assert first.exit_code == 0, first.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["guide_scorer"] == guided["guide_scorer"]
    monkeypatch.chdir(tmp_path)
    again = run(cli, "world", "train", "gan", "--out", "run", "--resume", "--kimg", "0.008", "--quiet")
    assert again.exit_code == 0, again.output  # the scorer is found from the run folder, not the working directory
    both = run(cli, "world", "train", "gan", "--out", "run", "--resume", "--config", "recipe/config.json", "--quiet")
    assert both.exit_code == 2 and "Pick one" in one_line_error(both)
    (tmp_path / "scorer" / "world_scorer.safetensors").unlink()
    missing = run(cli, "world", "train", "gan", "--out", "run", "--resume", "--quiet")
    assert missing.exit_code == 2
    assert "No guide scorer at" in one_line_error(missing) and "training/guide-scorer" in one_line_error(missing)


def test_a_new_run_starts_from_a_generator_file_with_its_discriminator(tmp_path: Path) -> None:
    from latentedit.checkpoints.layout import save_networks
    from latentedit.errors import CheckpointError

    trained = GanTrainer(TINY_GAN, tmp_path / "a")
    trained.train_step()
    shipped = save_networks(tmp_path / "gan.safetensors", trained.G_ema, trained.D, source_format="latentedit")
    fresh = GanTrainer(TINY_GAN, tmp_path / "b")
    fresh.start_from(shipped)
    for network, source in ((fresh.G, trained.G_ema), (fresh.G_ema, trained.G_ema), (fresh.D, trained.D)):
        pairs = zip(network.state_dict().values(), source.state_dict().values(), strict=True)
        assert all(torch.equal(a, b) for a, b in pairs)
    assert fresh.nimg == 0 and not fresh.opt_G.state  # the file has no optimiser moments: they start fresh
    fresh.train_step()
    generator_only = save_networks(tmp_path / "g.safetensors", trained.G_ema, source_format="latentedit")
    with pytest.raises(CheckpointError, match="no discriminator"):
        GanTrainer(TINY_GAN, tmp_path / "c").start_from(generator_only)
    wider = GanConfig(**{**TINY_GAN.__dict__, "channel_max": 32})
    with pytest.raises(CheckpointError, match="start with the settings it was trained with"):
        GanTrainer(wider, tmp_path / "d").start_from(shipped)


def test_the_shipped_gan_continues_under_its_recipe_config(tmp_path: Path) -> None:
    """`world train gan --config training/world-gan-guided/config.json --init <shipped GAN>`
    builds the shipped networks' shapes (the guide scorer swapped for the shipped one here)."""
    from latentedit.checkpoints.layout import load_networks
    from latentedit.world.train.config import read_config
    from latentedit.world.weights import GAN, weights_path

    root = Path(__file__).resolve().parents[1]
    settings = read_config(root / "training" / "world-gan-guided" / "config.json", GanConfig)
    assert Path(settings["guide_scorer"]).resolve() == root / "runs" / "guide-scorer" / "world_scorer.safetensors"
    trainer = GanTrainer(GanConfig(**{**settings, "guide_scorer": ""}), tmp_path)
    trainer.start_from(weights_path(GAN))
    shipped = load_networks(weights_path(GAN))
    assert all(torch.equal(a, b) for a, b in zip(trainer.G_ema.parameters(), shipped.G.parameters(), strict=True))
    assert trainer.config.guided and trainer.config.guide_edit_weight == 10.0
