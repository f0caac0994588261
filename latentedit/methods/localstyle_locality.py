"""How local a local edit is: CIELAB squared-error maps and the paper's In/Out-MSE curves (Fig. 7b).

Error maps are squared Euclidean distances in CIELAB (ΔE*76²) between a target and its edit
(App. B). Locality sweeps λ (simultaneous, Eq. 4) and ε (sequential, Eq. 5) over seeded
target/reference pairs and reports the mean error inside the region (In-MSE: the edit is
visible) and outside it (Out-MSE: what leaked). The region mask comes from the backend's part
segmenter when it knows the region's name, else from the catalog's own cluster maps.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.api import EVALUATION_SEED, Progress, no_progress

if TYPE_CHECKING:
    import numpy as np

    from latentedit.api import Backend, Edit

LAMBDAS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
EPSILONS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
BATCH = 16

_SRGB_TO_XYZ = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)
_D65_WHITE = (0.95047, 1.0, 1.08883)
_INFERNO = (
    (0.0, (0, 0, 4)),
    (0.25, (87, 16, 110)),
    (0.5, (188, 55, 84)),
    (0.75, (249, 142, 9)),
    (1.0, (252, 255, 164)),
)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB ``[..., 3]`` (uint8, or floats in [0, 1]) -> CIELAB ``[..., 3]`` (D65 white), float64."""
    import numpy as np

    c = rgb.astype(np.float64) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float64)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.asarray(_SRGB_TO_XYZ).T / np.asarray(_D65_WHITE)
    delta = 6 / 29
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_squared_error(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per-pixel ΔE*76² between sRGB images ``[..., H, W, 3]`` -> ``[..., H, W]``."""
    return ((srgb_to_lab(first) - srgb_to_lab(second)) ** 2).sum(axis=-1)


def heat_colours(values: np.ndarray, vmax: float) -> np.ndarray:
    """Values in [0, vmax] -> uint8 RGB on an inferno-like ramp (black, purple, red, orange, pale yellow)."""
    import numpy as np

    t = np.clip(values / max(vmax, 1e-12), 0, 1)
    stops = np.asarray([stop for stop, _ in _INFERNO])
    colours = np.asarray([colour for _, colour in _INFERNO], dtype=np.float64)
    channels = [np.interp(t, stops, colours[:, channel]) for channel in range(3)]
    return np.stack(channels, axis=-1).round().astype(np.uint8)


def save_heatmap(errors: np.ndarray, path: str | Path, vmax: float | None = None, force: bool = False) -> Path:
    """A PNG of one ``[H, W]`` or several ``[N, H, W]`` error maps on one shared scale (default: the max)."""
    from latentedit.api import grid, save_png

    maps = errors[None] if errors.ndim == 2 else errors
    scale = max(1, 192 // maps.shape[1])
    tiles = heat_colours(maps, float(vmax if vmax is not None else maps.max()))
    tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
    return save_png(tiles[0] if len(tiles) == 1 else grid(tiles, pad=2), path, force)


def _region_mask(backend: Backend, edit: Edit, ws: Any, images: Any, ids: list[int], part: int | None, segmenter: Any):
    """Boolean ``[N, H, W]`` region masks of the target images."""
    import numpy as np

    from latentedit.methods.localstyle_catalog import cluster_maps, resize_labels

    if part is not None:
        parts = segmenter.segment(images).cpu()
        return (resize_labels(parts, tuple(images.shape[-2:])) == part).numpy()
    labels = resize_labels(cluster_maps(backend, edit, ws), tuple(images.shape[-2:])).numpy()
    return np.isin(labels, ids)


def locality(
    backend: Backend,
    edit: Edit,
    region: str | int | list[int],
    pairs: int = 100,
    lambdas: tuple[float, ...] | list[float] = LAMBDAS,
    epsilons: tuple[float, ...] | list[float] = EPSILONS,
    segmenter: Any = None,
    rho: float | None = None,
    seed: int = EVALUATION_SEED,
    plot: str | Path | None = None,
    heatmap: str | Path | None = None,
    force: bool = False,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """In/Out-MSE (CIELAB) of a catalog's local edits over `pairs` seeded target/reference pairs.

    Sweeps λ (simultaneous) and ε (sequential, at `rho`), plus the sequential defaults; returns
    JSON-able curves. `plot` writes them as a PNG like the paper's Fig. 7b; `heatmap` writes the
    mean error map of the default edit (Fig. 7a).
    """
    import numpy as np
    import torch

    from latentedit.api import scorer_for, to_uint8
    from latentedit.methods.localstyle import LocalStyle, LocalStyleApplyOptions
    from latentedit.methods.localstyle_catalog import check_catalog
    from latentedit.methods.localstyle_labels import region_clusters

    check_catalog(edit, backend)
    name, ids = region_clusters(edit, region)
    defaults = LocalStyleApplyOptions()
    rho = defaults.rho if rho is None else rho
    if segmenter is None:
        segmenter = scorer_for(backend, kind="segmenter", required=False)
    parts = tuple(getattr(segmenter, "parts", ()))
    part = parts.index(name) if name in parts else None
    settings = [("simultaneous", float(value), defaults.epsilon, float(value)) for value in lambdas]
    settings += [("sequential", float(value), float(value), 1.0) for value in epsilons]
    settings.append(("defaults", defaults.epsilon, defaults.epsilon, 1.0))
    sums = np.zeros((len(settings), 2))
    used = 0
    mean_map = None
    method = LocalStyle()
    z = backend.sample_z(2 * pairs, seed)
    for start in range(0, pairs, BATCH):
        stop = min(start + BATCH, pairs)
        with torch.inference_mode():
            ws = backend.mapping(z[start:stop])
            reference = backend.styles(backend.mapping(z[pairs + start : pairs + stop]))
            target_styles = backend.styles(ws)
            images = backend.synthesize_from_styles(target_styles)
        mask = _region_mask(backend, edit, ws, images, ids, part, segmenter)
        inside, outside = mask.sum(axis=(1, 2)), (~mask).sum(axis=(1, 2))
        usable = (inside > 0) & (outside > 0)
        used += int(usable.sum())
        target = to_uint8(images)
        for index, (mode, _, epsilon, strength) in enumerate(settings):
            edited_styles = method.apply(
                backend,
                target_styles,
                edit,
                strength,
                reference=reference,
                region=ids,
                mode="sequential" if mode == "defaults" else mode,
                epsilon=epsilon,
                rho=rho,
            )
            with torch.inference_mode():
                edited = to_uint8(backend.synthesize_from_styles(edited_styles))
            errors = lab_squared_error(target, edited)
            per_in = (errors * mask).sum(axis=(1, 2)) / np.maximum(inside, 1)
            per_out = (errors * ~mask).sum(axis=(1, 2)) / np.maximum(outside, 1)
            sums[index] += [per_in[usable].sum(), per_out[usable].sum()]
            if mode == "defaults":
                mean_map = errors.sum(axis=0) if mean_map is None else mean_map + errors.sum(axis=0)
        progress(stop, pairs)
    means = sums / max(used, 1)

    def point(index: int, key: str, value: float) -> dict[str, float]:
        in_mse, out_mse = float(means[index, 0]), float(means[index, 1])
        return {key: value, "in_mse": in_mse, "out_mse": out_mse, "out_in": out_mse / in_mse if in_mse > 0 else None}

    simultaneous = [point(i, "lambda", s[1]) for i, s in enumerate(settings) if s[0] == "simultaneous"]
    sequential = [point(i, "epsilon", s[1]) for i, s in enumerate(settings) if s[0] == "sequential"]
    result = {
        "region": name,
        "clusters": ids,
        "mask": "segmenter" if part is not None else "clusters",
        "pairs": pairs,
        "pairs_used": used,
        "seed": seed,
        "rho": rho,
        "units": "mean squared CIELAB distance (ΔE*76²) per pixel",
        "simultaneous": simultaneous,
        "sequential": sequential,
        "defaults": {"mode": "sequential", "epsilon": defaults.epsilon, **point(len(settings) - 1, "rho", rho)},
        "sequential_vs_simultaneous": out_ratio_at_equal_in(sequential, simultaneous),
    }
    if plot is not None:
        result["plot"] = str(save_locality_plot(result, plot, force))
    if heatmap is not None and mean_map is not None:
        result["heatmap"] = str(save_heatmap(mean_map / pairs, heatmap, force=force))
    return result


def out_ratio_at_equal_in(sequential: list[dict[str, Any]], simultaneous: list[dict[str, Any]]) -> float | None:
    """Mean of Out_seq / Out_sim at equal In-MSE (simultaneous curve interpolated); < 1: sequential is more local."""
    import numpy as np

    curve = sorted((p["in_mse"], p["out_mse"]) for p in simultaneous)
    xs, ys = np.asarray([x for x, _ in curve]), np.asarray([y for _, y in curve])
    ratios = [
        p["out_mse"] / float(np.interp(p["in_mse"], xs, ys))
        for p in sequential
        if xs[0] <= p["in_mse"] <= xs[-1] and float(np.interp(p["in_mse"], xs, ys)) > 0
    ]
    return float(np.mean(ratios)) if ratios else None


def _nice_ticks(top: float, count: int = 5) -> list[float]:
    import math

    raw = max(top, 1e-12) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [step * i for i in range(int(top / step) + 2)]


def save_locality_plot(result: dict[str, Any], path: str | Path, force: bool = False) -> Path:
    """Out-MSE against In-MSE for both query modes (the paper's Fig. 7b), drawn with Pillow."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from latentedit.api import save_png

    series = {
        "sequential (epsilon)": (
            [(p["in_mse"], p["out_mse"], p["epsilon"]) for p in result["sequential"]],
            (200, 40, 40),
        ),
        "simultaneous (lambda)": (
            [(p["in_mse"], p["out_mse"], p["lambda"]) for p in result["simultaneous"]],
            (40, 90, 200),
        ),
    }
    xs = [x for points, _ in series.values() for x, _, _ in points]
    ys = [y for points, _ in series.values() for _, y, _ in points]
    x_ticks, y_ticks = _nice_ticks(max(xs)), _nice_ticks(max(ys))
    x_top = next(t for t in x_ticks if t >= max(xs))
    y_top = next(t for t in y_ticks if t >= max(ys))
    width, height, left, right, top, bottom = 560, 420, 70, 20, 40, 50
    font = ImageFont.load_default()
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            left + x / max(x_top, 1e-12) * (width - left - right),
            height - bottom - y / max(y_top, 1e-12) * (height - top - bottom),
        )

    for tick in (t for t in x_ticks if t <= x_top):
        x, _ = at(tick, 0)
        draw.line((x, top, x, height - bottom), fill=(230, 230, 230))
        draw.text((x, height - bottom + 6), f"{tick:g}", fill="black", font=font, anchor="mt")
    for tick in (t for t in y_ticks if t <= y_top):
        _, y = at(0, tick)
        draw.line((left, y, width - right, y), fill=(230, 230, 230))
        draw.text((left - 6, y), f"{tick:g}", fill="black", font=font, anchor="rm")
    draw.rectangle((left, top, width - right, height - bottom), outline="black")
    for row, (label, (points, colour)) in enumerate(series.items()):
        placed = [(*at(x, y), value) for x, y, value in points]
        if len(placed) > 1:
            draw.line([(x, y) for x, y, _ in placed], fill=colour, width=2)
        for x, y, value in placed:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=colour)
            draw.text((x + 5, y - 2), f"{value:g}", fill=colour, font=font, anchor="lb")
        draw.line((left + 12, top + 14 + row * 16, left + 32, top + 14 + row * 16), fill=colour, width=2)
        draw.text((left + 38, top + 14 + row * 16), label, fill="black", font=font, anchor="lm")
    draw.text(
        (width / 2, height - 14),
        "In-MSE (squared CIELAB distance inside the region)",
        fill="black",
        font=font,
        anchor="mm",
    )
    draw.text(
        (8, top - 22), f"Out-MSE (outside) - region {result['region']} ({result['mask']} mask)", fill="black", font=font
    )
    return save_png(np.asarray(image), path, force)


