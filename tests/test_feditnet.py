"""FEditNet on a random network: its losses, its assessor, weight tuning, layer response and discovery."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import latentedit
from latentedit.api import DiscoverRequest
from latentedit.errors import BadImageError, LatentEditError, OptionError
from latentedit.hookspecs import hookimpl
from latentedit.methods.feditnet import (
    FEditNet,
    FEditNetOptions,
    edit_step,
    fc_layers_for,
    latent_scale,
    load_positives,
    train_direction,
)
from latentedit.methods.feditnet_analysis import layer_response
from latentedit.methods.feditnet_assessor import assessor_accuracy, build_assessor
from latentedit.methods.feditnet_losses import assessor_loss, feature_contrastive_loss, patch_nce, projection_heads
from latentedit.methods.feditnet_tuning import tune_layer_weights
from latentedit.options import parse_options
from latentedit.plugins import get_plugins, register_plugin, unregister_plugin
from latentedit.vectors import vector_edit
from tests.fakes import StatisticsScorer
from tests.helpers import one_line_error, run

TAU = 0.07
QUICK = ["steps=3", "patches=16", "head_channels=16", "calibration_samples=40"]
"""Options for plumbing tests: a few steps, small heads; seconds on random:32."""


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """The machine is shared; these tests run single-threaded and restore the setting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class FEditNetPlugin:
    @hookimpl
    def register_methods(self, register):
        register(FEditNet)


@pytest.fixture
def feditnet() -> Iterator[None]:
    """Make `feditnet` a registered method (unless the built-ins already register it)."""
    registered = "feditnet" in get_plugins().methods
    if not registered:
        register_plugin("feditnet-test", FEditNetPlugin())
    yield
    if not registered:
        unregister_plugin("feditnet-test")


