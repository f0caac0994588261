"""Inversion: images -> W+ codes (and per-image noise) that the generator turns back into them.

Encoder initialisation (w_avg without an encoder), then Adam on W+ and the noise maps with a
pixel loss plus a perceptual loss in the discriminator's feature space (the only perceptual
network every backend has), and the StyleGAN2 projector's noise regulariser. Results are
cached by image content and backend, so editing the same photo again costs no inversion.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import LatentEditError, OptionError
from latentedit.options import option
from latentedit.progress import Progress, no_progress

if TYPE_CHECKING:
    import numpy as np
    import torch

    from latentedit.backend import Backend
    from latentedit.pti import TunedWeights

PERCEPTUAL_BLOCKS = 3
"""How many discriminator blocks (from the image side) feed the perceptual loss."""


@dataclass
class InversionOptions:
    steps: int = option(300, "Optimisation steps per image (0: encoder only).")
    lr: float = option(0.04, "Adam learning rate for W+ (cosine decay to zero).")
    perceptual: float = option(1.0, "Weight of the discriminator-feature loss (0 to disable).")
    noise: bool = option(True, "Also optimise the per-image noise maps.")
    noise_lr: float = option(0.05, "Adam learning rate for the noise maps.")
    noise_regularize: float = option(1e4, "Weight of the noise autocorrelation penalty (StyleGAN2 projector).")
    batch: int = option(8, "Images optimised together.")
    domain: float = option(
        0.0,
        "Weight of the in-domain regulariser |w - E(G(w))|^2 (In-Domain GAN Inversion, the inverter the "
        "pair-direction paper uses): keeps codes where the encoder would put them. Needs an encoder.",
    )
    tune: str = option(
        "none",
        "After the inversion: none, or pti (pivotal tuning, Roich et al. 2021: the generator's weights are "
        "fine-tuned on the image around its code; cached per image). The pti_* options set it up.",
    )
    pti_steps: int = option(
        100, "Pivotal tuning steps (PTI's code: 350, which weakens a strength-3 edit here by 0.054; docs/faces.md)."
    )
    pti_lr: float = option(3e-4, "Adam learning rate of pivotal tuning (PTI: 3e-4).")
    pti_l2: float = option(1.0, "Weight of the pixel L2 loss of pivotal tuning (PTI: 1).")
    pti_perceptual: float = option(
        1.0, "Weight of the perceptual loss of pivotal tuning (PTI: LPIPS, 1; here the discriminator-feature loss)."
    )
    pti_regularize: float = option(
        1.0, "Weight of PTI's locality regulariser (PTI: 0.1; 1 here keeps edits stronger; 0: off)."
    )
    pti_alpha: float = option(
        30.0, "How far from the pivot the regulariser's codes lie (PTI: 30), as the norm of the whole W+ difference."
    )
    pti_samples: int = option(1, "Codes the locality regulariser draws per step (PTI: 1).")
    pti_interval: int = option(1, "The locality regulariser runs every N-th step (PTI: 1).")

    def validate(self) -> None:
        if self.steps < 0 or self.batch < 1:
            raise OptionError("Inversion needs steps >= 0 and batch >= 1.")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise OptionError(f"Inversion lr={self.lr} must be a positive number.")
        if not (math.isfinite(self.domain) and self.domain >= 0):
            raise OptionError(f"Inversion domain={self.domain} must be a number >= 0.")
        from latentedit.pti import validate_tuning

        validate_tuning(self)

    def latent_settings(self) -> dict[str, Any]:
        """The settings the latent code depends on (pivotal tuning's are not: it starts from the code)."""
        return {key: value for key, value in asdict(self).items() if key != "tune" and not key.startswith("pti_")}


@dataclass
class Inversion:
    """W+ codes ``[N, num_ws, w_dim]``, per-layer noise ``[N, 1, h, w]`` and PSNR (dB) per image."""

    ws: torch.Tensor
    noises: list[torch.Tensor] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)
    seconds: float = 0.0
    disc: list[float] | None = None
    """The discriminator's logit on each reconstruction (`disc_scores`); None without a discriminator."""
    tuned: TunedWeights | None = None
    """Pivotal tuning's weights for this one image (`latentedit.pti`); None when not tuned."""

    def select(self, index: int) -> Inversion:
        return Inversion(
            self.ws[index : index + 1],
            [noise[index : index + 1] for noise in self.noises],
            self.psnr[index : index + 1],
            self.seconds / max(1, self.ws.shape[0]),
            self.disc[index : index + 1] if self.disc is not None else None,
        )

    @staticmethod
    def concat(parts: list[Inversion]) -> Inversion:
        import torch

        noises = (
            [torch.cat(group) for group in zip(*(part.noises for part in parts), strict=True)]
            if parts[0].noises
            else []
        )
        return Inversion(
            torch.cat([part.ws for part in parts]),
            noises,
            [value for part in parts for value in part.psnr],
            sum(part.seconds for part in parts),
            [value for part in parts for value in part.disc] if all(part.disc is not None for part in parts) else None,
        )


