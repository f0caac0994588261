"""Images in and out: safe loading with Pillow, PNG writing, grids and strips.

Tensors are float NCHW in [-1, 1] (the backend convention); files are 8-bit RGB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


MAX_PIXELS_TEXT = "64 megapixels (8000 x 8000)"


@dataclass(frozen=True)
class Photo:
    """A photo as a viewer shows it: upright uint8 RGB ``pixels`` [H, W, 3], the file's ``format``
    (Pillow's name: JPEG, PNG, ...), its EXIF without the orientation tag (the pixels are upright
    now) and the ICC profile the pixels are in (None: sRGB assumed)."""

    pixels: np.ndarray
    format: str | None = None
    exif: bytes | None = None
    icc_profile: bytes | None = None


def read_rgb(path: str | Path, what: str = "Image") -> Image.Image:
    """Any Pillow-readable image as an upright RGB Pillow image (EXIF orientation applied, as a
    viewer shows it), or one `BadImageError` line; see `read_photo_file` for what is checked."""
    from PIL import Image

    photo = read_photo_file(path, what)
    return Image.fromarray(photo.pixels)


def read_photo_file(path: str | Path, what: str = "Image") -> Photo:
    """Read an image file upright as 8-bit RGB with its EXIF and ICC profile, or one `BadImageError` line.

    Bounded by `MAX_PIXELS` (decompression bombs, and photos larger than any generator needs);
    16-bit images are scaled to 8 bits (not clipped); CMYK is converted through its ICC profile
    when it has one; an animated or multi-page image gives its first frame, with a `LatentEditWarning`
    saying so (a phone's MPO JPEG gives its main picture, silently).
    """
    import warnings

    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    from latentedit.errors import LatentEditWarning

    source = Path(path)
    if not source.is_file():
        raise BadImageError(f"{what} {source} not found.")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    size = "too large to open"
    try:
        with Image.open(source) as opened:
            width, height = opened.size
            size = f"{width} x {height} pixels"
            if width * height > MAX_PIXELS:
                raise Image.DecompressionBombError(size)
            # A phone's JPEG is often MPO: the photo, then previews or a depth map; not an animation.
            kind = "JPEG" if opened.format == "MPO" else opened.format
            frames = getattr(opened, "n_frames", 1)
            if frames > 1:
                opened.seek(0)
                if kind != "JPEG":
                    message = f"{source} has {frames} frames (animated or multi-page); using the first frame."
                    warnings.warn(LatentEditWarning(message), stacklevel=2)
            opened.load()
            exif = opened.getexif()
            ImageOps.exif_transpose(opened, in_place=True)  # an upright photo is not copied
            icc = opened.info.get("icc_profile") or None
            pixels, icc = _to_rgb8(opened, icc)
            exif.pop(0x0112, None)
            return Photo(np.ascontiguousarray(pixels), kind, exif.tobytes() if len(exif) else None, icc)
    except Image.DecompressionBombError:
        raise BadImageError(f"{source} is {size}; the limit is {MAX_PIXELS_TEXT}. Shrink it first.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise BadImageError(f"{source} is not a readable image ({type(exc).__name__}: {exc}).") from None


def _to_rgb8(image: Image.Image, icc: bytes | None) -> tuple[np.ndarray, bytes | None]:
    """8-bit RGB pixels of any mode, and the ICC profile they are in: 16- and 32-bit images scaled
    by their depth (Pillow's RGB conversion would clip them to white), CMYK through its profile."""
    import numpy as np

    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        grey = np.clip(np.rint(values / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2), None
    if image.mode == "CMYK" and icc is not None:
        from io import BytesIO

        from PIL import ImageCms

        try:
            profile = ImageCms.ImageCmsProfile(BytesIO(icc))
            converted = ImageCms.profileToProfile(image, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
            return np.asarray(converted, dtype=np.uint8), None
        except (ImageCms.PyCMSError, OSError):
            pass
    if image.mode == "CMYK":
        icc = None  # a CMYK profile does not describe the RGB pixels
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8), icc


def photo_writer(array: np.ndarray, like: Photo, same_format: bool) -> Callable[[Path], None]:
    """A function writing ``array`` (uint8 [H, W, 3]) with ``like``'s EXIF and ICC profile, as PNG
    or (``same_format``) in ``like``'s format where it is JPEG, PNG, WebP or TIFF."""
    from PIL import Image

    image = Image.fromarray(array, mode="RGB")
    kind = photo_format(like, same_format)
    extra: dict[str, object] = {"quality": 95} if kind in ("JPEG", "WEBP") else {}
    if like.exif:
        extra["exif"] = like.exif
    if like.icc_profile:
        extra["icc_profile"] = like.icc_profile
    return lambda path: image.save(path, format=kind, **extra)


SAME_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif"}
"""Formats an edited photo can be written in as its own (others, such as GIF, become PNG)."""


def photo_format(like: Photo, same_format: bool) -> str:
    """The format an edited photo is written in: PNG, or its own where that is in `SAME_FORMATS`."""
    return like.format if same_format and like.format in SAME_FORMATS else "PNG"


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
