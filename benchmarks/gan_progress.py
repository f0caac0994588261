"""The world GAN's progress as a markdown table, from its run's snapshots/quality.jsonl.

Run: .venv/bin/python benchmarks/gan_progress.py [runs/world-gan/snapshots/quality.jsonl]
Each row is one snapshot read by the world's scorer on 500 generated and 500 rendered faces
(written by `latentedit world train gan` at every snapshot): the gaps the realism bars of
`world check` measure, the Fréchet distance in scorer features, and separability in W.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


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


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/world-gan/snapshots/quality.jsonl")
    print(table(path.read_text().splitlines()))
