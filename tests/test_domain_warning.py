"""A photo the generator cannot draw is called out in one warning line, by either of two signals:
the inversion's PSNR, and the discriminator's score on the reconstruction."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from latentedit.errors import LatentEditWarning
from latentedit.photos import POOR_DISC_LOGIT, POOR_PSNR_DB, check_reconstruction
from latentedit.world.heldout import heldout_seeds
from latentedit.world.render import render_batch
from tests.helpers import run

GOOD_PSNR, POOR_PSNR = POOR_PSNR_DB + 5, POOR_PSNR_DB - 5
GOOD_DISC, POOR_DISC = POOR_DISC_LOGIT + 2, POOR_DISC_LOGIT - 2


def test_each_signal_alone_warns_and_says_what_it_means() -> None:
    with pytest.warns(LatentEditWarning):
        by_disc = check_reconstruction("sky.png", GOOD_PSNR, POOR_DISC)
    assert "discriminator scores the reconstruction -4.5" in by_disc and "dB PSNR" not in by_disc
    with pytest.warns(LatentEditWarning):
        by_psnr = check_reconstruction("noise.png", POOR_PSNR, GOOD_DISC)
    assert "18.0 dB PSNR" in by_psnr and "discriminator" not in by_psnr
    with pytest.warns(LatentEditWarning):
        both = check_reconstruction("cat.png", POOR_PSNR, POOR_DISC)
    assert "dB PSNR" in both and "discriminator" in both and "\n" not in both
    assert check_reconstruction("face.png", GOOD_PSNR, GOOD_DISC) is None
    assert check_reconstruction("face.png", GOOD_PSNR, None) is None  # a backend without a discriminator


def test_the_discriminator_calls_out_a_photo_that_psnr_lets_through(cli, tmp_path) -> None:
    """A clear sky reconstructs well enough (PSNR above the bar) but looks like no face of the world."""
    rows = np.linspace(0.0, 1.0, 64)[:, None, None]
    sky = (np.array([90, 140, 220]) * (1 - 0.4 * rows) + np.array([30, 30, 10]) * rows).astype(np.uint8)
    Image.fromarray(np.broadcast_to(sky, (64, 64, 3)).copy()).save(tmp_path / "sky.png")
    Image.fromarray(render_batch(heldout_seeds(1, 123_456))[0][0]).save(tmp_path / "face.png")
    result = run(
        cli, "invert", str(tmp_path / "sky.png"), str(tmp_path / "face.png"), "--out", str(tmp_path / "codes.st"),
        "-o", "steps=40", "--backend", "embedded", "--json",
    )  # fmt: skip
    assert result.exit_code == 0
    sky_row, face_row = json.loads(result.stdout)["images"]
    assert sky_row["psnr"] > POOR_PSNR_DB and sky_row["disc"] < POOR_DISC_LOGIT
    assert "discriminator scores the reconstruction" in sky_row["warning"]
    assert face_row["disc"] > POOR_DISC_LOGIT and face_row["warning"] is None
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "sky.png" in warnings[0]
