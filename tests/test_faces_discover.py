"""`discover --align`: every input that takes photos (pair folders, FEditNet positives, InterFaceGAN
positives/negatives, images in a labels CSV for InterFaceGAN and W*) reads them through one reader,
which aligns the most confident face of a photo that is not already a crop at the generator's size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentedit.faces import FaceError
from latentedit.faces.align import align
from latentedit.faces.scenes import place_face, similarity
from latentedit.faces.templates import load_template
from latentedit.images import load_image
from latentedit.photos import FaceFinder, PhotoReading, read_input_image, reading_photos
from latentedit.plugins import register_plugin, unregister_plugin
from latentedit.world.attributes import sample_attributes
from tests.helpers import one_line_error, run
from tests.test_faces_cli import SCENE_LANDMARKS, FakeDetectorPlugin

BACKEND = ("--backend", "random:32")


def _images(folder: Path, size: int, count: int = 2) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(size)
    for index in range(count):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{index}.png")
    return folder


def test_the_reader_aligns_a_photo_and_passes_a_crop(tmp_path) -> None:
    scene = place_face(sample_attributes(3), similarity(1.5, 10.0, (40.0, 20.0)), (200, 150), np.random.default_rng(3))
    Image.fromarray(scene.photo).save(tmp_path / "photo.png")
    crop = _images(tmp_path / "crops", 32, 1) / "0.png"
    SCENE_LANDMARKS[:] = [scene.landmarks]
    register_plugin("fake-detector", FakeDetectorPlugin())
    try:
        with reading_photos(PhotoReading("auto", FaceFinder(backend="random:32"), "embedded")):
            aligned = read_input_image(tmp_path / "photo.png", 32)
            as_it_is = read_input_image(crop, 32)
    finally:
        unregister_plugin("fake-detector")
    expected = align(scene.photo, scene.landmarks, load_template("embedded"), 32).crop  # the 0.9 face, not the 0.2
    assert np.array_equal(aligned, expected)
    assert np.array_equal(as_it_is, load_image(crop, 32))
    assert np.array_equal(read_input_image(tmp_path / "photo.png", 32), load_image(tmp_path / "photo.png", 32))


def test_auto_needs_a_detector_only_for_photos_that_are_not_crops(tmp_path, without_face_detector) -> None:
    with reading_photos(PhotoReading("auto", FaceFinder(backend="random:32"), "embedded")):
        assert read_input_image(_images(tmp_path / "c", 32, 1) / "0.png", 32).shape == (32, 32, 3)
        with pytest.raises(FaceError, match=r"pip install 'latentedit\[faces\]'"):
            read_input_image(_images(tmp_path / "p", 48, 1) / "0.png", 32)


@pytest.mark.parametrize(
    "method, inputs",
    [
        ("pair", lambda d: ["--pairs-dir", str(d)]),
        ("feditnet", lambda d: ["--attr", "smile", "--positives", str(d / "original")]),
        (
            "interfacegan",
            lambda d: ["--attr", "smile", "--positives", str(d / "original"), "--negatives", str(d / "modified")],
        ),  # fmt: skip
        ("interfacegan", lambda d: ["--attr", "smile", "--labels", str(d / "labels.csv")]),
        ("wstar", lambda d: ["--attrs", "smile", "--labels", str(d / "labels.csv")]),
    ],
    ids=["pair-folders", "feditnet-positives", "interfacegan-folders", "interfacegan-labels", "wstar-labels"],
)
def test_every_discover_input_of_photos_aligns_them(cli, tmp_path, method, inputs, without_face_detector) -> None:
    photos = tmp_path / "in"
    _images(photos / "original", 48)
    _images(photos / "modified", 48)
    (photos / "labels.csv").write_text("key,smile\noriginal/0.png,1\noriginal/1.png,0\n0,1\n1,0\n")
    for mode in ("auto", "yes"):
        result = run(cli, "discover", "-m", method, *inputs(photos), "--align", mode, *BACKEND, "--name", "e")
        assert result.exit_code == 2, result.output
        message = one_line_error(result)
        assert "is not a 32 x 32 crop" in message and "pip install 'latentedit[faces]'" in message
    bad = run(cli, "discover", "-m", method, *inputs(photos), "--align", "maybe", *BACKEND)
    assert bad.exit_code == 2 and "--align 'maybe': expected one of auto, yes, none" in one_line_error(bad)
