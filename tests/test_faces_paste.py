"""Paste-back: the edited crop goes back where it came from; every pixel the mask does not reach
is the photo's own, byte for byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentedit.faces import FaceError
from latentedit.faces.align import align, apply_affine
from latentedit.faces.paste import blend_mask, paste_back
from latentedit.faces.scenes import place_face, similarity
from latentedit.faces.templates import FFHQ, Template, embedded_template
from latentedit.images import Photo
from latentedit.world.attributes import sample_attributes, with_attribute
from latentedit.world.canvas import BACKGROUND
from latentedit.world.render import render

PHOTO = (240, 200)


def _scene(seed: int = 7, scale: float = 1.3, degrees: float = 12.0):
    record = sample_attributes(seed)
    scene = place_face(record, similarity(scale, degrees, (70.0, 40.0)), PHOTO, np.random.default_rng(seed))
    return record, scene


def _reached(face, photo: np.ndarray, mask=None) -> np.ndarray:
    """Photo pixels the blend may change (mask weight above 0)."""
    weights = blend_mask(face, (photo.shape[1], photo.shape[0]), mask)
    left, top, right, bottom = weights.box
    reached = np.zeros(photo.shape[:2], bool)
    reached[top:bottom, left:right] = weights.mask > 0
    return reached


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_pasting_the_unedited_crop_back_gives_the_photo_back() -> None:
    _, scene = _scene()
    face = align(scene.photo, scene.landmarks, FFHQ, 128)
    pasted = paste_back(scene.photo, face.crop, face)
    reached = _reached(face, scene.photo)
    assert pasted.shape == scene.photo.shape and pasted.dtype == np.uint8
    assert np.array_equal(pasted[~reached], scene.photo[~reached])
    assert 0.01 < reached.mean() < 0.5
    assert _psnr(pasted[reached], scene.photo[reached]) > 35.0


def test_an_edit_changes_the_face_and_nothing_outside_the_mask() -> None:
    record, scene = _scene(seed=9, scale=1.6, degrees=-15.0)
    template = embedded_template()
    face = align(scene.photo, scene.landmarks, template)
    # The "edit": the same face rendered with a frown, aligned the same way.
    frown = place_face(with_attribute(record, "smile", -1.0), scene.frame, PHOTO, np.random.default_rng(9))
    edited = align(frown.photo, scene.landmarks, template).crop  # the same square as `face`
    pasted = paste_back(scene.photo, edited, face)
    reached = _reached(face, scene.photo)
    assert np.array_equal(pasted[~reached], scene.photo[~reached])
    mouth = tuple(np.round(scene.landmarks[3:].mean(axis=0)).astype(int))
    window = (slice(mouth[1] - 4, mouth[1] + 5), slice(mouth[0] - 6, mouth[0] + 7))
    changed = np.abs(pasted[window].astype(int) - scene.photo[window]).sum(axis=-1)
    target = np.abs(pasted[window].astype(int) - frown.photo[window]).sum(axis=-1)
    assert changed.mean() > 30 and target.mean() < changed.mean() / 3


def test_a_given_mask_is_grown_and_bounds_the_change() -> None:
    record, scene = _scene(seed=4, scale=1.0, degrees=0.0)
    own = Template("own", apply_affine(np.linalg.inv(scene.frame), scene.landmarks) / 64)
    face = align(scene.photo, scene.landmarks, own, 64)
    _, parts = render(record, 64)
    head = parts != BACKGROUND
    edited = np.clip(face.crop.astype(int) + 40, 0, 255).astype(np.uint8)
    pasted = paste_back(scene.photo, edited, face, mask=head, dilate=2, match=False)
    reached = _reached(face, scene.photo, head)
    assert np.array_equal(pasted[~reached], scene.photo[~reached])
    grown_edge = np.nonzero(reached.any(axis=0))[0]
    head_cols = np.nonzero(head.any(axis=0))[0] + 70  # frame shifted by 70 px, scale 1
    assert grown_edge.min() < head_cols.min() and grown_edge.max() > head_cols.max()
    with pytest.raises(FaceError, match="must match the crop"):
        paste_back(scene.photo, edited, face, mask=head[:32])


def test_colours_are_matched_at_the_seam() -> None:
    _, scene = _scene(seed=12)
    face = align(scene.photo, scene.landmarks, FFHQ, 128)
    tinted = np.clip(face.crop.astype(int) + [35, -20, 10], 0, 255).astype(np.uint8)
    weights = blend_mask(face, PHOTO)
    left, top, right, bottom = weights.box
    ring = (weights.mask > 0) & (weights.mask < 1)

    def seam_error(match: bool) -> float:
        pasted = paste_back(scene.photo, tinted, face, match=match)[top:bottom, left:right]
        return float(np.abs(pasted[ring].astype(int) - scene.photo[top:bottom, left:right][ring]).mean())

    assert seam_error(match=True) < seam_error(match=False) / 4


def test_a_crop_of_another_size_is_refused() -> None:
    _, scene = _scene()
    face = align(scene.photo, scene.landmarks, FFHQ, 64)
    with pytest.raises(FaceError, match="aligned crop's shape"):
        paste_back(scene.photo, np.zeros((32, 32, 3), np.uint8), face)


def test_colours_are_matched_on_the_reconstruction_so_the_edits_own_colour_stays() -> None:
    """A generator that draws everything 30 levels too dark, and an edit that brightens the face by
    40: matched on the reconstruction, the drift goes and the edit stays (+40 at the face's centre);
    matched on the edit itself, the seam would take the edit's brightening away too."""
    _, scene = _scene()
    face = align(scene.photo, scene.landmarks, FFHQ, 128)
    drawn = np.clip(face.crop.astype(int) - 30, 0, 255).astype(np.uint8)  # the generator's colour drift
    edited = np.clip(face.crop.astype(int) + 10, 0, 255).astype(np.uint8)  # drift + an edit of +40
    center = tuple(np.round(face.to_photo(np.array([[64.0, 64.0]]))[0]).astype(int))
    window = (slice(center[1] - 3, center[1] + 3), slice(center[0] - 3, center[0] + 3))
    photo = scene.photo[window].astype(float)
    kept = paste_back(scene.photo, edited, face, reconstruction=drawn)[window].astype(float)
    lost = paste_back(scene.photo, edited, face)[window].astype(float)
    assert np.mean(kept - photo) == pytest.approx(40.0, abs=6.0)  # less where +40 clips at 255
    assert abs(np.mean(lost - photo)) < 5.0


def _head_in_photo(record, scene) -> np.ndarray:
    """The photo's pixels whose centre falls on the render's head (any part but the background)."""
    _, parts = render(record, 64)
    height, width = scene.photo.shape[:2]
    centers = np.stack(np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5), axis=-1).reshape(-1, 2)
    in_render = np.floor(apply_affine(np.linalg.inv(scene.frame), centers)).astype(int)
    inside = ((in_render >= 0) & (in_render < 64)).all(axis=1)
    head = np.zeros(len(centers), bool)
    head[inside] = parts[in_render[inside, 1], in_render[inside, 0]] != BACKGROUND
    return head.reshape(height, width)


