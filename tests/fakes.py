"""A tiny scorer and segmenter for the `random` backends, registered like any plugin.

They measure plain image statistics, so a method that learns "brightness" on a random
network has a real, checkable target, and tests need no trained weights.
"""

from __future__ import annotations

import torch

from latentedit.hookspecs import hookimpl
from latentedit.scorers import ScorerSpec


class StatisticsScorer:
    """brightness: mean intensity; redness: red minus the other channels; both in [-1, 1]."""

    attributes = ("brightness", "redness")
    columns = attributes
    ranges = {"brightness": (-1.0, 1.0), "redness": (-1.0, 1.0)}
    cyclic = ()

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def score(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        images = images.float().clamp(-1, 1)
        red, green, blue = images[:, 0], images[:, 1], images[:, 2]
        return {
            "brightness": images.mean(dim=(1, 2, 3)).cpu(),
            "redness": (red - (green + blue) / 2).mean(dim=(1, 2)).clamp(-1, 1).cpu(),
        }


class HalvesSegmenter:
    """Two "parts": the dark and the bright pixels."""

    parts = ("dark", "bright")
    attribute_parts = {"brightness": ("dark", "bright")}

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def segment(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float().mean(dim=1) > 0).long().cpu()


class FakeWorldPlugin:
    @hookimpl
    def register_scorers(self, register):
        register(ScorerSpec("statistics", "random", StatisticsScorer.attributes, "tests.fakes:StatisticsScorer"))
        register(ScorerSpec("halves", "random", (), "tests.fakes:HalvesSegmenter", kind="segmenter"))