@pytest.fixture
def bright(tmp_path: Path) -> Path:
    """Six 'photos' of the attribute: bright noisy 32 px images."""
    folder = tmp_path / "bright"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(6):
        Image.fromarray(rng.integers(190, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{index}.png")
    return folder


def quiet(*args, **metrics) -> None:
    """A progress callback that ignores everything."""


def one_hot_maps(count: int = 16) -> torch.Tensor:
    """``[1, count, 4, 4]`` features whose every location is a different unit vector."""
    side = int(math.isqrt(count))
    return torch.eye(count).T.reshape(1, count, side, side)


def test_the_training_step_has_a_fixed_length_whatever_the_direction() -> None:
    pool = torch.randn(4000, 16, generator=torch.Generator().manual_seed(0)) * torch.linspace(0.1, 2.0, 16)
    scale = latent_scale(pool)
    assert abs(scale - float(torch.linspace(0.1, 2.0, 16).square().mean().sqrt())) < 0.05
    along_widest, along_narrowest = torch.eye(16)[-1] * 7.0, torch.eye(16)[0] * 0.01
    for direction in (along_widest, along_narrowest):  # no direction buys a shorter (cheaper) step
        assert abs(float(edit_step(direction, scale, 5.0).norm()) - 5.0 * scale) < 1e-5
    direction = torch.nn.Parameter(torch.randn(16))
    edit_step(direction, scale, 5.0).sum().backward()
    assert direction.grad is not None and float(direction.grad.abs().sum()) > 0


def test_patch_nce_is_minimal_for_identical_features() -> None:
    features = one_hot_maps()
    every = [torch.arange(16)]
    same, _ = feature_contrastive_loss([features], [features], every, TAU, [1.0])
    shuffled = features.flatten(2)[:, :, torch.roll(torch.arange(16), 1)].reshape(features.shape)
    moved, _ = feature_contrastive_loss([features], [shuffled], every, TAU, [1.0])
    # a perfect match: log(1 + 15·e^{-1/τ}); every location matching another one's feature: log(15 + e^{1/τ})
    assert float(same) == pytest.approx(math.log1p(15 * math.exp(-1 / TAU)), abs=1e-6)
    assert float(moved) == pytest.approx(math.log(15 + math.exp(1 / TAU)), rel=1e-3)
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(2, 8, 6, 6, generator=generator)
    losses = patch_nce(noise.flatten(2).transpose(1, 2), noise.flatten(2).transpose(1, 2), TAU)
    permuted = patch_nce(noise.flatten(2).transpose(1, 2), noise.flatten(2).transpose(1, 2).flip(1), TAU)
    assert losses.shape == (2, 36) and float(losses.mean()) < float(permuted.mean()) - 1.0


def test_contrastive_loss_weights_layers_and_trains_only_the_edited_side() -> None:
    generator = torch.Generator().manual_seed(1)
    original = [torch.randn(2, 8, 4, 4, generator=generator, requires_grad=True) for _ in range(2)]
    edited = [(layer + 0.3 * torch.randn(layer.shape, generator=generator)).detach() for layer in original]
    edited = [layer.requires_grad_() for layer in edited]
    locations = [torch.arange(16), torch.arange(16)]
    heads = projection_heads([8, 8], 16, generator)
    total, terms = feature_contrastive_loss(original, edited, locations, TAU, [2.0, 0.0], heads)
    assert float(total.detach()) == pytest.approx(float(terms[0]), rel=1e-5)  # (2·first + 0·second) / 2 layers
    total.backward()
    assert edited[0].grad is not None and float(edited[0].grad.abs().sum()) > 0
    assert all(layer.grad is None for layer in original)  # keys are the fixed targets (as CUT)


def test_assessor_head_learns_a_separable_toy_set(tiny_backend) -> None:
    generator = torch.Generator().manual_seed(0)
    assessor = build_assessor(tiny_backend, reuse_discriminator=True, train_backbone=False, generator=generator)
    bright = 0.7 + 0.2 * torch.rand(8, 3, 32, 32, generator=generator)
    dark = -0.7 - 0.2 * torch.rand(8, 3, 32, 32, generator=generator)
    with torch.no_grad():
        bright_features, dark_features = assessor.features(bright), assessor.features(dark)
    optimizer = torch.optim.Adam(assessor.parameter_groups(1e-2, 1e-2), betas=(0.5, 0.999))
    for _ in range(100):
        loss = assessor_loss(assessor.logits(bright_features), assessor.logits(dark_features))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < 0.1
    accuracy = assessor_accuracy(assessor, bright, dark)
    assert accuracy == {
        "assessor_accuracy_positives": 1.0,
        "assessor_accuracy_edited": 1.0,
        "assessor_accuracy": 1.0,
    }
    assert [len(group["params"]) for group in assessor.parameter_groups(1e-2, 1e-4)] == [4]  # fc + out; D frozen


def test_the_default_head_is_the_original_final_linear_on_the_conv_output(tiny_backend) -> None:
    """φ starts as D's own fc and out layers, so the untrained assessor is D's real/fake logit."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(4, 3, 32, 32, generator=generator) * 2 - 1
    for head in ("final_linear", "linear"):
        assessor = build_assessor(tiny_backend, True, False, generator, head=head)
        with torch.no_grad():
            logits = assessor.logits(assessor.features(images))
            expected = tiny_backend.disc_logits(images).flatten()
        assert torch.allclose(logits, expected, atol=1e-4), head
    assert build_assessor(tiny_backend, True, False, generator).feature == "b4"
    assert build_assessor(tiny_backend, True, False, generator, head="linear").feature == "epilogue"
    with pytest.raises(LatentEditError, match="Unknown assessor head"):
        build_assessor(tiny_backend, True, False, generator, head="mlp")


def test_the_assessor_learns_inside_the_training_loop(tiny_backend, bright: Path) -> None:
    """Eq. 7's step sees both sides: with a fast assessor and a still direction it separates them."""
    options = parse_options(FEditNetOptions, [*QUICK, "lr_assessor=0.03", "lr_direction=1e-9"])
    positives, _ = load_positives(bright, 32, "cpu")
    training = train_direction(tiny_backend, positives, options, ["b32.conv1"], [1.0], seed=0, steps=12)
    assert training.metrics["assessor_accuracy_positives"] == 1.0
    assert training.metrics["assessor_accuracy_edited"] > 0.9


def test_assessor_variants_train_a_backbone_of_the_same_shape(tiny_backend) -> None:
    generator = torch.Generator().manual_seed(0)
    tuned = build_assessor(tiny_backend, reuse_discriminator=True, train_backbone=True, generator=generator)
    fresh = build_assessor(tiny_backend, reuse_discriminator=False, train_backbone=False, generator=generator)
    shapes = [tuple(p.shape) for p in tiny_backend.D.parameters()]
    for assessor in (tuned, fresh):
        head, backbone = assessor.parameter_groups(5e-3, 2e-4)
        assert (head["lr"], backbone["lr"]) == (5e-3, 2e-4)
        assert [tuple(p.shape) for p in backbone["params"]] == shapes
        assert all(p.requires_grad for p in backbone["params"])
    same = [torch.equal(a, b) for a, b in zip(tuned.backbone.parameters(), tiny_backend.D.parameters(), strict=True)]
    assert all(same) and not torch.equal(fresh.backbone.b32.conv0.weight, tiny_backend.D.b32.conv0.weight)
    assert not any(p.requires_grad for p in tiny_backend.D.parameters())  # the backend's D stays frozen


def test_default_layers_scale_the_original_choice() -> None:
    convs = ["b4.conv1", *(f"b{res}.conv{i}" for res in (8, 16, 32, 64, 128, 256, 512) for i in (0, 1))]

    def backend(resolution: int, layers: list[str]) -> SimpleNamespace:
        sizes = {name: int(name.split(".")[0][1:]) for name in layers}
        return SimpleNamespace(resolution=resolution, conv_layers=layers, conv_layer_sizes=sizes)

    big = backend(512, convs)
    assert fc_layers_for(big, []) == ["b16.conv1", "b64.conv1", "b256.conv0", "b256.conv1", "b512.conv0", "b512.conv1"]
    small = backend(64, convs[:9])
    assert fc_layers_for(small, []) == ["b16.conv1", "b32.conv0", "b32.conv1", "b64.conv0", "b64.conv1"]
    with pytest.raises(LatentEditError, match="unknown layer"):
        fc_layers_for(small, ["b128.conv0"])


def test_discover_writes_a_valid_edit(tiny_backend, bright: Path, tmp_path: Path) -> None:
    options = parse_options(FEditNetOptions, QUICK)
    seen: list[tuple[int, int, set[str]]] = []
    request = DiscoverRequest(name="bright", attr="brightness", positives=bright, seed=3)
    edit = FEditNet().discover(tiny_backend, request, options, lambda s, t, **m: seen.append((s, t, set(m))))
    path = edit.save(tmp_path / "bright.safetensors")
    loaded = latentedit.load_edit(path)
    assert loaded.method == "feditnet" and loaded.space == "w" and loaded.attribute == "brightness"
    assert loaded.tensors["direction"].shape == (128,)
    assert float(loaded.tensors["direction"].norm()) == pytest.approx(1.0, abs=1e-5)
    assert [step for step, _, _ in seen] == [1, 2, 3] and {"loss_adv", "loss_fc"} <= seen[-1][2]
    metrics = loaded.metrics
    assert metrics["steps"] == 3 and metrics["positives"] == 6
    assert "seconds" not in metrics  # wall-clock time would make the file differ between identical runs
    assert 0 <= metrics["assessor_accuracy"] <= 1 and metrics["loss_fc"] > 0 and metrics["loss_adv"] > 0
    assert set(metrics["loss_fc_layers"]) == {"b16.conv0", "b16.conv1", "b32.conv0", "b32.conv1"}
    assert loaded.params["fc_layers"] == list(metrics["loss_fc_layers"]) and loaded.params["layer_weights"] == [1.0] * 4
    assert loaded.params["betas"] == [0.5, 0.999] and loaded.params["lr_direction"] == 0.002
    from latentedit.fileio import sha256_file

    assert loaded.provenance["sha256"]["0.png"] == sha256_file(bright / "0.png")
    again = FEditNet().discover(tiny_backend, request, options, quiet)
    assert torch.allclose(again.tensors["direction"], edit.tensors["direction"])  # seeded: reproducible


def test_w_plus_learns_one_direction_per_layer_and_applies(tiny_backend, bright: Path) -> None:
    options = parse_options(FEditNetOptions, [*QUICK, "space=w+", "train_backbone=true"])
    request = DiscoverRequest(name="bright", positives=bright)
    edit = FEditNet().discover(tiny_backend, request, options, quiet)
    assert edit.space == "w+" and edit.tensors["direction"].shape == (tiny_backend.num_ws, 128)
    ws = tiny_backend.mapping(tiny_backend.sample_z(2, 0))
    moved = FEditNet().apply(tiny_backend, ws, edit, strength=2.0)
    unit = float(edit.tensors["strength_unit"])
    assert float((moved - ws).flatten(1).norm(dim=1)[0]) == pytest.approx(2.0 * unit, rel=1e-4)


def test_cli_discover_then_evaluate(cli, feditnet, fake_scorers, bright: Path) -> None:
    options = [arg for pair in QUICK for arg in ("-o", pair)]
    result = run(
        cli, "discover", "--method", "feditnet", "--positives", str(bright), "--attr", "brightness",
        "--backend", "random:32", "--samples", "50", "--json", *options,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert json.loads(document["metadata"]["provenance"])["calibration_samples"] == 50
    report = run(cli, "evaluate", "--dir", "brightness", "--backend", "random:32", "--samples", "20", "--json")
    assert report.exit_code == 0, report.output
    assert set(json.loads(report.stdout)["rescoring"]["brightness"]) == {"brightness", "redness"}


def test_bayesian_optimisation_finds_better_weights() -> None:
    target = np.array([1.6, 0.2, 1.0])
    tuning = tune_layer_weights(lambda w: -float(np.square(np.array(w) - target).sum()), 3, trials=8, seed=0)
    assert len(tuning.trials) == 8 and tuning.trials[0]["weights"] == [1.0, 1.0, 1.0]
    assert all(0 <= value <= 2 for trial in tuning.trials for value in trial["weights"])
    assert tuning.best["objective"] > tuning.trials[0]["objective"] + 0.3


def test_tune_weights_scores_short_runs(tiny_backend, feditnet, fake_scorers, bright: Path) -> None:
    extra = ["tune_weights=true", "tune_trials=2", "tune_steps=2", "tune_samples=10", "steps=2"]
    options = parse_options(FEditNetOptions, [*QUICK, *extra])
    seen: list[tuple[int, int]] = []
    request = DiscoverRequest(name="b", attr="brightness", positives=bright)
    edit = FEditNet().discover(tiny_backend, request, options, lambda step, total, **m: seen.append((step, total)))
    tuning = edit.metrics["tuning"]
    assert len(tuning["trials"]) == 2 and edit.params["layer_weights"] == tuning["best"]["weights"]
    assert all(math.isfinite(trial["objective"]) for trial in tuning["trials"])
    assert seen[-1] == (6, 6) and [step for step, _ in seen] == sorted(step for step, _ in seen)


def test_layer_response_compares_near_and_far_samples(tiny_backend, feditnet) -> None:
    direction = torch.randn(128, generator=torch.Generator().manual_seed(0))
    latents = tiny_backend.mapping(tiny_backend.sample_z(50, 0))[:, 0]
    edit = vector_edit(
        method="feditnet", name="b", space="w", direction=direction, backend=tiny_backend,
        calibration_latents=latents, attribute="brightness",
    )  # fmt: skip
    seen: list[int] = []
    ratios = layer_response(
        tiny_backend,
        edit,
        StatisticsScorer(),
        samples=40,
        fraction=0.25,
        patches=16,
        progress=lambda s, t: seen.append(t),
    )
    assert list(ratios) == ["b4.conv1", "b8.conv0", "b8.conv1", "b16.conv0", "b16.conv1", "b32.conv0", "b32.conv1"]
    assert all(math.isfinite(value) and value > 0 for value in ratios.values())
    assert set(seen) == {80}
    with pytest.raises(LatentEditError, match="records no attribute"):
        edit.attribute = ""
        layer_response(tiny_backend, edit, StatisticsScorer(), samples=40)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["space=z"], "expected w or w+"),
        (["betas=0.5"], "expected two values"),
        (["patches=1"], "at least 2"),
        (["steps=0"], "positive"),
        (["truncation=1.5"], "(0, 1]"),
        (["fc_layers=b16.conv0,b16.conv1", "layer_weights=1"], "one weight per layer"),
        (["tune_weights=true", "layer_weights=1,1"], "exclude each other"),
        (["lambda_fc=-1"], ">= 0"),
    ],
)
def test_bad_options_are_one_line_errors(pairs: list[str], message: str) -> None:
    with pytest.raises(OptionError, match=message.replace("(", r"\(").replace("]", r"\]")):
        parse_options(FEditNetOptions, pairs)


