"""Face alignment: the renderer's exact landmarks, FFHQ's geometry, and crops that land exactly
where the recorded transform says, for faces placed in photos with known similarities."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from benchmarks.face_alignment import alignment_case, content_shift, summary
from latentedit.faces import LandmarksError
from latentedit.faces.align import align, apply_affine
from latentedit.faces.photo import read_photo
from latentedit.faces.scenes import place_face, similarity
from latentedit.faces.templates import FFHQ, Template, embedded_template, load_template, rendered_landmarks
from latentedit.world.attributes import sample_attributes, with_attribute
from latentedit.world.canvas import EYES, MOUTH
from latentedit.world.render import render


def _run_through(row: np.ndarray, start: float) -> tuple[int, int]:
    """The run of True in ``row`` containing index ``start``: [first, last + 1)."""
    low = high = int(start)
    while row[low - 1]:
        low -= 1
    while row[high + 1]:
        high += 1
    return low, high + 1


def test_rendered_landmarks_sit_on_the_drawn_eyes_and_mouth_corners() -> None:
    size = 256
    for seed in range(8):
        record = sample_attributes(seed)
        for name, value in (("glasses", 0), ("eyes_open", 1.0), ("long_hair", 0), ("bangs", 0)):
            record = with_attribute(record, name, value)
        _, parts = render(record, size)
        points = rendered_landmarks(record, size)
        eye_row = parts[int(points[0, 1])] == EYES
        for eye, other in ((0, 1), (1, 0)):
            low, high = _run_through(eye_row, points[eye, 0])
            if low <= points[other, 0] < high:
                continue  # a strongly turned head: the two eyes touch, the run holds both
            assert (low + high) / 2 == pytest.approx(points[eye, 0], abs=0.75)  # 0.2 px at 64 px
        ys, xs = np.nonzero(parts == MOUTH)
        for corner, edge in ((3, xs.min()), (4, xs.max() + 1)):
            assert edge == pytest.approx(points[corner, 0], abs=1.0)
            column = ys[xs == (edge if corner == 3 else edge - 1)]
            assert (column.min() + column.max() + 1) / 2 == pytest.approx(points[corner, 1], abs=1.25)


def test_ffhq_square_of_an_upright_face() -> None:
    eyes_and_mouth = [[40.0, 50.0], [60.0, 50.0], None, [42.0, 70.0], [58.0, 70.0]]
    # eye_to_eye (20, 0), eye_to_mouth (0, 20): x = (40, 0) scaled to max(2 * 20, 1.8 * 20) = 40,
    # centre = eye midpoint + 0.1 * eye_to_mouth = (50, 52).
    quad = FFHQ.quad(eyes_and_mouth)
    assert quad.tolist() == [[10.0, 12.0], [10.0, 92.0], [90.0, 92.0], [90.0, 12.0]]
    face = align(np.zeros((120, 100, 3), np.uint8), eyes_and_mouth, FFHQ, 32)
    assert apply_affine(face.transform, [[0, 0], [32, 32]]).tolist() == [[10.0, 12.0], [90.0, 92.0]]
    assert face.to_crop(face.to_photo([[3.0, 7.0]])) == pytest.approx(np.array([[3.0, 7.0]]))


def test_ffhq_square_turns_and_scales_with_the_face() -> None:
    points = rendered_landmarks(sample_attributes(3))
    move = similarity(1.7, -14.0, (33.0, 71.0))
    moved_square = apply_affine(move, FFHQ.quad(points))
    assert FFHQ.quad(apply_affine(move, points)) == pytest.approx(moved_square, abs=1e-9)


def test_fifty_placed_faces_align_onto_their_known_frames() -> None:
    """The issue's bar is a mean corner error of at most 1 px at 64 px; the measure in pixels (not
    only the square's geometry) is what would catch a half-pixel slip in the warp."""
    results = summary([alignment_case(seed) for seed in range(1_000_000, 1_000_050)])
    assert results["corner_error"]["max"] < 1e-6
    assert results["ffhq_error"]["max"] < 1e-6
    assert results["content_error"]["mean"] < 0.1
    assert results["content_error"]["max"] < 0.25
    assert results["psnr"]["mean"] > 30.0


