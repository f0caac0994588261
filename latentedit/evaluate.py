"""Measuring edits: the papers' re-scoring analysis, plus identity and locality numbers.

Re-scoring (InterFaceGAN Sec. 3, FEditNet Table 2): score samples before and after an edit
with an attribute scorer; the mean change of each attribute is one cell of an edit x attribute
matrix. Changes are in fractions of each attribute's range (binary: probability), so a
target moving by 0.5 moved half-way across its range and cells compare across attributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from latentedit.progress import Progress, no_progress

if TYPE_CHECKING:
    import torch

    from latentedit.backend import Backend
    from latentedit.edits import Edit

EVALUATION_SEED = 424_242
"""Seed of the sample stream `evaluate` uses by default, apart from any method's training seeds."""


def score_deltas(
    scorer: Any, before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Per-sample change of every score column, in fractions of the column's range."""
    deltas = {}
    for column in scorer.columns:
        low, high = scorer.ranges[column]
        change = (after[column] - before[column]) / (high - low)
        if column in scorer.cyclic:
            change = (change + 0.5).remainder(1.0) - 0.5
        deltas[column] = change
    return deltas


def rescore(
    backend: Backend,
    edits: list[Edit],
    scorer: Any,
    segmenter: Any = None,
    samples: int = 2000,
    strength: float = 3.0,
    seed: int = EVALUATION_SEED,
    batch: int = 100,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """The re-scoring matrix and identity metrics of each edit at one strength."""
    import torch

    from latentedit.editing import apply_edits
    from latentedit.sampling import check_sample_memory

    check_sample_memory(backend, samples)
    z_all = backend.sample_z(samples, seed)
    sums: dict[str, dict[str, float]] = {edit.name: {} for edit in edits}
    identity: dict[str, dict[str, float]] = {edit.name: {"pixel_mse": 0.0} for edit in edits}
    for start in range(0, samples, batch):
        z = z_all[start : start + batch]
        with torch.inference_mode():
            ws = backend.mapping(z)
            images = backend.synthesize(ws)
            before = scorer.score(images)
            parts_before = segmenter.segment(images) if segmenter is not None else None
            for edit in edits:
                edited = backend.synthesize(apply_edits(backend, ws, [(edit, strength)], z=z))
                after = scorer.score(edited)
                for column, change in score_deltas(scorer, before, after).items():
                    sums[edit.name][column] = sums[edit.name].get(column, 0.0) + float(change.sum())
                identity[edit.name]["pixel_mse"] += float((edited - images).square().mean(dim=(1, 2, 3)).sum())
                if parts_before is not None:
                    changed = _outside_change(segmenter, edit.attribute, parts_before, segmenter.segment(edited))
                    identity[edit.name]["outside_part_change"] = (
                        identity[edit.name].get("outside_part_change", 0.0) + changed
                    )
        progress(min(start + batch, samples), samples)
    rescoring = {name: {column: value / samples for column, value in cells.items()} for name, cells in sums.items()}
    for name in identity:
        identity[name] = {key: value / samples for key, value in identity[name].items()}
    return {
        "rescoring": rescoring,
        "identity": identity,
        "samples": samples,
        "strength": strength,
        "units": "mean change per attribute, in fractions of its range (binary: probability)",
    }


def _outside_change(segmenter: Any, attribute: str, before: torch.Tensor, after: torch.Tensor) -> float:
    """Sum over images of the fraction of pixels outside the attribute's parts whose part changed."""
    allowed = getattr(segmenter, "attribute_parts", {}).get(attribute)
    if allowed is None:
        inside = before.new_zeros(before.shape, dtype=bool)
    else:
        ids = [segmenter.parts.index(part) for part in allowed]
        inside = sum((before == i) | (after == i) for i in ids).bool()
    outside = ~inside
    changed = (before != after) & outside
    return float((changed.flatten(1).sum(1) / outside.flatten(1).sum(1).clamp(min=1)).sum())


def off_target(rescoring: dict[str, float], target: str, exclude: tuple[str, ...] = ()) -> float:
    """Mean |change| of every column except the target (and `exclude`): the leakage of an edit."""
    others = [abs(value) for column, value in rescoring.items() if column != target and column not in exclude]
    return sum(others) / max(1, len(others))
