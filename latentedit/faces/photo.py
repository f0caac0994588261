"""Read a photo at full resolution, upright (EXIF orientation applied), as RGB."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def read_photo(path: str | Path) -> np.ndarray:
    """uint8 RGB [H, W, 3] of ``path`` as a viewer shows it, or a `BadImageError`."""
    import numpy as np

    from latentedit.images import read_rgb

    return np.asarray(read_rgb(path, "Photo"), dtype=np.uint8)
