"""What can FEditNet's assessor read from the frozen discriminator?

Run: python -m benchmarks.probes.discriminator [--samples 3000] [--attrs smile,glasses,beard] [--json PATH]
(about 1 minute on one core). FEditNet's assessor is a trained classifier on frozen
discriminator features. Its two heads read different features: `final_linear` reads the
last conv output (`b4`, flattened), `linear` reads the fc output (`epilogue`). This fits a
logistic regression for "score > 0.5" on each feature of generated samples and prints the
3-fold accuracy beside the majority guess. An attribute the features barely encode is one
the assessor cannot ask the direction for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from benchmarks import common

FEATURES = {"conv output (final_linear head)": "b4", "fc output (linear head)": "epilogue"}
SEED = 900_000
"""First seed of the probed samples; apart from the pools the FEditNet benchmark uses."""


def probe(samples: int, attributes: list[str], batch: int = 250) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from latentedit import load_backend
    from latentedit.api import scorer_for

    backend = load_backend("embedded")
    scorer = scorer_for(backend)
    features: dict[str, list[torch.Tensor]] = {key: [] for key in FEATURES.values()}
    scores: dict[str, list[torch.Tensor]] = {attribute: [] for attribute in attributes}
    with torch.inference_mode():
        for start in range(0, samples, batch):
            seeds = list(range(SEED + start, SEED + min(samples, start + batch)))
            images = backend.synthesize(backend.mapping(backend.z_for_seeds(seeds)))
            found = backend.disc_features(images)
            for key in features:
                features[key].append(found[key].flatten(1))
            scored = scorer.score(images)
            for attribute in attributes:
                scores[attribute].append(scored[attribute])
    table: dict = {}
    for attribute in attributes:
        labels = torch.cat(scores[attribute]).numpy() > 0.5
        row = {"majority": float(max(labels.mean(), 1 - labels.mean()))}
        for name, key in FEATURES.items():
            x = torch.cat(features[key]).numpy()
            x = (x - x.mean(0)) / (x.std(0) + 1e-6)
            model = LogisticRegression(C=0.1, max_iter=3000)
            row[name] = float(np.mean(cross_val_score(model, x, labels, cv=3)))
        table[attribute] = row
    return table


def measure(args) -> dict:
    """The read-out accuracies, printed as a table."""
    from rich.console import Console
    from rich.table import Table

    table = probe(args.samples, [a for a in args.attrs.split(",") if a])
    view = Table(title=f"Linear read-out of 'score > 0.5' from frozen D features ({args.samples} samples, 3-fold)")
    view.add_column("attribute")
    view.add_column("majority guess", justify="right")
    for name in FEATURES:
        view.add_column(name, justify="right")
    for attribute, row in table.items():
        view.add_row(attribute, *(f"{value:.3f}" for value in row.values()))
    Console().print(view)
    return table


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--attrs", default="smile,glasses,beard")
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
