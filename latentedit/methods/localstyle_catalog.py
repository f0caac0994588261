"""The semantic catalog of Editing in Style (Sec. 3.1, App. A): clusters and channel contributions.

Spherical k-means over the per-pixel activation vectors of one generator layer (each vector
unit-normalised; optionally each channel standardised first) gives K clusters and, per
sample, a membership map U. The contribution of channel c to cluster k (Eq. 1) is

    M[k, c] = 1/(N·H·W) Σ_{n,h,w} A[n, c, h, w]² · U[n, k, h, w]

with A standardised to zero mean and unit variance per channel, so Σ_k M[k, c] = 1: M[k, c]
is the share of channel c's energy that falls in cluster k. It is computed for every style
layer on the activation that layer's style multiplies (its conv input: the previous conv's
output, or the constant input for the first layer), with U resized to that resolution
(nearest when upsampling, area fractions when downsampling, so memberships still sum to 1).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import LatentEditError
from latentedit.methods.base import Progress, no_progress

if TYPE_CHECKING:
    import numpy as np
    import torch

    from latentedit.backend import Backend
    from latentedit.edits import Edit

BATCH = 25
"""Samples per forward pass while building a catalog (bounds memory at high resolutions)."""
MAX_POINTS = 1 << 16
"""Activation vectors k-means is fitted on (a per-sample random subset when there are more)."""
PREVIEW_SEED = 2020
"""Seed of the samples a catalog picture shows."""


@dataclass
class Catalog:
    """What discovery learns: the clustering and, per style layer, contributions ``[K, C_in]``.

    ``overlap[p, k]`` counts image pixels of segmenter part p in cluster k over the samples
    (with ``part_area`` and ``cluster_area``) when a segmenter was given, for auto-labelling.
    """

    layer: str
    centroids: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    contributions: dict[str, torch.Tensor]
    cluster_fraction: list[float]
    objective: float
    iterations: int
    overlap: torch.Tensor | None = None
    part_area: torch.Tensor | None = None
    cluster_area: torch.Tensor | None = None


def conv_layers(backend: Backend) -> list[str]:
    """Generator layers whose activations can be clustered (`backend.features` names)."""
    return [name for name in backend.style_layers if ".conv" in name]


def check_layer(backend: Backend, layer: str) -> None:
    if layer not in conv_layers(backend):
        raise LatentEditError(
            f"Layer {layer!r} is not a conv layer of backend {backend.name}. "
            f"Choose one of: {', '.join(conv_layers(backend))} (e.g. -o layer=b32.conv0)."
        )


def style_inputs(backend: Backend) -> list[str | None]:
    """For each style layer, the conv whose output its style multiplies (None: the constant input)."""
    inputs: list[str | None] = []
    previous: str | None = None
    for name in backend.style_layers:
        inputs.append(previous)
        if ".conv" in name:
            previous = name
    return inputs


def _constant_input(backend: Backend, count: int) -> torch.Tensor:
    """The first layer's input ``[N, C, 4, 4]``: the learned constant when the backend exposes it.

    Backends that hide it get a uniform input, for which contributions reduce to cluster areas.
    """
    import torch

    synthesis = getattr(getattr(backend, "G", None), "synthesis", None)
    blocks = getattr(synthesis, "blocks", None)
    const = getattr(next(iter(blocks())), "const", None) if callable(blocks) else None
    if const is None:
        const = torch.ones(backend.affine_weights()[0].shape[0], 4, 4)
    return const.detach().float().cpu().unsqueeze(0).expand(count, -1, -1, -1)


def unit_vectors(features: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``[N, C, h, w]`` activations -> (standardised,) unit-normalised pixel vectors ``[N·h·w, C]``."""
    from latentedit.methods.localstyle_kmeans import unit_rows

    flat = features.detach().float().cpu().permute(0, 2, 3, 1).reshape(-1, features.shape[1])
    return unit_rows((flat - mean) / std)


