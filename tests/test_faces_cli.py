"""`latentedit align` at a terminal: crops and their transforms written, nothing overwritten
without --force, one-line errors for what a user gets wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentedit.faces.align import apply_affine
from latentedit.faces.detectors import FaceDetectorSpec
from latentedit.faces.scenes import place_face, similarity
from latentedit.hookspecs import hookimpl
from latentedit.plugins import register_plugin, unregister_plugin
from latentedit.world.attributes import sample_attributes
from tests.helpers import one_line_error, run

SCENE_LANDMARKS: list[np.ndarray] = []


@pytest.fixture
def photo(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A 200x160 photo holding one rendered face; its exact landmarks."""
    scene = place_face(sample_attributes(3), similarity(1.2, 8.0, (60.0, 30.0)), (200, 160), np.random.default_rng(3))
    path = tmp_path / "party.png"
    Image.fromarray(scene.photo).save(path)
    return path, scene.landmarks


def _landmarks_file(tmp_path: Path, entries: dict) -> Path:
    path = tmp_path / "landmarks.json"
    path.write_text(json.dumps(entries))
    return path


def test_align_writes_each_crop_and_its_transform(cli, tmp_path, photo) -> None:
    path, points = photo
    landmarks = _landmarks_file(tmp_path, {"party.png": [points.tolist()]})
    out = tmp_path / "crops"
    result = run(cli, "align", str(path), "--out", str(out), "--template", "embedded", "--landmarks", str(landmarks))
    assert result.exit_code == 0, result.output
    assert "Aligned 1 faces (embedded template, 64 px)" in result.stdout
    crop = np.asarray(Image.open(out / "party-face0.png"))
    sidecar = json.loads((out / "party-face0.json").read_text())
    assert crop.shape == (64, 64, 3)
    assert sidecar["photo"] == str(path) and sidecar["photo_size"] == [200, 160] and sidecar["size"] == 64
    transform = np.array(sidecar["transform"])
    assert apply_affine(transform, [[0, 0], [64, 64]]) == pytest.approx(np.array(sidecar["quad"])[[0, 2]])
    assert np.array(sidecar["landmarks"]) == pytest.approx(points)


def test_align_json_output_and_size(cli, tmp_path, photo) -> None:
    path, points = photo
    landmarks = _landmarks_file(tmp_path, {str(path): [points.tolist(), (points + [5.0, 0.0]).tolist()]})
    args = ["align", str(path), "--out", str(tmp_path / "o"), "--landmarks", str(landmarks), "--size", "96", "--json"]
    result = run(cli, *args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["template"], report["size"], len(report["crops"])) == ("ffhq", 96, 2)
    assert Image.open(tmp_path / "o" / "party-face1.png").size == (96, 96)


def test_align_refuses_to_overwrite_without_force(cli, tmp_path, photo) -> None:
    path, points = photo
    landmarks = _landmarks_file(tmp_path, {"party.png": [points.tolist()]})
    args = ["align", str(path), "--out", str(tmp_path / "o"), "--landmarks", str(landmarks), "--size", "32"]
    assert run(cli, *args).exit_code == 0
    before = (tmp_path / "o" / "party-face0.png").read_bytes()
    refused = run(cli, *args[:-1], "48")
    assert refused.exit_code == 2
    assert "already exists; pass --force" in one_line_error(refused)
    assert (tmp_path / "o" / "party-face0.png").read_bytes() == before
    assert run(cli, *args[:-1], "48", "--force").exit_code == 0
    assert Image.open(tmp_path / "o" / "party-face0.png").size == (48, 48)


def test_one_line_errors(cli, tmp_path, photo, without_face_detector) -> None:
    path, points = photo
    out = ["--out", str(tmp_path / "o")]
    missing = run(cli, "align", str(path), *out, "--landmarks", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "nope.json not found" in one_line_error(missing)
    other = _landmarks_file(tmp_path, {"other.png": [points.tolist()]})
    no_face = run(cli, "align", str(path), *out, "--landmarks", str(other))
    assert no_face.exit_code == 2 and "No face given for" in one_line_error(no_face)
    bad = _landmarks_file(tmp_path, {"party.png": [points[:3].tolist()]})
    short = run(cli, "align", str(path), *out, "--landmarks", str(bad))
    assert short.exit_code == 2 and "five [x, y] pairs" in one_line_error(short)
    no_detector = run(cli, "align", str(path), *out)
    assert no_detector.exit_code == 2 and "No face detector is installed" in one_line_error(no_detector)
    template = run(cli, "align", str(path), *out, "--template", "ffhk", "--landmarks", str(other))
    assert template.exit_code == 2 and "Unknown template 'ffhk'" in one_line_error(template)
    assert not (tmp_path / "o").exists()


def _detections(photo: np.ndarray) -> list[tuple[float, list[list[float]]]]:
    """Two faces, the less likely one listed first (a detector's order is not its ranking)."""
    return [(0.2, SCENE_LANDMARKS[0] + 40.0), (0.9, SCENE_LANDMARKS[0])]


def make_detector():
    return _detections


class FakeDetectorPlugin:
    @hookimpl
    def register_face_detectors(self, register) -> None:
        register(FaceDetectorSpec("fake", "Test detector.", "tests.test_faces_cli:make_detector"))


def test_a_plugin_detector_is_used_and_faces_are_ranked_by_score(cli, tmp_path, photo, without_face_detector) -> None:
    path, points = photo
    SCENE_LANDMARKS[:] = [points]
    register_plugin("fake-detector", FakeDetectorPlugin())
    try:
        result = run(cli, "align", str(path), "--out", str(tmp_path / "o"), "--size", "32", "--json")
        unknown = run(cli, "align", str(path), "--out", str(tmp_path / "p"), "--detector", "retina")
    finally:
        unregister_plugin("fake-detector")
    assert result.exit_code == 0, result.output
    crops = json.loads(result.stdout)["crops"]
    assert [crop["score"] for crop in crops] == [0.9, 0.2]
    assert json.loads((tmp_path / "o" / "party-face0.json").read_text())["landmarks"] == pytest.approx(points)
    assert unknown.exit_code == 2
    assert "Unknown face detector 'retina'. Available: fake, world-landmarks." in one_line_error(unknown)


def test_align_help_does_not_import_heavy_libraries() -> None:
    probe = (
        "import sys\nfrom typer.testing import CliRunner\nfrom latentedit.cli import app\n"
        "assert CliRunner().invoke(app, ['align', '--help']).exit_code == 0\n"
        "print(sorted(m for m in ('torch', 'numpy', 'PIL') if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "[]", output.stdout + output.stderr
