"""A user imports a StyleGAN3 pickle and runs every method, inversion, apply and evaluate on it.

The network is a small random stylegan3-t (32 px, four layers) pickled the way the stylegan3 repo
pickles one, with its StyleGAN2 discriminator; a test plugin registers the image-statistics
scorer and segmenter for the ``stylegan3`` scheme, as a user's plugin would for their model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import latentedit
from latentedit.hookspecs import hookimpl
from latentedit.plugins import register_plugin, unregister_plugin
from latentedit.scorers import ScorerSpec
from tests.helpers import one_line_error, run

SMALL = {"img_resolution": 32, "channel_base": 256, "channel_max": 16, "num_layers": 4, "num_critical": 1}
D_SMALL = {"c_dim": 0, "img_resolution": 32, "img_channels": 3, "channel_base": 256, "channel_max": 32}
FAST = ("-o", "steps=5")


class StyleGAN3Scorers:
    """tests/fakes.py's statistics scorer and halves segmenter, for StyleGAN3 backends."""

    @hookimpl
    def register_scorers(self, register):
        from tests.fakes import StatisticsScorer

        register(ScorerSpec("statistics3", "stylegan3", StatisticsScorer.attributes, "tests.fakes:StatisticsScorer"))
        register(ScorerSpec("halves3", "stylegan3", (), "tests.fakes:HalvesSegmenter", kind="segmenter"))


@pytest.fixture(autouse=True)
def scorers() -> Iterator[None]:
    register_plugin("stylegan3-scorers", StyleGAN3Scorers())
    yield
    unregister_plugin("stylegan3-scorers")


