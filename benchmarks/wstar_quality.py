"""Issue 6's quality bars on the embedded world: the W* paper's Table 1 in direction (SVM
accuracy and DCI in W+ against W*) and leakage at equal target change against InterFaceGAN's
W+ directions.

Run: python -m benchmarks.wstar_quality [--json out.json] [--samples 10000]
     [--sep-samples 15000] [--targets glasses,bangs,beard,smile] [--strengths 1,2,3] [-o KEY=VALUE ...]
The W* edit learns every non-cyclic world score (the discover default). Leakage: both edits
are re-scored (`evaluate.rescore`) at each strength; the mean |change| of the other scores
is read off where each first reaches 80% of the smaller of their largest target changes
(linear between strengths, from 0 at strength 0).
Defaults take about 30 minutes on 2 CPU cores.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks import common
from latentedit import load_backend
from latentedit.api import DiscoverRequest, no_progress, off_target, options_dict, parse_options, rescore, scorer_for
from latentedit.methods.interfacegan import InterFaceGAN, InterFaceGANOptions
from latentedit.methods.wstar import WStar, WStarOptions, for_attribute
from latentedit.methods.wstar_metrics import separability

LEVEL = 0.8
"""Leakage is compared where both edits have moved the target by this share of the smaller
of their largest changes over the strengths tried."""


def leakage_at(points: list[tuple[float, float]], target: float) -> float | None:
    """Off-target change where the target change first reaches `target`, walking the points in
    strength order from (0, 0) and interpolating linearly; None if it never gets there.
    (Not sorted by target change: past some strength an edit can leave the data and undo itself.)"""
    previous = (0.0, 0.0)
    for point in points:
        if point[0] >= target:
            share = (target - previous[0]) / max(point[0] - previous[0], 1e-12)
            return previous[1] + share * (point[1] - previous[1])
        previous = point
    return None


def measure(args) -> dict:
    """W* trained once, Table 1, then leakage per target; each printed as a JSON line when measured."""
    backend = load_backend(args.backend)
    scorer = scorer_for(backend)
    segmenter = scorer_for(backend, kind="segmenter", required=False)
    report: dict = {"backend": backend.name, "samples": args.samples}

    overrides = {"samples": args.samples, **({"steps": args.steps} if args.steps else {})}
    options = parse_options(WStarOptions, args.option, **overrides)
    report["wstar_options"] = options_dict(options)
    edit, seconds = common.timed(WStar().discover, backend, DiscoverRequest(name="world-wstar"), options, no_progress)
    report["wstar_seconds"] = round(seconds, 1)
    report["invertibility_max_error"] = edit.metrics["invertibility_max_error"]
    common.emit({"wstar_seconds": report["wstar_seconds"]})

    table = separability(backend, edit, scorer, "both", samples=args.sep_samples)
    summary = {
        space: {key: table["spaces"][space][key] for key in ("mean_accuracy", "min_accuracy", "max_accuracy")}
        | {key: table["spaces"][space][key] for key in ("disentanglement", "completeness", "informativeness")}
        for space in ("w+", "w*")
    }
    plus, star = summary["w+"], summary["w*"]
    report["table1"] = {
        **summary,
        "accuracy": {space: table["spaces"][space]["accuracy"] for space in ("w+", "w*")},
        "bars": {
            "accuracy higher in W*": star["mean_accuracy"] > plus["mean_accuracy"],
            "D higher in W*": star["disentanglement"] > plus["disentanglement"],
            "C higher in W*": star["completeness"] > plus["completeness"],
            "I lower or equal in W*": star["informativeness"] <= plus["informativeness"],
        },
    }
    common.emit({"table1": summary, "bars": report["table1"]["bars"]})

    strengths = [float(s) for s in args.strengths.split(",")]
    report["leakage"] = {}
    for target in [t for t in args.targets.split(",") if t]:
        baseline = InterFaceGAN().discover(
            backend,
            DiscoverRequest(name=f"interfacegan-w+-{target}", attr=target),
            InterFaceGANOptions(samples=args.samples, space="w+"),
            no_progress,
        )
        view = for_attribute(edit, target)
        curves: dict[str, list[tuple[float, float]]] = {view.name: [], baseline.name: []}
        for strength in strengths:
            cells = rescore(backend, [view, baseline], scorer, segmenter, args.eval_samples, strength)["rescoring"]
            for name in curves:
                curves[name].append((cells[name][target], off_target(cells[name], target)))
        reach = LEVEL * min(max(point[0] for point in curve) for curve in curves.values())
        row = {
            "strengths": strengths,
            "wstar": curves[view.name],
            "interfacegan_w+": curves[baseline.name],
            "common_target_change": reach,
            "off_target_at_common_wstar": leakage_at(curves[view.name], reach),
            "off_target_at_common_interfacegan": leakage_at(curves[baseline.name], reach),
        }
        ours, theirs = row["off_target_at_common_wstar"], row["off_target_at_common_interfacegan"]
        row["bar: W* leaks less"] = reach > 0 and ours is not None and theirs is not None and ours < theirs
        report["leakage"][target] = row
        common.emit({target: row})
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--samples", type=int, default=10_000, help="W* and InterFaceGAN training samples")
    parser.add_argument("--steps", type=int, default=None, help="override W*'s flow steps (default: its own)")
    parser.add_argument("--sep-samples", type=int, default=15_000, help="samples of the Table 1 measurement")
    parser.add_argument("--targets", default="glasses,bangs,beard,smile")
    parser.add_argument("--strengths", default="0.5,1,1.5,2,3")
    parser.add_argument("--eval-samples", type=int, default=1000)
    parser.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE", help="a W* option")
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
