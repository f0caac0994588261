"""Face templates: where a generator's training data put the five landmarks in its crop.

A template turns a face's five landmarks in a photo into the crop's oriented square (``quad``:
top-left, bottom-left, bottom-right, top-right corners in photo pixels). Two kinds:

- ``ffhq``: the procedure FFHQ was made with (Karras et al. 2019, the dataset's published
  alignment): the square follows the eye line and the eye-to-mouth line, so it is a function of
  the landmarks rather than a fixed set of positions.
- points: fixed positions of the five landmarks in the crop (unit coordinates); the square is the
  least-squares similarity from those positions to the face's landmarks. The embedded world's is
  the mean of the renderer's exact landmarks (``rendered_landmarks``), so a render aligns onto the
  frame the generator was trained in; a JSON file gives any other (``load_template``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Imported lazily (by the align command and the library functions that need it), never at start-up.
import numpy as np  # noqa: TID253

from latentedit.faces import LANDMARK_NAMES, LandmarksError

UNIT_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
"""The crop's corners in unit coordinates, in ``quad`` order: top-left, bottom-left, bottom-right, top-right."""

EMBEDDED_TEMPLATE_SEEDS = 4096
"""How many sampled faces the embedded template averages."""


def as_landmarks(points: object) -> np.ndarray:
    """Five (x, y) points as a float64 [5, 2] array (a missing nose as NaN), or a `LandmarksError`.

    Takes an array, a list of five pairs (the nose may be ``None``) or a mapping keyed by
    ``LANDMARK_NAMES`` (the nose may be absent).
    """
    if isinstance(points, Mapping):
        missing = [name for name in LANDMARK_NAMES if name != "nose" and name not in points]
        if missing:
            raise LandmarksError(f"Landmarks miss {', '.join(missing)}; expected {', '.join(LANDMARK_NAMES)}.")
        points = [points.get(name) for name in LANDMARK_NAMES]
    try:
        rows = [[math.nan, math.nan] if point is None else [float(v) for v in point] for point in points]  # type: ignore[union-attr]
        array = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        raise LandmarksError(f"Landmarks must be five [x, y] pairs; got {points!r:.80}.") from None
    if array.shape != (5, 2):
        raise LandmarksError(f"Landmarks must be five [x, y] pairs ({', '.join(LANDMARK_NAMES)}); got {array.shape}.")
    required = np.delete(array, 2, axis=0)
    if not np.isfinite(required).all() or np.isinf(array).any():
        raise LandmarksError("Landmarks hold a missing or infinite eye or mouth corner; only the nose may be missing.")
    return array


def ffhq_quad(landmarks: np.ndarray) -> np.ndarray:
    """The oriented square of FFHQ's alignment for one face (photo pixels, ``quad`` order).

    From the eye centres and mouth corners: the square is centred a tenth of the way from the eyes'
    midpoint to the mouth's, its x axis is the eye line corrected by the eye-to-mouth direction
    turned by 90 degrees, and its half side is the larger of twice the eye distance and 1.8 times
    the eye-to-mouth distance. The nose is not used.
    """
    left_eye, right_eye, _, mouth_left, mouth_right = landmarks
    eye_avg = (left_eye + right_eye) / 2.0
    eye_to_eye = right_eye - left_eye
    eye_to_mouth = (mouth_left + mouth_right) / 2.0 - eye_avg
    x = eye_to_eye - _turn(eye_to_mouth)
    x = x / np.hypot(*x) * max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = _turn(x)
    center = eye_avg + eye_to_mouth * 0.1
    return np.stack([center - x - y, center - x + y, center + x + y, center + x - y])


def _turn(v: np.ndarray) -> np.ndarray:
    """``v`` turned by +90 degrees in image coordinates (y down): from the x axis onto the y axis."""
    return np.array([-v[1], v[0]])


def fit_similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, shift; no reflection) that maps ``source``
    points [..., N, 2] onto ``target`` points with least squared error (Umeyama 1991, eqs. 40-42);
    leading axes are batches."""
    mu_s, mu_t = source.mean(axis=-2, keepdims=True), target.mean(axis=-2, keepdims=True)
    s, t = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(np.swapaxes(t, -1, -2) @ s / source.shape[-2])
    flip = np.sign(np.linalg.det(u @ vt))
    flip = np.where(flip == 0.0, 1.0, flip)
    signs = np.stack([np.ones_like(flip), flip], axis=-1)
    rotation = (u * signs[..., None, :]) @ vt
    scale = (sigma * signs).sum(axis=-1) / (s**2).sum(axis=(-2, -1)) * source.shape[-2]
    linear = scale[..., None, None] * rotation
    shift = mu_t[..., 0, :] - (linear @ mu_s[..., 0, :, None])[..., 0]
    return np.concatenate([linear, shift[..., None]], axis=-1)


@dataclass(frozen=True, eq=False)
class Template:
    """Where a generator's crops put the five landmarks: ``points`` in unit crop coordinates
    ([5, 2], a missing nose as NaN), or None for FFHQ's procedure; ``size``: the crop side its
    generator draws (the default crop size).

    ``correction`` ([11, 8], optional) predicts the crop's corners from where a face's landmarks
    fall after the fit to ``points`` (ten coordinates and a constant, linear): the face's own
    proportions (a turned head, wide-set eyes) say where its crop sits better than the mean
    positions alone. It needs all five points; without the nose the plain fit is used.
    """

    name: str
    points: np.ndarray | None = None
    size: int = 256
    correction: np.ndarray | None = None

    def quad(self, landmarks: np.ndarray) -> np.ndarray:
        """The crop's oriented square in photo pixels (``quad`` order) for one face's landmarks."""
        landmarks = as_landmarks(landmarks)
        if self.points is None:
            return ffhq_quad(landmarks)
        used = np.isfinite(self.points).all(axis=1) & np.isfinite(landmarks).all(axis=1)
        matrix = fit_similarity(self.points[used], landmarks[used])
        if self.correction is None or not used.all():
            return UNIT_CORNERS @ matrix[:, :2].T + matrix[:, 2]
        inverse = fit_similarity(landmarks, self.points)
        corners = (_features(landmarks @ inverse[:, :2].T + inverse[:, 2]) @ self.correction).reshape(4, 2)
        square = fit_similarity(UNIT_CORNERS, corners)
        return (UNIT_CORNERS @ square[:, :2].T + square[:, 2]) @ matrix[:, :2].T + matrix[:, 2]


FFHQ = Template("ffhq", size=1024)


def _features(normalised: np.ndarray) -> np.ndarray:
    """A correction's inputs: the ten coordinates of landmarks fitted to a template, and 1."""
    return np.append(normalised.ravel(), 1.0)


