"""Face detectors registered by plugins (hook ``register_face_detectors``).

A detector finds faces in a photo and reports each with a score and its five landmarks (the
order and pixel convention of `latentedit.faces`). Results are ranked by score, never by the
order a detector lists them in: the most confident face comes first. Two ship as built-in plugins:
``mtcnn`` for photographs of people (with the extra ``latentedit[faces]``, `latentedit.faces.mtcnn`)
and ``world-landmarks`` for the embedded world's renders (`latentedit.world.landmarks`). Without a
detector for a backend, five points per face come from a ``--landmarks`` file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from latentedit.faces import FaceError

if TYPE_CHECKING:
    import numpy as np

DetectorFn = Callable[["np.ndarray"], Sequence[tuple[Any, ...]]]
"""uint8 RGB photo [H, W, 3] -> ``[(score, five (x, y) points), ...]`` in any order; a detector
with a ``template`` adds each face's crop square: ``(score, points, quad)``."""

INSTALL_HINT = "pip install 'latentedit[faces]' (the MTCNN detector)"
"""How to get a detector for photographs of people."""

NO_DETECTOR = (
    f"No face detector is installed: {INSTALL_HINT}, or pass --landmarks FILE.json with five points per face "
    "(docs/faces.md)."
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
    template: str = ""
    """A template whose crop square the detector finds itself and reports with each face (the
    embedded world's finder: ``embedded``); aligning with that template uses it rather than the
    square the template fits to the five points."""


class Detection(NamedTuple):
    """One face found: the detector's score, five landmarks (float64 [5, 2], photo pixels) and,
    from a detector with a template, the crop's square (float64 [4, 2], `quad` order)."""

    score: float
    landmarks: np.ndarray
    quad: np.ndarray | None = None


def detectors_for(backend: str | None = None) -> list[str]:
    """Names of the installed detectors to use on ``backend``'s faces, in the order they are tried:
    those made for its scheme (``embedded`` for ``embedded``), else those for photographs of people
    (no ``backends``), each group by name."""
    from latentedit.plugins import get_plugins

    scheme = (backend or "").split(":", 1)[0]
    specs = [entry.value for entry in get_plugins().face_detectors]
    own = [spec.name for spec in specs if scheme in spec.backends]
    return own or [spec.name for spec in specs if not spec.backends]


def detector_spec(name: str | None = None, backend: str | None = None) -> FaceDetectorSpec:
    """The detector registered as ``name`` (None: the first of `detectors_for` ``backend``), or a
    one-line error that says how to get one."""
    from latentedit.plugins import get_plugins

    if name is None:
        eligible = detectors_for(backend)
        if not eligible:
            raise FaceError(NO_DETECTOR)
        name = eligible[0]
    return get_plugins().face_detectors.get(name)


def load_detector(name: str | None = None, backend: str | None = None) -> DetectorFn:
    """The callable of `detector_spec` ``(name, backend)``, built once per process."""
    from latentedit.lazy import resolve

    return _build(resolve(detector_spec(name, backend).factory))


@lru_cache(maxsize=4)
def _build(factory: Callable[[], DetectorFn]) -> DetectorFn:
    """One detector per factory per process: its networks load once, however many photos it reads."""
    return factory()


def detect(detector: DetectorFn, photo: np.ndarray) -> list[Detection]:
    """Run ``detector`` on ``photo``; its faces ranked by score, highest first."""
    import numpy as np

    from latentedit.faces.templates import as_landmarks

    found = [
        Detection(float(score), as_landmarks(points), np.asarray(quad[0], dtype=np.float64) if quad else None)
        for score, points, *quad in detector(photo)
    ]
    return sorted(found, key=lambda detection: -detection.score)
