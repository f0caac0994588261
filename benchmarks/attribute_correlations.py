"""Do a generator's samples pair attributes as the renderer does?

Run: python -m benchmarks.attribute_correlations [GAN.safetensors] [--samples 1500] [--tails ATTRS] [--json PATH]
(default: the shipped world GAN). InterFaceGAN's normal follows the class means of the samples,
so an edit moves every attribute that the generator's samples correlate with the target. The
renderer's correlations are deliberate and documented (docs/world.md); anything a generator
adds to them shows up as leakage in the re-scoring table. This scores the same number of
generated and held-out rendered faces with the world's scorer and prints the score
correlations of both, their difference, and the mean off-diagonal |difference|.

`--tails glasses,smile` (with `--samples 10000`) looks where InterFaceGAN does: among the top
and bottom 2% of each named attribute's scores, the mean of every other score in the top minus
the bottom, for generated and for rendered faces. InterFaceGAN's SVM sees only those tails, so
a difference the renderer's tails lack is a leak its edit will carry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from benchmarks import common

COLUMNS = (
    "smile",
    "eyes_open",
    "yaw",
    "glasses",
    "beard",
    "bangs",
    "long_hair",
    "hair_color=black",
    "hair_color=brown",
    "hair_color=blond",
    "hair_color=red",
    "hair_color=gray",
    "skin_tone",
    "face_width",
)


def scored_faces(gan: str | None, samples: int, seed: int = 0) -> tuple[dict, dict]:
    """World scores of `samples` generated faces and as many held-out rendered ones."""
    from latentedit import load_backend
    from latentedit.api import from_uint8, sample
    from latentedit.world.render import render_batch
    from latentedit.world.scorers import WorldScorer
    from latentedit.world.seeds import HELDOUT_SEED

    backend = load_backend(f"stylegan2:{gan}" if gan else "embedded")
    scorer = WorldScorer()
    generated = sample(backend, samples, seed, scorer).scores
    parts = []
    for start in range(HELDOUT_SEED, HELDOUT_SEED + samples, 500):  # in chunks: 10,000 faces are 0.5 GB
        seeds = list(range(start, min(start + 500, HELDOUT_SEED + samples)))
        parts.append(scorer.score(from_uint8(render_batch(seeds, size=64)[0])))
    rendered = {column: torch.cat([part[column] for part in parts]) for column in parts[0]}
    return generated, rendered


def correlations(gan: str | None, samples: int, seed: int = 0) -> dict:
    generated, rendered = scored_faces(gan, samples, seed)
    fake = np.corrcoef(np.stack([generated[column].numpy() for column in COLUMNS]))
    real = np.corrcoef(np.stack([rendered[column].numpy() for column in COLUMNS]))
    off_diagonal = ~np.eye(len(COLUMNS), dtype=bool)
    return {
        "columns": list(COLUMNS),
        "generated": fake.round(3).tolist(),
        "rendered": real.round(3).tolist(),
        "mean_abs_gap": float(np.abs(fake - real)[off_diagonal].mean()),
        "samples": samples,
    }


def tail_gaps(scores: dict, attribute: str, ratio: float = 0.02) -> dict[str, float]:
    """Mean of every other column among the top `ratio` of `attribute`'s scores minus the bottom's."""
    values = scores[attribute].numpy()
    order = np.argsort(values)
    keep = max(1, int(len(values) * ratio))
    top, bottom = order[-keep:], order[:keep]
    return {
        column: float(scores[column].numpy()[top].mean() - scores[column].numpy()[bottom].mean())
        for column in COLUMNS
        if column != attribute
    }


def tails(gan: str | None, samples: int, attributes: list[str], seed: int = 0) -> dict:
    generated, rendered = scored_faces(gan, samples, seed)
    return {
        attribute: {"generated": tail_gaps(generated, attribute), "rendered": tail_gaps(rendered, attribute)}
        for attribute in attributes
    }


def measure(args) -> dict:
    """The correlation report (or, with --tails, the tail gaps), printed as tables."""
    if args.tails:
        found = tails(args.gan, args.samples, args.tails.split(","))
        for attribute, gaps in found.items():
            print(f"{attribute}: top 2% minus bottom 2% ({args.samples} samples each), generated / rendered")
            for column in sorted(gaps["generated"], key=lambda c: -abs(gaps["generated"][c])):
                print(f"  {column:18s} {gaps['generated'][column]:+.2f} / {gaps['rendered'][column]:+.2f}")
        return {"tails": found}
    report = correlations(args.gan, args.samples)
    np.set_printoptions(precision=2, suppress=True, linewidth=220)
    short = [column.replace("hair_color=", "")[:6] for column in COLUMNS]
    gap = np.array(report["generated"]) - np.array(report["rendered"])
    print("columns:", " ".join(short))
    print("generated minus rendered:")
    print(gap)
    print("rendered:")
    print(np.array(report["rendered"]))
    print(f"mean off-diagonal |gap|: {report['mean_abs_gap']:.3f} ({args.samples} samples each)")
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("gan", nargs="?", help="A generator .safetensors (default: the shipped world GAN).")
    parser.add_argument("--samples", type=int, default=1500)
    parser.add_argument("--tails", default="", help="Attributes whose 2%% tails to compare, e.g. glasses,smile.")
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
