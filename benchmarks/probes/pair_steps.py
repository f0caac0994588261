"""Which inversion setting makes the best pair directions, judged by what their edits do.

Run: python -m benchmarks.probes.pair_steps [--steps 0,100,300] [--eval-samples 500]
For glasses and smile, the 10 rendered pairs of `benchmarks.end_to_end_quality` are inverted with each
number of optimisation steps (0: the encoder's codes alone). Every single-pair direction and the
10-pair average are then applied at strength 3 and re-scored: target change (fraction of the
attribute's range) and the mean |change| of the other attributes. The pair method's default
`steps` should be the setting whose edits move the target most without leaking more; cosines
with InterFaceGAN's normal (issue 4's bar) are printed beside them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchmarks import common
from benchmarks.end_to_end_quality import PAIR_ATTRIBUTES, cosine, interfacegan, pair_folder
from latentedit import load_backend
from latentedit.api import DiscoverRequest, no_progress, off_target, pairs_from_folder, rescore, scorer_for
from latentedit.methods.pair import PairDirection, PairOptions


def measure(args) -> dict:
    """Every inversion setting for both attributes, printed as a JSON line when measured."""
    backend = load_backend("embedded")
    scorer = scorer_for(backend)
    report: dict = {}
    for attribute in PAIR_ATTRIBUTES:
        pairs = pairs_from_folder(pair_folder(args.work, attribute))  # the same pairs as end_to_end_quality
        reference = interfacegan(backend, attribute, [], args.samples).tensors["direction"]
        for steps in [int(s) for s in args.steps.split(",")]:
            options = PairOptions(steps=steps)
            edits = [
                PairDirection().discover(
                    backend, DiscoverRequest(name=f"pair{i}", attr=attribute, pairs=[pair]), options, no_progress
                )
                for i, pair in enumerate(pairs)
            ]
            average = PairDirection().discover(
                backend, DiscoverRequest(name="average", attr=attribute, pairs=pairs), options, no_progress
            )
            scores = rescore(backend, [*edits, average], scorer, None, args.eval_samples, 3.0)["rescoring"]
            singles = [scores[edit.name] for edit in edits]
            row = {
                "target_single_mean": float(np.mean([s[attribute] for s in singles])),
                "target_single_min": float(np.min([s[attribute] for s in singles])),
                "off_target_single_mean": float(np.mean([off_target(s, attribute) for s in singles])),
                "target_average": scores["average"][attribute],
                "off_target_average": off_target(scores["average"], attribute),
                "cosine_single_mean": float(np.mean([cosine(e.tensors["direction"], reference) for e in edits])),
                "cosine_average": cosine(average.tensors["direction"], reference),
                "pair_agreement": average.metrics["pair_agreement"],
            }
            report.setdefault(attribute, {})[steps] = row
            common.emit({"attribute": attribute, "steps": steps, **row})
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__, work="runs/e2e-quality")
    parser.add_argument("--steps", default="0,100,300")
    parser.add_argument("--eval-samples", type=int, default=500)
    parser.add_argument("--samples", type=int, default=10_000, help="InterFaceGAN reference samples")
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
