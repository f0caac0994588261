"""Sampling generated faces in batches: latents, images and scores, with progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from latentedit.progress import Progress, no_progress

if TYPE_CHECKING:
    import numpy as np
    import torch

    from latentedit.backend import Backend

BATCH = 250


@dataclass
class Samples:
    """z ``[N, z_dim]``, ws ``[N, num_ws, w_dim]`` and, if scored, ``{attribute: [N]}``."""

    z: torch.Tensor
    ws: torch.Tensor
    scores: dict[str, torch.Tensor]

    def latents(self, space: str) -> torch.Tensor:
        """Codes in a vector space: z, w (one code per sample) or w+ (all codes)."""
        if space == "z":
            return self.z
        if space == "w":
            return self.ws[:, 0]
        return self.ws


def sample(backend: Backend, count: int, seed: int, scorer: Any = None, progress: Progress = no_progress) -> Samples:
    """`count` samples from one seeded stream; scored in batches when a scorer is given."""
    import torch

    z = backend.sample_z(count, seed)
    ws_parts, score_parts = [], []
    with torch.inference_mode():
        for start in range(0, count, BATCH):
            ws = backend.mapping(z[start : start + BATCH])
            ws_parts.append(ws.cpu())
            if scorer is not None:
                score_parts.append(scorer.score(backend.synthesize(ws)))
            progress(min(start + BATCH, count), count)
    scores = {key: torch.cat([part[key] for part in score_parts]) for key in score_parts[0]} if score_parts else {}
    return Samples(z.cpu(), torch.cat(ws_parts), scores)


def seed_images(
    backend: Backend,
    seeds: list[int],
    truncation: float = 1.0,
    noise_mode: str = "const",
    progress: Progress = no_progress,
) -> np.ndarray:
    """Uint8 images ``[N, H, W, 3]`` for `seeds`, each mapped and synthesised on its own.

    Why one at a time: a batch's float sums differ from a single image's in the last bits
    (5e-6 on the world GAN), which now and then flips a pixel by one level, and a seed must give
    the same PNG whichever seeds are drawn with it.
    """
    import numpy as np
    import torch

    from latentedit.images import to_uint8

    images = []
    with torch.inference_mode():
        for done, seed in enumerate(seeds, start=1):
            ws = backend.mapping(backend.z_for_seeds([seed]), truncation=truncation)
            images.append(to_uint8(backend.synthesize(ws, noise_mode=noise_mode)))
            progress(done, len(seeds))
    return np.concatenate(images)
