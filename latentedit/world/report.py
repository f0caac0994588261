"""Measurements behind docs/world.md: attribute base rates, correlations, throughput, a sample grid.

Run ``python -m latentedit.world.report --stats 10000 --grid docs/img/renderer_grid.png`` to
regenerate every figure in the "Renderer" section of docs/world.md.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from latentedit.world.attributes import ATTRIBUTES, numeric_columns, numeric_matrix, sample_attributes
from latentedit.world.render import render_batch

if TYPE_CHECKING:
    import numpy as np


def correlation_matrix(records: Sequence[Mapping[str, float | int | str]]) -> tuple[list[str], np.ndarray]:
    """Pearson correlations between numerically encoded attributes (binaries 0/1, hair colour one-hot)."""
    import numpy as np

    return numeric_columns(), np.corrcoef(numeric_matrix(records), rowvar=False)


def base_rates(records: Sequence[Mapping[str, float | int | str]]) -> dict[str, float]:
    """Mean of every numeric column: the rate of each binary and hair colour, the mean of continuous ones."""
    return dict(zip(numeric_columns(), numeric_matrix(records).mean(axis=0).tolist(), strict=True))


def _render_chunk(seeds: Sequence[int]) -> int:
    return len(render_batch(seeds)[2])


def throughput(n: int = 2000, workers: int = 1) -> float:
    """Images per second of ``render_batch`` (wall clock), split over ``workers`` processes."""
    render_batch(range(8))
    seeds = list(range(n))
    if workers <= 1:
        start = time.perf_counter()
        render_batch(seeds)
        return n / (time.perf_counter() - start)
    chunks = [seeds[i :: workers * 4] for i in range(workers * 4)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_render_chunk, [[0]] * workers))
        start = time.perf_counter()
        done = sum(pool.map(_render_chunk, chunks))
        return done / (time.perf_counter() - start)


def sample_grid(seeds: Sequence[int], columns: int = 4, scale: int = 1) -> np.ndarray:
    """Renders of ``seeds`` tiled row-major into one uint8 image, upscaled ``scale`` x (nearest)."""
    import numpy as np

    images = render_batch(seeds)[0]
    rows = len(images) // columns
    size = images.shape[1]
    grid = images[: rows * columns].reshape(rows, columns, size, size, 3).transpose(0, 2, 1, 3, 4)
    grid = grid.reshape(rows * size, columns * size, 3)
    return np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)


def _markdown_table(columns: list[str], matrix: np.ndarray) -> str:
    short = [c.replace("hair_color=", "hair=") for c in columns]
    lines = ["| | " + " | ".join(short) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in zip(short, matrix, strict=True):
        lines.append(f"| **{name}** | " + " | ".join(f"{v:+.2f}" for v in row) + " |")
    return "\n".join(lines)


def stats_markdown(n: int, throughput_n: int = 2000) -> str:
    """The statistics block of docs/world.md, measured on seeds 0..n-1."""
    records = [sample_attributes(seed) for seed in range(n)]
    columns, corr = correlation_matrix(records)
    rates = base_rates(records)
    kinds = {c: ATTRIBUTES[c.split("=")[0]].kind for c in columns}
    rate_rows = [f"| {c} | {kinds[c]} | {rates[c]:.3f} |" for c in columns]
    one = throughput(throughput_n, workers=1)
    two = throughput(throughput_n, workers=2)
    return "\n".join(
        [
            f"Measured on seeds 0..{n - 1}.",
            "",
            "| column | kind | mean (rate for binary / one-hot) |",
            "|---|---|---|",
            *rate_rows,
            "",
            "Correlation matrix (Pearson; binaries 0/1, hair colour one-hot):",
            "",
            _markdown_table(columns, corr),
            "",
            f"Throughput of `render_batch` ({throughput_n} faces, 64x64, wall clock, {os.cpu_count()} CPUs visible): "
            f"{one:.0f} images/s in one process, {two:.0f} images/s in two processes.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print the statistics block and/or write the sample grid."""
    parser = argparse.ArgumentParser(prog="python -m latentedit.world.report", description=__doc__)
    parser.add_argument("--stats", type=int, metavar="N", help="measure rates, correlations and speed on N seeds")
    parser.add_argument("--grid", metavar="PNG", help="write a 4x4 grid of seeds 0..15 (4x nearest upscale)")
    args = parser.parse_args(argv)
    from PIL import Image

    if args.grid:
        os.makedirs(os.path.dirname(args.grid) or ".", exist_ok=True)
        Image.fromarray(sample_grid(range(16), scale=4)).save(args.grid)
        print(f"wrote {args.grid}")
    if args.stats:
        print(stats_markdown(args.stats))


if __name__ == "__main__":
    main()
