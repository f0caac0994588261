"""Read a photo at full resolution, upright (EXIF orientation applied), as RGB."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from latentedit.errors import BadImageError

if TYPE_CHECKING:
    import numpy as np


def read_photo(path: str | Path) -> np.ndarray:
    """uint8 RGB [H, W, 3] of ``path`` as a viewer shows it, or a `BadImageError`."""
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    from latentedit.images import MAX_PIXELS

    source = Path(path)
    if not source.is_file():
        raise BadImageError(f"Photo {source} not found.")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(source) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BadImageError(f"{source} is not a readable image ({type(exc).__name__}: {exc}).") from None
    return np.asarray(image, dtype=np.uint8)