def locality_analysis(
    backend: Backend,
    edits: list[Edit],
    *,
    region: str | None = None,
    pairs: int | None = None,
    plot: Path | None = None,
    heatmap: Path | None = None,
    force: bool = False,
    progress: Progress = no_progress,
    **_: Any,
) -> dict[str, Any]:
    """`evaluate --locality`: the In/Out-MSE curves of one local-style catalog."""
    from latentedit.api import LatentEditError

    if len(edits) != 1 or edits[0].method != "localstyle" or region is None:
        raise LatentEditError("--locality takes one local-style catalog (--dir) and a --region.")
    report = locality(
        backend, edits[0], region, pairs=pairs or 100, plot=plot, heatmap=heatmap, force=force, progress=progress
    )
    return {"edit": edits[0].name, **report}


def locality_table(report: dict[str, Any]) -> dict[str, Any]:
    """The curves as rows of (mode, setting, In-MSE, Out-MSE), with the defaults as a caption."""
    rows = [
        [mode, f"{key} {point[key]:g}", f"{point['in_mse']:.2f}", f"{point['out_mse']:.2f}"]
        for mode, key in (("simultaneous", "lambda"), ("sequential", "epsilon"))
        for point in report[mode]
    ]
    return {
        "title": f"Locality of {report['edit']}, region {report['region']}",
        "columns": ["mode", "setting", "In-MSE", "Out-MSE"],
        "rows": rows,
        "caption": f"Defaults (sequential): Out/In = {report['defaults']['out_in']}; units: {report['units']}",
    }