def test_bad_requests_name_the_fix(tiny_backend, bright: Path, tmp_path: Path) -> None:
    options = parse_options(FEditNetOptions, QUICK)
    method = FEditNet()
    with pytest.raises(LatentEditError, match="needs --positives"):
        method.discover(tiny_backend, DiscoverRequest(name="x"), options, quiet)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadImageError, match="holds no images"):
        method.discover(tiny_backend, DiscoverRequest(name="x", positives=tmp_path / "empty"), options, quiet)
    wrong = parse_options(FEditNetOptions, [*QUICK, "layer_weights=1,2"])
    with pytest.raises(LatentEditError, match="2 weights for 4 fc layers"):
        method.discover(tiny_backend, DiscoverRequest(name="x", positives=bright), wrong, quiet)
    tuned = parse_options(FEditNetOptions, [*QUICK, "tune_weights=true"])
    with pytest.raises(LatentEditError, match="needs --attr"):
        method.discover(tiny_backend, DiscoverRequest(name="x", positives=bright), tuned, quiet)


def test_cli_rejects_a_missing_positives_folder(cli, feditnet, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere")
    result = run(cli, "discover", "--method", "feditnet", "--positives", missing, "--backend", "random:32")
    assert result.exit_code == 2
    assert "is not a folder of images" in one_line_error(result)
