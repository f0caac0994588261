"""The semantic catalog of Editing in Style (Sec. 3.1, App. A): clusters and channel contributions.

Spherical k-means over the per-pixel activation vectors of one generator layer (each vector
unit-normalised; optionally each channel standardised first) gives K clusters and, per
sample, a membership map U. Several layers can be clustered together (``b32.conv1+b64.conv0``):
each pixel's vector is then the concatenation of every layer's unit vector, coarser layers
upsampled bilinearly to the finest one, with each resolution weighted equally. The
contribution of channel c to cluster k (Eq. 1) is

    M[k, c] = 1/(N·H·W) Σ_{n,h,w} A[n, c, h, w]² · U[n, k, h, w]

with A standardised to zero mean and unit variance per channel, so Σ_k M[k, c] = 1: M[k, c]
is the share of channel c's energy that falls in cluster k. It is computed for every style
layer on the activation that layer's style multiplies (its conv input: the previous conv's
output, or for the first layer the synthesis input: StyleGAN2's constant, StyleGAN3's Fourier
features), with U resized to that resolution
(nearest when upsampling, area fractions when downsampling, so memberships still sum to 1).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.api import LatentEditError, Progress, conv_layers_at, no_progress

if TYPE_CHECKING:
    import numpy as np
    import torch

    from latentedit.api import Backend, Edit

BATCH = 25
"""Samples per forward pass while building a catalog (bounds memory at high resolutions)."""
MAX_POINTS = 1 << 16
"""Activation vectors k-means is fitted on (a per-sample random subset when there are more)."""
PREVIEW_SEED = 2020
"""Seed of the samples a catalog picture shows."""
AUTO_LAYER = "auto"
SMALL_OUTPUT = 128
"""Generators up to this size cluster their finest layers too (see `resolve_layers`)."""


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
    return list(backend.conv_layers)


def check_layer(backend: Backend, layer: str) -> None:
    names = conv_layers(backend)
    if layer not in names:
        raise LatentEditError(
            f"Layer {layer!r} is not a conv layer of backend {backend.name}. "
            f"Choose one of: {', '.join(names)} (e.g. -o layer={names[len(names) // 2]}), "
            "several joined by '+', or auto."
        )


def resolve_layers(backend: Backend, spec: str) -> list[str]:
    """The layers a catalog clusters, from ``auto``, one conv layer, or several joined by ``+``.

    ``auto`` is the paper's first 32x32 layer on generators above 128 px. On smaller ones a
    6-pixel eye covers three 32x32 cells, too few for a cluster to trace it, so ``auto``
    clusters the last conv at half the output size with the first two at the output size (at
    64 px: b32.conv1+b64.conv0+b64.conv1 on StyleGAN2, L7+L8+L9 on StyleGAN3); measured in
    docs/localstyle.md.
    """
    if spec.strip() == AUTO_LAYER:
        size = int(backend.resolution)
        if size > SMALL_OUTPUT:
            layers = conv_layers_at(backend, 32)[:1]
        else:
            layers = conv_layers_at(backend, size // 2)[-1:] + conv_layers_at(backend, size)[:2]
        layers = layers or conv_layers(backend)[-3:]
    else:
        layers = [layer.strip() for layer in spec.split("+") if layer.strip()]
    if not layers or len(set(layers)) != len(layers):
        raise LatentEditError(f"Layer {spec!r}: name one or more distinct conv layers joined by '+', or auto.")
    for layer in layers:
        check_layer(backend, layer)
    return layers


def stacked_activations(features: dict[str, torch.Tensor], layers: list[str]) -> torch.Tensor:
    """The layers' activations ``[N, ΣC, h, w]`` at the finest one's size (others upsampled bilinearly)."""
    import torch
    import torch.nn.functional as F

    size = max(tuple(features[layer].shape[-2:]) for layer in layers)
    stack = [
        features[layer].float()
        if tuple(features[layer].shape[-2:]) == size
        else F.interpolate(features[layer].float(), size=size, mode="bilinear", align_corners=False)
        for layer in layers
    ]
    return torch.cat(stack, dim=1) if len(stack) > 1 else stack[0]


def layer_groups(features: dict[str, torch.Tensor], layers: list[str]) -> list[tuple[int, float]]:
    """(channels, weight) per layer: weights 1/sqrt(layers of that resolution), so each resolution counts once.

    Without it the two 64 px convs would outweigh the more semantic 32 px layer two to one.
    """
    sizes = [tuple(features[layer].shape[-2:]) for layer in layers]
    pairs = zip(layers, sizes, strict=True)
    return [(int(features[layer].shape[1]), sizes.count(size) ** -0.5) for layer, size in pairs]


def unit_vectors(
    features: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, groups: list[tuple[int, float]] | None = None
) -> torch.Tensor:
    """``[N, C, h, w]`` activations -> (standardised,) unit-normalised pixel vectors ``[N·h·w, C]``."""
    flat = features.detach().float().cpu().permute(0, 2, 3, 1).reshape(-1, features.shape[1])
    return unit_points(flat, mean, std, groups)


def unit_points(
    points: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, groups: list[tuple[int, float]] | None = None
) -> torch.Tensor:
    """Rows ``[P, C]`` standardised, each layer's slice (`groups`) made unit length and weighted, then the whole."""
    import torch

    from latentedit.methods.localstyle_kmeans import unit_rows

    scaled = (points - mean) / std
    if groups is None or len(groups) == 1:
        return unit_rows(scaled)
    slices = torch.split(scaled, [channels for channels, _ in groups], dim=1)
    return unit_rows(torch.cat([unit_rows(part) * weight for part, (_, weight) in zip(slices, groups, strict=True)], 1))


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
    backend: Backend, ws: torch.Tensor, layers: list[str], generator: torch.Generator, progress: Progress, total: int
) -> tuple[torch.Tensor, list[tuple[int, float]]]:
    """Raw activation vectors ``[P, ΣC]`` of `layers` over the samples (a random subset per sample if many)."""
    import torch

    parts = []
    groups: list[tuple[int, float]] = []
    for start in range(0, ws.shape[0], BATCH):
        with torch.inference_mode():
            by_layer = backend.features(ws[start : start + BATCH], layers)
        groups = layer_groups(by_layer, layers)
        features = stacked_activations(by_layer, layers).cpu()
        count, channels, height, width = features.shape
        per_sample = min(height * width, max(1, MAX_POINTS // ws.shape[0]))
        flat = features.permute(0, 2, 3, 1).reshape(count, height * width, channels)
        if per_sample < height * width:
            keep = torch.stack([torch.randperm(height * width, generator=generator)[:per_sample] for _ in range(count)])
            flat = torch.gather(flat, 1, keep[..., None].expand(-1, -1, channels))
        parts.append(flat.reshape(-1, channels))
        progress(min(start + BATCH, ws.shape[0]), total, stage="features")
    return torch.cat(parts), groups


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

    `layer` is one conv layer, several joined by '+', or ``auto`` (`resolve_layers`). As the
    paper, k-means sees the raw activation vectors; `standardize` first scales each channel to
    zero mean and unit variance over the samples (stored as `mean`/`std` either way).
    """
    import torch

    from latentedit.methods.localstyle_kmeans import assign, spherical_kmeans

    layers = resolve_layers(backend, layer)
    count = ws.shape[0]
    total = 2 * count + 1
    generator = torch.Generator().manual_seed(int(seed))
    points, groups = _sample_points(backend, ws, layers, generator, progress, total)
    if standardize:
        mean, std = points.mean(dim=0), points.std(dim=0).clamp_min(1e-8)
    else:
        mean, std = torch.zeros(points.shape[1]), torch.ones(points.shape[1])
    clustering = spherical_kmeans(unit_points(points, mean, std, groups), k, seed=seed, restarts=restarts)
    del points
    progress(count + 1, total, stage="k-means", cosine=clustering.objective)

    sums = _ContributionSums()
    parts_count = len(segmenter.parts) if segmenter is not None else 0
    overlap = torch.zeros(parts_count, k, dtype=torch.long)
    cluster_pixels = torch.zeros(k, dtype=torch.long)
    inputs = backend.style_inputs
    sources = list(dict.fromkeys(inputs))
    needed = list(dict.fromkeys([*layers, *(source for source in sources if source is not None)]))
    for start in range(0, count, BATCH):
        batch = ws[start : start + BATCH]
        with torch.inference_mode():
            features = backend.features(batch, needed)
            first = backend.synthesis_input(batch)
        clustered = stacked_activations(features, layers)
        labels, _ = assign(unit_vectors(clustered, mean, std, groups), clustering.centroids)
        labels = labels.reshape(clustered.shape[0], *clustered.shape[-2:])
        cluster_pixels += torch.bincount(labels.flatten(), minlength=k)
        by_size: dict[int, torch.Tensor] = {}
        for source in sources:
            activation = features[source] if source is not None else first
            if activation is None:
                continue
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
    widths = [int(weight.shape[0]) for weight in backend.affine_weights()]
    return Catalog(
        layer="+".join(layers),
        centroids=clustering.centroids,
        mean=mean,
        std=std,
        contributions={
            name: _contribution(matrices, source, k, width)
            for name, source, width in zip(backend.style_layers, inputs, widths, strict=True)
        },
        cluster_fraction=[round(value, 6) for value in fraction],
        objective=clustering.objective,
        iterations=clustering.iterations,
        overlap=overlap if segmenter is not None else None,
        part_area=overlap.sum(dim=1) if segmenter is not None else None,
        cluster_area=overlap.sum(dim=0) if segmenter is not None else None,
    )


def _contribution(matrices: dict[str, torch.Tensor], source: str | None, k: int, width: int) -> torch.Tensor:
    """A style layer's M ``[K, C]``; zero where its style multiplies no activation (StyleGAN3's input
    style turns and shifts the Fourier features), so no region ever moves it."""
    import torch

    matrix = matrices.get(source or "")
    return matrix.clone() if matrix is not None else torch.zeros(k, width)


def catalog_tensors(catalog: Catalog) -> dict[str, torch.Tensor]:
    """The tensors an edit file stores: contributions per style layer, centroids, standardisation."""
    tensors = {f"contribution.{name}": m for name, m in catalog.contributions.items()}
    tensors.update({"centroids": catalog.centroids, "cluster_mean": catalog.mean, "cluster_std": catalog.std})
    return tensors


def check_catalog(edit: Edit, backend: Backend) -> None:
    """The edit is a catalog for this backend's style layers; one line per problem."""
    from latentedit.api import IncompatibleEditError

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
    """Each sample's cluster at every position of the catalog's (finest) layer: ``[N, h, w]`` ids."""
    import torch

    from latentedit.methods.localstyle_kmeans import assign

    layers = resolve_layers(backend, str(edit.params["layer"]))
    with torch.inference_mode():
        by_layer = backend.features(ws, layers)
    features = stacked_activations(by_layer, layers)
    mean, std = edit.tensors["cluster_mean"].float(), edit.tensors["cluster_std"].float()
    if mean.shape[0] != features.shape[1]:
        raise LatentEditError(
            f"Catalog {edit.name!r} clusters {mean.shape[0]} channels; layers {'+'.join(layers)} of backend "
            f"{backend.name} have {features.shape[1]}. Was it made for another generator?"
        )
    vectors = unit_vectors(features, mean, std, layer_groups(by_layer, layers))
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


def _legend(width: int, entries: list[str]) -> np.ndarray:
    """Swatches in palette order with their texts, wrapped into rows of `width` pixels."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    cell = max(64, 14 + max(int(font.getlength(text)) for text in entries) + 10)
    columns = max(1, width // cell)
    rows = -(-len(entries) // columns)
    image = Image.new("RGB", (width, rows * 18 + 6), "white")
    draw = ImageDraw.Draw(image)
    for index, (text, colour) in enumerate(zip(entries, palette(len(entries)), strict=True)):
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
    """A PNG: a few samples (top row) over their cluster maps, and a legend of ids.

    A labelled catalog gets a third row, its named regions (one colour per name; a cluster
    under several names shows the first), with their own legend: with K = 128 the cluster
    colours alone cannot be told apart.
    """
    import numpy as np
    import torch

    from latentedit.api import grid, save_png, to_uint8

    k = edit.tensors["centroids"].shape[0]
    with torch.inference_mode():
        ws = backend.mapping(backend.sample_z(samples, seed))
        images = to_uint8(backend.synthesize(ws))
    labels = resize_labels(cluster_maps(backend, edit, ws), images.shape[1:3]).numpy()
    scale = max(1, 192 // images.shape[1])
    regions = region_labels(edit)
    names: dict[int, list[str]] = {}
    for name, ids in regions.items():
        for index in ids:
            names.setdefault(index, []).append(name)
    rows = [images, overlay(images, labels, k)]
    if regions:
        region_of = np.array([list(regions).index(names[index][0]) if index in names else -1 for index in range(k)])
        named = region_of[labels]
        shown = overlay(images, np.maximum(named, 0), len(regions))
        rows.append(np.where((named >= 0)[..., None], shown, images))
    tiles = np.concatenate(rows).repeat(scale, axis=1).repeat(scale, axis=2)
    picture = grid(tiles, columns=samples, pad=2)
    legends = [_legend(picture.shape[1], [f"{index} {'+'.join(names.get(index, []))}".strip() for index in range(k)])]
    if regions:
        legends.append(_legend(picture.shape[1], list(regions)))
    return save_png(np.concatenate([picture, *legends]), path, force)


def region_labels(edit: Edit) -> dict[str, list[int]]:
    """The catalog's named regions: name -> cluster ids."""
    labels = edit.params.get("labels") or {}
    return {str(name): [int(index) for index in ids] for name, ids in labels.items()}
