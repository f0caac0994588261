"""The Hessian penalty (Peebles et al., ECCV 2020): a weak prior that makes each latent
coordinate act on the image on its own.

For a function f of a latent w, the off-diagonal terms of its Hessian say how much moving along
one coordinate changes what moving along another does. With them at zero, what a step along
one coordinate does to f no longer depends on the other coordinates, so it is the same from
every face that shares that coordinate: closer to what one editing direction per attribute
needs. The penalty is tied to W's coordinate axes (that is how it disentangles); it asks
nothing of other directions. The estimator needs no second derivatives: for a Rademacher
vector v, the central second difference (f(w + εv) − 2f(w) + f(w − εv)) / ε² estimates vᵀHv,
and its variance over v is 2 Σ_{i≠j} H_ij², the off-diagonal part alone.

This module's variant: the variance over `k` draws of v is taken per output element, reduced
by the maximum over elements as in the paper, then averaged over the batch (the paper takes
one maximum over the whole batch, which a single odd sample decides).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def second_differences(
    function: Callable[[torch.Tensor], torch.Tensor], w: torch.Tensor, k: int = 2, epsilon: float = 0.1
) -> torch.Tensor:
    """``[k, N, ...]`` estimates of vᵀHv at each of the N latents ``w [N, D]``, one per random v."""
    centre = function(w)
    estimates = []
    for _ in range(k):
        step = epsilon * (torch.randint(0, 2, w.shape, device=w.device, dtype=w.dtype) * 2 - 1)
        estimates.append((function(w + step) - 2 * centre + function(w - step)) / epsilon**2)
    return torch.stack(estimates)


def hessian_penalty(
    function: Callable[[torch.Tensor], torch.Tensor], w: torch.Tensor, k: int = 2, epsilon: float = 0.1
) -> torch.Tensor:
    """Scalar: the batch mean of the largest (over output elements) variance of vᵀHv over v."""
    if k < 2:
        raise ValueError("The Hessian penalty needs k >= 2 random directions (a variance over them).")
    variance = second_differences(function, w, k, epsilon).var(dim=0, unbiased=True)
    return variance.flatten(1).amax(dim=1).mean()
