"""Spherical k-means (Buchta et al. 2012), as Editing in Style (Sec. 3.1, App. A) uses it.

Points are unit-normalised and assigned to the centroid of highest cosine similarity; each
centroid is the normalised sum of its members. Initialisation is k-means++ on the chordal
distance ``‖a - b‖² = 2 - 2 cos(a, b)``, the best of a few seeded restarts is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from latentedit.api import LatentEditError

if TYPE_CHECKING:
    import torch

INIT_POINTS = 50_000
"""k-means++ seeds from at most this many points (a random subset): the rest adds nothing but time."""


@dataclass
class SphericalKMeans:
    """Unit centroids ``[K, C]``, each point's cluster ``[P]``, and the mean cosine to its centroid."""

    centroids: torch.Tensor
    labels: torch.Tensor
    objective: float
    iterations: int


def unit_rows(points: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    return points / points.norm(dim=1, keepdim=True).clamp_min(1e-12)


def assign(points: torch.Tensor, centroids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(cluster of each unit row ``[P]``, its cosine to that centroid ``[P]``)."""
    cosine, labels = (points @ centroids.T).max(dim=1)
    return labels, cosine


def _kmeans_plus_plus(points: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k distinct seeds, each drawn with probability proportional to its squared distance to the nearest seed."""
    import torch

    if points.shape[0] > INIT_POINTS:
        points = points[torch.randperm(points.shape[0], generator=generator)[:INIT_POINTS]]
    first = int(torch.randint(points.shape[0], (1,), generator=generator))
    seeds = [points[first]]
    nearest = (2 - 2 * points @ points[first]).clamp_min(0)
    for _ in range(1, k):
        total = float(nearest.sum())
        if total <= 0:
            raise LatentEditError(f"Cannot find {k} distinct clusters: the activations take fewer distinct directions.")
        index = int(torch.multinomial(nearest / total, 1, generator=generator))
        seeds.append(points[index])
        nearest = torch.minimum(nearest, (2 - 2 * points @ points[index]).clamp_min(0))
    return torch.stack(seeds)


def _lloyd(points: torch.Tensor, centroids: torch.Tensor, iterations: int, tol: float) -> SphericalKMeans:
    import torch

    k = centroids.shape[0]
    previous = -2.0
    steps = 0
    while steps < iterations:
        steps += 1
        labels, cosine = assign(points, centroids)
        objective = float(cosine.mean())
        sums = torch.zeros_like(centroids).index_add_(0, labels, points)
        counts = torch.bincount(labels, minlength=k)
        empty = (counts == 0).nonzero().flatten()
        if len(empty):
            # Re-seed an empty cluster with the worst-represented points.
            worst = cosine.argsort()[: len(empty)]
            sums[empty] = points[worst]
        centroids = unit_rows(sums)
        if len(empty) == 0 and objective - previous <= tol:
            break
        previous = objective
    labels, cosine = assign(points, centroids)
    return SphericalKMeans(centroids, labels, float(cosine.mean()), steps)


def spherical_kmeans(
    points: torch.Tensor, k: int, seed: int = 0, restarts: int = 3, iterations: int = 100, tol: float = 1e-4
) -> SphericalKMeans:
    """Cluster the rows of `points` ``[P, C]`` by direction; the best of `restarts` seeded runs."""
    import torch

    if not 1 <= k <= points.shape[0]:
        raise LatentEditError(f"Cannot make {k} clusters from {points.shape[0]} activation vectors.")
    data = unit_rows(points.detach().float().cpu())
    generator = torch.Generator().manual_seed(int(seed))
    best: SphericalKMeans | None = None
    for _ in range(max(1, restarts)):
        result = _lloyd(data, _kmeans_plus_plus(data, k, generator), iterations, tol)
        if best is None or result.objective > best.objective:
            best = result
    assert best is not None
    return best
