"""Align a face: five landmarks -> the template's oriented square -> a square crop, and the exact
affine map from the crop's pixels back to the photo's.

The steps follow the published description of FFHQ's alignment (Karras et al. 2019): shrink a
photo whose face is much larger than the crop by an integer factor, cut the square's bounding box
with a border, and where the square leaves the photo, pad by reflection, blur the padding and fade
it towards the photo's median colour, so no hard edge or black corner enters the crop. The
resampling is one affine warp (bicubic, supersampled and box-filtered when the crop shrinks the
face), so the recorded transform is exactly the one the pixels went through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Imported lazily (by the align command and the library functions that need it), never at start-up.
import numpy as np  # noqa: TID253
from PIL import Image, ImageFilter  # noqa: TID253

from latentedit.faces import FaceError
from latentedit.faces.templates import FFHQ, Template, as_landmarks

SUPERSAMPLE = 4
"""Samples per crop pixel and axis when the crop shrinks the face (then box-filtered: antialiasing)."""


@dataclass(frozen=True)
class AlignedFace:
    """One aligned face: the crop, the 3x3 affine from crop pixels to photo pixels, the crop's
    square in the photo (``quad``: top-left, bottom-left, bottom-right, top-right) and the
    landmarks it was aligned from (photo pixels)."""

    crop: np.ndarray
    transform: np.ndarray
    quad: np.ndarray
    landmarks: np.ndarray
    template: str

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        """Crop pixel coordinates [N, 2] -> photo pixel coordinates."""
        return apply_affine(self.transform, points)

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Photo pixel coordinates [N, 2] -> crop pixel coordinates."""
        return apply_affine(np.linalg.inv(self.transform), points)

    def describe(self) -> dict[str, object]:
        """JSON-ready: size, transform, quad and landmarks (a missing nose as null)."""
        return {
            "size": int(self.crop.shape[0]),
            "template": self.template,
            "transform": self.transform.tolist(),
            "quad": self.quad.tolist(),
            "landmarks": [None if np.isnan(p).any() else p.tolist() for p in self.landmarks],
        }


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points [N, 2] through a 2x3 or 3x3 affine matrix."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:2, :2].T + matrix[:2, 2]


def quad_transform(quad: np.ndarray, size: int) -> np.ndarray:
    """The 3x3 affine taking crop pixels ([0, size]^2) onto the square ``quad`` in the photo."""
    top_left, bottom_left, _, top_right = quad
    matrix = np.eye(3)
    matrix[:2, 0] = (top_right - top_left) / size
    matrix[:2, 1] = (bottom_left - top_left) / size
    matrix[:2, 2] = top_left
    return matrix


