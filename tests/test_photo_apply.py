"""`latentedit apply` on a photo: the face is found from its landmarks, aligned, inverted, edited
and pasted back into the whole photo, which comes back at its own size with every pixel outside
the face untouched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentedit.faces.scenes import place_face, similarity
from latentedit.world.attributes import sample_attributes
from tests.helpers import one_line_error, run

BACKEND = ("--backend", "random:32")
FAST = ("-o", "steps=5")


@pytest.fixture
def scene(tmp_path: Path):
    """A 240x160 photo of colour noise holding one rendered face, drawn 1.2x larger and turned by
    -10 degrees; its landmarks in marks.json, as a user (or a detector) would give them."""
    frame = similarity(1.2, -10.0, (20.0, 25.0))
    placed = place_face(sample_attributes(5), frame, (240, 160), np.random.default_rng(5))
    Image.fromarray(placed.photo).save(tmp_path / "scene.png")
    (tmp_path / "marks.json").write_text(json.dumps({"scene.png": [placed.landmarks.tolist()]}))
    return placed


@pytest.fixture
def edit(cli) -> str:
    assert run(cli, "discover", "-m", "sefa", *BACKEND, "--name", "s0").exit_code == 0
    return "s0"


def _square_box(quad: list[list[float]]) -> tuple[int, int, int, int]:
    """The pixels the crop's square covers (left, top, right, bottom): paste-back never writes outside."""
    points = np.array(quad)
    low, high = np.floor(points.min(axis=0)).astype(int), np.ceil(points.max(axis=0)).astype(int)
    return int(low[0]), int(low[1]), int(high[0]), int(high[1])


