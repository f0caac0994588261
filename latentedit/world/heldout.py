"""Renderer faces as network inputs, and what the scorer and segmenter read from held-out ones.

Training recipes draw batches from training seeds; `world check` and the recipes' final
reports measure on held-out seeds (`HELDOUT_SEED` on), against the renderer's exact labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from latentedit.world.seeds import HELDOUT_SEED


def rendered_batch(seeds: list[int]) -> tuple[torch.Tensor, torch.Tensor, list[dict[str, Any]]]:
    """Images [-1, 1] NCHW, part maps [N, H, W] int64 and records for the given seeds."""
    from latentedit.images import from_uint8
    from latentedit.world.render import render_batch

    images, parts, records = render_batch(seeds)
    return from_uint8(images), torch.from_numpy(parts.astype(np.int64)), records


def heldout_seeds(count: int, offset: int = 0) -> list[int]:
    """`count` held-out renderer seeds, `offset` past the first."""
    return list(range(HELDOUT_SEED + offset, HELDOUT_SEED + offset + count))


@torch.inference_mode()
def evaluate_scorer(model: torch.nn.Module, count: int = 2000, batch: int = 250) -> dict[str, float]:
    """Accuracy (binary, categorical) and R² (continuous) on held-out renderer faces."""
    from latentedit.world import scoring

    model.eval()
    scores: dict[str, list[torch.Tensor]] = {}
    truth: dict[str, list[torch.Tensor]] = {}
    for start in range(0, count, batch):
        images, _, records = rendered_batch(heldout_seeds(min(batch, count - start), start))
        for key, value in scoring.decode(model(images)).items():
            scores.setdefault(key, []).append(value)
        for key, value in scoring.exact_scores(records).items():
            truth.setdefault(key, []).append(value)
    return scoring.accuracy_report(
        {k: torch.cat(v) for k, v in scores.items()}, {k: torch.cat(v) for k, v in truth.items()}
    )


@torch.inference_mode()
def evaluate_segmenter(model: torch.nn.Module, count: int = 2000, batch: int = 250) -> dict[str, float]:
    """Per-part IoU and their mean on held-out renderer faces."""
    from latentedit.world.canvas import PARTS

    model.eval()
    intersection = torch.zeros(len(PARTS))
    union = torch.zeros(len(PARTS))
    for start in range(0, count, batch):
        images, parts, _ = rendered_batch(heldout_seeds(min(batch, count - start), start))
        predicted = model(images).argmax(dim=1)
        for index in range(len(PARTS)):
            p, t = predicted == index, parts == index
            intersection[index] += (p & t).sum()
            union[index] += (p | t).sum()
    iou = intersection / union.clamp(min=1)
    report = {f"iou_{name}": float(value) for name, value in zip(PARTS, iou, strict=True)}
    report["mean_iou"] = float(iou.mean())
    return report
