"""Rendered faces placed inside larger scenes with a known similarity transform: photos whose
true alignment is known exactly, for tests, benchmarks and demonstrations of the photo path."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

# Imported lazily (by tests and benchmarks), never at start-up.
import numpy as np  # noqa: TID253
from PIL import Image  # noqa: TID253

from latentedit.faces.align import apply_affine, scale_shift, warp
from latentedit.faces.templates import rendered_landmarks


@dataclass(frozen=True)
class Scene:
    """A photo holding one rendered face: ``frame`` (3x3) maps the render's pixels (at
    ``resolution``) into the photo; ``landmarks`` are the face's exact five points in the photo;
    ``face`` is the render as the photo holds it at scale 1 (drawn at ``detail`` times
    ``resolution``, box-filtered down to ``resolution``)."""

    photo: np.ndarray
    frame: np.ndarray
    landmarks: np.ndarray
    resolution: int
    face: np.ndarray

    @property
    def frame_quad(self) -> np.ndarray:
        """The render's square in the photo (top-left, bottom-left, bottom-right, top-right)."""
        n = float(self.resolution)
        return apply_affine(self.frame, np.array([[0.0, 0.0], [0.0, n], [n, n], [n, 0.0]]))


def similarity(scale: float, degrees: float, shift: tuple[float, float]) -> np.ndarray:
    """3x3 affine: scale, then rotate by ``degrees`` (clockwise on screen, y down), then shift."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    return np.array([[cos, -sin, shift[0]], [sin, cos, shift[1]], [0.0, 0.0, 1.0]])


def place_face(
    record: Mapping[str, float | int | str],
    frame: np.ndarray,
    photo_size: tuple[int, int],
    rng: np.random.Generator,
    resolution: int = 64,
    detail: int = 4,
) -> Scene:
    """Render ``record`` (at ``detail`` times ``resolution``, so the placed face stays sharp at any
    scale) and draw it through ``frame`` onto a photo of ``photo_size`` (width, height) filled with
    smooth colour noise."""
    from latentedit.world.render import render

    rgb, _ = render(record, resolution * detail)
    photo = paint_face(noise_photo(photo_size, rng), rgb, frame, detail)
    landmarks = apply_affine(frame, rendered_landmarks(record, resolution * detail) / detail)
    face_at_resolution = np.asarray(Image.fromarray(rgb).reduce(detail))
    return Scene(photo, frame, landmarks, resolution, face_at_resolution)


def noise_photo(photo_size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A uint8 photo of ``photo_size`` (width, height): smooth colour noise (random colours every 8
    pixels, bicubic in between) plus a grain of +-12 levels."""
    width, height = photo_size
    coarse = rng.integers(0, 256, size=(max(height // 8, 2), max(width // 8, 2), 3), dtype=np.uint8)
    photo = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)).copy()
    grain = rng.integers(-12, 13, size=photo.shape)
    return np.clip(photo.astype(np.int16) + grain, 0, 255).astype(np.uint8)


def paint_face(photo: np.ndarray, rgb: np.ndarray, frame: np.ndarray, detail: int) -> np.ndarray:
    """``photo`` with the render ``rgb`` (drawn at ``detail`` times the frame's resolution) drawn
    through ``frame`` (3x3, frame pixels -> photo pixels), its edges antialiased."""
    photo_size = (photo.shape[1], photo.shape[0])
    to_render = scale_shift(float(detail)) @ np.linalg.inv(frame)
    shrinks = abs(np.linalg.det(frame[:2, :2])) < detail**2
    face = np.asarray(warp(Image.fromarray(rgb), to_render, photo_size, shrinks), dtype=np.float32)
    ones = Image.fromarray(np.ones(rgb.shape[:2], dtype=np.float32), mode="F")
    cover = np.asarray(warp(ones, to_render, photo_size, shrinks, Image.Resampling.BILINEAR))[..., None]
    return np.rint(photo * (1.0 - cover) + face * cover).astype(np.uint8)
