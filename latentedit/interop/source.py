"""What a reader hands the importer, and the small checks every reader shares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import DirectionFileError

if TYPE_CHECKING:
    import numpy as np


@dataclass
class SourceDirection:
    """One direction as another tool stored it.

    ``vector`` is float64, ``(k,)`` for one code (k may be ``num_ws·w_dim`` for a flattened W+
    boundary) or ``(n, d)`` for one row per W+ layer; ``space`` and ``layers`` are what the
    file or its name says (None: it does not say); ``details`` are JSON-able facts recorded in
    the edit's provenance (component index, the file's own standard deviation, ...).
    """

    vector: np.ndarray
    space: str | None = None
    layers: list[int] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    component: int | None = None
    """The component taken from a file that holds several (it names the edit), else None."""


def float_array(value: Any, source: Path, what: str) -> np.ndarray:
    """A numpy or torch array as finite float64 numpy; `what` names it in errors."""
    import numpy as np

    if hasattr(value, "detach"):  # a torch tensor
        if not value.dtype.is_floating_point:
            raise DirectionFileError(f"{source}: {what} has dtype {value.dtype}; a direction is floating point.")
        value = value.detach().cpu().double().numpy()
    if not isinstance(value, np.ndarray):
        raise DirectionFileError(f"{source}: {what} is {type(value).__name__}, not an array.")
    if value.dtype.kind != "f":
        raise DirectionFileError(f"{source}: {what} has dtype {value.dtype}; a direction is floating point.")
    array = value.astype(np.float64)
    if not np.isfinite(array).all():
        raise DirectionFileError(f"{source}: {what} contains NaN or infinite values.")
    return array


def pick_component(count: int, component: int | None, source: Path, what: str = "components") -> int:
    """The component to import from a file holding `count` of them; several need ``-o component``."""
    if component is None:
        if count == 1:
            return 0
        raise DirectionFileError(
            f"{source} holds {count} {what}; choose one with -o component=i (0-{count - 1})."
        )
    if component >= count:
        raise DirectionFileError(f"{source} holds {count} {what}; -o component={component} is out of range.")
    return component


def single(component: int | None, source: Path) -> None:
    """Refuse ``-o component`` for a file that holds one direction."""
    if component not in (None, 0):
        raise DirectionFileError(f"{source} holds one direction; -o component={component} does not apply.")


def space_from_name(name: str) -> str | None:
    """The space a file name announces: InterFaceGAN writes ``..._w_boundary.npy`` for W and
    ``..._boundary.npy`` (no ``w``) for Z; ``wp`` marks W+; a lone ``z``/``w`` token says it too."""
    tokens = re.split(r"[^a-z0-9+]+", Path(name).name.lower())
    for token, space in (("wp", "w+"), ("w+", "w+"), ("w", "w"), ("z", "z")):
        if token in tokens:
            return space
    if tokens[-2:-1] == ["boundary"]:
        return "z"
    return None
