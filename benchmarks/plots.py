"""Charts for benchmark reports, drawn with Pillow (the environment has no matplotlib).

A benchmark that offers ``--plot PNG`` describes its chart as `Panel`s of `Series` and calls
`save`. A chart can be redrawn from a saved ``--json`` report without measuring again:

    python -m benchmarks.plots runs/e2e.json docs/img/e2e_target_vs_off_target.png
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

PALETTE = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75))
GRAY = (150, 150, 150)


@dataclass
class Series:
    """Points of one method or quantity; `names` (one per point) are written beside the points."""

    label: str
    points: list[tuple[float, float]]
    color: tuple[int, int, int] = PALETTE[0]
    line: bool = False
    radius: int = 5
    names: list[str] | None = None
    names_below: bool = False


@dataclass
class Guide:
    """A dashed reference line, e.g. a bar: ``Guide("x", 0.5, "target bar")``."""

    axis: str
    value: float
    text: str


@dataclass
class Panel:
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    guides: list[Guide] = field(default_factory=list)


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering [low, high]."""
    raw = (high - low) / count or 1.0
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    return [round(first + i * step, 10) for i in range(int(math.ceil((high - first) / step)) + 1)]


def _range(values: list[float], include_zero: bool) -> tuple[float, float]:
    low, high = min(values), max(values)
    if include_zero:
        low, high = min(low, 0.0), max(high, 0.0)
    pad = (high - low) * 0.08 or 0.1
    marks = ticks(low - pad if low < 0 or not include_zero else low, high + pad)
    return marks[0], marks[-1]


def _label(value: float) -> str:
    return f"{value:g}" if abs(value) >= 1e-9 else "0"


def _dashed(draw: ImageDraw.ImageDraw, start: tuple[float, float], end: tuple[float, float], color) -> None:
    (x0, y0), (x1, y1) = start, end
    length = math.hypot(x1 - x0, y1 - y0)
    for offset in range(0, int(length), 10):
        a, b = offset / length, min(offset + 5, length) / length
        draw.line([(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)], fill=color)


def draw_panel(panel: Panel, size: tuple[int, int]) -> Image.Image:
    """One chart: axes with round ticks, guides, series (markers, optional lines, point names), legend."""
    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font, small = ImageFont.load_default(size=15), ImageFont.load_default(size=12)
    left, right, top, bottom = 70, width - 20, 40, height - 55
    xs = [x for s in panel.series for x, _ in s.points] + [g.value for g in panel.guides if g.axis == "x"]
    ys = [y for s in panel.series for _, y in s.points] + [g.value for g in panel.guides if g.axis == "y"]
    (x_low, x_high), (y_low, y_high) = _range(xs, include_zero=False), _range(ys, include_zero=True)

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            left + (x - x_low) / (x_high - x_low) * (right - left),
            bottom - (y - y_low) / (y_high - y_low) * (bottom - top),
        )

    draw.text((width / 2, 8), panel.title, fill="black", font=font, anchor="ma")
    for x in ticks(x_low, x_high):
        if x_low <= x <= x_high:
            px, _ = at(x, y_low)
            draw.line([(px, top), (px, bottom)], fill=(235, 235, 235))
            draw.text((px, bottom + 6), _label(x), fill="black", font=small, anchor="ma")
    for y in ticks(y_low, y_high):
        if y_low <= y <= y_high:
            _, py = at(x_low, y)
            draw.line([(left, py), (right, py)], fill=(235, 235, 235))
            draw.text((left - 6, py), _label(y), fill="black", font=small, anchor="rm")
    draw.rectangle([left, top, right, bottom], outline="black")
    draw.text(((left + right) / 2, height - 22), panel.x_label, fill="black", font=font, anchor="ma")
    axis_title = Image.new("RGB", (bottom - top, 20), "white")
    ImageDraw.Draw(axis_title).text(((bottom - top) / 2, 10), panel.y_label, fill="black", font=font, anchor="mm")
    image.paste(axis_title.rotate(90, expand=True), (4, top))

    for guide in panel.guides:
        if guide.axis == "x":
            start, end = at(guide.value, y_low), at(guide.value, y_high)
            draw.text((end[0] + 4, top + 4), guide.text, fill=GRAY, font=small)
        else:
            start, end = at(x_low, guide.value), at(x_high, guide.value)
            draw.text((right - 4, start[1] - 4), guide.text, fill=GRAY, font=small, anchor="rb")
        _dashed(draw, start, end, GRAY)

    for series in panel.series:
        pixels = [at(x, y) for x, y in series.points]
        if series.line and len(pixels) > 1:
            draw.line(pixels, fill=series.color, width=2)
        for index, (px, py) in enumerate(pixels):
            r = series.radius
            draw.ellipse([px - r, py - r, px + r, py + r], fill=series.color)
            if series.names:
                y, anchor = (py + r + 3, "lt") if series.names_below else (py - r - 3, "lb")
                draw.text((px + r + 3, y), series.names[index], fill=series.color, font=small, anchor=anchor)

    legend = [s for s in panel.series if s.label]
    for index, series in enumerate(legend):
        y = top + 8 + index * 18
        draw.ellipse([left + 10, y + 2, left + 20, y + 12], fill=series.color)
        draw.text((left + 26, y), series.label, fill="black", font=small)
    return image


def save(path: Path, panels: Sequence[Panel], size: tuple[int, int] = (560, 440)) -> Path:
    """Draw `panels` side by side and write them to `path` as a PNG."""
    images = [draw_panel(panel, size) for panel in panels]
    sheet = Image.new("RGB", (size[0] * len(images), size[1]), "white")
    for index, image in enumerate(images):
        sheet.paste(image, (index * size[0], 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """Redraw a benchmark's chart from its ``--json`` report (the benchmark's own `plot`)."""
    arguments = argparse.ArgumentParser(prog="python -m benchmarks.plots", description=main.__doc__)
    arguments.add_argument("report", type=Path, help="a report written by a benchmark's --json")
    arguments.add_argument("png", type=Path)
    args = arguments.parse_args(argv)
    report = json.loads(args.report.read_text())
    module = importlib.import_module(f"benchmarks.{report['benchmark']}")
    if not hasattr(module, "plot"):
        raise SystemExit(f"benchmarks.{report['benchmark']} draws no chart (no --plot option)")
    print(module.plot(report["results"], args.png))


if __name__ == "__main__":
    main()
