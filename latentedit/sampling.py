"""Sampling generated faces in batches: latents, images and scores, with progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from latentedit.errors import LatentEditError
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


def sample(
    backend: Backend,
    count: int,
    seed: int,
    scorer: Any = None,
    progress: Progress = no_progress,
    keep: str = "w+",
) -> Samples:
    """`count` samples from one seeded stream; scored in batches when a scorer is given. ``keep="w"``
    keeps one code per sample (``ws`` ``[N, 1, w_dim]``), for methods that need W only."""
    check_sample_memory(backend, count, keep)
    z = backend.sample_z(count, seed)
    ws, scores = map_and_score(backend, z, scorer, keep, progress)
    return Samples(z.cpu(), ws, scores)


def map_and_score(
    backend: Backend, z: torch.Tensor, scorer: Any = None, keep: str = "w+", progress: Progress = no_progress
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """W+ codes (or W: ``keep="w"``) of `z` and, with a scorer, the scores of their images, `BATCH`
    samples at a time. The Ray engine maps chunks that start on these batch boundaries, so it
    computes the same numbers as one process does."""
    import torch

    if keep not in ("w", "w+"):
        raise LatentEditError(f"sample(keep={keep!r}): expected w or w+.")
    count = len(z)
    ws_parts, score_parts = [], []
    with torch.inference_mode():
        for start in range(0, count, BATCH):
            ws = backend.mapping(z[start : start + BATCH])
            ws_parts.append((ws[:, :1] if keep == "w" else ws).cpu())
            if scorer is not None:
                score_parts.append(scorer.score(backend.synthesize(ws)))
            progress(min(start + BATCH, count), count)
    scores = {key: torch.cat([part[key] for part in score_parts]) for key in score_parts[0]} if score_parts else {}
    return torch.cat(ws_parts), scores


def check_sample_memory(backend: Backend, count: int, keep: str = "w+") -> None:
    """Refuse, before allocating anything, `count` samples whose latents would not fit in memory:
    float32 codes in Z and W+ (or W: `keep`), held twice while their batches are joined."""
    codes = 1 if keep == "w" else backend.num_ws
    need = 4 * count * (backend.z_dim + 2 * codes * backend.w_dim)
    free = available_memory()
    if free is not None and need > free:
        raise LatentEditError(
            f"{count:,} samples would need {gib(need)} of memory for their latents; {gib(free)} is available. "
            "Ask for fewer samples."
        )


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux's MemAvailable), or None if unknown."""
    import os

    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def gib(size: int) -> str:
    """A byte count in GiB (TiB beyond 1024 GiB), for messages."""
    return f"{size / 2**40:,.1f} TiB" if size >= 2**40 else f"{size / 2**30:,.1f} GiB"


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
