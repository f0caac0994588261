"""Paste an edited crop back into the photo it was aligned from.

The crop is warped back with the inverse of the alignment's transform and blended in with a
feathered mask: an ellipse over the face built from the landmarks, or a given mask (a part
segmenter's, in crop pixels) grown by ``dilate`` pixels. Before blending, the crop's colours are
matched to the photo's in the feathered ring (per-channel mean and standard deviation), so a
generator's slight colour drift leaves no seam; into a black-and-white photo the face goes grey.
Pixels the mask does not reach are copied from the photo byte for byte; the output has the
photo's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Imported lazily (by the library functions that need it), never at start-up.
import numpy as np  # noqa: TID253
from PIL import Image, ImageFilter  # noqa: TID253

from latentedit.faces import FaceError
from latentedit.faces.align import AlignedFace, scale_shift, warp

FEATHER = 0.06
"""Width of the mask's soft edge, as a fraction of the crop's side."""

MIN_RING_PIXELS = 16
"""Fewer feathered-ring pixels than this and the colours are left as they are."""

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
"""ITU-R BT.601 luma weights (Pillow's RGB -> L): the grey of a face pasted into a grey photo."""


@dataclass(frozen=True)
class BlendMask:
    """Where the crop goes in the photo: ``mask`` (float32 in [0, 1]) covers the photo's pixels
    ``box`` = (left, top, right, bottom); everything outside the box has weight 0."""

    box: tuple[int, int, int, int]
    mask: np.ndarray


def face_mask(face: AlignedFace, feather: float | None = None) -> np.ndarray:
    """A soft ellipse over the face in crop pixels (float32 [size, size] in [0, 1]).

    Its axes follow the eye line and the eye-to-mouth line: 1.2 eye distances wide either side,
    1.35 eye-to-mouth distances high either side of a centre 0.4 of the way from the eyes to the
    mouth, so it spans the brows to the chin. The edge ramps over ``feather`` pixels.
    """
    size = face.crop.shape[0]
    feather = feather if feather is not None else FEATHER * size
    left_eye, right_eye, _, mouth_left, mouth_right = face.to_crop(np.nan_to_num(face.landmarks))
    eye_avg = (left_eye + right_eye) / 2.0
    eye_to_eye = right_eye - left_eye
    eye_to_mouth = (mouth_left + mouth_right) / 2.0 - eye_avg
    across = eye_to_eye / np.hypot(*eye_to_eye)
    down = np.array([-across[1], across[0]])
    half_width = 1.2 * np.hypot(*eye_to_eye)
    half_height = 1.35 * abs(float(eye_to_mouth @ down))
    center = eye_avg + 0.4 * eye_to_mouth
    grid = np.stack(np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5), axis=-1) - center
    radius = np.hypot(grid @ across / half_width, grid @ down / half_height)
    soft = np.clip(0.5 + (1.0 - radius) * min(half_width, half_height) / max(feather, 1e-6), 0.0, 1.0)
    return soft.astype(np.float32)


def grow_mask(mask: np.ndarray, dilate: int, feather: float) -> np.ndarray:
    """A given mask (crop pixels, bool or [0, 1]) grown by ``dilate`` pixels and blurred over ``feather``."""
    image = Image.fromarray(np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0) * 255.0).convert("L")
    if dilate > 0:
        image = image.filter(ImageFilter.MaxFilter(2 * dilate + 1))
    if feather > 0:
        image = image.filter(ImageFilter.GaussianBlur(feather / 2.0))
    return np.asarray(image, dtype=np.float32) / 255.0


def blend_mask(
    face: AlignedFace,
    photo_size: tuple[int, int],
    mask: np.ndarray | None = None,
    dilate: int | None = None,
    feather: float | None = None,
) -> BlendMask:
    """The blending weights in photo pixels for ``face`` (photo_size = (width, height)).

    ``mask`` (crop pixels) replaces the landmark ellipse; it is grown by ``dilate`` pixels (default
    a tenth of the crop) and feathered. The weights fall to 0 two pixels inside the crop's border,
    so nothing outside the crop is ever sampled.
    """
    size = face.crop.shape[0]
    feather = feather if feather is not None else FEATHER * size
    if mask is None:
        weights = face_mask(face, feather)
    else:
        if np.shape(mask) != (size, size):
            raise FaceError(f"Mask is {np.shape(mask)}; it must match the crop, {size} x {size} pixels.")
        weights = grow_mask(mask, dilate if dilate is not None else round(0.1 * size), feather)
    centers = np.arange(size) + 0.5
    to_edge = np.minimum(np.minimum(centers, size - centers)[:, None], np.minimum(centers, size - centers)[None, :])
    weights = weights * np.clip((to_edge - 2.0) / max(feather, 1.0), 0.0, 1.0).astype(np.float32)
    width, height = photo_size
    low = np.floor(face.quad.min(axis=0)).astype(int)
    high = np.ceil(face.quad.max(axis=0)).astype(int)
    box = (max(low[0], 0), max(low[1], 0), min(high[0], width), min(high[1], height))
    if box[0] >= box[2] or box[1] >= box[3]:
        return BlendMask((0, 0, 0, 0), np.zeros((0, 0), np.float32))
    to_crop = np.linalg.inv(face.transform) @ scale_shift(1.0, (box[0], box[1]))
    window = (box[2] - box[0], box[3] - box[1])
    warped = warp(Image.fromarray(weights, mode="F"), to_crop, window, _shrinks(face), Image.Resampling.BILINEAR)
    return BlendMask(box, np.clip(np.asarray(warped, dtype=np.float32), 0.0, 1.0))


