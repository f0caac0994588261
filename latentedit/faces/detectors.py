"""Face detectors registered by plugins (hook ``register_face_detectors``).

A detector finds faces in a photo and reports each with a score and its five landmarks (the
order and pixel convention of `latentedit.faces`). Results are ranked by score, never by the
order a detector lists them in: the most confident face comes first. No detector ships with the
core yet; without one, five points per face come from a ``--landmarks`` file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from latentedit.faces import FaceError

if TYPE_CHECKING:
    import numpy as np

DetectorFn = Callable[["np.ndarray"], Sequence[tuple[float, Any]]]
"""uint8 RGB photo [H, W, 3] -> ``[(score, five (x, y) points), ...]`` in any order."""

NO_DETECTOR = (
    "No face detector is installed: pass --landmarks FILE.json with five points per face (docs/faces.md), "
    "or install a plugin that registers one (hook register_face_detectors) and pick it with --detector NAME."
)


@dataclass(frozen=True)
class FaceDetectorSpec:
    """A face detector: ``factory`` is ``"module:function"`` returning a `DetectorFn`, imported only
    when faces are detected; ``backends`` names the backends whose images it is made for (empty:
    photographs of people, any backend with a face template)."""

    name: str
    summary: str
    factory: str
    backends: tuple[str, ...] = ()


class Detection(NamedTuple):
    """One face found: the detector's score and five landmarks (float64 [5, 2], photo pixels)."""

    score: float
    landmarks: np.ndarray


def load_detector(name: str | None = None) -> DetectorFn:
    """The detector registered as ``name`` (None: the only one, or the first by name), or a one-line
    error that says how to get one."""
    from latentedit.lazy import resolve
    from latentedit.plugins import get_plugins

    registry = get_plugins().face_detectors
    if name is None:
        if not len(registry):
            raise FaceError(NO_DETECTOR)
        name = registry.names()[0]
    return resolve(registry.get(name).factory)()


def detect(detector: DetectorFn, photo: np.ndarray) -> list[Detection]:
    """Run ``detector`` on ``photo``; its faces ranked by score, highest first."""
    from latentedit.faces.templates import as_landmarks

    found = [Detection(float(score), as_landmarks(points)) for score, points in detector(photo)]
    return sorted(found, key=lambda detection: -detection.score)