def psnr(reconstructed: torch.Tensor, target: torch.Tensor) -> list[float]:
    """PSNR in dB per image on 8-bit-quantised pixels, as people measure image files."""
    import torch

    def quantize(images: torch.Tensor) -> torch.Tensor:
        return (images.detach().float() * 127.5 + 128).clamp(0, 255).round()

    mse = (quantize(reconstructed) - quantize(target)).square().flatten(1).mean(1)
    return [float(10 * torch.log10(255**2 / value.clamp(min=1e-10))) for value in mse]


def disc_scores(backend: Backend, images: torch.Tensor) -> list[float] | None:
    """The discriminator's logit for each image, scored alone (its minibatch-stddev layer would
    make a score depend on the other images of a batch); None where the backend has no D."""
    import torch

    if not backend.has_discriminator:
        return None
    with torch.inference_mode():
        return [float(backend.disc_logits(image[None])) for image in images]


def perceptual_features(backend: Backend, images: torch.Tensor) -> list[torch.Tensor]:
    """Channel-normalised discriminator features of the first blocks (LPIPS-like)."""
    features = list(backend.disc_features(images).values())[:PERCEPTUAL_BLOCKS]
    return [feature / (feature.square().sum(dim=1, keepdim=True).sqrt() + 1e-8) for feature in features]


def perceptual_distance(made: list[torch.Tensor], wanted: list[torch.Tensor]) -> torch.Tensor:
    """Per image ``[N]``: the mean squared difference of `perceptual_features`, summed over blocks."""
    return sum((a - b).square().flatten(1).mean(1) for a, b in zip(made, wanted, strict=True))  # type: ignore[return-value]


def _noise_penalty(noises: list[torch.Tensor]) -> torch.Tensor:
    """Sum of squared neighbour autocorrelations over a noise pyramid (StyleGAN2 projector)."""
    import torch.nn.functional as F

    total = noises[0].new_zeros(())
    for noise in noises:
        level = noise
        while True:
            total = (
                total
                + (level * level.roll(1, dims=3)).mean().square()
                + (level * level.roll(1, dims=2)).mean().square()
            )
            if level.shape[-1] <= 8:
                break
            level = F.avg_pool2d(level, 2)
    return total


def invert_batch(
    backend: Backend, images: torch.Tensor, options: InversionOptions, progress: Progress = no_progress
) -> Inversion:
    """Invert one batch of images ``[N, 3, H, W]`` in [-1, 1] at the backend's resolution."""
    import torch
    import torch.nn.functional as F

    if images.shape[-1] != backend.resolution:
        raise LatentEditError(
            f"Images are {images.shape[-1]} px; backend {backend.name} makes {backend.resolution} px."
        )
    started = time.perf_counter()
    images = images.to(backend.device)
    with torch.no_grad():
        ws = backend.encode(images).detach().clone()
    layers = backend.noise_layers() if options.noise else []
    noises = [layer.noise_const.detach().expand(images.shape[0], 1, -1, -1).clone() for layer in layers]
    use_perceptual = options.perceptual > 0 and backend.has_discriminator
    if options.domain > 0 and getattr(backend, "encoder", None) is None:
        raise OptionError(f"-o domain needs an encoder, and backend {backend.name} has none; leave domain at 0.")
    with torch.no_grad():
        target_features = perceptual_features(backend, images) if use_perceptual else []
    ws.requires_grad_(True)
    for noise in noises:
        noise.requires_grad_(True)
    groups = [{"params": [ws], "lr": options.lr}]
    if noises:
        groups.append({"params": noises, "lr": options.noise_lr})
    optimizer = torch.optim.Adam(groups, betas=(0.9, 0.999))
    base = [group["lr"] for group in groups]
    for step in range(options.steps):
        decay = 0.5 * (1 + math.cos(math.pi * step / options.steps))
        for group, lr in zip(optimizer.param_groups, base, strict=True):
            group["lr"] = lr * decay
        reconstructed = synthesize(backend, ws, noises)
        loss = F.mse_loss(reconstructed, images, reduction="none").flatten(1).mean(1).sum()
        if use_perceptual:
            made = perceptual_features(backend, reconstructed)
            loss = loss + options.perceptual * perceptual_distance(made, target_features).sum()
        if options.domain > 0:
            encoded = backend.encoder(reconstructed)
            loss = loss + options.domain * (ws - encoded).square().flatten(1).mean(1).sum()
        if noises:
            loss = loss + options.noise_regularize * _noise_penalty(noises)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for noise in noises:
                noise.sub_(noise.mean(dim=(2, 3), keepdim=True)).div_(noise.std(dim=(2, 3), keepdim=True) + 1e-8)
        progress(step + 1, options.steps, loss=float(loss.detach()) / images.shape[0])
    ws, noises = ws.detach(), [noise.detach() for noise in noises]
    with torch.no_grad():
        reconstructed = synthesize(backend, ws, noises)
    return Inversion(
        ws.cpu(),
        [noise.cpu() for noise in noises],
        psnr(reconstructed, images),
        time.perf_counter() - started,
        disc_scores(backend, reconstructed),
    )


