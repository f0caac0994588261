"""Images in and out: safe loading with Pillow, PNG writing, grids and strips.

Tensors are float NCHW in [-1, 1] (the backend convention); files are 8-bit RGB.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from latentedit.errors import BadImageError

if TYPE_CHECKING:
    import numpy as np
    import torch
    from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")
MAX_PIXELS = 64_000_000


def list_images(folder: str | Path, what: str = "Folder") -> list[Path]:
    """The image files directly inside `folder`, sorted by name; one-line errors when there are none."""
    path = Path(folder)
    if not path.is_dir():
        raise BadImageError(f"{what} {path} is not a folder of images.")
    files = sorted(item for item in path.iterdir() if item.suffix.lower() in IMAGE_SUFFIXES and item.is_file())
    if not files:
        raise BadImageError(f"{what} {path} holds no images ({', '.join(IMAGE_SUFFIXES)}).")
    return files


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """``[N, C, H, W]`` in [-1, 1] -> ``[N, H, W, C]`` uint8, rounding like the official tools."""
    import torch

    scaled = (images.detach().float().cpu() * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).numpy()


def from_uint8(array: np.ndarray) -> torch.Tensor:
    """``[N, H, W, C]`` uint8 -> ``[N, C, H, W]`` float in [-1, 1]."""
    import torch

    return torch.from_numpy(array).permute(0, 3, 1, 2).float() / 127.5 - 1


def grid(array: np.ndarray, columns: int | None = None, pad: int = 0) -> np.ndarray:
    """Tile ``[N, H, W, C]`` images into one ``[rows·H, columns·W, C]`` image."""
    import math

    import numpy as np

    count, height, width, channels = array.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.full((rows * (height + pad) + pad, columns * (width + pad) + pad, channels), 255, dtype=np.uint8)
    for index in range(count):
        top = pad + (index // columns) * (height + pad)
        left = pad + (index % columns) * (width + pad)
        canvas[top : top + height, left : left + width] = array[index]
    return canvas


def png_writer(array: np.ndarray) -> Callable[[Path], None]:
    """A function writing one ``[H, W, C]`` uint8 image as PNG to the path it is given."""
    from PIL import Image

    mode = "RGB" if array.shape[-1] == 3 else "L"
    image = Image.fromarray(array.squeeze(-1) if mode == "L" else array, mode=mode)
    return lambda path: image.save(path, format="PNG")


def save_png(array: np.ndarray, path: str | Path, force: bool = False) -> Path:
    """Write one ``[H, W, C]`` uint8 image as PNG, atomically, refusing to overwrite."""
    from latentedit.fileio import atomic_write, check_writable

    return atomic_write(check_writable(path, force), png_writer(array))


def read_rgb(path: str | Path, what: str = "Image") -> Image.Image:
    """Any Pillow-readable image as an upright RGB Pillow image (EXIF orientation applied, as a
    viewer shows it), or one `BadImageError` line; bounded by `MAX_PIXELS` against decompression bombs."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    source = Path(path)
    if not source.is_file():
        raise BadImageError(f"{what} {source} not found.")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(source) as opened:
            opened.load()
            return ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BadImageError(f"{source} is not a readable image ({type(exc).__name__}: {exc}).") from None


def load_image(path: str | Path, resolution: int) -> np.ndarray:
    """Read any Pillow-readable image as RGB ``[resolution, resolution, 3]`` uint8.

    Non-square images are centre-cropped to a square, then resized with Lanczos.
    """
    import numpy as np
    from PIL import Image

    image = read_rgb(path)
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if side != resolution:
        image = image.resize((resolution, resolution), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def gif_writer(frames: list[np.ndarray], frame_ms: int = 180) -> Callable[[Path], None]:
    """A function writing an animated GIF that sweeps forth and back through `frames`."""
    from PIL import Image

    sequence = [Image.fromarray(frame) for frame in frames + frames[-2:0:-1]]
    return lambda path: sequence[0].save(
        path, format="GIF", save_all=True, append_images=sequence[1:], duration=frame_ms, loop=0
    )


def save_gif(frames: list[np.ndarray], path: str | Path, force: bool = False, frame_ms: int = 180) -> Path:
    """An animated GIF sweeping forth and back through `frames`, written atomically."""
    from latentedit.fileio import atomic_write, check_writable

    return atomic_write(check_writable(path, force), gif_writer(frames, frame_ms))
