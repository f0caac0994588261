"""Pivotal tuning (PTI, Roich et al. 2021): after the latent inversion, the generator's synthesis
weights are fine-tuned on that one image around its code (the pivot), so the pivot reproduces
the face and edits around it stay valid.

Loss per step (the paper's eqs. 1-4; `InversionOptions` holds the authors' defaults, except fewer steps
and a stronger regulariser, which keep edits at their strength here: docs/faces.md):
``pti_l2 · L2(G(w_p; θ), x) + pti_perceptual · P(G(w_p; θ), x) + pti_regularize · L_R``, where the
locality regulariser ``L_R = L2(G(w_r; θ), G(w_r; θ₀)) + P(G(w_r; θ), G(w_r; θ₀))`` keeps the tuned
generator equal to the original at codes ``w_r = w_p + α (w_z − w_p) / ‖w_z − w_p‖`` drawn at
distance α from the pivot towards mapped samples ``w_z`` (truncation 0.5). P is the inversion's
perceptual loss (the discriminator's features, `inversion.perceptual_distance`): PTI uses LPIPS,
whose pretrained AlexNet/VGG weights cannot ship here (docs/faces.md).

The result is a delta per synthesis parameter in float16 (half the size of the weights), cached
next to the latent inversion it starts from; edits render with `tuned_weights`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from latentedit.errors import OptionError
from latentedit.progress import Progress, no_progress

if TYPE_CHECKING:
    import numpy as np
    import torch

    from latentedit.backend import Backend
    from latentedit.inversion import Inversion, InversionOptions

TUNE_MODES = ("none", "pti")
REGULARISER_TRUNCATION = 0.5
"""The truncation of the samples the locality regulariser moves towards (PTI's code)."""
REGULARISER_SEED = 0
"""Seed of the regulariser's samples, the same for every image: tuning an image gives the same weights."""


@dataclass
class TunedWeights:
    """Pivotal tuning's result for one image: tuned minus original synthesis weights (float16, by
    parameter name), the PSNR its pivot had before tuning, and where it is cached."""

    delta: dict[str, torch.Tensor]
    pivot_psnr: float
    seconds: float = 0.0
    file: Path | None = None


def validate_tuning(options: InversionOptions) -> None:
    """Refuse tuning settings that cannot run, in one line each."""
    import math

    if options.tune not in TUNE_MODES:
        raise OptionError(f"Option tune={options.tune!r}: expected one of {', '.join(TUNE_MODES)}.")
    if options.pti_steps < 1 or options.pti_samples < 1 or options.pti_interval < 1:
        raise OptionError("Pivotal tuning needs pti_steps, pti_samples and pti_interval >= 1.")
    weights = {
        "pti_lr": options.pti_lr,
        "pti_l2": options.pti_l2,
        "pti_perceptual": options.pti_perceptual,
        "pti_regularize": options.pti_regularize,
        "pti_alpha": options.pti_alpha,
    }
    for key, value in weights.items():
        if not (math.isfinite(value) and value >= 0):
            raise OptionError(f"Option {key}={value}: expected a number >= 0.")
    if options.pti_lr <= 0:
        raise OptionError(f"Option pti_lr={options.pti_lr}: expected a positive number.")


def _synthesis(backend: Backend) -> torch.nn.Module:
    synthesis = getattr(getattr(backend, "G", None), "synthesis", None)
    if synthesis is None:
        raise OptionError(f"tune=pti needs a backend whose generator is a torch module; {backend.name} is not.")
    return synthesis


@contextmanager
def tuned_weights(backend: Backend, tuned: TunedWeights | None) -> Iterator[None]:
    """Within the block the backend draws with the tuned weights (original + delta); the original
    tensors are put back afterwards, bit for bit. ``None``: the backend as it is."""
    if tuned is None:
        yield
        return
    parameters = dict(_synthesis(backend).named_parameters())
    saved = {name: parameters[name].data for name in tuned.delta}
    try:
        for name, delta in tuned.delta.items():
            parameters[name].data = saved[name] + delta.to(saved[name].device, saved[name].dtype)
        yield
    finally:
        for name, original in saved.items():
            parameters[name].data = original


def tune(
    backend: Backend,
    image: torch.Tensor,
    inversion: Inversion,
    options: InversionOptions,
    progress: Progress = no_progress,
) -> TunedWeights:
    """Fine-tune the synthesis weights so that `inversion` (one image's pivot and noise) draws
    ``image`` ``[1, 3, H, W]`` in [-1, 1]. The result is attached to `inversion` (whose PSNR and
    discriminator score become the tuned drawing's) and returned; the backend is left untouched."""
    import torch
    import torch.nn.functional as F
    from torch.func import functional_call

    from latentedit.inversion import perceptual_distance, perceptual_features, psnr, synthesize

    started = time.perf_counter()
    synthesis = _synthesis(backend)
    device = backend.device
    image = image.to(device)
    pivot = inversion.ws.to(device)
    noises = [noise.to(device) for noise in inversion.noises]
    original = {name: parameter.detach() for name, parameter in synthesis.named_parameters()}
    weights = {name: value.clone().requires_grad_(True) for name, value in original.items()}
    optimizer = torch.optim.Adam(list(weights.values()), lr=options.pti_lr)
    use_perceptual = options.pti_perceptual > 0 and backend.has_discriminator
    with torch.no_grad():
        wanted = perceptual_features(backend, image) if use_perceptual else []
    samples = torch.Generator().manual_seed(REGULARISER_SEED)

    def draw(codes: torch.Tensor) -> torch.Tensor:
        return functional_call(synthesis, weights, (codes,), {"noise_mode": "const"})

    def distance(made: torch.Tensor, target: torch.Tensor, target_features: list[torch.Tensor]) -> torch.Tensor:
        loss = options.pti_l2 * F.mse_loss(made, target)
        if use_perceptual:
            made_features = perceptual_features(backend, made)
            loss = loss + options.pti_perceptual * perceptual_distance(made_features, target_features).mean()
        return loss

    for step in range(options.pti_steps):
        optimizer.zero_grad(set_to_none=True)
        with backend.per_image_noise(noises) if noises else nullcontext():
            loss = distance(draw(pivot), image, wanted)
        loss.backward()  # each term's graph is freed before the next is built: one graph in memory at a time
        total = float(loss.detach())
        if options.pti_regularize > 0 and step % options.pti_interval == 0:
            loss = options.pti_regularize * _locality(backend, pivot, draw, samples, options, use_perceptual)
            loss.backward()
            total += float(loss.detach())
        optimizer.step()
        progress(step + 1, options.pti_steps, loss=total)
    delta = {name: (weights[name].detach() - original[name]).to(torch.float16).cpu() for name in original}
    pivot_psnr = inversion.psnr[0]
    tuned = TunedWeights(delta, pivot_psnr, time.perf_counter() - started)
    with torch.inference_mode(), tuned_weights(backend, tuned):
        drawn = synthesize(backend, inversion.ws, inversion.noises)
    _attach(backend, inversion, tuned, psnr(drawn, image)[0], drawn)
    return tuned


def _locality(backend, pivot, draw, samples, options: InversionOptions, use_perceptual: bool) -> torch.Tensor:
    """PTI's locality regulariser (eq. 3-4): the tuned generator against the original one at codes
    `pti_alpha` away from the pivot, towards mapped samples."""
    import torch
    import torch.nn.functional as F

    from latentedit.inversion import perceptual_distance, perceptual_features

    with torch.no_grad():
        z = torch.randn(options.pti_samples, backend.z_dim, generator=samples).to(backend.device)
        towards = backend.mapping(z, truncation=REGULARISER_TRUNCATION) - pivot
        norms = towards.flatten(1).norm(dim=1).clamp(min=1e-8).view(-1, 1, 1)
        codes = pivot + options.pti_alpha * towards / norms
        before = backend.synthesize(codes)
        kept = perceptual_features(backend, before) if use_perceptual else []  # no graph: half the memory
    after = draw(codes)
    loss = F.mse_loss(after, before)
    if use_perceptual:
        loss = loss + perceptual_distance(perceptual_features(backend, after), kept).mean()
    return loss


def _attach(backend: Backend, inversion: Inversion, tuned: TunedWeights, value: float, drawn: torch.Tensor) -> None:
    """Attach `tuned` to `inversion`, whose PSNR and discriminator score become the tuned drawing's."""
    from latentedit.inversion import disc_scores

    inversion.tuned = tuned
    inversion.psnr = [value]
    inversion.disc = disc_scores(backend, drawn)


def tuning_settings(options: InversionOptions) -> dict[str, object]:
    """The settings pivotal tuning depends on (besides the pivot's own)."""
    return {key: value for key, value in asdict(options).items() if key.startswith("pti_")}


def cache_path(latent_path: Path, options: InversionOptions) -> Path:
    """Where an image's tuned weights are cached: beside its latent inversion, named by the tuning settings."""
    digest = hashlib.sha256(json.dumps(tuning_settings(options), sort_keys=True).encode()).hexdigest()[:8]
    return latent_path.with_name(f"{latent_path.stem}-pti-{digest}.safetensors")


def tune_inversions(
    backend: Backend,
    arrays: list[np.ndarray],
    inversions: list[Inversion],
    latent_paths: list[Path | None],
    options: InversionOptions,
    progress: Progress = no_progress,
) -> None:
    """Tune the generator for each image (uint8 ``[H, W, 3]``) around its inversion, or load the
    tuned weights cached beside the inversion (`latent_paths`; None: no cache)."""
    from latentedit.images import from_uint8

    todo = []
    for index, (inversion, latent_path) in enumerate(zip(inversions, latent_paths, strict=True)):
        path = cache_path(latent_path, options) if latent_path is not None else None
        if path is None or not _load(backend, inversion, path):
            todo.append((index, path))
    total = len(todo) * options.pti_steps
    for done, (index, path) in enumerate(todo):
        def report(step: int, steps: int, start: int = done * options.pti_steps, **metrics: float) -> None:
            progress(start + step, total, **metrics)

        tuned = tune(backend, from_uint8(arrays[index][None]), inversions[index], options, report)
        if path is not None:
            tuned.file = path
            _save(path, inversions[index])


def _save(path: Path, inversion: Inversion) -> None:
    from latentedit.fileio import atomic_write
    from latentedit.reproducible import save_safetensors

    tuned = inversion.tuned
    assert tuned is not None
    metadata = {
        "psnr": json.dumps(inversion.psnr),
        "disc": json.dumps(inversion.disc),
        "pivot_psnr": json.dumps(tuned.pivot_psnr),
        "seconds": str(tuned.seconds),
    }
    tensors = {name: value.contiguous() for name, value in tuned.delta.items()}
    atomic_write(path, lambda tmp: save_safetensors(tensors, tmp, metadata))


def _load(backend: Backend, inversion: Inversion, path: Path) -> bool:
    """Attach the tuned weights cached at `path` to `inversion`; False (one warning where the entry
    is damaged or does not fit this generator) when they are to be computed."""
    from safetensors import SafetensorError, safe_open

    from latentedit.inversion import damaged_cache

    if not path.is_file():
        return False
    shapes = {name: tuple(parameter.shape) for name, parameter in _synthesis(backend).named_parameters()}
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            delta = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 (not a dict)
        found = {name: tuple(value.shape) for name, value in delta.items()}
        if found != shapes:
            raise ValueError("its tensors do not match this generator's weights")
        tuned = TunedWeights(delta, json.loads(metadata["pivot_psnr"]), float(metadata["seconds"]), path)
        inversion.tuned = tuned
        inversion.psnr = json.loads(metadata["psnr"])
        inversion.disc = json.loads(metadata["disc"])
        return True
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        damaged_cache(path, exc)
        return False
