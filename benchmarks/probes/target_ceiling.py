"""How far can any edit move a continuous attribute at strength 3? Issue 4's target bar, bounded.

Run: python -m benchmarks.probes.target_ceiling [--attrs smile,yaw] [--samples 2000]
Scores are clamped to their range, so a face can gain at most its room, (high - score) / range.
On `evaluate`'s own samples this prints the mean room, and what a perfect edit would gain: one
along which the score is exactly linear in the latent (R² = 1), so that strength 3 (three
standard deviations of the sampled latents along the direction) moves every score by three
standard deviations of the scores, clamped at the top of the range.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from benchmarks import common
from latentedit import load_backend
from latentedit.api import EVALUATION_SEED, sample, scorer_for


def measure(args) -> dict:
    """The room and a perfect linear edit's gain per attribute, printed as JSON lines."""
    backend = load_backend(args.backend)
    scorer = scorer_for(backend)
    scores = sample(backend, args.samples, EVALUATION_SEED, scorer).scores
    results = {}
    for column in args.attrs.split(","):
        values = scores[column]
        low, high = scorer.ranges[column]
        room = (high - values) / (high - low)
        step = args.strength * values.std() / (high - low)
        report = {
            "mean_room": round(room.mean().item(), 4),
            "perfect_linear_edit_gain": round(torch.minimum(room, step).mean().item(), 5),
            "unclamped_step": round(step.item(), 4),
        }
        results[column] = report
        common.emit({column: report})
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--attrs", default="smile,yaw")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--strength", type=float, default=3.0)
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
