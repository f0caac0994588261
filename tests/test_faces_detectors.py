"""The shipped face detectors: MTCNN (extra ``latentedit[faces]``) on real photos, its weights read
without running pickle code, and what a user without the extra is told."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentedit.errors import UnsafePickleError
from latentedit.faces.detectors import FaceDetectorSpec, detect, detectors_for, load_detector
from latentedit.hookspecs import hookimpl
from latentedit.photos import FaceFinder, open_photo
from latentedit.plugins import register_plugin, unregister_plugin
from tests.helpers import one_line_error, run

FACES = Path(__file__).parent / "fixtures" / "faces"
ASTRONAUT_MARKS = np.array([[64.5, 60.8], [107.0, 63.0], [83.8, 87.5], [63.8, 101.3], [103.8, 101.3]])
"""Placed by hand on astronaut.jpg (skimage.data.astronaut(), public domain, cropped at x 140, y 40)."""

needs_mtcnn = pytest.mark.skipif(
    not __import__("latentedit.faces.plugin", fromlist=["x"]).mtcnn_installed(),
    reason="needs the extra latentedit[faces]",
)


def _photo(name: str) -> np.ndarray:
    return np.asarray(Image.open(FACES / name).convert("RGB"))


def _two_faces(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """The astronaut (left) and Grace Hopper, smaller (right), on a grey 300 x 170 photo."""
    scene = np.full((170, 300, 3), 90, np.uint8)
    scene[5:165, 0:160] = _photo("astronaut.jpg")
    scene[20:150, 175:290] = _photo("grace_hopper.jpg")
    path = tmp_path / "two.png"
    Image.fromarray(scene).save(path)
    return path, scene


@needs_mtcnn
def test_mtcnn_finds_the_astronaut_where_a_person_puts_her_landmarks() -> None:
    (face,) = detect(load_detector("mtcnn"), _photo("astronaut.jpg"))
    assert face.score > 0.95
    error = np.hypot(*(face.landmarks - ASTRONAUT_MARKS).T)
    eyes = np.hypot(*(ASTRONAUT_MARKS[1] - ASTRONAUT_MARKS[0]))  # 42.6 px
    assert error.mean() < 0.05 * eyes and error.max() < 0.08 * eyes  # mean 1.8 px, the mouth corners 2.5-3.1
    assert detectors_for("stylegan2:ffhq.safetensors") == ["mtcnn"]  # the default for imported networks


@needs_mtcnn
def test_mtcnn_finds_no_face_in_noise_or_a_flat_photo() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    assert detect(load_detector("mtcnn"), noise) == []
    assert detect(load_detector("mtcnn"), np.full((80, 80, 3), 200, np.uint8)) == []


@needs_mtcnn
def test_two_faces_come_ranked_by_score_and_face_n_picks_one(cli, tmp_path) -> None:
    path, scene = _two_faces(tmp_path)
    found = detect(load_detector("mtcnn"), scene)
    assert len(found) == 2 and found[0].score >= found[1].score
    aligned = run(cli, "align", str(path), "--out", str(tmp_path / "o"), "--size", "64", "--json")
    assert aligned.exit_code == 0, aligned.output
    assert [crop["score"] for crop in json.loads(aligned.stdout)["crops"]] == pytest.approx([f.score for f in found])
    (second,) = open_photo(path, "auto", 64, FaceFinder(backend="stylegan2:x"), "ffhq", face=1).faces  # --face 1
    assert second.index == 1 and np.allclose(second.aligned.landmarks, found[1].landmarks)


def test_without_the_extra_apply_says_how_to_install_it(cli, tmp_path, without_face_detector) -> None:
    path, _ = _two_faces(tmp_path)
    assert run(cli, "discover", "-m", "sefa", "--backend", "random:32", "--name", "s0").exit_code == 0
    result = run(cli, "apply", str(path), "--dir", "s0", "--backend", "random:32", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    message = one_line_error(result)
    assert "pip install 'latentedit[faces]'" in message and "--align none" in message and "--landmarks" in message
    assert detectors_for("random:32") == []


def test_the_weights_reader_runs_nothing_a_file_asks_for(tmp_path) -> None:
    from latentedit.faces.joblib_arrays import read_joblib_arrays

    class Payload:
        def __reduce__(self):
            return (print, ("ran",))

    evil = tmp_path / "evil.joblib"
    evil.write_bytes(pickle.dumps([Payload()]))
    with pytest.raises(UnsafePickleError, match="builtins.print"):
        read_joblib_arrays(evil)


def test_the_weights_reader_reads_what_joblib_writes(tmp_path) -> None:
    joblib = pytest.importorskip("joblib")
    from latentedit.faces.joblib_arrays import read_joblib_arrays

    arrays = [np.arange(12, dtype=np.float32).reshape(3, 4), np.array([1.5, -2.0])]
    buffer = io.BytesIO()
    joblib.dump(arrays, buffer)
    (tmp_path / "w.joblib").write_bytes(buffer.getvalue())
    read = read_joblib_arrays(tmp_path / "w.joblib")
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(read, arrays, strict=True))


SQUARE = np.array([[10.0, 12.0], [10.0, 52.0], [50.0, 52.0], [50.0, 12.0]])


def make_square_detector():
    """A detector that also reports each face's crop square for the embedded template."""
    return lambda photo: [(0.8, ASTRONAUT_MARKS * 0.3 + 10.0, SQUARE)]


class SquareDetectorPlugin:
    @hookimpl
    def register_face_detectors(self, register) -> None:
        register(
            FaceDetectorSpec("squares", "Test.", "tests.test_faces_detectors:make_square_detector", template="embedded")
        )


def test_a_detectors_own_square_is_used_for_its_template_only(tmp_path) -> None:
    Image.fromarray(np.full((80, 90, 3), 120, np.uint8)).save(tmp_path / "p.png")
    register_plugin("squares", SquareDetectorPlugin())
    try:
        finder = FaceFinder(detector="squares")
        (own,) = finder.faces(tmp_path / "p.png", np.zeros((80, 90, 3), np.uint8), "embedded")
        (other,) = finder.faces(tmp_path / "p.png", np.zeros((80, 90, 3), np.uint8), "ffhq")
        (face,) = open_photo(tmp_path / "p.png", "yes", 32, finder, "embedded").faces
    finally:
        unregister_plugin("squares")
    assert np.array_equal(own[2], SQUARE) and other[2] is None
    assert np.allclose(face.aligned.quad, SQUARE)  # the crop is the detector's square, not the template's fit
