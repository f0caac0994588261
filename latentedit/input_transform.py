"""StyleGAN3's input transform: rotate and translate what the generator draws, for stills and sweeps.

StyleGAN3 samples its first layer from Fourier features on a continuous plane; moving that
plane (a user transform the network keeps beside its weights) rotates and translates the whole
image without "texture sticking". Backends that can do it have ``input_transform(translate,
rotate)``, a context manager; only StyleGAN3 backends have it. Translations are in image widths
(0.5 moves the picture by half its width), rotations in degrees, counter-clockwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from latentedit.errors import LatentEditError

if TYPE_CHECKING:
    from latentedit.backend import Backend

MAX_TRANSLATE = 1000.0
"""Largest |x| or |y| of a translation, in image widths (beyond it float32 phases lose precision)."""
MAX_ROTATE = 36_000.0
"""Largest |angle| in degrees (a hundred turns: enough for any animation)."""


@dataclass(frozen=True)
class InputTransform:
    """A rotation (degrees) and a translation (image widths) of the generated picture."""

    translate: tuple[float, float] = (0.0, 0.0)
    rotate: float = 0.0

    @property
    def is_identity(self) -> bool:
        return self.translate == (0.0, 0.0) and self.rotate == 0.0

    def toward(self, end: InputTransform, fraction: float) -> InputTransform:
        """The transform `fraction` of the way from this one to `end` (both parts linearly)."""
        x = self.translate[0] + (end.translate[0] - self.translate[0]) * fraction
        y = self.translate[1] + (end.translate[1] - self.translate[1]) * fraction
        return InputTransform((x, y), self.rotate + (end.rotate - self.rotate) * fraction)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"translate": [x, y], "rotate": degrees}``."""
        return {"translate": list(self.translate), "rotate": self.rotate}


def parse_translate(text: str, flag: str = "--translate") -> tuple[float, float]:
    """``'0.25,-0.1'`` -> (0.25, -0.1): two finite numbers, each within ±MAX_TRANSLATE image widths."""
    parts = text.split(",")
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        values = ()
    if len(values) != 2 or not all(math.isfinite(v) and abs(v) <= MAX_TRANSLATE for v in values):
        raise LatentEditError(
            f"{flag} {text!r}: expected X,Y in image widths, two finite numbers within ±{MAX_TRANSLATE:g} "
            "(e.g. 0.25,0)."
        )
    return values[0], values[1]


def check_rotate(degrees: float, flag: str = "--rotate") -> float:
    """A finite angle in degrees within ±MAX_ROTATE."""
    if not math.isfinite(degrees) or abs(degrees) > MAX_ROTATE:
        raise LatentEditError(f"{flag} {degrees}: expected an angle in degrees within ±{MAX_ROTATE:g}.")
    return float(degrees)


def requested(
    translate: str | None,
    rotate: float | None,
    flags: tuple[str, str] = ("--translate", "--rotate"),
    base: InputTransform | None = None,
) -> InputTransform | None:
    """The transform the flags ask for, the part not given taken from `base` (default: none);
    None when neither flag was given."""
    if translate is None and rotate is None:
        return None
    base = base or InputTransform()
    return InputTransform(
        parse_translate(translate, flags[0]) if translate is not None else base.translate,
        check_rotate(rotate, flags[1]) if rotate is not None else base.rotate,
    )


def supports(backend: Backend) -> bool:
    """Whether the backend's generator has an input transform (StyleGAN3)."""
    return callable(getattr(backend, "input_transform", None))


def require_support(backend: Backend, flags: list[str]) -> None:
    """Refuse transform flags on a backend whose generator has no input transform."""
    if flags and not supports(backend):
        raise LatentEditError(
            f"{'/'.join(flags)} moves StyleGAN3's input; backend {backend.name} is not a StyleGAN3 generator "
            "(import a StyleGAN3 pickle with `latentedit import-checkpoint`)."
        )


def applied(backend: Backend, transform: InputTransform | None) -> Any:
    """A context in which the backend draws with `transform` (none or identity: as it is)."""
    if transform is None or transform.is_identity:
        return nullcontext()
    require_support(backend, ["--translate/--rotate"])
    return _moved(backend, transform)


@contextmanager
def _moved(backend: Backend, transform: InputTransform) -> Iterator[None]:
    with backend.input_transform(transform.translate, transform.rotate):  # type: ignore[attr-defined]
        yield


def sweep(start: InputTransform | None, end: InputTransform | None, count: int) -> list[InputTransform] | None:
    """One transform per sweep frame, from `start` (identity if None) to `end`; None if no frame moves."""
    first = start or InputTransform()
    if end is None:
        return None if first.is_identity else [first] * count
    return [first.toward(end, index / (count - 1)) for index in range(count)]
