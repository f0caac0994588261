"""The embedded world's own face finder: rendered faces placed anywhere in a photo, at any size and
turn the benchmark uses, are found without landmarks, and `--align auto` uses it for the embedded
backend."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from benchmarks.face_alignment import random_frame
from latentedit.faces.detectors import detect, detectors_for, load_detector
from latentedit.faces.scenes import noise_photo, paint_face, place_face, similarity
from latentedit.faces.templates import rendered_landmarks
from latentedit.photos import FaceFinder, open_photo
from latentedit.world.attributes import sample_attributes
from latentedit.world.render import render
from tests.helpers import run

HELD_OUT = 5_000_000
"""Faces neither the finder's training (3,000,000 on) nor the benchmark (1,000,000 on) uses."""


def test_it_is_the_embedded_backends_detector_and_only_its() -> None:
    assert detectors_for("embedded") == ["world-landmarks"]
    assert "world-landmarks" not in detectors_for("random:32") + detectors_for("stylegan2:ffhq.safetensors")


def test_it_finds_placed_faces_to_about_a_pixel() -> None:
    finder = load_detector("world-landmarks")
    errors, corners = [], []
    for seed in range(HELD_OUT, HELD_OUT + 12):
        rng = np.random.default_rng(seed)
        scene = place_face(sample_attributes(seed), random_frame(rng), (256, 192), rng)
        found = detect(finder, scene.photo)
        assert len(found) == 1, seed
        scale = np.sqrt(abs(np.linalg.det(scene.frame[:2, :2])))
        errors.append(np.hypot(*(found[0].landmarks - scene.landmarks).T).mean() / scale)
        corners.append(np.hypot(*(found[0].quad - scene.frame_quad).T).mean() / scale)  # the crop it reports
    assert np.mean(errors) < 1.0 and np.max(errors) < 3.0  # pixels of the 64 px frame (200 faces: mean 0.62, max 1.6)
    assert np.mean(corners) < 1.2 and np.max(corners) < 4.0  # (200: mean 0.83; 9.2, 7.1, then < 2)


def test_two_faces_come_most_confident_first_and_none_in_noise() -> None:
    rng = np.random.default_rng(7)
    photo = noise_photo((320, 200), rng)
    truths = []
    placements = ((HELD_OUT + 50, 110.0, (90.0, 100.0)), (HELD_OUT + 51, 56.0, (240.0, 90.0)))
    for seed, side, centre in placements:
        record = sample_attributes(seed)
        rgb, _ = render(record, 128)
        frame = similarity(side / 64.0, 8.0, (centre[0] - side / 2.0, centre[1] - side / 2.0))
        photo = paint_face(photo, rgb, frame, 2)
        truths.append(rendered_landmarks(record, 128) / 2.0 @ frame[:2, :2].T + frame[:2, 2])
    found = detect(load_detector("world-landmarks"), photo)
    assert len(found) == 2 and found[0].score >= found[1].score
    for detection in found:
        nearest = min(np.hypot(*(detection.landmarks - truth).T).mean() for truth in truths)
        assert nearest < 2.0
    assert detect(load_detector("world-landmarks"), noise_photo((200, 160), np.random.default_rng(1))) == []


def test_align_auto_on_the_embedded_world_needs_no_landmarks(tmp_path) -> None:
    rng = np.random.default_rng(HELD_OUT)
    scene = place_face(sample_attributes(HELD_OUT + 99), similarity(1.6, -12.0, (60.0, 30.0)), (240, 180), rng)
    Image.fromarray(scene.photo).save(tmp_path / "scene.png")
    photo = open_photo(tmp_path / "scene.png", "auto", 64, FaceFinder(backend="embedded"), "embedded")
    assert photo is not None
    (face,) = photo.faces
    assert face.score is not None and face.score > 0.5
    assert np.hypot(*(face.aligned.landmarks - scene.landmarks).T).mean() < 3.2  # 2 px of the 64 px crop


def test_align_with_the_embedded_template_finds_the_face_itself(cli, tmp_path) -> None:
    rng = np.random.default_rng(HELD_OUT + 7)
    scene = place_face(sample_attributes(HELD_OUT + 7), similarity(0.8, 15.0, (70.0, 40.0)), (200, 160), rng)
    Image.fromarray(scene.photo).save(tmp_path / "scene.png")
    result = run(cli, "align", str(tmp_path / "scene.png"), "--out", str(tmp_path / "o"), "--template", "embedded",
                 "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    (crop,) = json.loads(result.stdout)["crops"]
    assert crop["score"] > 0.5
    sidecar = json.loads((tmp_path / "o" / "scene-face0.json").read_text())
    assert np.hypot(*(np.array(sidecar["landmarks"]) - scene.landmarks).T).mean() < 1.6  # 2 px of the 64 px frame
    assert np.hypot(*(np.array(sidecar["quad"]) - scene.frame_quad).T).mean() < 1.6  # the crop: the render's frame
