"""Issue 5's quality bars on the embedded world: FEditNet from 30 positives against
InterFaceGAN from 30 labelled samples (the paper's Table 2), the two ablations, and how the
numbers grow with steps.

Run: python -m benchmarks.feditnet_quality [--attrs glasses,smile,beard] [--json out.json]
     [--curve 150,300,600,1200] [--eval-samples 1000] [--variants '[{"lambda_fc": 0.1}]']
     [--draws 5]  (independent draws of the 30 samples; the bars then compare means)
     [--plot out.png]  (target vs off-target per attribute, and the steps curve when measured)
As the paper ("we manually select 30 synthesized images containing the target attribute"), the
positives are generated samples; the scorer does the selecting. InterFaceGAN's 30 labelled
samples are 15 of those positives and 15 confident negatives, given as a labels CSV of seeds.
Every run is re-scored by `evaluate.rescore` at strength 3 on the same held-out samples.
A full run (3 attributes, default + 2 ablations) takes about an hour on 2 CPU cores.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from benchmarks import common, plots
from latentedit import load_backend
from latentedit.api import DiscoverRequest, no_progress, off_target, rescore, save_png, scorer_for, to_uint8
from latentedit.methods.feditnet import FEditNet, FEditNetOptions
from latentedit.methods.interfacegan import InterFaceGAN, InterFaceGANOptions
from latentedit.world.attributes import ATTRIBUTES

POOL_SEED = 700_000
"""Seeds of the pool the positives and labelled samples come from (apart from evaluation's)."""
POSITIVES = 30


def thresholds(attribute: str) -> tuple[float, float]:
    """Scores that count as clearly with / clearly without the attribute."""
    spec = ATTRIBUTES[attribute]
    if spec.kind == "binary":
        return 0.9, 0.1
    span = spec.high - spec.low
    return spec.low + 0.75 * span, spec.low + 0.35 * span


def pick_samples(backend, scorer, attribute: str, pool: int, folder: Path, draw: int = 0) -> tuple[Path, Path]:
    """Write 30 positive PNGs and a 15 + 15 labels CSV of seeds; return (positives dir, labels).

    Draw k picks from its own pool of seeds, so draws share no sample."""
    high, low = thresholds(attribute)
    first = POOL_SEED + draw * pool
    seeds = list(range(first, first + pool))
    with torch.inference_mode():
        images = backend.synthesize(backend.mapping(backend.z_for_seeds(seeds)))
        scores = scorer.score(images)[attribute]
    positive = [i for i in range(pool) if scores[i] >= high][:POSITIVES]
    negative = [i for i in range(pool) if scores[i] <= low][: POSITIVES // 2]
    if len(positive) < POSITIVES or len(negative) < POSITIVES // 2:
        raise SystemExit(f"{attribute}: only {len(positive)} positives / {len(negative)} negatives in {pool} samples")
    positives = folder / "positives"
    positives.mkdir(parents=True, exist_ok=True)
    for stale in positives.glob("*.png"):  # picks of an earlier generator would join this one's
        stale.unlink()
    pixels = to_uint8(images)
    for i in positive:
        save_png(pixels[i], positives / f"seed{seeds[i]}.png", force=True)
    labels = folder / "labels.csv"
    with open(labels, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["seed", "score"])
        for i in positive[: POSITIVES // 2]:
            writer.writerow([seeds[i], 1])
        for i in negative:
            writer.writerow([seeds[i], 0])
    return positives, labels


def feditnet(backend, attribute: str, positives: Path, name: str, seed: int = 0, **options):
    request = DiscoverRequest(name=name, attr=attribute, positives=positives, seed=seed)
    return common.timed(FEditNet().discover, backend, request, FEditNetOptions(**options), no_progress)


def interfacegan_30(backend, attribute: str, labels: Path):
    options = InterFaceGANOptions(ratio=0.5, split=0.9)
    request = DiscoverRequest(name=f"interfacegan30-{attribute}", attr=attribute, labels=labels)
    return InterFaceGAN().discover(backend, request, options, no_progress)


def mean_rows(draws: list[dict]) -> dict:
    """Each run's target, off-target and pixel MSE averaged over draws, with the per-draw values."""
    import statistics

    means = {}
    for key in draws[0]:
        values = {name: [row[key][name] for row in draws] for name in ("target", "off_target", "pixel_mse")}
        means[key] = {name: statistics.fmean(series) for name, series in values.items()}
        means[key]["target_per_draw"] = values["target"]
        means[key]["off_target_per_draw"] = values["off_target"]
    return means


def measure(args) -> dict:
    """Every draw of every attribute, then the steps curve; each printed as a JSON line when measured."""
    backend = load_backend(args.backend)
    scorer = scorer_for(backend)
    segmenter = scorer_for(backend, kind="segmenter", required=False)
    steps = {"steps": args.steps} if args.steps else {}
    report: dict = {"backend": backend.name, "eval_samples": args.eval_samples, "strength": 3.0, "attributes": {}}

    def rescored(edits: list, attribute: str) -> dict:
        result = rescore(backend, edits, scorer, segmenter, args.eval_samples, 3.0)
        return {
            edit.name: {
                "target": result["rescoring"][edit.name][attribute],
                "off_target": off_target(result["rescoring"][edit.name], attribute),
                **result["identity"][edit.name],
                "rescoring": result["rescoring"][edit.name],
            }
            for edit in edits
        }

    def draw_row(attribute: str, draw: int) -> dict:
        """Every run of one draw of the 30 samples, re-scored on the same held-out samples."""
        folder = args.work / attribute if draw == 0 else args.work / f"{attribute}-draw{draw}"
        positives, labels = pick_samples(backend, scorer, attribute, args.pool, folder, draw)
        runs = {"feditnet": feditnet(backend, attribute, positives, f"feditnet-{attribute}", draw, **steps)}
        if not args.no_ablations:
            runs["lambda_fc=0"] = feditnet(
                backend, attribute, positives, f"nofc-{attribute}", draw, lambda_fc=0.0, **steps
            )
            runs["reuse_discriminator=false"] = feditnet(
                backend, attribute, positives, f"scratch-{attribute}", draw, reuse_discriminator=False, **steps
            )
        for index, variant in enumerate(args.variants):
            key = ",".join(f"{name}={value}" for name, value in variant.items())
            runs[key] = feditnet(
                backend, attribute, positives, f"variant{index}-{attribute}", draw, **{**steps, **variant}
            )
        baseline = interfacegan_30(backend, attribute, labels)
        numbers = rescored([edit for edit, _ in runs.values()] + [baseline], attribute)
        row = {key: {**numbers[edit.name], "seconds": round(seconds, 1)} for key, (edit, seconds) in runs.items()}
        row["interfacegan_30"] = numbers[baseline.name]
        return row

    for attribute in [a for a in args.attrs.split(",") if a]:
        draws = []
        for draw in range(args.draws):
            draws.append(draw_row(attribute, draw))
            common.emit({attribute: {"draw": draw, **draws[-1]}})
        row = draws[0] if args.draws == 1 else {**mean_rows(draws), "draws": draws}
        ours, theirs = row["feditnet"], row["interfacegan_30"]
        row["bars"] = {
            "target>=interfacegan_30": ours["target"] >= theirs["target"],
            "off_target<interfacegan_30": ours["off_target"] < theirs["off_target"],
        }
        if not args.no_ablations:
            row["bars"]["lambda_fc=0 leaks more"] = row["lambda_fc=0"]["off_target"] > ours["off_target"]
            row["bars"]["scratch moves less"] = row["reuse_discriminator=false"]["target"] < ours["target"]
        report["attributes"][attribute] = row
        common.emit({attribute: {k: v for k, v in row.items() if k != "draws"}})

    curve = [int(s) for s in args.curve.split(",") if s]
    if curve:
        attribute = args.attrs.split(",")[0]
        positives = args.work / attribute / "positives"
        report["curve"] = {"attribute": attribute, "points": []}
        for count in curve:
            edit, seconds = feditnet(backend, attribute, positives, f"feditnet{count}-{attribute}", steps=count)
            point = {"steps": count, "seconds": round(seconds, 1), **rescored([edit], attribute)[edit.name]}
            report["curve"]["points"].append(point)
            common.emit({"curve": point})
    if args.plot:
        plot(report, args.plot)
    return report


def plot(results: dict, path: Path) -> Path:
    """Left: target against off-target change at strength 3, FEditNet and InterFaceGAN-30 per
    attribute (means over draws, small dots per draw). Right, when measured: the steps curve."""
    attributes = results["attributes"]
    panels = []
    series = []
    for key, label, color in (
        ("feditnet", "FEditNet", plots.PALETTE[0]),
        ("interfacegan_30", "InterFaceGAN-30", plots.PALETTE[1]),
    ):
        per_draw = [
            point
            for row in attributes.values()
            if "draws" in row
            for point in zip(row[key]["target_per_draw"], row[key]["off_target_per_draw"], strict=True)
        ]
        if per_draw:
            series.append(plots.Series("", per_draw, tuple(c + (255 - c) // 2 for c in color), radius=3))
        points = [(row[key]["target"], row[key]["off_target"]) for row in attributes.values()]
        draws = max(len(row.get("draws", [0])) for row in attributes.values())
        suffix = f" (mean of {draws} draws)" if draws > 1 else ""
        below = key == "interfacegan_30"
        series.append(plots.Series(label + suffix, points, color, names=list(attributes), names_below=below))
    panels.append(
        plots.Panel(
            "FEditNet vs InterFaceGAN-30, strength 3",
            "target change (fraction of range)",
            "mean |off-target change|",
            series,
        )
    )
    if results.get("curve"):
        curve = results["curve"]
        points = curve["points"]
        panels.append(
            plots.Panel(
                f"FEditNet quality vs steps ({curve['attribute']})",
                "steps",
                "change at strength 3",
                [
                    plots.Series(
                        "target",
                        [(p["steps"], p["target"]) for p in points],
                        plots.PALETTE[0],
                        line=True,
                        names=[f"{p['seconds']:.0f} s" for p in points],
                    ),
                    plots.Series(
                        "off-target", [(p["steps"], p["off_target"]) for p in points], plots.PALETTE[1], line=True
                    ),
                ],
            )
        )
    return plots.save(path, panels)


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__, work="runs/feditnet-quality")
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--attrs", default="glasses,smile,beard")
    parser.add_argument("--pool", type=int, default=1000, help="generated samples the 30 positives are picked from")
    parser.add_argument("--eval-samples", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=None, help="override FEditNet's steps (default: its own)")
    parser.add_argument("--curve", default="", help="comma-separated step counts for the steps curve (first attr)")
    parser.add_argument("--no-ablations", action="store_true")
    parser.add_argument(
        "--variants",
        type=json.loads,
        default=[],
        help="JSON list of extra FEditNet option sets to run beside the default, e.g. '[{\"lambda_fc\": 0.1}]'",
    )
    parser.add_argument(
        "--draws",
        type=int,
        default=1,
        help="independent draws of the 30 samples (and FEditNet seeds); with more than one the bars compare means",
    )
    parser.add_argument("--plot", type=Path, metavar="PNG", help="draw target vs off-target and the steps curve")
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
