"""Recipe (c): the encoder image -> W+ used to start inversion.

Trained on generator samples, whose codes are known: a latent loss against the true W+
(with style mixing, so it learns per-layer codes) plus a pixel loss of the re-synthesised
image; every `render_every` steps a batch of renderer faces adds the pixel loss alone, so
the encoder also sees "real" faces that the generator only approximates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from latentedit.progress import Progress, no_progress
from latentedit.world.seeds import TRAIN_SEED_RANGE
from latentedit.world.train.config import write_config
from latentedit.world.train.state import StepCheckpoint, check_recipe_sizes


@dataclass
class EncoderConfig:
    steps: int = 3000
    batch: int = 32
    lr: float = 1e-3
    width: int = 32
    latent_weight: float = 1.0
    pixel_weight: float = 1.0
    render_every: int = 4
    style_mixing: float = 0.5
    seed: int = 0
    heldout: int = 200  # held-out renders and samples the finished encoder is measured on

    def validate(self) -> None:
        check_recipe_sizes(self, ("steps", "batch", "heldout"))


class EncoderTrainer(StepCheckpoint):
    def __init__(self, backend: Any, config: EncoderConfig, run_dir: Path) -> None:
        from latentedit.errors import LatentEditError
        from latentedit.world.networks import Encoder
        from latentedit.world.render import resolution

        if backend.resolution != resolution:
            raise LatentEditError(
                f"The encoder recipe learns from {resolution} px world renders; backend {backend.name} "
                f"draws {backend.resolution} px."
            )
        self.backend, self.config, self.run_dir = backend, config, run_dir
        torch.manual_seed(config.seed)
        self.encoder = Encoder(backend.num_ws, backend.w_dim, config.width)
        self.encoder.w_avg.copy_(backend.w_avg.detach().cpu())
        self.optimizer = torch.optim.Adam(self.encoder.parameters(), lr=config.lr)
        self.step = 0
        self.rng = np.random.default_rng(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.backend.G.requires_grad_(False)

    def start_from(self, path: Path) -> None:
        """Load an encoder's weights (fine-tuning it for this generator) and re-anchor its
        offsets at this generator's w_avg; the optimiser starts fresh."""
        from latentedit.errors import CheckpointError
        from latentedit.world.networks import Encoder
        from latentedit.world.weights import load_module

        start = load_module(Path(path), Encoder, "encoder")
        if start.init_kwargs != self.encoder.init_kwargs:
            raise CheckpointError(
                f"{path}: encoder of shape {start.init_kwargs}, this run builds {self.encoder.init_kwargs}."
            )
        self.encoder.load_state_dict(start.state_dict())
        self.encoder.w_avg.copy_(self.backend.w_avg.detach().cpu())

    def checkpointed(self) -> tuple[dict[str, torch.nn.Module], dict[str, torch.optim.Optimizer]]:
        return {"encoder": self.encoder}, {"opt": self.optimizer}

    def _sampled_codes(self) -> torch.Tensor:
        z = torch.randn(self.config.batch, self.backend.z_dim, generator=self.generator)
        ws = self.backend.mapping(z)
        if self.config.style_mixing > 0:
            other = self.backend.mapping(torch.randn(z.shape, generator=self.generator))
            cutoff = torch.randint(1, self.backend.num_ws, (z.shape[0], 1, 1), generator=self.generator)
            mixed = torch.rand(z.shape[0], 1, 1, generator=self.generator) < self.config.style_mixing
            layer = torch.arange(self.backend.num_ws).view(1, -1, 1)
            ws = torch.where(mixed & (layer >= cutoff), other, ws)
        return ws

    def train_step(self) -> dict[str, float]:
        config = self.config
        if config.render_every and self.step % config.render_every == config.render_every - 1:
            from latentedit.world.heldout import rendered_batch

            images, _, _ = rendered_batch(self.rng.integers(0, TRAIN_SEED_RANGE, size=config.batch).tolist())
            predicted = self.encoder(images)
            loss = config.pixel_weight * F.mse_loss(self.backend.synthesize(predicted), images)
            metrics = {"pixel_rendered": float(loss.detach())}
        else:
            with torch.no_grad():
                ws = self._sampled_codes()
                images = self.backend.synthesize(ws)
            predicted = self.encoder(images)
            latent = F.mse_loss(predicted, ws)
            pixel = F.mse_loss(self.backend.synthesize(predicted), images)
            loss = config.latent_weight * latent + config.pixel_weight * pixel
            metrics = {"latent": float(latent.detach()), "pixel": float(pixel.detach())}
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return metrics

    def run(self, progress: Progress = no_progress, checkpoint_every: int = 100) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_config(self.run_dir / "config.json", self.config)
        self.encoder.train()
        while self.step < self.config.steps:
            for group in self.optimizer.param_groups:
                group["lr"] = self.config.lr * min(1.0, 2 * (1 - self.step / self.config.steps))
            metrics = self.train_step()
            progress(self.step, self.config.steps, **metrics)
            if self.step % checkpoint_every == 0 or self.step == self.config.steps:
                self.save()
        self.encoder.eval()


@torch.inference_mode()
def evaluate_encoder(backend: Any, encoder: torch.nn.Module, count: int = 200, batch: int = 50) -> dict[str, float]:
    """Encoder-only reconstruction of held-out renders (mean PSNR, dB) and of generated samples
    (PSNR and W+ error): what inversion starts from before its optimisation."""
    from latentedit.inversion import psnr
    from latentedit.world.heldout import heldout_seeds, rendered_batch

    encoder.eval()
    rendered, generated, latent = [], [], []
    for start in range(0, count, batch):
        images, _, _ = rendered_batch(heldout_seeds(min(batch, count - start), start))
        rendered += psnr(backend.synthesize(encoder(images)), images)
        ws = backend.mapping(backend.sample_z(min(batch, count - start), seed=8_000_000 + start))
        samples = backend.synthesize(ws)
        predicted = encoder(samples)
        generated += psnr(backend.synthesize(predicted), samples)
        latent.append(float(F.mse_loss(predicted, ws)) * len(ws))
    return {
        "psnr_rendered": float(np.mean(rendered)),
        "psnr_generated": float(np.mean(generated)),
        "latent_mse_generated": sum(latent) / count,
        "images": count,
    }
