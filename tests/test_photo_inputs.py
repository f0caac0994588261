"""Photos as people have them: `invert` aligns faces like `apply` does; odd files (16-bit PNGs,
CMYK JPEGs, animated GIFs, huge photos) give an edit or one line; a poor reconstruction says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors import safe_open

from latentedit.faces.scenes import place_face, similarity
from latentedit.images import read_photo_file
from latentedit.photos import POOR_PSNR_DB, check_reconstruction
from latentedit.world.attributes import sample_attributes
from tests.helpers import one_line_error, run

BACKEND = ("--backend", "random:32")
FAST = ("-o", "steps=5")


def test_invert_aligns_a_photo_and_records_the_transform(cli, tmp_path: Path, without_face_detector) -> None:
    placed = place_face(sample_attributes(2), similarity(1.3, 6.0, (30.0, 20.0)), (160, 120), np.random.default_rng(2))
    Image.fromarray(placed.photo).save(tmp_path / "party.png")
    (tmp_path / "marks.json").write_text(json.dumps({"party.png": [placed.landmarks.tolist()]}))
    out = tmp_path / "codes.safetensors"
    args = ["invert", str(tmp_path / "party.png"), "--landmarks", str(tmp_path / "marks.json"), "--out", str(out)]
    result = run(cli, *args, *FAST, *BACKEND, "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["images"]
    assert (row["face"], row["size"], row["template"]) == (0, 32, "embedded")
    transform = np.array(row["transform"])
    assert np.hypot(*transform[:2, 0]) == pytest.approx(np.hypot(*(np.array(row["quad"][3]) - row["quad"][0])) / 32)
    with safe_open(str(out), framework="pt") as handle:
        assert handle.get_tensor("ws").shape[0] == 1
        assert json.loads(handle.metadata()["faces"])[0]["transform"] == row["transform"]
    plain = run(cli, "invert", str(tmp_path / "party.png"), "--align", "none", "--out", str(tmp_path / "p.st"), *FAST,
                *BACKEND, "--json")  # fmt: skip
    assert json.loads(plain.stdout)["images"][0]["face"] is None  # centre-cropped, as before
    refused = run(
        cli, "invert", str(tmp_path / "party.png"), "--align", "yes", "--out", str(tmp_path / "x.st"), *BACKEND
    )
    assert refused.exit_code == 2 and "--landmarks" in one_line_error(refused)


def test_a_poor_reconstruction_is_one_warning_line_and_in_json(cli, tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)  # nothing a generator draws
    Image.fromarray(noise).save(tmp_path / "noise.png")
    result = run(cli, "invert", str(tmp_path / "noise.png"), "--out", str(tmp_path / "c.st"), *FAST, *BACKEND, "--json")
    assert result.exit_code == 0
    (row,) = json.loads(result.stdout)["images"]
    assert row["psnr"] < POOR_PSNR_DB and "dB PSNR" in row["warning"]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "noise.png" in warnings[0] and "-o steps=N" in warnings[0]
    assert check_reconstruction("fine.png", POOR_PSNR_DB + 5) is None


def test_a_16_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    pixels = read_photo_file(tmp_path / "deep.png").pixels
    assert pixels.shape == (64, 64, 3)
    assert pixels[0, 0, 0] == 0 and pixels[-1, -1, 0] == 255 and pixels[32, 0, 0] == 128  # a ramp, not white


def test_a_cmyk_jpeg_reads_as_rgb(tmp_path: Path) -> None:
    Image.new("CMYK", (16, 8), (0, 255, 255, 0)).save(tmp_path / "print.jpg")  # pure red in print colours
    photo = read_photo_file(tmp_path / "print.jpg")
    assert photo.pixels.shape == (8, 16, 3) and photo.icc_profile is None
    red, green, blue = photo.pixels[4, 8].astype(int)
    assert red > 200 and green < 60 and blue < 60


def test_an_animated_gif_gives_its_first_frame_and_says_so(cli, tmp_path: Path) -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((250, 0, 0), (0, 0, 250))]
    frames[0].save(tmp_path / "blink.gif", save_all=True, append_images=frames[1:])
    with pytest.warns(UserWarning, match=r"blink.gif has 2 frames \(animated or multi-page\); using the first frame"):
        assert read_photo_file(tmp_path / "blink.gif").pixels[0, 0, 0] > 200
    result = run(cli, "invert", str(tmp_path / "blink.gif"), "--out", str(tmp_path / "c.st"), *FAST, *BACKEND)
    assert result.exit_code == 0
    assert any("using the first frame" in line for line in result.stderr.splitlines())


def test_a_huge_photo_is_one_line_with_the_limit(cli, tmp_path: Path) -> None:
    Image.new("L", (9000, 8000)).save(tmp_path / "huge.png")  # 72 megapixels; a few hundred bytes on disk
    result = run(cli, "invert", str(tmp_path / "huge.png"), "--out", str(tmp_path / "c.st"), *BACKEND)
    assert result.exit_code == 2
    assert "huge.png is 9000 x 8000 pixels; the limit is 64 megapixels" in one_line_error(result)
    Image.new("1", (12000, 12000)).save(tmp_path / "bomb.png")  # past Pillow's own bomb check, which stops it first
    bomb = run(cli, "invert", str(tmp_path / "bomb.png"), "--out", str(tmp_path / "c.st"), *BACKEND)
    assert bomb.exit_code == 2 and "bomb.png is too large to open; the limit is 64 megapixels" in one_line_error(bomb)
