"""Pairs, inversion and apply: what a user does with photos, on a small random network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import latentedit
from latentedit.images import to_uint8
from latentedit.methods.pair import agreement, pair_directions
from tests.helpers import one_line_error, run

BACKEND = ("--backend", "random:32")
FAST = ("-o", "steps=20")


@pytest.fixture
def photos(tmp_path: Path, tiny_backend) -> Path:
    """Generated faces saved as PNG 'photos', in original/ and modified/ (a brighter copy)."""
    with torch.inference_mode():
        images = to_uint8(tiny_backend.synthesize(tiny_backend.mapping(tiny_backend.z_for_seeds([7, 8, 9]))))
    for folder in ("original", "modified"):
        (tmp_path / folder).mkdir()
    for index, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / "original" / f"{index}.png")
        brighter = np.clip(image.astype(int) + 60, 0, 255).astype(np.uint8)
        Image.fromarray(brighter).save(tmp_path / "modified" / f"{index}.png")
    return tmp_path


def test_pair_directions_and_their_agreement() -> None:
    before = torch.zeros(3, 4)
    after = torch.tensor([[1.0, 0, 0, 0], [2.0, 0, 0, 0], [0, 1.0, 0, 0]])
    singles = pair_directions(before, after)
    assert torch.allclose(singles.norm(dim=1), torch.ones(3))
    assert agreement(singles) == pytest.approx(1 / 3)


def test_invert_reports_psnr_and_caches(cli, photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "codes.safetensors"
    first = run(cli, "invert", str(photos / "original"), "--out", str(out), *FAST, *BACKEND, "--json")
    assert first.exit_code == 0, first.output
    document = json.loads(first.stdout)
    assert document["ws_shape"] == [3, 8, 128] and len(document["images"]) == 3
    assert document["mean_psnr"] > 12  # 20 steps from w_avg on an untrained network
    cached = run(cli, "invert", str(photos / "original"), "--out", str(out), "--force", *FAST, *BACKEND, "--json")
    assert json.loads(cached.stdout)["images"] == document["images"]  # identical: read from the cache


def test_pair_discovery_from_a_folder_and_from_flags(cli, photos: Path) -> None:
    result = run(
        cli, "discover", "--method", "pair", "--pairs-dir", str(photos), "--name", "brighter", *FAST, *BACKEND, "--json"
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(json.loads(result.stdout)["metadata"]["metrics"])
    assert metrics["pairs"] == 3 and -1 <= metrics["pair_agreement"] <= 1
    one = photos / "original" / "0.png", photos / "modified" / "0.png"
    single = run(
        cli, "discover", "--method", "pair", "--pair", str(one[0]), str(one[1]), "--name", "one", *FAST, *BACKEND
    )
    assert single.exit_code == 0, single.output
    edit = latentedit.load_edit("one", backend="random:32")
    assert edit.tensors["direction"].shape == (8, 128) and edit.provenance["pairs"] == [[str(one[0]), str(one[1])]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pair", "a.png"], "--pair takes two images"),
        (["--pair", "a.png", "b.png"], "Image a.png not found"),
        (["--pairs-dir", "."], "needs the subfolders original/ and modified/"),
        ([], "needs --pair"),
    ],
)
def test_pair_input_errors(cli, args: list[str], message: str) -> None:
    result = run(cli, "discover", "--method", "pair", *BACKEND, *args)
    assert result.exit_code == 2, result.output
    assert message in one_line_error(result)


def test_the_in_domain_inversion_of_pairs_needs_an_encoder(cli, photos: Path) -> None:
    pair = [str(photos / "original" / "0.png"), str(photos / "modified" / "0.png")]
    result = run(cli, "discover", "--method", "pair", "--pair", *pair, "-o", "domain=1", *BACKEND)
    assert result.exit_code == 2
    assert "-o domain needs an encoder" in one_line_error(result)


def with_encoder(tiny_backend):
    """random:32 with a small untrained encoder (seeded, so the pairs' codes differ)."""
    from latentedit.stylegan2_backend import StyleGAN2Backend
    from latentedit.world.networks import Encoder

    encoder = Encoder(tiny_backend.num_ws, tiny_backend.w_dim, width=8)
    torch.nn.init.normal_(encoder.head[-1].weight, std=0.05, generator=torch.Generator().manual_seed(0))  # codes vary
    return StyleGAN2Backend("random:32", tiny_backend.G, tiny_backend.D, encoder=encoder)


def encoded_pairs(backend, pairs) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoder's W+ codes of each pair's two images: (before, after)."""
    from latentedit.images import from_uint8, load_image

    with torch.no_grad():
        codes = [backend.encoder(from_uint8(np.stack([load_image(path, 32) for path in pair]))) for pair in pairs]
    return torch.stack([c[0] for c in codes]), torch.stack([c[1] for c in codes])


def test_pair_codes_come_from_the_encoder_alone_where_the_backend_has_one(tiny_backend, photos: Path) -> None:
    from latentedit.api import DiscoverRequest, no_progress
    from latentedit.labels import pairs_from_folder
    from latentedit.methods.pair import PairDirection, PairOptions

    backend = with_encoder(tiny_backend)
    pairs = pairs_from_folder(photos)
    request = DiscoverRequest(name="brighter", pairs=pairs)
    edit = PairDirection().discover(backend, request, PairOptions(), no_progress)

    expected = pair_directions(*encoded_pairs(backend, pairs)).mean(dim=0)
    assert edit.params["steps"] == 0
    assert torch.allclose(edit.tensors["direction"], expected / expected.norm(), atol=1e-5)
    assert PairOptions().inversion_steps(tiny_backend) == 100  # no encoder: optimise from w_avg
    assert PairOptions(domain=1.0).inversion_steps(backend) == 100  # the in-domain regulariser acts on steps


def test_pair_average_unit_is_the_papers_and_raw_the_authors_code(cli, tiny_backend, photos: Path) -> None:
    """unit averages each pair's normalised difference (every pair weighs the same); raw averages the
    differences themselves, so a pair whose codes lie twice as far apart weighs twice as much."""
    from latentedit.api import DiscoverRequest, no_progress
    from latentedit.labels import pairs_from_folder
    from latentedit.methods.pair import PairDirection, PairOptions

    backend = with_encoder(tiny_backend)
    pairs = pairs_from_folder(photos)
    before, after = encoded_pairs(backend, pairs)
    differences = (after - before).flatten(1)
    lengths = differences.norm(dim=1)
    assert float(lengths.max() / lengths.min()) > 1.05  # the two averages differ on these pairs
    edits = {
        average: PairDirection().discover(
            backend, DiscoverRequest(name=average, pairs=pairs), PairOptions(average=average), no_progress
        )
        for average in ("unit", "raw")
    }
    unit = (differences / lengths[:, None]).mean(dim=0)
    raw = differences.mean(dim=0)
    assert torch.allclose(edits["unit"].tensors["direction"].flatten(), unit / unit.norm(), atol=1e-5)
    assert torch.allclose(edits["raw"].tensors["direction"].flatten(), raw / raw.norm(), atol=1e-5)
    assert [edit.params["average"] for edit in edits.values()] == ["unit", "raw"]
    assert float(edits["unit"].tensors["direction"].flatten() @ edits["raw"].tensors["direction"].flatten()) < 0.9999
    shown = json.loads(run(cli, "methods", "pair", "--json").stdout)
    help_text = next(row["help"] for row in shown["options"] if row["name"] == "average")
    assert "unit: each pair's normalised difference (the paper)" in help_text and "raw" in help_text
    bad = run(cli, "discover", "--method", "pair", "--pairs-dir", str(photos), "-o", "average=mean", *BACKEND)
    assert bad.exit_code == 2 and "average='mean': expected unit or raw" in one_line_error(bad)


def test_empty_pair_folder(cli, tmp_path: Path) -> None:
    (tmp_path / "original").mkdir()
    (tmp_path / "modified").mkdir()
    result = run(cli, "discover", "--method", "pair", "--pairs-dir", str(tmp_path), *BACKEND)
    assert result.exit_code == 2 and "holds no images" in one_line_error(result)


def test_apply_photos_seeds_sweeps_and_composition(cli, photos: Path, tmp_path: Path) -> None:
    run(cli, "discover", "--method", "sefa", *BACKEND, "--name", "s0")
    run(cli, "discover", "--method", "sefa", *BACKEND, "--name", "s1", "-o", "component=1")
    out = tmp_path / "edited"
    result = run(
        cli, "apply", str(photos / "original" / "0.png"), "seed:4", "--dir", "s0", *FAST, *BACKEND, "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    compare = np.asarray(Image.open(out / "0_compare.png"))
    assert compare.shape == (36, 3 * 34 + 2, 3)  # input | reconstruction | edited
    assert np.asarray(Image.open(out / "seed0004_compare.png")).shape == (36, 2 * 34 + 2, 3)
    composed = run(cli, "apply", "seed:4", "--dir", "s0=2", "--dir", "s1=-2", *BACKEND, "--out", str(tmp_path / "c"))
    assert composed.exit_code == 0
    plain = np.asarray(Image.open(out / "seed0004_edited.png"))
    assert not np.array_equal(plain, np.asarray(Image.open(tmp_path / "c" / "seed0004_edited.png")))
    swept = run(cli, "apply", "seed:4", "--dir", "s0", "--sweep", "-3:3:5", *BACKEND, "--out", str(tmp_path / "s"))
    assert swept.exit_code == 0
    assert np.asarray(Image.open(tmp_path / "s" / "seed0004_sweep.png")).shape == (36, 5 * 34 + 2, 3)
    gif = Image.open(tmp_path / "s" / "seed0004_sweep.gif")
    assert gif.n_frames == 8  # forth and back
    # strength 0 reproduces the unedited sample: the middle frame equals the seed's image
    middle = np.asarray(Image.open(tmp_path / "s" / "seed0004_sweep.png"))[2:34, 2 + 2 * 34 : 2 + 2 * 34 + 32]
    reconstruction = np.asarray(Image.open(out / "seed0004_compare.png"))[2:34, 2:34]
    assert np.array_equal(middle, reconstruction)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["seed:1", "--dir", "s0", "--strength", "nan"], "not a finite number"),
        (["seed:1", "--dir", "s0=inf"], "not a finite number"),
        (["seed:1", "--dir", "s0", "--strength", "1000"], "absurd"),
        (["missing.png", "--dir", "s0"], "Input missing.png not found"),
        (["seed:1", "--dir", "nothing"], "No edit named 'nothing'"),
        (["seed:1", "--dir", "s0", "--dir", "s0", "--sweep", "-1:1:3"], "exactly one --dir"),
        (["seed:1", "--dir", "s0", "--sweep", "a:b"], "FROM:TO:COUNT"),
    ],
)
def test_apply_bad_inputs(cli, args: list[str], message: str) -> None:
    run(cli, "discover", "--method", "sefa", *BACKEND, "--name", "s0")
    result = run(cli, "apply", *args, *BACKEND, "--out", "unused-out")
    assert result.exit_code == 2, result.output
    assert message in one_line_error(result)


def test_apply_corrupt_image_and_other_backend(cli, tmp_path: Path) -> None:
    run(cli, "discover", "--method", "sefa", *BACKEND, "--name", "s0", "--out", str(tmp_path / "s0.safetensors"))
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG not really")
    result = run(
        cli, "apply", str(corrupt), "--dir", str(tmp_path / "s0.safetensors"), *BACKEND, "--out", str(tmp_path / "o")
    )
    assert result.exit_code == 2 and "not a readable image" in one_line_error(result)
    other = run(
        cli,
        "apply",
        "seed:1",
        "--dir",
        str(tmp_path / "s0.safetensors"),
        "--backend",
        "random:64",
        "--out",
        str(tmp_path / "o"),
    )
    assert other.exit_code == 2 and "was learned for backend random:32" in one_line_error(other)
