"""W+ direction sets: ``.npy`` of shape (num_ws, d), one row per W+ layer, any norm.

The widely shared "stylegan2directions" files (age, smile, gender, ... for FFHQ, 18 × 512) are
this layout; their authors add them to the first 8 layers only, so import them with
``-o layers=0-7``. Identical rows are one W direction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from latentedit.errors import DirectionFileError
from latentedit.interop.source import SourceDirection, float_array, single


def matches(content: Any) -> bool:
    shape = getattr(content, "shape", ())
    return (len(shape) == 2 and shape[0] > 1) or (len(shape) == 3 and shape[0] == 1)


def read(content: Any, source: Path, component: int | None) -> SourceDirection:
    single(component, source)
    array = float_array(content, source, "the direction set")
    if not matches(array):
        raise DirectionFileError(
            f"{source}: a W+ direction set has shape (num_ws, d); this array has shape {array.shape}."
        )
    rows = array.reshape(-1, array.shape[-1])
    details = {"source_shape": list(array.shape), "source_dtype": str(content.dtype)}
    return SourceDirection(rows, details=details)
