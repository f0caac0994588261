"""encoder4editing / PTI / HyperStyle ``interfacegan_directions/*.pt``: one torch tensor.

Shape (1, d) (a W direction added to every layer of a W+ code) or (1, num_ws, d); several
were saved on a GPU, so they are loaded with ``map_location="cpu"``. Those tools add
``factor · direction`` to inverted W+ codes, so these directions live in W.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import DirectionFileError
from latentedit.interop.containers import describe
from latentedit.interop.source import SourceDirection, float_array, single

if TYPE_CHECKING:
    from latentedit.edits import Edit


def matches(content: Any) -> bool:
    shape = tuple(getattr(content, "shape", (0, 0, 0, 0)))
    return hasattr(content, "detach") and (len(shape) == 1 or (len(shape) in (2, 3) and shape[0] == 1))


def read(content: Any, source: Path, component: int | None) -> SourceDirection:
    single(component, source)
    if not matches(content):
        raise DirectionFileError(
            f"{source}: an e4e direction is a tensor of shape (1, d) or (1, num_ws, d); this file holds "
            f"{describe(content)}."
        )
    array = float_array(content, source, "the direction")
    details = {"source_shape": list(array.shape), "source_dtype": str(content.dtype).removeprefix("torch.")}
    if array.ndim == 3:
        return SourceDirection(array[0], details=details)
    return SourceDirection(array.reshape(-1), space="w", details=details)


def write(edit: Edit, path: Path) -> None:
    """(1, d) for a W edit, (1, num_ws, d) for a W+ edit; float32, unit norm."""
    import torch

    direction = edit.tensors["direction"].float()
    torch.save((direction / direction.norm()).unsqueeze(0).clone(), path)