def _inside_crop(face, photo: np.ndarray) -> np.ndarray:
    """The photo's pixels the crop covers fully (a mask of ones is not faded there by the crop's border)."""
    weights = blend_mask(face, (photo.shape[1], photo.shape[0]), np.ones(face.crop.shape[:2]))
    left, top, right, bottom = weights.box
    inside = np.zeros(photo.shape[:2], bool)
    inside[top:bottom, left:right] = weights.mask >= 0.999
    return inside


def test_the_backends_part_segmenter_gives_the_mask_hair_included() -> None:
    """The embedded world's segmenter reads the head off the generator's drawings (here the renders
    themselves): the pasted region reaches the long hair the landmark ellipse leaves out, and no pixel
    outside the grown head changes."""
    from types import SimpleNamespace

    from latentedit.faces.segment import face_segmenter, segmented_face
    from latentedit.photos import AlignedPhoto, PhotoFace, paste_faces

    record = with_attribute(sample_attributes(21), "long_hair", 1)
    frame = similarity(2.0, 10.0, (60.0, 30.0))
    scene = place_face(record, frame, PHOTO, np.random.default_rng(21))
    face = align(scene.photo, scene.landmarks, embedded_template())
    dark = place_face(with_attribute(record, "hair_color", "black"), frame, PHOTO, np.random.default_rng(21))
    edited = align(dark.photo, scene.landmarks, embedded_template()).crop
    segmenter = face_segmenter(SimpleNamespace(name="embedded", device="cpu"))  # what `apply` looks up
    assert segmenter is not None and face_segmenter(SimpleNamespace(name="random:32", device="cpu")) is None
    mask = segmented_face(segmenter, [face.crop, edited])

    photo = AlignedPhoto(Path("scene.png"), Photo(scene.photo), [PhotoFace(0, None, face)])
    pasted = paste_faces(photo, [edited], [face.crop], segmenter)
    assert np.array_equal(pasted, paste_back(scene.photo, edited, face, mask=mask, reconstruction=face.crop))
    reached = _reached(face, scene.photo, mask)
    assert np.array_equal(pasted[~reached], scene.photo[~reached])
    head = _head_in_photo(record, scene) & _inside_crop(face, scene.photo)  # the hair reaches the crop's edge
    assert reached[head].mean() > 0.99  # the whole head, hair included
    assert _reached(face, scene.photo)[head].mean() < 0.8  # the ellipse: the face only
    assert reached[~head].mean() < 0.25  # grown by a tenth of the crop, not the whole square
    hair = np.abs(pasted.astype(int) - scene.photo).sum(axis=-1)[head & reached]
    assert np.median(hair) > 20  # the edit (black hair) is there


def test_a_black_and_white_photo_gets_a_black_and_white_face() -> None:
    _, scene = _scene(seed=5)
    grey = np.repeat(np.asarray(Image.fromarray(scene.photo).convert("L"))[..., None], 3, axis=2)
    face = align(grey, scene.landmarks, FFHQ, 64)
    coloured = align(scene.photo, scene.landmarks, FFHQ, 64).crop  # the generator draws in colour
    pasted = paste_back(grey, coloured, face, reconstruction=coloured)
    assert (pasted == pasted[..., :1]).all()
    reached = _reached(face, grey)
    assert np.abs(pasted[reached].astype(int) - grey[reached]).mean() < 8  # the face's own greys
