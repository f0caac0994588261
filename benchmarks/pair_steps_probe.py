"""Which inversion setting makes the best pair directions, judged by what their edits do.

Run: .venv/bin/python benchmarks/pair_steps_probe.py [--steps 0,100,300] [--eval-samples 500]
For glasses and smile, the 10 rendered pairs of `end_to_end_quality.py` are inverted with each
number of optimisation steps (0: the encoder's codes alone). Every single-pair direction and the
10-pair average are then applied at strength 3 and re-scored: target change (fraction of the
attribute's range) and the mean |change| of the other attributes. The pair method's default
`steps` should be the setting whose edits move the target most without leaking more; cosines
with InterFaceGAN's normal (issue 4's bar) are printed beside them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from end_to_end_quality import PAIR_ATTRIBUTES, cosine, interfacegan, pair_folder

from latentedit.backend import load_backend
from latentedit.evaluate import off_target, rescore
from latentedit.labels import scorer_for
from latentedit.methods.base import DiscoverRequest, no_progress
from latentedit.methods.pair import PairDirection, PairOptions, pairs_from_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", default="0,100,300")
    parser.add_argument("--eval-samples", type=int, default=500)
    parser.add_argument("--samples", type=int, default=10_000, help="InterFaceGAN reference samples")
    parser.add_argument("--work", type=Path, default=Path("runs/e2e-quality"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    backend = load_backend("embedded")
    scorer = scorer_for(backend)
    report: dict = {}
    for attribute in PAIR_ATTRIBUTES:
        pairs = pairs_from_folder(pair_folder(args.work, attribute))  # the same pairs as end_to_end_quality.py
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
            print(json.dumps({"attribute": attribute, "steps": steps, **row}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