def _shrinks(face: AlignedFace) -> bool:
    """Whether going back to the photo shrinks the crop (the face is smaller in the photo)."""
    return math.sqrt(abs(np.linalg.det(face.transform[:2, :2]))) < 1.0


def match_colors(
    source: np.ndarray, reference: np.ndarray, ring: np.ndarray, measured: np.ndarray | None = None
) -> np.ndarray:
    """``source`` (float [..., 3]) shifted and scaled per channel so that on ``ring`` its mean and
    standard deviation are ``reference``'s (the gain kept within [0.5, 2]). With ``measured`` (the
    unedited reconstruction, same shape as ``source``), the shift and gain are the ones that match
    ``measured`` to ``reference``: the generator's colour drift is removed, the edit's own colour
    changes (a beard gone from the jaw line) are kept."""
    if int(ring.sum()) < MIN_RING_PIXELS:
        return source
    src, ref = (source if measured is None else measured)[ring], reference[ring]
    gain = np.clip(ref.std(axis=0) / np.maximum(src.std(axis=0), 1e-3), 0.5, 2.0)
    return (source - src.mean(axis=0)) * gain + ref.mean(axis=0)


def paste_back(
    photo: np.ndarray,
    crop: np.ndarray,
    face: AlignedFace,
    mask: np.ndarray | None = None,
    dilate: int | None = None,
    feather: float | None = None,
    match: bool = True,
    reconstruction: np.ndarray | None = None,
) -> np.ndarray:
    """``photo`` (uint8 [H, W, 3]) with ``crop`` (uint8, the edited ``face.crop``) pasted back where
    ``face`` was aligned from; see ``blend_mask`` for ``mask``, ``dilate`` and ``feather``. With
    ``match``, colours are matched at the seam, measured on ``reconstruction`` (the unedited
    crop the generator drew) when it is given, else on ``crop`` itself (see ``match_colors``)."""
    if crop.shape != face.crop.shape:
        raise FaceError(f"Edited crop is {crop.shape}; it must have the aligned crop's shape {face.crop.shape}.")
    height, width = photo.shape[:2]
    weights = blend_mask(face, (width, height), mask, dilate, feather)
    left, top, right, bottom = weights.box
    result = photo.copy()
    if weights.mask.size == 0:
        return result
    to_crop = np.linalg.inv(face.transform) @ scale_shift(1.0, (left, top))
    window = (right - left, bottom - top)
    # Only the pixels the mask reaches are converted to float: a large photo's face box is not copied whole.
    inside = weights.mask > 0.0
    alpha = weights.mask[inside][:, None]
    warped = np.asarray(warp(Image.fromarray(crop), to_crop, window, _shrinks(face)))
    original = photo[top:bottom, left:right][inside].astype(np.float32)
    pasted = warped[inside].astype(np.float32)
    if match:
        measured = None
        if reconstruction is not None:
            if reconstruction.shape != crop.shape:
                raise FaceError(
                    f"Reconstruction is {reconstruction.shape}; it must have the crop's shape {crop.shape}."
                )
            drawn = warp(Image.fromarray(reconstruction), to_crop, window, _shrinks(face))
            measured = np.asarray(drawn)[inside].astype(np.float32)
        pasted = match_colors(pasted, original, alpha[:, 0] < 1.0, measured)
    if (original == original[:, :1]).all():  # a black-and-white photo gets a black-and-white face
        pasted[:] = pasted @ LUMA[:, None]
    pasted -= original
    pasted *= alpha
    pasted += original
    result[top:bottom, left:right][inside] = np.clip(np.rint(pasted, out=pasted), 0, 255, out=pasted).astype(np.uint8)
    return result
