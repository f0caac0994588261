"""The renderer's statistics and speed (docs/world.md): base rates, correlations, throughput, a grid.

    python -m benchmarks.renderer --stats 10000 --grid docs/img/renderer_grid.png

`--stats N` prints the statistics block of docs/world.md's "Renderer" section, measured on
seeds 0..N-1, with the throughput of `render_batch` in one and two processes; `--grid PNG`
writes the 4x4 grid of seeds 0..15 shown there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from benchmarks import common
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
        return n / common.timed(render_batch, seeds)[1]
    chunks = [seeds[i :: workers * 4] for i in range(workers * 4)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_render_chunk, [[0]] * workers))
        done, seconds = common.timed(lambda: sum(pool.map(_render_chunk, chunks)))
        return done / seconds


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


def statistics(n: int, throughput_n: int = 2000) -> dict[str, Any]:
    """Base rates and correlations on seeds 0..n-1, and `render_batch`'s images/s in one and two processes."""
    records = [sample_attributes(seed) for seed in range(n)]
    columns, corr = correlation_matrix(records)
    return {
        "seeds": n,
        "base_rates": base_rates(records),
        "columns": columns,
        "correlations": corr.round(4).tolist(),
        "throughput_images": throughput_n,
        "images_per_second": {"1 process": throughput(throughput_n, 1), "2 processes": throughput(throughput_n, 2)},
    }


def stats_markdown(stats: Mapping[str, Any]) -> str:
    """The statistics block of docs/world.md, from `statistics`."""
    import numpy as np

    columns = stats["columns"]
    kinds = {c: ATTRIBUTES[c.split("=")[0]].kind for c in columns}
    rate_rows = [f"| {c} | {kinds[c]} | {stats['base_rates'][c]:.3f} |" for c in columns]
    one, two = stats["images_per_second"].values()
    return "\n".join(
        [
            f"Measured on seeds 0..{stats['seeds'] - 1}.",
            "",
            "| column | kind | mean (rate for binary / one-hot) |",
            "|---|---|---|",
            *rate_rows,
            "",
            "Correlation matrix (Pearson; binaries 0/1, hair colour one-hot):",
            "",
            _markdown_table(columns, np.array(stats["correlations"])),
            "",
            f"Throughput of `render_batch` ({stats['throughput_images']} faces, 64x64, wall clock, "
            f"{os.cpu_count()} CPUs visible): {one:.0f} images/s in one process, {two:.0f} images/s in two processes.",
        ]
    )


def measure(args) -> dict[str, Any]:
    """Write the grid and/or measure and print the statistics block."""
    from PIL import Image

    results: dict[str, Any] = {}
    if args.grid:
        os.makedirs(os.path.dirname(args.grid) or ".", exist_ok=True)
        Image.fromarray(sample_grid(range(16), scale=4)).save(args.grid)
        print(f"wrote {args.grid}")
        results["grid"] = args.grid
    if args.stats:
        results["statistics"] = statistics(args.stats, args.throughput)
        print(stats_markdown(results["statistics"]))
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--stats", type=int, metavar="N", help="measure rates, correlations and speed on N seeds")
    parser.add_argument("--throughput", type=int, default=2000, metavar="N", help="faces timed per process count")
    parser.add_argument("--grid", metavar="PNG", help="write a 4x4 grid of seeds 0..15 (4x nearest upscale)")
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
