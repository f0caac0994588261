"""FEditNet's objectives: the feature contrastive loss (Eqs. 10-11) and the adversarial loss (Eqs. 7-8).

The feature contrastive loss is CUT's PatchNCE applied to generator features: at each chosen
layer, a location of the edited synthesis (the query) must pick out the same location of the
original synthesis (its positive) among the other sampled locations of that image (negatives).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

HEAD_INIT_STD = 0.02
"""CUT's `init_net(..., 'normal', 0.02)` for the projection heads (the original code reuses it)."""


def projection_heads(channels: list[int], width: int, generator: torch.Generator) -> torch.nn.ModuleList:
    """One small MLP H_l per layer (Linear, ReLU, Linear; SimCLR's head, as in CUT), N(0, 0.02) weights."""
    import torch

    heads = torch.nn.ModuleList()
    for count in channels:
        head = torch.nn.Sequential(torch.nn.Linear(count, width), torch.nn.ReLU(), torch.nn.Linear(width, width))
        with torch.no_grad():
            for module in head:
                if isinstance(module, torch.nn.Linear):
                    module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * HEAD_INIT_STD)
                    module.bias.zero_()
        heads.append(head)
    return heads


def sample_locations(sizes: list[int], patches: int, generator: torch.Generator) -> list[torch.Tensor]:
    """For each layer of ``H·W = size`` locations, `patches` distinct random ones (all if fewer)."""
    import torch

    return [torch.randperm(size, generator=generator)[: min(patches, size)] for size in sizes]


def gather_patches(features: torch.Tensor, locations: torch.Tensor) -> torch.Tensor:
    """Feature vectors ``[N, P, C]`` of ``[N, C, H, W]`` maps at flat `locations` (the same for every image)."""
    return features.flatten(2)[:, :, locations.to(features.device)].transpose(1, 2)


def patch_nce(query: torch.Tensor, key: torch.Tensor, tau: float) -> torch.Tensor:
    """Eq. 10 for every query: ``[N, P]`` losses.

    ``query`` and ``key`` are ``[N, P, K]``; query p's positive is key p of the same image, its
    negatives are the other P-1 keys of that image. Vectors are L2-normalised; keys are detached
    (as in CUT), so only the edited side receives gradients.
    """
    import torch

    query = torch.nn.functional.normalize(query, dim=-1, eps=1e-7)
    key = torch.nn.functional.normalize(key.detach(), dim=-1, eps=1e-7)
    logits = query @ key.transpose(1, 2) / tau
    count, patches = logits.shape[:2]
    targets = torch.arange(patches, device=logits.device).expand(count, patches)
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view(
        count, patches
    )


def feature_contrastive_loss(
    original: list[torch.Tensor],
    edited: list[torch.Tensor],
    locations: list[torch.Tensor],
    tau: float,
    weights: list[float],
    heads: torch.nn.ModuleList | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Eq. 11: ``(1/L) Σ_l w_l · mean_s l(r̂_l^s, r_l^s, r_l^{S∖s})``, and each layer's unweighted term.

    ``original``/``edited`` are per-layer feature maps ``[N, C, H, W]`` of the two syntheses;
    ``heads`` are the per-layer MLPs H_l (None: identity, i.e. normalised raw features).
    Averaging over locations instead of summing (Eq. 11) follows the original code and keeps the
    loss scale independent of the number of sampled patches.
    """
    import torch

    terms = []
    for index, (source, target, where) in enumerate(zip(original, edited, locations, strict=True)):
        key, query = gather_patches(source, where), gather_patches(target, where)
        if heads is not None:
            with torch.no_grad():
                key = heads[index](key)
            query = heads[index](query)
        terms.append(patch_nce(query, key, tau).mean())
    total = sum(weight * term for weight, term in zip(weights, terms, strict=True)) / len(terms)
    return total, [term.detach() for term in terms]


def assessor_loss(positive_logits: torch.Tensor, edited_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 7: ``-E log D(x) - E log(1 - D(x_edited))`` with D = sigmoid(logit), i.e. softplus form."""
    import torch

    softplus = torch.nn.functional.softplus
    return softplus(-positive_logits).mean() + softplus(edited_logits).mean()


def direction_adversarial_loss(edited_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 8, the non-saturating generator loss ``-E log D(x_edited)`` (the original's `g_nonsaturating_loss`)."""
    import torch

    return torch.nn.functional.softplus(-edited_logits).mean()