def test_apply_on_a_photo_writes_the_whole_photo_back_edited(cli, tmp_path, scene, edit, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(
        cli,
        "apply",
        "scene.png",
        "--dir",
        edit,
        "--strength",
        "3",
        "--landmarks",
        "marks.json",
        *FAST,
        *BACKEND,
        "--json",
    )
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["results"][0]
    assert entry["files"] == ["edited/scene_edited.png", "edited/scene_compare.png"]
    (face,) = entry["faces"]
    assert (face["face"], face["size"], face["template"]) == (0, 32, "embedded")
    assert isinstance(face["psnr"], float)
    assert "dB PSNR" in entry["warnings"][0]  # 5 steps on a random network reconstruct poorly, and it says so
    edited = np.asarray(Image.open(tmp_path / "edited" / "scene_edited.png"))
    assert edited.shape == scene.photo.shape  # the photo's own size
    left, top, right, bottom = _square_box(face["quad"])
    outside = np.ones(edited.shape[:2], bool)
    outside[top:bottom, left:right] = False
    assert np.array_equal(edited[outside], scene.photo[outside])  # byte-identical outside the face's square
    eyes = np.array(face["landmarks"])[:2].mean(axis=0).astype(int)
    around_eyes = (slice(eyes[1] - 5, eyes[1] + 5), slice(eyes[0] - 5, eyes[0] + 5))
    change = np.abs(edited[around_eyes].astype(int) - scene.photo[around_eyes]).mean()
    assert change > 5  # the face itself changed
    compare = Image.open(tmp_path / "edited" / "scene_compare.png")
    assert compare.size == (3 * 242 + 2, 164)  # photo | reconstruction pasted back | edit pasted back


def test_crop_only_gives_the_edited_crop(cli, tmp_path, scene, edit) -> None:
    out = tmp_path / "o"
    marks = str(tmp_path / "marks.json")
    photo = str(tmp_path / "scene.png")
    result = run(
        cli, "apply", photo, "--dir", edit, "--landmarks", marks, "--crop-only", *FAST, *BACKEND, "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert Image.open(out / "scene_edited.png").size == (32, 32)
    assert Image.open(out / "scene_compare.png").size == (3 * 34 + 2, 36)  # crop | reconstruction | edit


def test_every_face_is_edited_unless_one_is_picked(cli, tmp_path, scene, edit) -> None:
    second = scene.landmarks + [120.0, 30.0]  # a second face's landmarks (noise there: still a face to align)
    marks = tmp_path / "two.json"
    marks.write_text(json.dumps({"scene.png": [scene.landmarks.tolist(), second.tolist()]}))
    photo = str(tmp_path / "scene.png")
    both = run(cli, "apply", photo, "--dir", edit, "--landmarks", str(marks), "--crop-only", *FAST, *BACKEND,
               "--out", str(tmp_path / "o"), "--json")  # fmt: skip
    assert both.exit_code == 0, both.output
    assert [entry["input"] for entry in json.loads(both.stdout)["results"]] == ["scene-face0", "scene-face1"]
    one = run(cli, "apply", photo, "--dir", edit, "--landmarks", str(marks), "--face", "1", *FAST, *BACKEND,
              "--out", str(tmp_path / "p"), "--json")  # fmt: skip
    assert [face["face"] for face in json.loads(one.stdout)["results"][0]["faces"]] == [1]
    edited = np.asarray(Image.open(tmp_path / "p" / "scene_edited.png"))
    left, top, right, bottom = _square_box(json.loads(both.stdout)["results"][0]["faces"][0]["quad"])
    assert np.array_equal(edited[top:bottom, left:right], scene.photo[top:bottom, left:right])  # face 0 untouched


def test_an_upright_photo_keeps_its_exif_and_icc_profile(cli, tmp_path, scene, edit) -> None:
    """Stored turned, with EXIF orientation 6 ("turn 90 degrees clockwise to view"): the landmarks
    are where a viewer sees the face; the result is upright, without the orientation tag, and
    keeps the other EXIF fields and the ICC profile."""
    from PIL import ImageCms

    stored = Image.fromarray(scene.photo).transpose(Image.Transpose.ROTATE_90)  # viewer turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Latentedit Test Camera"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    stored.save(tmp_path / "scene.png", exif=exif.tobytes(), icc_profile=icc)
    stored.save(tmp_path / "scene.jpg", exif=exif.tobytes(), icc_profile=icc, quality=95)
    marks = json.loads((tmp_path / "marks.json").read_text())["scene.png"]
    (tmp_path / "marks.json").write_text(json.dumps({"scene.png": marks, "scene.jpg": marks}))
    args = ["--dir", edit, "--landmarks", str(tmp_path / "marks.json"), *FAST, *BACKEND]
    assert run(cli, "apply", str(tmp_path / "scene.png"), *args, "--out", str(tmp_path / "o")).exit_code == 0
    written = Image.open(tmp_path / "o" / "scene_edited.png")
    assert written.size == (240, 160)
    assert written.info.get("icc_profile") == icc
    assert 0x0112 not in written.getexif() and written.getexif()[0x010F] == "Latentedit Test Camera"
    edited = np.asarray(written)
    assert np.array_equal(edited[:, 150:], scene.photo[:, 150:])  # upright: the photo's own right part
    same = run(cli, "apply", str(tmp_path / "scene.jpg"), *args, "--format", "same", "--out", str(tmp_path / "j"))
    assert same.exit_code == 0, same.output
    jpeg = Image.open(tmp_path / "j" / "scene_edited.jpg")
    assert (jpeg.format, jpeg.size, jpeg.info.get("icc_profile")) == ("JPEG", (240, 160), icc)


def test_a_crop_at_the_generators_size_is_used_as_it_is(cli, tmp_path, edit) -> None:
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(tmp_path / "crop.png")
    result = run(cli, "apply", str(tmp_path / "crop.png"), "--dir", edit, *FAST, *BACKEND, "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output  # --align auto needs no landmarks for a crop
    assert Image.open(tmp_path / "o" / "crop_edited.png").size == (32, 32)


def test_a_photo_without_a_way_to_find_its_face_is_one_line(cli, tmp_path, scene, edit, without_face_detector) -> None:
    photo = str(tmp_path / "scene.png")
    for align in ("auto", "yes"):
        result = run(cli, "apply", photo, "--dir", edit, "--align", align, *BACKEND, "--out", str(tmp_path / "o"))
        assert result.exit_code == 2
        message = one_line_error(result)
        assert "--landmarks" in message and "--align none" in message
    as_it_is = run(cli, "apply", photo, "--dir", edit, "--align", "none", *FAST, *BACKEND, "--out", str(tmp_path / "n"))
    assert as_it_is.exit_code == 0  # centre-cropped and resized, as before
    assert Image.open(tmp_path / "n" / "scene_edited.png").size == (32, 32)
    assert not (tmp_path / "o").exists()


def test_faces_that_cannot_be_edited_are_one_line(cli, tmp_path, scene, edit) -> None:
    photo = str(tmp_path / "scene.png")

    def apply_with(faces: list, *extra: str):
        marks = tmp_path / "m.json"
        marks.write_text(json.dumps({"scene.png": faces}))
        out = str(tmp_path / "o")
        return run(cli, "apply", photo, "--dir", edit, "--landmarks", str(marks), *extra, *BACKEND, "--out", out)

    none = apply_with([])
    assert none.exit_code == 2 and "lists no face for" in one_line_error(none)
    missing = apply_with([scene.landmarks.tolist()], "--face", "1")
    assert missing.exit_code == 2 and "--face 1:" in one_line_error(missing) and "has 1 face(s)" in missing.stderr
    tiny = apply_with([(scene.landmarks.mean(axis=0) + (scene.landmarks - scene.landmarks.mean(axis=0)) / 16).tolist()])
    assert tiny.exit_code == 2
    assert "too small to align at 32 px" in one_line_error(tiny) and "at least 8 px" in tiny.stderr
    cut = apply_with([(scene.landmarks - [60.0, 0.0]).tolist()])
    assert cut.exit_code == 2 and "cut off by the photo's border" in one_line_error(cut)
    assert not (tmp_path / "o").exists()


def test_a_face_too_small_beside_a_good_one_is_skipped_with_a_warning(cli, tmp_path, scene, edit) -> None:
    centre = scene.landmarks.mean(axis=0)
    speck = (centre + [80.0, 40.0] + (scene.landmarks - centre) / 16).tolist()  # a faint find in the background
    marks = tmp_path / "two.json"
    marks.write_text(json.dumps({"scene.png": [scene.landmarks.tolist(), speck]}))
    common = ("apply", str(tmp_path / "scene.png"), "--dir", edit, "--landmarks", str(marks), *FAST, *BACKEND)
    result = run(cli, *common, "--out", str(tmp_path / "o"), "--json")
    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.stderr.splitlines() if "too small" in line]
    assert warning.startswith("Warning: Face 1 of") and "Skipped; the other faces are edited." in warning
    assert [face["face"] for face in json.loads(result.stdout)["results"][0]["faces"]] == [0]
    assert Image.open(tmp_path / "o" / "scene_edited.png").size == (240, 160)
    picked = run(cli, *common, "--face", "1", "--out", str(tmp_path / "p"))
    assert picked.exit_code == 2 and "too small to align" in one_line_error(picked)


def test_a_registered_detector_finds_the_faces(cli, tmp_path, scene, edit) -> None:
    from latentedit.plugins import register_plugin, unregister_plugin
    from tests.test_faces_cli import SCENE_LANDMARKS, FakeDetectorPlugin

    SCENE_LANDMARKS[:] = [scene.landmarks]  # it reports this face at 0.9 and a shifted one at 0.2, that one first
    register_plugin("fake-detector", FakeDetectorPlugin())
    try:
        photo = str(tmp_path / "scene.png")
        result = run(cli, "apply", photo, "--dir", edit, "--face", "0", *FAST, *BACKEND, "--out", str(tmp_path / "o"),
                     "--json")  # fmt: skip
    finally:
        unregister_plugin("fake-detector")
    assert result.exit_code == 0, result.output
    (face,) = json.loads(result.stdout)["results"][0]["faces"]
    assert face["score"] == 0.9 and np.allclose(face["landmarks"], scene.landmarks)


def test_editing_the_same_photo_again_reuses_the_face_inversion(cli, tmp_path, scene, edit, isolated_home) -> None:
    args = ["apply", str(tmp_path / "scene.png"), "--dir", edit, "--landmarks", str(tmp_path / "marks.json"), *FAST]
    assert run(cli, *args, *BACKEND, "--out", str(tmp_path / "a")).exit_code == 0
    cached = sorted((isolated_home / "cache" / "inversions").rglob("*.safetensors"))
    assert len(cached) == 1  # one face, keyed by its aligned crop's pixels
    assert run(cli, *args, *BACKEND, "--out", str(tmp_path / "b"), "--strength", "-2").exit_code == 0
    assert sorted((isolated_home / "cache" / "inversions").rglob("*.safetensors")) == cached
    first = np.asarray(Image.open(tmp_path / "a" / "scene_compare.png"))
    second = np.asarray(Image.open(tmp_path / "b" / "scene_compare.png"))
    width = first.shape[1] // 3
    assert np.array_equal(first[:, : 2 * width], second[:, : 2 * width])  # same photo, same reconstruction
