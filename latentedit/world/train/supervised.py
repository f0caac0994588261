"""Recipes (b): the attribute scorer and the part segmenter, trained on exact renderer labels.

Both stream fresh renderer faces from training seeds (no finite dataset to overfit), degrade
them a little (blur, noise) so they also read GAN samples, which are softer than renders,
and checkpoint every `checkpoint_every` steps so a run resumes where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from latentedit.progress import Progress, no_progress
from latentedit.world.heldout import rendered_batch
from latentedit.world.seeds import TRAIN_SEED_RANGE
from latentedit.world.train.config import write_config
from latentedit.world.train.state import StepCheckpoint, check_recipe_sizes


@dataclass
class SupervisedConfig:
    steps: int = 4000
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    width: int = 32
    blur_probability: float = 0.5
    blur_sigma: float = 1.0
    noise_std: float = 0.03
    seed: int = 0
    heldout: int = 2000  # held-out renders the finished network is measured on

    def validate(self) -> None:
        check_recipe_sizes(self, ("steps", "batch", "heldout"))


def degrade(
    images: torch.Tensor, generator: torch.Generator, blur_probability: float, noise_std: float, blur_sigma: float = 1.0
) -> torch.Tensor:
    """Random Gaussian blur (σ up to `blur_sigma` px) on some images, and mild pixel noise on all."""
    count = images.shape[0]
    sigma = (
        torch.rand(count, generator=generator)
        * blur_sigma
        * (torch.rand(count, generator=generator) < blur_probability)
    )
    offsets = torch.arange(-2, 3, dtype=torch.float32)
    kernel = torch.exp(-offsets.square().unsqueeze(0) / (2 * sigma.clamp(min=1e-3).square().unsqueeze(1)))
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    channels = images.shape[1]
    weight = kernel.repeat_interleave(channels, dim=0)
    flat = images.reshape(1, count * channels, *images.shape[-2:])
    flat = F.conv2d(F.pad(flat, (2, 2, 0, 0), mode="replicate"), weight.view(-1, 1, 1, 5), groups=count * channels)
    flat = F.conv2d(F.pad(flat, (0, 0, 2, 2), mode="replicate"), weight.view(-1, 1, 5, 1), groups=count * channels)
    blurred = flat.view_as(images)
    return blurred + noise_std * torch.randn(images.shape, generator=generator)


class SupervisedTrainer(StepCheckpoint):
    """Trains one network with `loss_fn(model, images, parts, records) -> loss`."""

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor, list[dict[str, Any]]], torch.Tensor],
        config: SupervisedConfig,
        run_dir: Path,
    ) -> None:
        self.model, self.loss_fn, self.config, self.run_dir = model, loss_fn, config, run_dir
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.step = 0
        self.rng = np.random.default_rng(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)

    def checkpointed(self) -> tuple[dict[str, torch.nn.Module], dict[str, torch.optim.Optimizer]]:
        return {"model": self.model}, {"opt": self.optimizer}

    def _learning_rate(self) -> float:
        """Linear warm-up for 2% of the steps, then cosine decay to zero."""
        warmup = max(1, self.config.steps // 50)
        if self.step < warmup:
            return self.config.lr * (self.step + 1) / warmup
        progress = (self.step - warmup) / max(1, self.config.steps - warmup)
        return self.config.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    def run(self, progress: Progress = no_progress, checkpoint_every: int = 250) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_config(self.run_dir / "config.json", self.config)
        self.model.train()
        while self.step < self.config.steps:
            seeds = self.rng.integers(0, TRAIN_SEED_RANGE, size=self.config.batch).tolist()
            images, parts, records = rendered_batch(seeds)
            images = degrade(
                images, self.generator, self.config.blur_probability, self.config.noise_std, self.config.blur_sigma
            )
            for group in self.optimizer.param_groups:  # from the config, also after a resume
                group["lr"], group["weight_decay"] = self._learning_rate(), self.config.weight_decay
            loss = self.loss_fn(self.model, images, parts, records)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.step += 1
            progress(self.step, self.config.steps, loss=float(loss.detach()))
            if self.step % checkpoint_every == 0 or self.step == self.config.steps:
                self.save()
        self.model.eval()


def scorer_loss(
    model: torch.nn.Module, images: torch.Tensor, parts: torch.Tensor, records: list[dict[str, Any]]
) -> torch.Tensor:
    from latentedit.world import scoring

    return scoring.loss(model(images), scoring.targets(records))


def segmenter_loss(
    model: torch.nn.Module, images: torch.Tensor, parts: torch.Tensor, records: list[dict[str, Any]]
) -> torch.Tensor:
    return F.cross_entropy(model(images), parts)


def build_scorer(config: SupervisedConfig) -> torch.nn.Module:
    from latentedit.world.networks import AttributeScorer
    from latentedit.world.scoring import HEADS

    torch.manual_seed(config.seed)
    return AttributeScorer(HEADS, width=config.width)


def build_segmenter(config: SupervisedConfig) -> torch.nn.Module:
    from latentedit.world.canvas import PARTS
    from latentedit.world.networks import PartSegmenter

    torch.manual_seed(config.seed)
    return PartSegmenter(len(PARTS), width=config.width)
