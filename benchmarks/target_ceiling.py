"""How far can any edit move a continuous attribute at strength 3? Issue 4's target bar, bounded.

Run: .venv/bin/python benchmarks/target_ceiling.py [--attrs smile,yaw] [--samples 2000]
Scores are clamped to their range, so a face can gain at most its room, (high - score) / range.
On `evaluate`'s own samples this prints the mean room, and what a perfect edit would gain: one
along which the score is exactly linear in the latent (R² = 1), so that strength 3 (three
standard deviations of the sampled latents along the direction) moves every score by three
standard deviations of the scores, clamped at the top of the range.
"""

from __future__ import annotations

import argparse
import json

import torch

from latentedit.backend import load_backend
from latentedit.evaluate import EVALUATION_SEED
from latentedit.labels import scorer_for
from latentedit.sampling import sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--attrs", default="smile,yaw")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--strength", type=float, default=3.0)
    args = parser.parse_args()

    backend = load_backend(args.backend)
    scorer = scorer_for(backend)
    scores = sample(backend, args.samples, EVALUATION_SEED, scorer).scores
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
        print(json.dumps({column: report}))


if __name__ == "__main__":
    main()
