"""The world GAN's progress as a markdown table, from its run's snapshots/quality.jsonl.

Run: python -m benchmarks.probes.gan_progress [runs/world-gan/snapshots/quality.jsonl]
Each row is one snapshot read by the world's scorer on 500 generated and 500 rendered faces
(written by `latentedit world train gan` at every snapshot): the gaps the realism bars of
`world check` measure, the Fréchet distance in scorer features, and separability in W.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from benchmarks import common


def table(lines: list[str]) -> str:
    rows = [
        "| kimg | Fréchet | max binary-rate gap | max mean gap | min std ratio | separability in W (min) |",
        "|---|---|---|---|---|---|",
    ]
    entries = sorted((json.loads(line) for line in lines if line.strip()), key=lambda entry: entry["kimg"])
    for entry in entries:
        separable = [value for value in entry.get("separability_w", {}).values() if value is not None]
        separable_text = f"{min(separable):.2f}" if separable else "n/a"
        rows.append(
            f"| {entry['kimg']:g} | {entry['frechet']:.1f} | {entry['binary_rate_gap']:.2f} | "
            f"{entry['mean_gap']:.2f} | {entry['std_ratio_min']:.2f} | {separable_text} |"
        )
    return "\n".join(rows)


def measure(args) -> dict:
    """The table of the snapshots in `args.log`, printed."""
    lines = args.log.read_text().splitlines()
    print(table(lines))
    return {"log": str(args.log), "snapshots": len([line for line in lines if line.strip()])}


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("log", nargs="?", type=Path, default=Path("runs/world-gan/snapshots/quality.jsonl"))
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