def rendered_landmarks(record: Mapping[str, float | int | str], size: int = 64) -> np.ndarray:
    """The exact five landmarks of the embedded world's render of ``record`` at ``size`` pixels.

    Read off the renderer's geometry (latentedit/world/render.py): the eye centres are the centres
    of the sclera ellipses (they sit on the turned head sphere, so yaw and eye spacing move them),
    the nose tip is the centre of the nose's round tip, the mouth corners are the middles of the
    lip band's two ends (smile bends the band, mouth width and yaw move the ends). The renderer
    draws at ``SUPERSAMPLE`` times the size with Pillow, which puts a coordinate on a pixel's
    centre, so a unit coordinate u lands at u * size + 0.5 / SUPERSAMPLE output pixels.
    """
    from latentedit.world.render import SUPERSAMPLE, _head

    head = _head(record)
    (left_x, _), (right_x, _) = head.eyes()
    nose_x = float(head.x(0.0, depth=0.97)) + 0.03 * math.sin(head.phi)
    nose_y = head.cy + 0.075 + 0.025 * float(record["nose_size"])
    reach = 0.3 + 0.1 * float(record["mouth_width"])
    smile = float(record["smile"])
    corner_thickness = (0.034 + 0.055 * max(smile, 0.0) ** 1.5) * 0.5
    mouth_y = head.cy + 0.165 - smile * 0.065 * 0.6 + 0.15 * corner_thickness
    unit = np.array(
        [
            [left_x, head.eye_y],
            [right_x, head.eye_y],
            [nose_x, nose_y],
            [float(head.x(-reach, depth=0.95)), mouth_y],
            [float(head.x(reach, depth=0.95)), mouth_y],
        ]
    )
    return unit * size + 0.5 / SUPERSAMPLE


@lru_cache(maxsize=1)
def embedded_template() -> Template:
    """The embedded world's template: the mean exact landmarks of ``EMBEDDED_TEMPLATE_SEEDS`` sampled
    faces, with the least-squares linear correction from their fitted landmarks to their render's
    frame (the crop the generator was trained on)."""
    from latentedit.world.attributes import sample_attributes

    size = 64
    landmarks = np.stack([rendered_landmarks(sample_attributes(seed), size) for seed in range(EMBEDDED_TEMPLATE_SEEDS)])
    points = landmarks.mean(axis=0) / size
    to_unit = fit_similarity(landmarks, np.broadcast_to(points, landmarks.shape))
    linear, shift = np.swapaxes(to_unit[..., :2], -1, -2), to_unit[:, None, :, 2]
    inputs = np.concatenate([(landmarks @ linear + shift).reshape(len(landmarks), -1), np.ones((len(landmarks), 1))], 1)
    targets = (UNIT_CORNERS * size @ linear + shift).reshape(len(landmarks), -1)
    correction = np.linalg.lstsq(inputs, targets, rcond=None)[0]
    return Template("embedded", points, size, correction)


def load_template(spec: str) -> Template:
    """``ffhq``, ``embedded``, or a JSON file ``{"points": [[x, y] x 5], "size": N}`` (points in
    unit crop coordinates, ``LANDMARK_NAMES`` order, the nose may be null; size optional), or a
    `LandmarksError` naming the fix."""
    if spec == "ffhq":
        return FFHQ
    if spec == "embedded":
        return embedded_template()
    path = Path(spec)
    if not path.is_file():
        raise LandmarksError(f"Unknown template {spec!r}: expected ffhq, embedded or a JSON file of five points.")
    from latentedit.faces.landmarks import read_json

    data = read_json(path, "Template")
    points = data.get("points") if isinstance(data, dict) else None
    if points is None:
        raise LandmarksError(f'Template {path} has no "points": five [x, y] pairs in unit crop coordinates.')
    size = data.get("size", Template.size)
    if not isinstance(size, int) or not 8 <= size <= 4096:
        raise LandmarksError(f"Template {path} has size {size!r}; expected a whole number of pixels, 8 to 4096.")
    return Template(str(data.get("name", path.stem)), as_landmarks(points), size)
