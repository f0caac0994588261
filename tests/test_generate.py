"""`latentedit generate`: seeds in, PNGs out, byte-identical for the same seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers import one_line_error, run


def test_one_png_per_seed_and_identical_bytes_for_the_same_seed(cli, tmp_path: Path) -> None:
    first = run(cli, "generate", "--backend", "random:32", "--seeds", "3,5", "--out", str(tmp_path / "a"), "--json")
    run(cli, "generate", "--backend", "random:32", "--seeds", "1-5", "--out", str(tmp_path / "b"), "--quiet")
    assert json.loads(first.stdout)["files"] == [str(tmp_path / "a/seed0003.png"), str(tmp_path / "a/seed0005.png")]
    # a seed's image does not depend on the batch it was drawn in
    assert (tmp_path / "a/seed0005.png").read_bytes() == (tmp_path / "b/seed0005.png").read_bytes()
    assert (tmp_path / "a/seed0003.png").read_bytes() != (tmp_path / "a/seed0005.png").read_bytes()
    assert Image.open(tmp_path / "a/seed0003.png").size == (32, 32)


def test_a_seed_gives_the_same_pixels_whichever_seeds_come_with_it() -> None:
    import numpy as np

    from latentedit.loaders import load_backend
    from latentedit.sampling import seed_images

    backend = load_backend("random:64")
    together = seed_images(backend, list(range(12)))
    for seed in (0, 5, 11):
        assert np.array_equal(together[seed], seed_images(backend, [seed])[0])


def test_grid_and_truncation(cli, tmp_path: Path) -> None:
    result = run(
        cli,
        "generate",
        "--backend",
        "random:32",
        "--seeds",
        "0-3",
        "--grid",
        str(tmp_path / "g.png"),
        "--truncation",
        "0",
    )
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "generated").exists()  # --grid alone writes no per-seed files
    grid = np.asarray(Image.open(tmp_path / "g.png"))
    assert grid.shape == (64, 64, 3)
    # truncation 0 puts every sample at w_avg: the four tiles are the same image
    assert np.array_equal(grid[:32, :32], grid[32:, 32:])


def test_refuses_to_overwrite_without_force(cli, tmp_path: Path) -> None:
    args = ["generate", "--backend", "random:32", "--seeds", "0", "--out", str(tmp_path)]
    assert run(cli, *args).exit_code == 0
    result = run(cli, *args)
    assert result.exit_code == 2
    assert "already exists; pass --force" in one_line_error(result)
    assert run(cli, *args, "--force").exit_code == 0


def test_bad_seeds_and_backends_are_one_line_errors(cli, tmp_path: Path) -> None:
    for args, message in [
        (["--seeds", "7-2"], "runs backwards"),
        (["--seeds", "x"], "expected e.g. '0-7'"),
        (["--backend", "random:33"], "power of two"),
        (["--backend", "nope"], "Unknown backend 'nope'"),
        (["--backend", "stylegan2:missing.safetensors"], "not found. Import one first"),
        (["--truncation", "nan"], "--truncation nan"),
    ]:
        result = run(cli, "generate", "--out", str(tmp_path), *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in one_line_error(result)
