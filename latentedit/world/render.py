"""Procedural cartoon-face renderer: an attribute record in, a 64x64 RGB face and its part map out.

Faces are drawn at 4x resolution on a ``Canvas`` that paints RGB and part labels together,
then downsampled (box filter for RGB, block majority for parts). numpy + Pillow only, so
the world renders without torch, fast enough to stream training data.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from latentedit.world.attributes import (
    ATTRIBUTES,
    HAIR_COLORS,
    NUISANCE,
    Record,
    sample_attributes,
    with_attribute,
)
from latentedit.world.canvas import BEARD, EYES, GLASSES, HAIR, MOUTH, NOSE, PARTS, SKIN, Canvas, Color

__all__ = [
    "ATTRIBUTES",
    "NUISANCE",
    "PARTS",
    "SUPERSAMPLE",
    "render",
    "render_batch",
    "resolution",
    "sample_attributes",
    "with_attribute",
]

resolution = 64
SUPERSAMPLE = 4

Attrs = Mapping[str, "float | int | str"]

_SKIN = np.array([(118, 78, 52), (150, 100, 68), (188, 134, 96), (222, 174, 136), (248, 218, 194)], float)
_HAIR = dict(
    zip(HAIR_COLORS, [(36, 30, 30), (112, 68, 34), (236, 200, 110), (190, 72, 30), (182, 182, 188)], strict=True)
)
_IRIS = ((96, 58, 30), (50, 110, 182), (60, 130, 70), (34, 28, 28))
_DARK_FRAMES = ((22, 22, 28), (96, 34, 20), (26, 38, 124))
_LIGHT_FRAMES = ((240, 204, 70), (228, 228, 238), (230, 56, 56))
_SCLERA = (250, 250, 246)
_LID = (34, 24, 26)
_LIPS = (156, 40, 56)
_TEETH = (252, 252, 252)

_MIN_CONTRAST = 50.0

_T = {n: np.linspace(-1.0, 1.0, n) for n in (7, 11, 13, 15)}
_FALL = np.linspace(1.0, 0.0, 5)


def _shade(color: Sequence[float], factor: float) -> Color:
    return tuple(min(255, max(0, round(c * factor))) for c in color)  # type: ignore[return-value]


def _luma(color: Sequence[float]) -> float:
    return 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]


def _contrasting(color: Sequence[float], against: Sequence[float], gap: float = _MIN_CONTRAST) -> Color:
    """``color`` darkened (or, if already lighter, lightened) until its luma is ``gap`` from ``against``,
    so hair, brows and beard stay visible on any skin."""
    luma, reference = _luma(color), _luma(against)
    if abs(luma - reference) >= gap:
        return _shade(color, 1.0)
    lighter = luma > reference and reference + gap < 250.0
    target = reference + gap if lighter else max(reference - gap, 20.0)
    return _shade(color, target / max(luma, 1.0))


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 24) -> np.ndarray:
    """[n, 2] points on an ellipse for angles a0..a1 (radians; y points down)."""
    a = np.linspace(a0, a1, n)
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)


def _angle_at(cy: float, ry: float, y: float) -> float:
    """Angle in [-pi/2, pi/2] at which the right half of an ellipse reaches height y."""
    return math.asin(min(1.0, max(-1.0, (y - cy) / ry)))


@dataclass(frozen=True)
class _Head:
    """Head geometry in unit coordinates. Features sit on a sphere turned by ``phi``, so yaw
    shifts them sideways and foreshortens the far side."""

    cx: float
    cy: float
    w: float
    h: float
    phi: float
    eye_y: float
    eye_theta: float

    def x(self, theta: float | np.ndarray, depth: float = 0.92) -> float | np.ndarray:
        return self.cx + depth * self.w * np.sin(theta + self.phi)

    def squash(self, theta: float) -> float:
        return math.cos(theta + self.phi)

    def eyes(self) -> list[tuple[float, float]]:
        """(x, theta) of the image-left and image-right eye."""
        return [(float(self.x(s * self.eye_theta)), s * self.eye_theta) for s in (-1.0, 1.0)]


def _head(a: Attrs) -> _Head:
    yaw = float(a["yaw"])
    cy = 0.5 + 0.05 * (float(a["face_y"]) - 0.5)
    return _Head(
        cx=0.5 + 0.03 * yaw,
        cy=cy,
        w=(0.2 + 0.08 * float(a["face_width"])) * (1.0 - 0.2 * abs(yaw)),
        h=0.28 + 0.04 * float(a["face_height"]),
        phi=0.62 * yaw,
        eye_y=cy - 0.04,
        eye_theta=0.42 + 0.14 * float(a["eye_spacing"]),
    )


def _palette(a: Attrs) -> dict[str, Color]:
    tone = float(a["skin_tone"]) * (len(_SKIN) - 1)
    i = min(int(tone), len(_SKIN) - 2)
    skin = _SKIN[i] + (tone - i) * (_SKIN[i + 1] - _SKIN[i])
    hair = _contrasting(_shade(_HAIR[str(a["hair_color"])], 0.85 + 0.3 * float(a["hair_shade"])), skin)
    beard = _contrasting(_shade(hair, 0.85), skin, 1.2 * _MIN_CONTRAST)
    frames = _LIGHT_FRAMES if float(a["skin_tone"]) < 0.3 else _DARK_FRAMES
    background = colorsys.hsv_to_rgb(
        float(a["background_hue"]),
        0.3 + 0.35 * float(a["background_saturation"]),
        0.62 + 0.3 * float(a["background_value"]),
    )
    return {
        "skin": _shade(skin, 1.0),
        "skin_shadow": _shade(skin, 0.82),
        "nose": _shade(skin, 0.7),
        "hair": hair,
        "hair_back": _shade(hair, 0.78),
        "beard": beard,
        "beard_edge": _shade(beard, 0.65),
        "brows": _contrasting(_shade(hair, 0.62), skin, 1.5 * _MIN_CONTRAST),
        "iris": _IRIS[int(a["eye_color"])],
        "frames": frames[int(a["glasses_color"])],
        "background": _shade([255.0 * c for c in background], 1.0),
    }


def _draw_back(c: Canvas, head: _Head, a: Attrs, col: dict[str, Color]) -> None:
    """Ears, long hair behind the head, the hair cap, the neck: everything the face covers."""
    yaw = float(a["yaw"])
    for side in (-1.0, 1.0):
        size = 0.035 * max(0.0, 1.0 - 0.9 * side * yaw)
        if size > 0.008:
            c.ellipse(head.cx + side * head.w * 0.97, head.cy + 0.01, size, 0.05, col["skin_shadow"], SKIN)
    hx = head.cx - 0.07 * yaw
    top = head.cy - head.h * (1.1 + 0.12 * float(a["hair_volume"]))
    if a["long_hair"]:
        rx = head.w * 1.3
        bottom = head.cy + head.h * 1.5
        body = np.concatenate(
            [
                _arc(hx, top + rx, rx, rx, math.pi, 2 * math.pi),
                [[hx + rx * 1.1, bottom], [hx - rx * 1.1, bottom]],
            ]
        )
        c.polygon(body, col["hair_back"], HAIR)
    neck_top, neck_w = head.cy + 0.4 * head.h, 0.5 * head.w
    c.polygon(
        np.array(
            [
                [head.cx - neck_w, neck_top],
                [head.cx + neck_w, neck_top],
                [head.cx + 1.15 * neck_w, 1.02],
                [head.cx - 1.15 * neck_w, 1.02],
            ]
        ),
        col["skin_shadow"],
        SKIN,
    )
    cap_ry = head.cy - top
    a0 = _angle_at(head.cy, cap_ry, head.eye_y + 0.01)
    c.polygon(_arc(hx, head.cy, head.w * 1.1, cap_ry, math.pi - a0, 2 * math.pi + a0), col["hair"], HAIR)


def _draw_beard(c: Canvas, head: _Head, a: Attrs, col: dict[str, Color]) -> None:
    """Full beard: the lower face below a line that dips under the nose and rises to sideburns."""
    rx, ry = head.w * 1.03, head.h * (1.03 + 0.12 * float(a["beard_length"]))
    cy = head.cy + (ry - head.h * 1.03) * 0.5
    a0 = _angle_at(cy, ry, head.cy + 0.005)
    outline = _arc(head.cx, cy, rx, ry, a0, math.pi - a0, 32)
    nose_x = float(head.x(0.0))
    left, right = outline[-1], outline[0]
    mid_y = head.cy + 0.115
    left_edge = np.stack([nose_x + (left[0] - nose_x) * _FALL, mid_y + (left[1] - mid_y) * _FALL**1.6], axis=1)
    right_edge = np.stack([nose_x + (right[0] - nose_x) * _FALL, mid_y + (right[1] - mid_y) * _FALL**1.6], axis=1)
    c.polygon(np.concatenate([outline, left_edge, right_edge[::-1]]), col["beard"], BEARD, col["beard_edge"], 0.016)


def _draw_mouth(c: Canvas, head: _Head, a: Attrs) -> None:
    """Lips whose centre line bends with ``smile``; a grin opens to show teeth."""
    smile = float(a["smile"])
    t = _T[15]
    x = head.x(t * (0.3 + 0.1 * float(a["mouth_width"])), depth=0.95)
    center = head.cy + 0.165 - smile * 0.065 * (t**2 - 0.4)
    opening = 0.055 * max(smile, 0.0) ** 1.5
    thick = (0.034 + opening) * (1.0 - 0.5 * t**2)
    upper = center - 0.35 * thick
    c.band(x, center + 0.15 * thick, thick, _LIPS, MOUTH)
    if opening > 0.012:
        inner = slice(3, 12)
        teeth = min(0.5 * opening, 0.024)
        c.band(x[inner], upper[inner] + 0.008 + teeth / 2, teeth, _TEETH, MOUTH)


def _draw_nose(c: Canvas, head: _Head, a: Attrs, col: dict[str, Color]) -> None:
    """A bridge and a round tip that points where the head turns."""
    size = float(a["nose_size"])
    top_x = float(head.x(0.0, depth=0.97))
    tip_x = top_x + 0.03 * math.sin(head.phi)
    tip_y = head.cy + 0.075 + 0.025 * size
    half = 0.018 + 0.012 * size
    bridge = np.array(
        [
            [top_x - 0.008, head.eye_y + 0.02],
            [top_x + 0.008, head.eye_y + 0.02],
            [tip_x + half * 0.8, tip_y],
            [tip_x - half * 0.8, tip_y],
        ]
    )
    c.polygon(bridge, col["nose"], NOSE)
    c.ellipse(tip_x, tip_y, half, 0.016, col["nose"], NOSE)


def _draw_eyes(c: Canvas, head: _Head, a: Attrs, col: dict[str, Color]) -> None:
    """Sclera and iris scaled by ``eyes_open``; a lid line that is all that is left when closed."""
    size = float(a["eye_size"])
    openness = float(a["eyes_open"])
    half_w0 = 0.06 + 0.015 * size
    half_h0 = 0.044 + 0.012 * size
    half_h = half_h0 * openness
    y = head.eye_y
    t = _T[11] * 1.08
    for x, theta in head.eyes():
        squash = head.squash(theta)
        half_w = half_w0 * squash
        if half_h > 0.004:
            c.ellipse(x, y, half_w, half_h, _SCLERA, EYES)
            iris = min(0.6 * half_h0, half_h)
            iris_x = x + 0.3 * half_w * math.sin(head.phi)
            c.ellipse(iris_x, y, iris * squash, iris, col["iris"], EYES)
            c.ellipse(iris_x, y, 0.45 * iris * squash, 0.45 * iris, _LID, EYES)
        lid_y = y - half_h * np.sqrt(np.clip(1.0 - t**2, 0.0, 1.0)) + 0.008 * (1.0 - openness) * (1.0 - t**2)
        c.band(x + half_w * t, lid_y, 0.017 + 0.008 * (1.0 - openness), _LID, EYES)
        brow = _T[7]
        c.band(
            x + 1.15 * half_w * brow,
            y - half_h0 - 0.045 - 0.014 * (1.0 - brow**2),
            0.018 + 0.014 * float(a["brow_thickness"]),
            col["brows"],
            HAIR,
        )


def _draw_front_hair(c: Canvas, head: _Head, a: Attrs, col: dict[str, Color]) -> None:
    """Long side locks over the cheeks and the hairline: high and smooth, or a jagged fringe (bangs)."""
    rx, ry = head.w * 1.03, head.h * 1.03
    if a["long_hair"]:
        for start, end in ((-0.5 * math.pi, 0.22 * math.pi), (0.78 * math.pi, 1.5 * math.pi)):
            outer = _arc(head.cx, head.cy, rx, ry, start, end, 16)
            inner = _arc(head.cx, head.cy, rx - 0.05, ry - 0.03, start, end, 16)[::-1]
            c.polygon(np.concatenate([outer, inner]), col["hair"], HAIR)
    bottom = head.eye_y - 0.085 if a["bangs"] else head.cy - head.h * 0.64
    a0 = _angle_at(head.cy, ry, bottom)
    cap = _arc(head.cx, head.cy, rx, ry, math.pi - a0, 2 * math.pi + a0, 28)
    t = _T[13][::-1]
    xs = head.cx + t * rx * math.cos(a0)
    if a["bangs"]:
        ys = bottom + 0.03 * (np.arange(13) % 2)
    else:
        ys = bottom + 0.05 * t**2
    c.polygon(np.concatenate([cap, np.stack([xs, ys], axis=1)]), col["hair"], HAIR)


def _draw_glasses(c: Canvas, head: _Head, a: Attrs, col: dict[str, Color]) -> None:
    """Thick frames (2 px at 64 px) around both eyes, a bridge and the visible temples.

    The lens opening holds the widest-open eye of any size, so glasses never hide eyes_open.
    """
    width = 0.032
    half_h = 0.095
    half_w0 = 0.1 + 0.015 * float(a["eye_size"])
    y = head.eye_y
    edges = []
    for x, theta in head.eyes():
        half_w = max(half_w0 * head.squash(theta), 1.4 * width)
        if a["glasses_style"]:
            c.rounded_frame(x, y, half_w, half_h, 0.025, col["frames"], GLASSES, width)
        else:
            c.ellipse(x, y, half_w, half_h, col["frames"], GLASSES, outline=width)
        edges.append((x - half_w, x + half_w))
    bridge_y = y - 0.015
    c.segment(
        edges[0][1] - 0.3 * width, bridge_y, edges[1][0] + 0.3 * width, bridge_y, col["frames"], GLASSES, 0.8 * width
    )
    for outer, face_edge in ((edges[0][0], head.cx - head.w), (edges[1][1], head.cx + head.w)):
        if (face_edge - outer) * (outer - head.cx) > 0.0001:
            c.segment(outer, bridge_y, face_edge, bridge_y - 0.01, col["frames"], GLASSES, 0.7 * width)


def render(attributes: Attrs, size: int = resolution) -> tuple[np.ndarray, np.ndarray]:
    """Render one face: (uint8 RGB [size, size, 3], uint8 part ids [size, size] indexing ``PARTS``).

    A pure function of the record, so editing one field and rendering again gives a matched pair.
    Drawing order is the occlusion order: back hair < face < beard < mouth, nose, eyes < front hair < glasses.
    """
    col = _palette(attributes)
    head = _head(attributes)
    canvas = Canvas(size * SUPERSAMPLE, col["background"])
    _draw_back(canvas, head, attributes, col)
    canvas.ellipse(head.cx, head.cy, head.w, head.h, col["skin"], SKIN)
    if attributes["beard"]:
        _draw_beard(canvas, head, attributes, col)
    _draw_mouth(canvas, head, attributes)
    _draw_nose(canvas, head, attributes, col)
    _draw_eyes(canvas, head, attributes, col)
    _draw_front_hair(canvas, head, attributes, col)
    if attributes["glasses"]:
        _draw_glasses(canvas, head, attributes, col)
    return canvas.downsample(SUPERSAMPLE)


def render_batch(seeds: Sequence[int], size: int = resolution) -> tuple[np.ndarray, np.ndarray, list[Record]]:
    """Sample and render faces: (images [N, size, size, 3], part maps [N, size, size], records)."""
    records = [sample_attributes(int(seed)) for seed in seeds]
    images = np.empty((len(records), size, size, 3), dtype=np.uint8)
    parts = np.empty((len(records), size, size), dtype=np.uint8)
    for i, record in enumerate(records):
        images[i], parts[i] = render(record, size)
    return images, parts, records
