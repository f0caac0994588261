"""Does the choice of direction, rather than the generator, cap InterFaceGAN's edits?

Run: .venv/bin/python benchmarks/direction_choice_probe.py [--backend embedded] [--samples 10000]
     [--eval-samples 500] [--attrs glasses,smile,yaw,beard,bangs]
From one set of scored samples, several linear directions per attribute: InterFaceGAN's SVM on
the top and bottom 2% at three values of C (small C tends to the class-mean difference), the
class-mean difference of the top and bottom 2% and of all samples split at the median (binary:
at 0.5), and least squares. Each is applied at strength 3 (calibrated, as every edit) and
re-scored. If no direction gets the target far with little off-target change, the generator's W,
not InterFaceGAN's choice inside it, caps the issue-4 bars. About 4 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from latentedit.backend import load_backend
from latentedit.evaluate import off_target, rescore
from latentedit.labels import scorer_for
from latentedit.methods.interfacegan import train_boundary
from latentedit.sampling import sample
from latentedit.vectors import vector_edit
from latentedit.world.attributes import ATTRIBUTES


def directions(latents: torch.Tensor, scores: torch.Tensor, attribute: str) -> dict[str, torch.Tensor]:
    """Candidate unit-free directions in W for one attribute, by name."""
    x, y = latents.double().numpy(), scores.double().numpy()
    found = {f"svm 2%, C {c:g}": train_boundary(latents, scores, 0.02, 0.7, c, 0)[0] for c in (1.0, 0.01, 1e-4)}
    order = np.argsort(y)
    keep = int(0.02 * len(y))
    found["mean difference, 2%"] = torch.tensor(x[order[-keep:]].mean(0) - x[order[:keep]].mean(0))
    split = 0.5 if ATTRIBUTES[attribute].kind == "binary" else float(np.median(y))
    found["mean difference, all"] = torch.tensor(x[y > split].mean(0) - x[y <= split].mean(0))
    centred = x - x.mean(0)
    found["least squares"] = torch.tensor(np.linalg.lstsq(centred, y - y.mean(), rcond=None)[0])
    return {name: direction.float() for name, direction in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--eval-samples", type=int, default=500)
    parser.add_argument("--attrs", default="glasses,smile,yaw,beard,bangs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    backend = load_backend(args.backend)
    scorer = scorer_for(backend)
    samples = sample(backend, args.samples, 0, scorer)
    latents = samples.latents("w")
    report: dict = {}
    print("| attribute | direction | target change | off-target | off-target per target | strength unit |")
    print("|---|---|---|---|---|---|")
    for attribute in args.attrs.split(","):
        found = directions(latents, samples.scores[attribute], attribute)
        edits = [
            vector_edit(
                method="interfacegan",
                name=name,
                space="w",
                direction=direction,
                backend=backend,
                calibration_latents=latents,
                attribute=attribute,
            )
            for name, direction in found.items()
        ]
        result = rescore(backend, edits, scorer, samples=args.eval_samples, strength=3.0)
        report[attribute] = {}
        for edit in edits:
            row = result["rescoring"][edit.name]
            target, leak = row[attribute], off_target(row, attribute)
            report[attribute][edit.name] = {"target": target, "off_target": leak, "unit": edit.metrics["strength_unit"]}
            ratio = leak / abs(target) if target else float("inf")
            print(
                f"| {attribute} | {edit.name} | {target:+.3f} | {leak:.3f} | {ratio:.2f} | "
                f"{edit.metrics['strength_unit']:.2f} |",
                flush=True,
            )
    if args.json:
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
