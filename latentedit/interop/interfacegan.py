"""InterFaceGAN boundaries: ``.npy`` of shape (1, d), float64, unit norm.

Their file names say the space: ``stylegan_ffhq_smile_w_boundary.npy`` is in W,
``stylegan_ffhq_smile_boundary.npy`` in Z, ``_c_`` marks a conditional boundary. A boundary
trained on W+ codes is one flattened row, (1, num_ws·d).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import DirectionFileError
from latentedit.interop.source import SourceDirection, float_array, single, space_from_name

if TYPE_CHECKING:
    from latentedit.edits import Edit


def matches(content: Any) -> bool:
    shape = getattr(content, "shape", ())
    return len(shape) == 1 or (len(shape) == 2 and shape[0] == 1)


def read(content: Any, source: Path, component: int | None) -> SourceDirection:
    single(component, source)
    array = float_array(content, source, "the boundary")
    if not matches(array):
        raise DirectionFileError(
            f"{source}: an InterFaceGAN boundary has shape (1, d); this array has shape {array.shape}."
        )
    vector = array.reshape(-1)
    details = {"source_shape": list(array.shape), "source_dtype": str(content.dtype)}
    if "_c_" in source.name:
        details["conditional"] = True
    return SourceDirection(vector, space=space_from_name(source.name), details=details)


def write(edit: Edit, path: Path) -> None:
    """(1, d) float64 unit norm, as InterFaceGAN saves; a W+ edit as one flattened row."""
    import numpy as np

    direction = edit.tensors["direction"].double().numpy()
    row = (direction / np.linalg.norm(direction)).reshape(1, -1)
    with open(path, "wb") as handle:
        np.save(handle, row)
