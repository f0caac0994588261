"""The world's attribute scorer and part segmenter as ready-to-use objects.

Both take images as the backends make them (float NCHW in [-1, 1], any batch) and run in
inference mode; they are what `evaluate`, label-from-scorer and `world check` use.
"""

from __future__ import annotations

from pathlib import Path

import torch

from latentedit.world import scoring
from latentedit.world.attributes import ATTRIBUTE_PARTS, ATTRIBUTES, PARTS
from latentedit.world.networks import AttributeScorer, PartSegmenter
from latentedit.world.weights import SCORER, SEGMENTER, load_module, weights_path

BATCH = 256


def scorer_input(images: torch.Tensor, size: int = 64) -> torch.Tensor:
    """Images of any size as the scorers read them: 64 px (differentiable, for guided training)."""
    if images.shape[-1] == size:
        return images
    return torch.nn.functional.interpolate(
        images, size=(size, size), mode="area" if images.shape[-1] > size else "bilinear"
    )


def _ranges() -> dict[str, tuple[float, float]]:
    """Value range of every score column, so deltas can be compared across attributes."""
    ranges: dict[str, tuple[float, float]] = {}
    for name, spec in ATTRIBUTES.items():
        if spec.kind == "categorical":
            ranges.update({f"{name}={category}": (0.0, 1.0) for category in spec.categories})
        else:
            ranges[name] = (float(spec.low), float(spec.high))
    return ranges


class WorldScorer:
    """Images -> ``{attribute: scores [N]}`` (see `latentedit.world.scoring.decode`).

    ``columns`` are the numeric score columns (categorical attributes as per-class
    probabilities), ``ranges`` their value ranges, ``cyclic`` those that wrap around.
    """

    attributes = tuple(scoring.HEADS)
    ranges = _ranges()
    columns = tuple(ranges)
    cyclic = scoring.CYCLIC

    def __init__(self, path: Path | None = None, device: str = "cpu") -> None:
        self.path = path or weights_path(SCORER)
        self.device = device
        self.model = load_module(self.path, AttributeScorer, "scorer", device)

    @torch.inference_mode()
    def score(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        chunks = [scoring.decode(self.model(scorer_input(batch.to(self.device)))) for batch in images.split(BATCH)]
        return {key: torch.cat([chunk[key] for chunk in chunks]).cpu() for key in chunks[0]}

    @torch.inference_mode()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features [N, 256], the space of the world's Fréchet distance."""
        features = [self.model.features(scorer_input(batch.to(self.device))) for batch in images.split(BATCH)]
        return torch.cat(features).cpu()


class WorldSegmenter:
    """Images -> part ids [N, H, W] indexing `PARTS`; `attribute_parts` says where edits may act."""

    parts = PARTS
    attribute_parts = ATTRIBUTE_PARTS

    def __init__(self, path: Path | None = None, device: str = "cpu") -> None:
        self.path = path or weights_path(SEGMENTER)
        self.device = device
        self.model = load_module(self.path, PartSegmenter, "segmenter", device)

    @torch.inference_mode()
    def segment(self, images: torch.Tensor) -> torch.Tensor:
        size = images.shape[-1]
        maps = []
        for batch in images.split(BATCH):
            logits = self.model(scorer_input(batch.to(self.device)))
            if logits.shape[-1] != size:
                logits = torch.nn.functional.interpolate(logits, size=(size, size), mode="bilinear")
            maps.append(logits.argmax(dim=1).cpu())
        return torch.cat(maps)


def scorer_factory(device: str = "cpu") -> WorldScorer:
    return WorldScorer(device=device)


def segmenter_factory(device: str = "cpu") -> WorldSegmenter:
    return WorldSegmenter(device=device)