@pytest.fixture(scope="module")
def pickle_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stylegan3-t network pickle (G, G_ema and the stylegan3 repo's StyleGAN2 D)."""
    from latentedit.nets import Discriminator, StyleGAN3Generator
    from tests.test_checkpoints import write_nvidia_pickle
    from tests.test_stylegan3_checkpoints import SG3_KWARGS, sg3_snapshot

    with torch.random.fork_rng():
        torch.manual_seed(5)
        G = StyleGAN3Generator(**{**SG3_KWARGS, **SMALL})
        D = Discriminator(**D_SMALL)
    return write_nvidia_pickle(tmp_path_factory.mktemp("pickles") / "stylegan3-t.pkl", sg3_snapshot(G, D))


@pytest.fixture(scope="module")
def backend(pickle_file: Path) -> tuple[str, str]:
    """`import-checkpoint` the pickle; returns ("--backend", "stylegan3:FILE")."""
    out = pickle_file.with_name("sg3.safetensors")
    result = run(CliRunner(), "import-checkpoint", str(pickle_file), "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["architecture"] == "stylegan3" and report["has_discriminator"] and report["num_ws"] == 6
    return "--backend", f"stylegan3:{out}"


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)


def test_import_then_generate_moved_and_turned(cli, backend, tmp_path: Path) -> None:
    plain = run(cli, "generate", *backend, "--seeds", "1", "--out", str(tmp_path / "plain"))
    moved = run(cli, "generate", *backend, "--seeds", "1", "--translate", "0.25,0", "--out", str(tmp_path / "moved"))
    assert plain.exit_code == moved.exit_code == 0, plain.output + moved.output
    before, after = _pixels(tmp_path / "plain/seed0001.png"), _pixels(tmp_path / "moved/seed0001.png")
    # a quarter of the width is 8 px: the picture moves right by exactly that, no texture sticks
    assert np.abs(after[:, 8:] - before[:, :-8]).mean() < 2.0 < np.abs(after - before).mean()
    turned = [tmp_path / f"turned{i}" for i in range(2)]
    for folder in turned:
        assert run(cli, "generate", *backend, "--seeds", "1", "--rotate", "-30", "--out", str(folder)).exit_code == 0
    assert (turned[0] / "seed0001.png").read_bytes() == (turned[1] / "seed0001.png").read_bytes()
    assert (turned[0] / "seed0001.png").read_bytes() != (tmp_path / "plain/seed0001.png").read_bytes()
    full = run(cli, "generate", *backend, "--seeds", "1", "--rotate", "360", "--out", str(tmp_path / "full"), "--json")
    assert np.abs(_pixels(tmp_path / "full/seed0001.png") - before).max() <= 1  # a full turn: the same picture
    assert json.loads(full.stdout)["input_transform"] == {"translate": [0.0, 0.0], "rotate": 360.0}
    # the file says what it holds: a bare path and stylegan2: load it as StyleGAN3 too; stylegan3: refuses StyleGAN2
    path = backend[1].removeprefix("stylegan3:")
    assert latentedit.load_backend(path).name == latentedit.load_backend(f"stylegan2:{path}").name == backend[1]
    wrong = run(cli, "generate", "--backend", "stylegan3:" + _stylegan2_file(tmp_path), "--out", str(tmp_path / "x"))
    assert wrong.exit_code == 2 and "holds a StyleGAN2 generator; use --backend stylegan2:" in one_line_error(wrong)


def test_the_input_transform_turns_and_shifts_the_fourier_features_exactly(backend) -> None:
    """Positive angles turn counter-clockwise, x moves right, in image widths; the cropped input
    features (16 px here) show it pixel for pixel, and leaving the block restores the picture."""
    model = latentedit.load_backend(backend[1])
    with torch.inference_mode():
        ws = model.mapping(model.z_for_seeds([3]))
        plain = model.features(ws, ["input"])["input"]
        with model.input_transform((0.0, 0.0), 90.0):
            turned = model.features(ws, ["input"])["input"]
        with model.input_transform((0.25, 0.0), 0.0):
            moved = model.features(ws, ["input"])["input"]
        assert model.features(ws, ["input"])["input"].equal(plain)
    assert plain.shape[-1] == 16
    assert torch.allclose(turned, torch.rot90(plain, 1, dims=(2, 3)), atol=1e-5)
    assert torch.allclose(moved[..., 4:], plain[..., :-4], atol=1e-5)  # a quarter of 16 px


def _stylegan2_file(tmp_path: Path) -> str:
    from latentedit.checkpoints import save_networks
    from latentedit.nets import Generator

    G = Generator(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3, synthesis_kwargs={"channel_max": 8})
    return str(save_networks(tmp_path / "sg2.safetensors", G, source_format="latentedit"))


def _brightness(backend_name: str, seeds: list[int]) -> list[float]:
    model = latentedit.load_backend(backend_name)
    with torch.inference_mode():
        images = model.synthesize(model.mapping(model.z_for_seeds(seeds)))
    return images.mean(dim=(1, 2, 3)).tolist()


def _learned_brightness(cli, backend, name: str) -> float:
    """How much brightness +3 standard deviations of the edit adds to 20 samples (the evaluate matrix)."""
    report = run(cli, "evaluate", "--dir", name, "--samples", "20", *backend, "--json")
    assert report.exit_code == 0, report.output
    return json.loads(report.stdout)["rescoring"][name]["brightness"]


def test_vector_methods_learn_brightness(cli, backend, tmp_path: Path) -> None:
    """InterFaceGAN from a labels file, W*, SeFa and GANSpace on StyleGAN3; evaluate re-scores them."""
    labels = tmp_path / "labels.csv"
    seeds = list(range(60))
    rows = zip(seeds, _brightness(backend[1], seeds), strict=True)
    labels.write_text("seed,brightness\n" + "".join(f"{seed},{value:.6f}\n" for seed, value in rows))
    made = run(cli, "discover", "-m", "interfacegan", "--labels", str(labels), "--attr", "brightness",
               "-o", "ratio=0.25", *backend, "--json")  # fmt: skip
    assert made.exit_code == 0, made.output
    flow = ("--samples", "100", "-o", "steps=5", "-o", "hidden=16", "-o", "couplings=2", "-o", "classifier_steps=5")
    wstar = run(cli, "discover", "-m", "wstar", "--attrs", "brightness,redness", "--name", "flow", *flow, *backend)
    assert wstar.exit_code == 0, wstar.output
    for method, samples in (("sefa", ("-o", "samples=200")), ("ganspace", ("--samples", "200"))):
        found = run(cli, "discover", "-m", method, "--name", method, *samples, *backend, "--json")
        assert found.exit_code == 0, found.output
        assert json.loads(found.stdout)["metadata"]["backend_name"] == backend[1]
    assert _learned_brightness(cli, backend, "brightness") > 0.02  # fractions of brightness's range
    out = tmp_path / "flow"
    applied = run(cli, "apply", "seed:2", "--dir", "flow", "--attr", "brightness", *backend, "--out", str(out))
    assert applied.exit_code == 0, applied.output


def test_feditnet_and_pair_learn_from_images(cli, backend, tmp_path: Path) -> None:
    bright, pairs = tmp_path / "bright", tmp_path / "pairs"
    for folder in (bright, pairs / "original", pairs / "modified"):
        folder.mkdir(parents=True)
    model = latentedit.load_backend(backend[1])
    with torch.inference_mode():
        images = latentedit.api.to_uint8(model.synthesize(model.mapping(model.z_for_seeds(list(range(6))))))
    for index, image in enumerate(images):
        Image.fromarray(np.clip(image.astype(int) + 70, 0, 255).astype(np.uint8)).save(bright / f"{index}.png")
    for index, image in enumerate(images[:2]):
        Image.fromarray(image).save(pairs / "original" / f"{index}.png")
        (pairs / "modified" / f"{index}.png").write_bytes((bright / f"{index}.png").read_bytes())
    fedit = run(cli, "discover", "-m", "feditnet", "--attr", "brightness", "--positives", str(bright),
                "-o", "steps=3", "--samples", "40", *backend, "--json")  # fmt: skip
    assert fedit.exit_code == 0, fedit.output
    convs = ["L0_36_16", "L1_36_16", "L2_52_16", "L3_32_8"]  # L4_32_3 is the ToRGB
    # the default contrastive layers, picked by sampling rate: at 32 px all four convs
    assert json.loads(json.loads(fedit.stdout)["metadata"]["params"])["fc_layers"] == convs
    pair = run(cli, "discover", "-m", "pair", "--pairs-dir", str(pairs), "--name", "brighter", *FAST, *backend)
    assert pair.exit_code == 0, pair.output
    response = run(cli, "evaluate", "--dir", "brightness", "--layer-response", "--samples", "20", *backend, "--json")
    assert response.exit_code == 0, response.output
    ratios = json.loads(response.stdout)["layer_response"]["brightness"]
    assert list(ratios) == convs and all(value > 0 for value in ratios.values())


def test_local_style_catalog_uses_stylegan3_layers(cli, backend, tmp_path: Path) -> None:
    made = run(cli, "discover", "-m", "localstyle", "--name", "parts", "-o", "k=3", "-o", "samples=6",
               *backend, "--json")  # fmt: skip
    assert made.exit_code == 0, made.output
    edit = latentedit.load_edit("parts", backend=backend[1])
    # auto at 32 px: the last layer at 16 px, the first two at 32 px (sampling rates)
    assert edit.params["layer"] == "L1_36_16+L2_52_16+L3_32_8"
    assert not edit.tensors["contribution.input"].any()  # the input's style (turn and shift) is never moved
    assert edit.tensors["contribution.L0_36_16"].sum(dim=0).allclose(torch.ones(16), atol=1e-4)
    assert run(cli, "directions", "label", "parts", "top=0", "rest=1,2", *backend).exit_code == 0
    out = tmp_path / "local"
    result = run(cli, "apply", "seed:3", "--dir", "parts", "--reference", "seed:4", "--region", "top",
                 "-o", "mode=simultaneous", *backend, "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "seed0003_edited.png").is_file()
    report = run(cli, "evaluate", "--dir", "parts", "--locality", "--region", "top", "--pairs", "3", *backend, "--json")
    assert report.exit_code == 0, report.output
    assert {"simultaneous", "sequential", "defaults"} <= set(json.loads(report.stdout))


def test_invert_then_apply_with_the_input_transform_and_an_animated_sweep(cli, backend, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    model = latentedit.load_backend(backend[1])
    with torch.inference_mode():
        Image.fromarray(latentedit.api.to_uint8(model.synthesize(model.mapping(model.z_for_seeds([9]))))[0]).save(photo)
    codes = {steps: tmp_path / f"codes{steps}.safetensors" for steps in (0, 30)}
    psnr = {}
    for steps, out in codes.items():
        result = run(cli, "invert", str(photo), "--out", str(out), "-o", f"steps={steps}", *backend, "--json")
        assert result.exit_code == 0, result.output
        psnr[steps] = json.loads(result.stdout)["mean_psnr"]
    assert psnr[30] > psnr[0] + 1.5  # gradients flow through StyleGAN3's synthesis: optimisation helps
    assert run(cli, "discover", "-m", "sefa", "--name", "s0", "-o", "samples=50", *backend).exit_code == 0
    out = tmp_path / "edited"
    edited = run(cli, "apply", str(photo), "seed:4", "--dir", "s0", "--rotate", "20", "--translate", "0.1,0",
                 *FAST, *backend, "--out", str(out))  # fmt: skip
    assert edited.exit_code == 0, edited.output
    assert {p.name for p in out.iterdir()} >= {"photo_edited.png", "seed0004_edited.png", "seed0004_compare.png"}
    sweeps = [tmp_path / f"sweep{i}" for i in range(2)]
    for folder in sweeps:
        swept = run(cli, "apply", "seed:4", "--dir", "s0", "--sweep", "-2:2:5", "--sweep-rotate", "90", *backend,
                    "--out", str(folder))  # fmt: skip
        assert swept.exit_code == 0, swept.output
    gif = Image.open(sweeps[0] / "seed0004_sweep.gif")
    assert gif.n_frames == 8  # five frames forth, three back
    assert (sweeps[0] / "seed0004_sweep.gif").read_bytes() == (sweeps[1] / "seed0004_sweep.gif").read_bytes()
    strip = _pixels(sweeps[0] / "seed0004_sweep.png")
    still = run(cli, "apply", "seed:4", "--dir", "s0", "--sweep", "-2:2:5", *backend, "--out", str(tmp_path / "still"))
    assert still.exit_code == 0
    plain = _pixels(tmp_path / "still" / "seed0004_sweep.png")
    assert np.abs(strip[:, :32] - plain[:, :32]).max() == 0  # the first frame is not turned yet
    assert np.abs(strip[:, -32:] - plain[:, -32:]).mean() > 5  # the last is turned by 90 degrees
