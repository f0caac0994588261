"""Does the choice of direction, rather than the generator, cap InterFaceGAN's edits?

Run: python -m benchmarks.probes.direction_choice [--backend embedded] [--samples 10000] [--svm-only]
     [--eval-samples 500] [--attrs glasses,smile,yaw,beard,bangs]
From one set of scored samples, several linear directions per attribute: InterFaceGAN's SVM on
the top and bottom 2% at three values of C (small C tends to the class-mean difference), the
class-mean difference of the top and bottom 2% and of all samples split at the median (binary:
at 0.5), and least squares, also with every other score's least-squares direction projected
out (to first order a move that changes the target alone). Each is applied at strength 3
(calibrated, as every edit) and re-scored. If no direction gets the target far with little
off-target change, the generator's W, not InterFaceGAN's choice inside it, caps the issue-4 bars.
About 4 minutes on 2 CPU cores (`--svm-only`: about 1 minute for three attributes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from benchmarks import common
from latentedit import load_backend
from latentedit.api import off_target, rescore, sample, scorer_for, vector_edit
from latentedit.methods.interfacegan import train_boundary
from latentedit.world.attributes import ATTRIBUTES
from latentedit.world.scoring import CATEGORICAL


def least_squares(latents: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The least-squares read-out direction in W of one score column."""
    centred = latents - latents.mean(0)
    return np.linalg.lstsq(centred, scores - scores.mean(), rcond=None)[0]


def directions(latents: torch.Tensor, all_scores: dict[str, torch.Tensor], attribute: str) -> dict[str, torch.Tensor]:
    """Candidate unit-free directions in W for one attribute, by name."""
    x, y = latents.double().numpy(), all_scores[attribute].double().numpy()
    scores = all_scores[attribute]
    found = {f"svm 2%, C {c:g}": train_boundary(latents, scores, 0.02, 0.7, c, 0)[0] for c in (1.0, 0.01, 1e-4)}
    order = np.argsort(y)
    keep = int(0.02 * len(y))
    found["mean difference, 2%"] = torch.tensor(x[order[-keep:]].mean(0) - x[order[:keep]].mean(0))
    split = 0.5 if ATTRIBUTES[attribute].kind == "binary" else float(np.median(y))
    found["mean difference, all"] = torch.tensor(x[y > split].mean(0) - x[y <= split].mean(0))
    target = least_squares(x, y)
    found["least squares"] = torch.tensor(target)
    # every other score's read-out projected out: to first order, a move that changes the target alone
    # (hair colour by its per-colour probabilities; its class index is no quantity to read out)
    others = [name for name in all_scores if name not in (attribute, *CATEGORICAL)]
    q, _ = np.linalg.qr(np.stack([least_squares(x, all_scores[name].double().numpy()) for name in others], 1))
    found["least squares, others held"] = torch.tensor(target - q @ (q.T @ target))
    return {name: direction.float() for name, direction in found.items()}


def measure(args) -> dict:
    """Every direction of every attribute, re-scored at strength 3 and printed as a table row."""
    backend = load_backend(args.backend)
    scorer = scorer_for(backend)
    samples = sample(backend, args.samples, 0, scorer)
    latents = samples.latents("w")
    report: dict = {}
    print(
        "| attribute | direction | target change | off-target | off-target per target | strength unit | largest leaks |"
    )
    print("|---|---|---|---|---|---|---|")
    for attribute in args.attrs.split(","):
        found = directions(latents, samples.scores, attribute)
        if args.svm_only:
            found = {name: direction for name, direction in found.items() if name == "svm 2%, C 1"}
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
            others = sorted((column for column in row if column != attribute), key=lambda c: -abs(row[c]))
            largest = ", ".join(f"{column} {row[column]:+.2f}" for column in others[:3])
            print(
                f"| {attribute} | {edit.name} | {target:+.3f} | {leak:.3f} | {ratio:.2f} | "
                f"{edit.metrics['strength_unit']:.2f} | {largest} |",
                flush=True,
            )
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--eval-samples", type=int, default=500)
    parser.add_argument("--attrs", default="glasses,smile,yaw,beard,bangs")
    parser.add_argument("--svm-only", action="store_true", help="only InterFaceGAN's own direction (SVM 2%%, C 1)")
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
