"""Which layers and K let auto-labelled clusters trace the world's eyes, mouths and hair?

Run: python -m benchmarks.probes.localstyle_layer_sweep [--seeds 0 1 2] [--grid LAYER:K ...] [--json PATH]
For each (layer, K) and k-means seed, builds a catalog on 200 samples, auto-labels it with the
segmenter (IoU of the best greedy cluster union per part, as `-o auto_label=true` does) and then
scores the same labels on 200 held-out samples (another sampling seed), so a large K cannot
flatter itself by fitting the very samples it is judged on. Prints one line per run and a
summary (min / max over seeds). About 15 minutes on one core with the default grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from benchmarks import common
from latentedit import load_backend
from latentedit.api import scorer_for
from latentedit.methods.localstyle_catalog import build_catalog, cluster_maps, resize_labels
from latentedit.methods.localstyle_labels import auto_labels

PARTS = ("eyes", "mouth", "hair")
HELD_OUT_SEED = 1000
GRID = (
    ("b32.conv0", 12),  # the paper's layer at the old default K
    ("b32.conv1", 48),
    ("b32.conv1", 96),
    ("b64.conv0", 64),
    ("b32.conv1+b64.conv0+b64.conv1", 64),
    ("b32.conv1+b64.conv0+b64.conv1", 128),
    ("b32.conv1+b64.conv0+b64.conv1", 160),
)


def held_out_iou(backend, segmenter, catalog, labels: dict[str, list[int]], samples: int) -> dict[str, float]:
    """IoU of each labelled cluster set with its part on samples the catalog never saw."""
    from types import SimpleNamespace

    edit = SimpleNamespace(
        name="sweep",
        params={"layer": catalog.layer},
        tensors={"centroids": catalog.centroids, "cluster_mean": catalog.mean, "cluster_std": catalog.std},
    )
    inter = {part: 0 for part in labels}
    union = {part: 0 for part in labels}
    with torch.inference_mode():
        ws = backend.mapping(backend.sample_z(samples, HELD_OUT_SEED))
        for start in range(0, samples, 25):
            batch = ws[start : start + 25]
            parts = segmenter.segment(backend.synthesize(batch)).long().cpu()
            clusters = resize_labels(cluster_maps(backend, edit, batch), tuple(parts.shape[-2:]))
            for part, ids in labels.items():
                truth = parts == segmenter.parts.index(part)
                chosen = torch.isin(clusters, torch.tensor(ids))
                inter[part] += int((truth & chosen).sum())
                union[part] += int((truth | chosen).sum())
    return {part: round(inter[part] / max(union[part], 1), 4) for part in labels}


def measure(args) -> dict:
    """Every (layer, K) and seed, printed as a JSON line when measured, then the summary."""
    backend = load_backend(args.backend)
    segmenter = scorer_for(backend, kind="segmenter")
    with torch.inference_mode():
        ws = backend.mapping(backend.sample_z(args.samples, 0))
    grid = [(spec.rsplit(":", 1)[0], int(spec.rsplit(":", 1)[1])) for spec in args.grid] if args.grid else GRID
    rows = []
    for layer, k in grid:
        for seed in args.seeds:
            catalog = build_catalog(backend, ws, layer, k, seed=seed, segmenter=segmenter)
            labels, ious = auto_labels(
                catalog.overlap, catalog.part_area, catalog.cluster_area, tuple(segmenter.parts), 0.0
            )
            wanted = {part: labels[part] for part in PARTS if part in labels}
            row = {
                "layer": catalog.layer,
                "k": k,
                "seed": seed,
                "iou": {part: ious.get(part, 0.0) for part in PARTS},
                "held_out_iou": held_out_iou(backend, segmenter, catalog, wanted, args.samples),
            }
            rows.append(row)
            common.emit(row)
    print("\nlayer, K: in-sample IoU min-max over seeds (held-out min-max) for " + ", ".join(PARTS))
    for layer, k in grid:
        mine = [row for row in rows if row["layer"] == layer and row["k"] == k]
        cells = []
        for part in PARTS:
            inside = [row["iou"][part] for row in mine]
            outside = [row["held_out_iou"].get(part, 0.0) for row in mine]
            cells.append(f"{min(inside):.2f}-{max(inside):.2f} ({min(outside):.2f}-{max(outside):.2f})")
        print(f"{layer}, {k}: " + " | ".join(cells))
    return {"runs": rows}


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--grid", nargs="+", metavar="LAYER:K", help="settings to try (default: the built-in grid)")
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
