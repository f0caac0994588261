"""Issue 4's quality bars on the embedded world: InterFaceGAN, pair-direction, inversion.

Run: python -m benchmarks.end_to_end_quality [--backend embedded] [--json out.json] [--plot out.png]
``--plot`` draws target change against mean off-target change per method and attribute.
Prints a markdown report (for docs/results.md) with every number and the bar it is held to.
Takes tens of minutes on 2 CPU cores (10,000-sample boundaries, 100 inversions).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from benchmarks import common, plots
from benchmarks.renderer import correlation_matrix
from latentedit import load_backend
from latentedit.api import (
    DiscoverRequest,
    InversionOptions,
    from_uint8,
    invert_files,
    no_progress,
    off_target,
    pairs_from_folder,
    rescore,
    scorer_for,
)
from latentedit.methods.interfacegan import InterFaceGAN, InterFaceGANOptions
from latentedit.methods.pair import PairDirection, PairOptions
from latentedit.world.attributes import ATTRIBUTES
from latentedit.world.dataset import write_faces
from latentedit.world.render import sample_attributes
from latentedit.world.seeds import HELDOUT_SEED

TARGETS = ("smile", "glasses", "yaw")
PAIR_ATTRIBUTES = ("glasses", "smile")


PARTNER_MIN_CORRELATION = 0.1
"""Below this |r| the renderer has no correlated partner for an attribute (yaw's largest is 0.015,
face width, sampling noise), and the conditioning bar does not apply; the numbers are still reported."""


def most_correlated(attribute: str, samples: int = 10_000) -> tuple[str, float]:
    """The score column the renderer correlates most with `attribute`, and its Pearson r
    (e.g. glasses: hair_color=gray, 0.39)."""
    columns, matrix = correlation_matrix([sample_attributes(seed) for seed in range(samples)])
    row = matrix[columns.index(attribute)].copy()
    row[columns.index(attribute)] = 0
    index = int(np.argmax(np.abs(row)))
    return columns[index], float(row[index])


def pair_folder(work: Path, attribute: str) -> Path:
    """The 10 held-out rendered pairs (only `attribute` changed) every pair benchmark uses;
    written once under `work`."""
    folder = work / f"pairs-{attribute}"
    if not (folder / "labels.csv").exists():
        write_faces(folder, n=10, seed=HELDOUT_SEED + 500_000, pairs=attribute)
    return folder


def interfacegan(backend, attribute: str, condition: list[str], samples: int):
    options = InterFaceGANOptions(samples=samples, condition=condition)
    name = attribute + ("-cond-" + "-".join(condition) if condition else "")
    return InterFaceGAN().discover(backend, DiscoverRequest(name=name, attr=attribute), options, no_progress)


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.dim() != b.dim():  # a W direction against a W+ one: compare to the layer average
        a, b = (a, b.mean(dim=0)) if b.dim() == 2 else (a.mean(dim=0), b)
    return float(torch.nn.functional.cosine_similarity(a.reshape(1, -1), b.reshape(1, -1)))


def measure(args) -> dict:
    """Every bar of the issue, printed as a JSON line as soon as it is measured."""
    backend = load_backend(args.backend)
    scorer = scorer_for(backend)
    segmenter = scorer_for(backend, kind="segmenter", required=False)
    report: dict = {"backend": backend.name, "interfacegan": {}, "pairs": {}, "inversion": {}}

    edits = {}
    for attribute in TARGETS:
        partner, correlation = most_correlated(attribute)
        plain = interfacegan(backend, attribute, [], args.samples)
        conditioned = interfacegan(backend, attribute, [partner], args.samples)
        edits[attribute] = plain
        scores = rescore(backend, [plain, conditioned], scorer, segmenter, args.eval_samples, 3.0)["rescoring"]
        spec = ATTRIBUTES[attribute]
        target_plain = scores[plain.name][attribute]
        report["interfacegan"][attribute] = {
            "svm_validation_accuracy": plain.metrics.get("validation_accuracy"),
            "target_change": target_plain,
            "off_target_mean_abs": off_target(scores[plain.name], attribute),
            "most_correlated": partner,
            "partner_correlation": correlation,
            "partner_change_plain": scores[plain.name].get(partner),
            "partner_change_conditioned": scores[conditioned.name].get(partner),
            "target_change_conditioned": scores[conditioned.name][attribute],
            "bars": {
                "target>=0.5": target_plain >= 0.5,
                "off_target<=0.05": off_target(scores[plain.name], attribute) <= 0.05,
                "conditioned_partner<0.02": abs(scores[conditioned.name].get(partner, 1.0)) < 0.02
                if abs(correlation) >= PARTNER_MIN_CORRELATION
                else None,
            },
            "kind": spec.kind,
        }
        common.emit({attribute: report["interfacegan"][attribute]})

    for attribute in PAIR_ATTRIBUTES:
        pairs = pairs_from_folder(pair_folder(args.work, attribute))
        request = DiscoverRequest(name=f"pair-{attribute}", attr=attribute, pairs=pairs[:1])
        single = PairDirection().discover(backend, request, PairOptions(), no_progress)
        request = DiscoverRequest(name=f"pairs10-{attribute}", attr=attribute, pairs=pairs)
        average = PairDirection().discover(backend, request, PairOptions(), no_progress)
        reference = edits.get(attribute) or interfacegan(backend, attribute, [], args.samples)
        scores = rescore(backend, [single, average], scorer, segmenter, args.eval_samples, 3.0)["rescoring"]
        report["pairs"][attribute] = {
            "cosine_single_vs_interfacegan": cosine(single.tensors["direction"], reference.tensors["direction"]),
            "cosine_average_vs_interfacegan": cosine(average.tensors["direction"], reference.tensors["direction"]),
            "pair_agreement": average.metrics["pair_agreement"],
            "target_change_single": scores[single.name][attribute],
            "target_change_average": scores[average.name][attribute],
            "off_target_single": off_target(scores[single.name], attribute),
            "off_target_average": off_target(scores[average.name], attribute),
        }
        row = report["pairs"][attribute]
        row["bars"] = {
            "single_cosine>=0.5": row["cosine_single_vs_interfacegan"] >= 0.5,
            "average_cosine>=0.8": row["cosine_average_vs_interfacegan"] >= 0.8,
            "average_less_off_target": row["off_target_average"] < row["off_target_single"],
        }
        common.emit({f"pair-{attribute}": row})

    folder = args.work / "photos"
    if not (folder / "labels.csv").exists():
        write_faces(folder, n=args.inversions, seed=HELDOUT_SEED + 900_000)
    with open(folder / "labels.csv") as handle:
        rows = list(csv.DictReader(handle))
    paths = [folder / row["file"] for row in rows]
    inversions, seconds = common.timed(invert_files, backend, paths, InversionOptions(), use_cache=False)
    seconds /= len(paths)
    from latentedit.editing import Subject, render

    reconstructions = np.stack(
        [render(backend, Subject(p.stem, inv.ws, inversion=inv), []) for p, inv in zip(paths, inversions, strict=True)]
    )
    scores = scorer.score(from_uint8(reconstructions))
    binary = [name for name, spec in ATTRIBUTES.items() if spec.kind == "binary"]
    agree = [float((scores[name][i] > 0.5) == (int(row[name]) == 1)) for name in binary for i, row in enumerate(rows)]
    psnrs = [value for inv in inversions for value in inv.psnr]
    report["inversion"] = {
        "images": len(paths),
        "mean_psnr": float(np.mean(psnrs)),
        "seconds_per_image": seconds,
        "binary_side_agreement": float(np.mean(agree)),
        "bars": {"agreement>=0.95": float(np.mean(agree)) >= 0.95},
    }
    common.emit({"inversion": report["inversion"]})
    if args.plot:
        plot(report, args.plot)
    return report


def plot(results: dict, path: Path) -> Path:
    """Target change against mean off-target change at strength 3, per method and attribute,
    with the issue's bars (target >= 0.5, off-target <= 0.05) as dashed lines."""
    igan = results["interfacegan"]
    pairs = results["pairs"]
    series = [
        plots.Series(
            "InterFaceGAN (W, 10,000 samples)",
            [(row["target_change"], row["off_target_mean_abs"]) for row in igan.values()],
            plots.PALETTE[0],
            names=list(igan),
        ),
        plots.Series(
            "pair-direction, one pair",
            [(row["target_change_single"], row["off_target_single"]) for row in pairs.values()],
            plots.PALETTE[1],
            names=list(pairs),
        ),
        plots.Series(
            "pair-direction, 10-pair average",
            [(row["target_change_average"], row["off_target_average"]) for row in pairs.values()],
            plots.PALETTE[2],
            names=list(pairs),
        ),
    ]
    guides = [plots.Guide("x", 0.5, "target bar"), plots.Guide("y", 0.05, "off-target bar")]
    panel = plots.Panel(
        "Issue 4 edits at strength 3", "target change (fraction of range)", "mean |off-target change|", series, guides
    )
    return plots.save(path, [panel])


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__, work="runs/e2e-quality")
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--eval-samples", type=int, default=2000)
    parser.add_argument("--inversions", type=int, default=100)
    parser.add_argument("--plot", type=Path, metavar="PNG", help="draw target vs off-target change per method")
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