def test_the_content_measure_sees_a_half_pixel_slip() -> None:
    record = sample_attributes(11)
    scene = place_face(record, similarity(1.0, 0.0, (40.0, 30.0)), (160, 128), np.random.default_rng(0))
    own = Template("own", apply_affine(np.linalg.inv(scene.frame), scene.landmarks) / 64)
    exact = align(scene.photo, scene.landmarks, own, 64)
    slipped = align(scene.photo, scene.landmarks + [0.5, 0.0], own, 64)
    assert content_shift(exact.crop, scene.face) < 0.05
    assert content_shift(slipped.crop, scene.face) == pytest.approx(0.5, abs=0.1)


def test_a_large_face_is_shrunk_first_and_still_lands_exactly() -> None:
    record = sample_attributes(21)
    scene = place_face(record, similarity(6.0, 12.0, (150.0, 20.0)), (640, 560), np.random.default_rng(1))
    own = Template("own", apply_affine(np.linalg.inv(scene.frame), scene.landmarks) / 64)
    face = align(scene.photo, scene.landmarks, own, 64)
    assert np.abs(face.quad - scene.frame_quad).max() < 1e-9
    assert content_shift(face.crop, scene.face) < 0.1


def test_a_face_leaving_the_photo_is_padded_without_black_corners() -> None:
    record = sample_attributes(5)
    scene = place_face(record, similarity(2.0, 0.0, (-40.0, -30.0)), (200, 160), np.random.default_rng(2))
    face = align(scene.photo, scene.landmarks, FFHQ, 64)
    outside = face.to_photo(np.array([[0.5, 0.5]]))[0]
    assert (outside < 0).any()  # the crop's corner lies outside the photo
    assert face.crop.shape == (64, 64, 3)
    assert (face.crop.reshape(-1, 3).sum(axis=1) > 30).all()


def test_embedded_template_places_rendered_faces_near_their_frame() -> None:
    """Five points cannot say everything (face_y shifts a face in its frame and moves no point
    relative to another), so the frame is found to about 2 px at 64 px, not exactly."""
    template = embedded_template()
    assert template.size == 64
    eyes, mouth = template.points[:2], template.points[3:]
    assert eyes[0, 1] == pytest.approx(eyes[1, 1]) and mouth[0, 1] == pytest.approx(mouth[1, 1])
    assert 0.0 < eyes[0, 0] < 0.5 < eyes[1, 0] < 1.0 and eyes[0, 1] < template.points[2, 1] < mouth[0, 1]
    frame = np.array([[0.0, 0.0], [0.0, 64.0], [64.0, 64.0], [64.0, 0.0]])
    faces = [rendered_landmarks(sample_attributes(seed)) for seed in range(200_000, 200_200)]

    def frame_error(chosen: Template, nose: bool = True) -> float:
        errors = [
            np.hypot(*(chosen.quad(f if nose else np.where([[1], [1], [0], [1], [1]], f, np.nan)) - frame).T)
            for f in faces
        ]
        return float(np.mean(errors))

    mean_positions = Template("mean", template.points, 64)
    assert frame_error(template) < 2.5 < 5.0 < frame_error(mean_positions)
    assert frame_error(template, nose=False) == pytest.approx(frame_error(mean_positions, nose=False))


def test_template_files(tmp_path) -> None:
    path = tmp_path / "arcface.json"
    points = [[0.34, 0.46], [0.66, 0.46], [0.5, 0.64], [0.37, 0.82], [0.63, 0.82]]
    path.write_text(json.dumps({"name": "arcface-like", "points": points, "size": 112}))
    template = load_template(str(path))
    assert (template.name, template.size) == ("arcface-like", 112)
    face = align(np.full((300, 300, 3), 90, np.uint8), np.array(points) * 200 + 40, template)
    assert face.crop.shape == (112, 112, 3)
    assert face.quad[0] == pytest.approx([40.0, 40.0]) and face.quad[2] == pytest.approx([240.0, 240.0])
    path.write_text(json.dumps({"points": points[:4]}))
    with pytest.raises(LandmarksError, match="five"):
        load_template(str(path))
    with pytest.raises(LandmarksError, match="Unknown template 'ffhk'"):
        load_template("ffhk")


def test_photos_are_read_upright(tmp_path) -> None:
    pixels = np.zeros((20, 30, 3), np.uint8)
    pixels[:, :5] = 255  # a white strip down the stored image's left edge
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # EXIF orientation: turn 90 degrees clockwise to view
    image.save(tmp_path / "phone.png", exif=exif)
    upright = read_photo(tmp_path / "phone.png")
    assert upright.shape == (30, 20, 3)
    assert upright[:5].min() == 255 and upright[5:].max() == 0  # the strip is now along the top
