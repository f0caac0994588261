"""A supersampled canvas that paints RGB and part labels with the same shapes.

Drawing each shape into both images in the same call keeps the part map consistent with
the pixels and with the occlusion order. Downsampling box-filters the RGB (antialiasing)
and gives every output pixel the most frequent part of the same block.
"""

from __future__ import annotations

from functools import lru_cache

# Only render.py imports this module, and only lazily from the CLI, so heavy imports may sit at the top.
import numpy as np  # noqa: TID253
from PIL import Image, ImageDraw  # noqa: TID253

from latentedit.world.attributes import PARTS

BACKGROUND, SKIN, HAIR, EYES, MOUTH, NOSE, GLASSES, BEARD = range(len(PARTS))

# The label image stores parts in tie-break order (argmax keeps the first maximum), so a block
# split evenly between a thin part (glasses frame, lid line) and skin keeps the thin part.
_TIE_ORDER = np.array([GLASSES, EYES, MOUTH, NOSE, BEARD, HAIR, SKIN, BACKGROUND], dtype=np.uint8)
_CODE = np.argsort(_TIE_ORDER).astype(np.uint8)

Color = tuple[int, int, int]


@lru_cache(maxsize=8)
def _block_keys(size: int, factor: int) -> np.ndarray:
    """Per supersampled pixel: (index of its output pixel) * number of parts."""
    n = size // factor
    rows = np.arange(size) // factor
    return ((rows[:, None] * n + rows[None, :]) * len(PARTS)).astype(np.intp)


class Canvas:
    """Unit-square coordinates in, RGB + part labels at ``size`` pixels out."""

    def __init__(self, size: int, background: Color) -> None:
        self.size = size
        self.rgb = Image.new("RGB", (size, size), background)
        self.labels = Image.new("L", (size, size), int(_CODE[BACKGROUND]))
        self._rgb_draw = ImageDraw.Draw(self.rgb)
        self._label_draw = ImageDraw.Draw(self.labels)

    def _xy(self, points: np.ndarray) -> list[float]:
        return (np.asarray(points, dtype=np.float64) * self.size).ravel().tolist()

    def _px(self, width: float) -> int:
        return max(1, round(width * self.size))

    def polygon(
        self, points: np.ndarray, color: Color, part: int, edge: Color | None = None, edge_width: float = 0.0
    ) -> None:
        """Filled polygon through [n, 2] unit-square points, optionally with a contour line of colour ``edge``."""
        xy = self._xy(points)
        code = int(_CODE[part])
        if edge is None:
            self._rgb_draw.polygon(xy, fill=color)
            self._label_draw.polygon(xy, fill=code)
        else:
            width = self._px(edge_width)
            self._rgb_draw.polygon(xy, fill=color, outline=edge, width=width)
            self._label_draw.polygon(xy, fill=code, outline=code, width=width)

    def band(self, xs: np.ndarray, ys: np.ndarray, thickness: float | np.ndarray, color: Color, part: int) -> None:
        """A thick, mostly horizontal curve (lid, brow, lips) as one polygon: cheaper than joined lines."""
        n = len(xs)
        half = np.asarray(thickness, dtype=np.float64) / 2.0
        points = np.empty((2 * n, 2))
        points[:n, 0] = xs
        points[n:, 0] = xs[::-1]
        points[:n, 1] = ys - half
        points[n:, 1] = (ys + half)[::-1]
        self.polygon(points, color, part)

    def ellipse(
        self, cx: float, cy: float, rx: float, ry: float, color: Color, part: int, outline: float = 0.0
    ) -> None:
        """Filled ellipse, or a ring ``outline`` thick inside the same box."""
        box = self._xy(np.array([cx - rx, cy - ry, cx + rx, cy + ry]))
        if outline:
            width = self._px(outline)
            self._rgb_draw.ellipse(box, outline=color, width=width)
            self._label_draw.ellipse(box, outline=int(_CODE[part]), width=width)
        else:
            self._rgb_draw.ellipse(box, fill=color)
            self._label_draw.ellipse(box, fill=int(_CODE[part]))

    def rounded_frame(
        self, cx: float, cy: float, rx: float, ry: float, radius: float, color: Color, part: int, outline: float
    ) -> None:
        """Rounded-rectangle ring ``outline`` thick."""
        box = self._xy(np.array([cx - rx, cy - ry, cx + rx, cy + ry]))
        width = self._px(outline)
        self._rgb_draw.rounded_rectangle(box, radius=radius * self.size, outline=color, width=width)
        self._label_draw.rounded_rectangle(box, radius=radius * self.size, outline=int(_CODE[part]), width=width)

    def segment(self, x0: float, y0: float, x1: float, y1: float, color: Color, part: int, width: float) -> None:
        """Straight thick line."""
        xy = self._xy(np.array([x0, y0, x1, y1]))
        self._rgb_draw.line(xy, fill=color, width=self._px(width))
        self._label_draw.line(xy, fill=int(_CODE[part]), width=self._px(width))

    def downsample(self, factor: int) -> tuple[np.ndarray, np.ndarray]:
        """(uint8 RGB [n, n, 3] box-filtered, uint8 part ids [n, n] by block majority)."""
        n = self.size // factor
        rgb = np.asarray(self.rgb.reduce(factor))
        keys = _block_keys(self.size, factor) + np.asarray(self.labels)
        counts = np.bincount(keys.ravel(), minlength=n * n * len(PARTS)).reshape(n * n, len(PARTS))
        return rgb, _TIE_ORDER[counts.argmax(axis=1)].reshape(n, n)