def scale_shift(scale: float, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """3x3 affine x -> scale * x + shift."""
    return np.array([[scale, 0.0, shift[0]], [0.0, scale, shift[1]], [0.0, 0.0, 1.0]])


def align(
    photo: np.ndarray,
    landmarks: np.ndarray,
    template: Template = FFHQ,
    size: int | None = None,
    quad: np.ndarray | None = None,
) -> AlignedFace:
    """Crop the face with ``landmarks`` (five points, photo pixels) out of ``photo`` (uint8
    [H, W, 3]) as the ``template`` places faces, at ``size`` x ``size`` pixels (default: the
    template's); ``quad``: the crop's square where a detector found it for this template."""
    size = size or template.size
    if size < 8:
        raise FaceError(f"Crop size {size} is too small; give at least 8 pixels.")
    landmarks = as_landmarks(landmarks)
    quad = template.quad(landmarks) if quad is None else np.asarray(quad, dtype=np.float64)
    transform = quad_transform(quad, size)
    side = float(np.hypot(*(quad[3] - quad[0])))
    if not side > 0.0:
        raise FaceError("The landmarks put all points on one spot; cannot align a face of zero size.")
    shrink = math.floor(side / size * 0.5)
    image, to_work = _face_region(photo, quad, side, max(shrink, 1))
    if shrink > 1:
        image = image.reduce(shrink)
        to_work = scale_shift(1.0 / shrink) @ to_work
        side /= shrink
    image, to_work = _cut_and_pad(image, apply_affine(to_work, quad), side, to_work)
    warped = warp(image, to_work @ transform, (size, size), shrinks=side > size)
    return AlignedFace(np.asarray(warped, dtype=np.uint8), transform, quad, landmarks, template.name)


def warp(
    image: Image.Image,
    matrix: np.ndarray,
    size: tuple[int, int],
    shrinks: bool,
    resample: Image.Resampling = Image.Resampling.BICUBIC,
) -> Image.Image:
    """``image`` resampled onto a ``size`` (width, height) grid whose pixel coordinates ``matrix``
    (3x3) maps into ``image``'s; where the warp ``shrinks`` the image, supersampled and box-filtered
    so it does not alias. Points outside ``image`` come out 0."""
    supersample = SUPERSAMPLE if shrinks else 1
    sample = matrix @ scale_shift(1.0 / supersample)
    coefficients = tuple(sample[:2].ravel().tolist())
    warped = image.transform(
        (size[0] * supersample, size[1] * supersample), Image.Transform.AFFINE, coefficients, resample
    )
    return warped.reduce(supersample) if supersample > 1 else warped


def _border(side: float) -> int:
    """Pixels cut around the square's bounding box, for a square ``side`` pixels across."""
    return max(round(side * 0.1), 3)


def _face_region(photo: np.ndarray, quad: np.ndarray, side: float, shrink: int) -> tuple[Image.Image, np.ndarray]:
    """The part of ``photo`` that `_cut_and_pad` reaches after the photo is shrunk ``shrink`` times,
    as a Pillow image, and the photo -> region affine. Its edges are multiples of ``shrink`` (or
    the photo's), so shrinking it gives the same pixels as shrinking the whole photo: a large photo
    is never copied or shrunk whole."""
    border = _border(side / shrink)
    low = (np.floor(quad.min(axis=0) / shrink).astype(int) - border) * shrink
    high = (np.ceil(quad.max(axis=0) / shrink).astype(int) + border) * shrink
    height, width = photo.shape[:2]
    left, top, right, bottom = max(low[0], 0), max(low[1], 0), min(high[0], width), min(high[1], height)
    if left >= right or top >= bottom:
        raise FaceError("The face's crop lies entirely outside the photo; check the landmarks.")
    return Image.fromarray(np.ascontiguousarray(photo[top:bottom, left:right])), scale_shift(1.0, (-left, -top))


def _cut_and_pad(
    image: Image.Image, quad: np.ndarray, side: float, to_work: np.ndarray
) -> tuple[Image.Image, np.ndarray]:
    """Cut the square's bounding box plus a border out of ``image``; pad by reflection (blurred,
    faded to the median colour) where it reaches past the photo. Returns the piece and the
    photo -> piece affine."""
    width, height = image.size
    border = _border(side)
    low = np.floor(quad.min(axis=0)).astype(int) - border
    high = np.ceil(quad.max(axis=0)).astype(int) + border
    box = (max(low[0], 0), max(low[1], 0), min(high[0], width), min(high[1], height))
    if box[0] >= box[2] or box[1] >= box[3]:
        raise FaceError("The face's crop lies entirely outside the photo; check the landmarks.")
    image = image.crop(box)
    to_work = scale_shift(1.0, (-box[0], -box[1])) @ to_work
    before = (box[0] - low[0], box[1] - low[1])
    after = (high[0] - box[2], high[1] - box[3])
    if max(*before, *after) <= border - 4:
        return image, to_work
    least = max(round(side * 0.3), 1)
    left, top = max(before[0], least), max(before[1], least)
    right, bottom = max(after[0], least), max(after[1], least)
    padded = _pad_softly(np.asarray(image.convert("RGB")), (left, top, right, bottom), side)
    return Image.fromarray(padded), scale_shift(1.0, (left, top)) @ to_work


def _pad_softly(pixels: np.ndarray, pad: tuple[int, int, int, int], side: float) -> np.ndarray:
    """Reflect-pad ``pixels`` by (left, top, right, bottom); blur the padding (Gaussian, sigma 2% of the
    square's side, reaching a third of the padding into the photo) and fade it towards the median
    colour the further it lies from the photo."""
    left, top, right, bottom = pad
    height, width = pixels.shape[:2]
    reflected = np.pad(pixels, ((top, bottom), (left, right), (0, 0)), mode="reflect")
    image = reflected.astype(np.float32)
    blurred = np.asarray(Image.fromarray(reflected).filter(ImageFilter.GaussianBlur(side * 0.02)), dtype=np.float32)
    xs = np.arange(reflected.shape[1], dtype=np.float32) + 0.5
    ys = np.arange(reflected.shape[0], dtype=np.float32) + 0.5
    # How far into the padding each pixel lies: 0 at the photo's edge, 1 at the padding's outer edge.
    out_x = np.maximum((left - xs) / left, (xs - (left + width)) / right)
    out_y = np.maximum((top - ys) / top, (ys - (top + height)) / bottom)
    outside = np.maximum(out_x[None, :], out_y[:, None])[..., None]
    image += (blurred - image) * np.clip(outside * 3.0 + 1.0, 0.0, 1.0)
    image += (np.median(image, axis=(0, 1)) - image) * np.clip(outside, 0.0, 1.0)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