def synthesize(
    backend: Backend, codes: torch.Tensor | list[torch.Tensor], noises: list[torch.Tensor] | None = None
) -> torch.Tensor:
    """Images from (edited) codes: W+ ``[N, num_ws, w_dim]``, or S-space styles (one tensor per
    style layer, as methods that edit styles return). Per-image `noises` from an inversion keep
    a photo's fine detail."""
    from contextlib import nullcontext

    noises = [noise.to(backend.device) for noise in noises or []]
    with backend.per_image_noise(noises) if noises else nullcontext():
        if isinstance(codes, list):
            return backend.synthesize_from_styles([style.to(backend.device) for style in codes])
        return backend.synthesize(codes.to(backend.device))


def _cache_path(backend: Backend, image_hash: str, options: InversionOptions) -> Path:
    from latentedit.store import home

    settings = hashlib.sha256(json.dumps(options.latent_settings(), sort_keys=True).encode()).hexdigest()[:8]
    return home() / "cache" / "inversions" / backend.fingerprint / f"{image_hash[:32]}-{settings}.safetensors"


def _load_cached(path: Path) -> Inversion | None:
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            ws = handle.get_tensor("ws")
            count = int(metadata.get("noises", "0"))
            noises = [handle.get_tensor(f"noise.{index}") for index in range(count)]
        if "disc" not in metadata:
            return None  # an entry without the discriminator's score is computed again, silently
        disc = json.loads(metadata["disc"])
        return Inversion(ws, noises, json.loads(metadata["psnr"]), float(metadata.get("seconds", "0")), disc)
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        damaged_cache(path, exc)
        return None


def damaged_cache(path: Path, error: Exception) -> None:
    """One warning line for a cache entry that cannot be read; the caller computes it again."""
    import warnings

    from latentedit.errors import LatentEditWarning

    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    warnings.warn(LatentEditWarning(f"Cache entry {path} is damaged ({reason}); computing it again."), stacklevel=3)


def _save_cached(path: Path, inversion: Inversion) -> None:
    from latentedit.fileio import atomic_write
    from latentedit.reproducible import save_safetensors

    tensors = {
        "ws": inversion.ws.contiguous(),
        **{f"noise.{i}": n.contiguous() for i, n in enumerate(inversion.noises)},
    }
    metadata = {
        "psnr": json.dumps(inversion.psnr),
        "noises": str(len(inversion.noises)),
        "seconds": str(inversion.seconds),
        "disc": json.dumps(inversion.disc),
    }
    atomic_write(path, lambda tmp: save_safetensors(tensors, tmp, metadata))


def _offset_progress(
    progress: Progress, done: int, size: int, total: int, step: int, steps: int, **metrics: Any
) -> None:
    """Map one batch's step counter onto the whole job's."""
    progress(done + step * size, total, **metrics)


def invert_files(
    backend: Backend,
    paths: list[Path],
    options: InversionOptions | None = None,
    progress: Progress = no_progress,
    use_cache: bool = True,
) -> list[Inversion]:
    """Invert image files (loaded and resized safely; faces aligned where `discover --align` asks:
    `latentedit.photos.read_input_image`), reusing cached inversions."""
    from latentedit.photos import read_input_image

    arrays = [read_input_image(path, backend.resolution) for path in paths]
    return invert_arrays(backend, arrays, options, progress, use_cache)


def invert_arrays(
    backend: Backend,
    arrays: list[np.ndarray],
    options: InversionOptions | None = None,
    progress: Progress = no_progress,
    use_cache: bool = True,
) -> list[Inversion]:
    """Invert uint8 images ``[H, W, 3]`` at the backend's resolution (aligned face crops, say),
    reusing cached inversions: the cache is keyed by the pixels' bytes, the backend and the options."""
    import numpy as np

    from latentedit.images import from_uint8

    options = options or InversionOptions()
    hashes = [hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest() for array in arrays]
    results: dict[int, Inversion] = {}
    if use_cache:
        for index, image_hash in enumerate(hashes):
            cached = _load_cached(_cache_path(backend, image_hash, options))
            if cached is not None:
                results[index] = cached
    todo = [index for index in range(len(arrays)) if index not in results]
    total = len(todo) * max(options.steps, 1)
    done = 0
    for start in range(0, len(todo), options.batch):
        chunk = todo[start : start + options.batch]
        images = from_uint8(np.stack([arrays[index] for index in chunk]))
        report = partial(_offset_progress, progress, done, len(chunk), total)
        inversion = invert_batch(backend, images, options, report)
        done += len(chunk) * max(options.steps, 1)
        for position, index in enumerate(chunk):
            results[index] = inversion.select(position)
            if use_cache:
                _save_cached(_cache_path(backend, hashes[index], options), results[index])
    ordered = [results[index] for index in range(len(arrays))]
    if options.tune == "pti":
        from latentedit.pti import tune_inversions

        paths = [_cache_path(backend, image_hash, options) if use_cache else None for image_hash in hashes]
        tune_inversions(backend, arrays, ordered, paths, options, progress)
    return ordered