def memberships(labels: torch.Tensor, k: int, size: int) -> torch.Tensor:
    """One-hot cluster maps ``[N, K, size, size]`` from labels ``[N, h, w]``; sum to 1 per pixel."""
    import torch
    import torch.nn.functional as F

    onehot = F.one_hot(labels, k).permute(0, 3, 1, 2).to(torch.float64)
    if size < labels.shape[-1]:
        return F.adaptive_avg_pool2d(onehot, size)
    if size > labels.shape[-1]:
        return F.interpolate(onehot, size=(size, size), mode="nearest")
    return onehot


def resize_labels(labels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Cluster maps ``[N, h, w]`` resized (nearest) to ``size``, e.g. the image resolution."""
    import torch.nn.functional as F

    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(labels[:, None].float(), size=size, mode="nearest")[:, 0].long()


class _ContributionSums:
    """Running Σ U·A², Σ U·A and Σ U per activation: Eq. 1 with exact standardisation in one pass."""

    def __init__(self) -> None:
        self.sums: dict[str, list[Any]] = {}

    def add(self, key: str, activations: torch.Tensor, membership: torch.Tensor) -> None:
        """Add a batch: activations ``[N, C, h, w]`` with memberships ``[N, K, h, w]``."""
        import torch

        a = activations.detach().to(torch.float64).cpu()
        u_flat = membership.permute(1, 0, 2, 3).reshape(membership.shape[1], -1)
        a_flat = a.permute(0, 2, 3, 1).reshape(-1, a.shape[1])
        terms = [u_flat @ (a_flat * a_flat), u_flat @ a_flat, u_flat.sum(dim=1), a_flat.shape[0]]
        if key not in self.sums:
            self.sums[key] = terms
        else:
            self.sums[key] = [old + new for old, new in zip(self.sums[key], terms, strict=True)]

    def matrices(self) -> dict[str, torch.Tensor]:
        """M ``[K, C]`` per activation; a channel that never varies gets its clusters' area shares."""
        import torch

        result = {}
        for layer, (s2, s1, s0, count) in self.sums.items():
            mean = s1.sum(dim=0) / count
            second = s2.sum(dim=0) / count
            variance = second - mean * mean
            flat = variance <= 1e-10 * second.clamp_min(1e-30)
            m = (s2 - 2 * mean * s1 + mean * mean * s0[:, None]) / (variance.clamp_min(1e-30) * count)
            m[:, flat] = (s0 / count)[:, None]
            result[layer] = m.clamp(0, 1).to(torch.float32)
        return result


def _sample_points(
    backend: Backend, ws: torch.Tensor, layer: str, generator: torch.Generator, progress: Progress, total: int
) -> torch.Tensor:
    """Raw activation vectors ``[P, C]`` of `layer` over the samples (a random subset per sample if many)."""
    import torch

    parts = []
    for start in range(0, ws.shape[0], BATCH):
        with torch.inference_mode():
            features = backend.features(ws[start : start + BATCH], [layer])[layer].float().cpu()
        count, channels, height, width = features.shape
        per_sample = min(height * width, max(1, MAX_POINTS // ws.shape[0]))
        flat = features.permute(0, 2, 3, 1).reshape(count, height * width, channels)
        if per_sample < height * width:
            keep = torch.stack([torch.randperm(height * width, generator=generator)[:per_sample] for _ in range(count)])
            flat = torch.gather(flat, 1, keep[..., None].expand(-1, -1, channels))
        parts.append(flat.reshape(-1, channels))
        progress(min(start + BATCH, ws.shape[0]), total, stage="features")
    return torch.cat(parts)


def build_catalog(
    backend: Backend,
    ws: torch.Tensor,
    layer: str,
    k: int,
    seed: int = 0,
    restarts: int = 3,
    segmenter: Any = None,
    progress: Progress = no_progress,
    standardize: bool = False,
) -> Catalog:
    """Cluster `layer` over the samples `ws` and compute every style layer's contributions (Eq. 1).

    As the paper, k-means sees the raw activation vectors; `standardize` first scales each
    channel to zero mean and unit variance over the samples (stored as `mean`/`std` either way).
    """
    import torch

    from latentedit.methods.localstyle_kmeans import assign, spherical_kmeans

    check_layer(backend, layer)
    count = ws.shape[0]
    total = 2 * count + 1
    generator = torch.Generator().manual_seed(int(seed))
    points = _sample_points(backend, ws, layer, generator, progress, total)
    if standardize:
        mean, std = points.mean(dim=0), points.std(dim=0).clamp_min(1e-8)
    else:
        mean, std = torch.zeros(points.shape[1]), torch.ones(points.shape[1])
    clustering = spherical_kmeans((points - mean) / std, k, seed=seed, restarts=restarts)
    del points
    progress(count + 1, total, stage="k-means", cosine=clustering.objective)

    sums = _ContributionSums()
    parts_count = len(segmenter.parts) if segmenter is not None else 0
    overlap = torch.zeros(parts_count, k, dtype=torch.long)
    cluster_pixels = torch.zeros(k, dtype=torch.long)
    inputs = style_inputs(backend)
    sources = list(dict.fromkeys(inputs))
    for start in range(0, count, BATCH):
        batch = ws[start : start + BATCH]
        with torch.inference_mode():
            features = backend.features(batch)
        clustered = features[layer]
        labels, _ = assign(unit_vectors(clustered, mean, std), clustering.centroids)
        labels = labels.reshape(clustered.shape[0], *clustered.shape[-2:])
        cluster_pixels += torch.bincount(labels.flatten(), minlength=k)
        by_size: dict[int, torch.Tensor] = {}
        for source in sources:
            activation = features[source] if source is not None else _constant_input(backend, batch.shape[0])
            size = activation.shape[-1]
            if size not in by_size:
                by_size[size] = memberships(labels, k, size)
            sums.add(source or "", activation, by_size[size])
        if segmenter is not None:
            with torch.inference_mode():
                parts = segmenter.segment(backend.synthesize(batch)).long().cpu()
            at_image = resize_labels(labels, tuple(parts.shape[-2:]))
            overlap += torch.bincount((parts * k + at_image).flatten(), minlength=parts_count * k).reshape(-1, k)
        progress(count + 1 + min(start + BATCH, count), total, stage="contributions")
    fraction = (cluster_pixels.double() / cluster_pixels.sum()).tolist()
    matrices = sums.matrices()
    return Catalog(
        layer=layer,
        centroids=clustering.centroids,
        mean=mean,
        std=std,
        contributions={
            name: matrices[source or ""].clone() for name, source in zip(backend.style_layers, inputs, strict=True)
        },
        cluster_fraction=[round(value, 6) for value in fraction],
        objective=clustering.objective,
        iterations=clustering.iterations,
        overlap=overlap if segmenter is not None else None,
        part_area=overlap.sum(dim=1) if segmenter is not None else None,
        cluster_area=overlap.sum(dim=0) if segmenter is not None else None,
    )


def catalog_tensors(catalog: Catalog) -> dict[str, torch.Tensor]:
    """The tensors an edit file stores: contributions per style layer, centroids, standardisation."""
    tensors = {f"contribution.{name}": m for name, m in catalog.contributions.items()}
    tensors.update({"centroids": catalog.centroids, "cluster_mean": catalog.mean, "cluster_std": catalog.std})
    return tensors


def check_catalog(edit: Edit, backend: Backend) -> None:
    """The edit is a catalog for this backend's style layers; one line per problem."""
    from latentedit.errors import IncompatibleEditError

    centroids = edit.tensors.get("centroids")
    if centroids is None or "cluster_mean" not in edit.tensors:
        raise IncompatibleEditError(f"Edit {edit.name!r} is not a local-style catalog (no 'centroids').")
    k = centroids.shape[0]
    for name, weight in zip(backend.style_layers, backend.affine_weights(), strict=True):
        m = edit.tensors.get(f"contribution.{name}")
        if m is None or tuple(m.shape) != (k, weight.shape[0]):
            found = "missing" if m is None else f"of shape {tuple(m.shape)}"
            raise IncompatibleEditError(
                f"Edit {edit.name!r}: contribution.{name} is {found}; "
                f"backend {backend.name} needs ({k}, {weight.shape[0]}). Was it made for another generator?"
            )


def cluster_maps(backend: Backend, edit: Edit, ws: torch.Tensor) -> torch.Tensor:
    """Each sample's cluster at every position of the catalog's layer: ``[N, h, w]`` ids."""
    import torch

    from latentedit.methods.localstyle_kmeans import assign

    layer = str(edit.params["layer"])
    check_layer(backend, layer)
    with torch.inference_mode():
        features = backend.features(ws, [layer])[layer]
    vectors = unit_vectors(features, edit.tensors["cluster_mean"].float(), edit.tensors["cluster_std"].float())
    labels, _ = assign(vectors, edit.tensors["centroids"].float())
    return labels.reshape(features.shape[0], *features.shape[-2:])


KELLY = (
    "F3C300 875692 F38400 A1CAF1 BE0032 C2B280 848482 008856 E68FAC 0067A5 "
    "F99379 604E97 F6A600 B3446C DCD300 882D17 8DB600 654522 E25822 2B3D26"
).split()
"""Kelly's colours of maximum contrast (without white and black): cluster colours of the pictures."""


def palette(k: int) -> list[tuple[int, int, int]]:
    """K well-separated colours: Kelly's 20, then golden-ratio hues."""
    colours = [(int(code[:2], 16), int(code[2:4], 16), int(code[4:], 16)) for code in KELLY[:k]]
    for index in range(len(colours), k):
        hue = (index * 0.618_033_988_75) % 1.0
        saturation, value = (0.85, 0.95) if index % 2 == 0 else (0.6, 0.75)
        red, green, blue = colorsys.hsv_to_rgb(hue, saturation, value)
        colours.append((round(red * 255), round(green * 255), round(blue * 255)))
    return colours


def overlay(images: np.ndarray, labels: np.ndarray, k: int, alpha: float = 0.55) -> np.ndarray:
    """Images ``[N, H, W, 3]`` uint8 tinted by cluster colour (labels ``[N, H, W]``)."""
    import numpy as np

    colours = np.asarray(palette(k), dtype=np.float32)[labels]
    return ((1 - alpha) * images.astype(np.float32) + alpha * colours).round().clip(0, 255).astype(np.uint8)


def _legend(width: int, k: int, names: dict[int, list[str]]) -> np.ndarray:
    """Swatches with cluster ids (and region names) wrapped into rows of `width` pixels."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    entries = [f"{index} {'+'.join(names.get(index, []))}".strip() for index in range(k)]
    cell = max(64, 14 + max(int(font.getlength(text)) for text in entries) + 10)
    columns = max(1, width // cell)
    rows = -(-k // columns)
    image = Image.new("RGB", (width, rows * 18 + 6), "white")
    draw = ImageDraw.Draw(image)
    for index, (text, colour) in enumerate(zip(entries, palette(k), strict=True)):
        left, top = (index % columns) * cell + 4, (index // columns) * 18 + 4
        draw.rectangle((left, top, left + 11, top + 11), fill=colour, outline="black")
        draw.text((left + 15, top), text, fill="black", font=font)
    return np.asarray(image)


def catalog_picture(
    backend: Backend,
    edit: Edit,
    path: str | Path,
    samples: int = 6,
    seed: int = PREVIEW_SEED,
    force: bool = False,
) -> Path:
    """A PNG: a few samples (top row) over their cluster maps (bottom row), and a legend of ids."""
    import numpy as np
    import torch

    from latentedit.images import grid, save_png, to_uint8

    k = edit.tensors["centroids"].shape[0]
    with torch.inference_mode():
        ws = backend.mapping(backend.sample_z(samples, seed))
        images = to_uint8(backend.synthesize(ws))
    labels = resize_labels(cluster_maps(backend, edit, ws), images.shape[1:3]).numpy()
    scale = max(1, 192 // images.shape[1])
    tiles = np.concatenate([images, overlay(images, labels, k)]).repeat(scale, axis=1).repeat(scale, axis=2)
    picture = grid(tiles, columns=samples, pad=2)
    names: dict[int, list[str]] = {}
    for name, ids in region_labels(edit).items():
        for index in ids:
            names.setdefault(index, []).append(name)
    return save_png(np.concatenate([picture, _legend(picture.shape[1], k, names)]), path, force)


def region_labels(edit: Edit) -> dict[str, list[int]]:
    """The catalog's named regions: name -> cluster ids."""
    labels = edit.params.get("labels") or {}
    return {str(name): [int(index) for index in ids] for name, ids in labels.items()}
