"""Query vectors and conditioned style interpolation (Editing in Style, Sec. 3.2).

For a region with contributions m = M[region] ``[C]`` (clusters merged by summing their rows),
the query q ``[C]`` says how far each channel's style moves from the target toward the
reference: σ_G = σ_S + q ⊙ (σ_R − σ_S) (Eq. 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from latentedit.api import OptionError

if TYPE_CHECKING:
    import torch

MODES = ("sequential", "simultaneous")


def simultaneous_query(m: torch.Tensor, strength: float) -> torch.Tensor:
    """Eq. 4: q_c = min(1, λ·m_c) with λ = `strength`; every channel moves at once."""
    return (strength * m).clamp(max=1.0)


def sequential_query(m: torch.Tensor, epsilon: float, rho: float) -> torch.Tensor:
    """Eq. 5, solved greedily: channels by decreasing m_c get q_c = 1 while the out-of-region budget
    Σ q_c (1 − m_c) ≤ ε holds, and only where m_c > ρ / (1 + ρ)."""
    import torch

    order = torch.argsort(m, descending=True)
    spent = torch.cumsum(1 - m[order], dim=0)
    q = torch.zeros_like(m)
    q[order[spent <= epsilon + 1e-9]] = 1.0
    return q * (m > rho / (1 + rho)).to(m.dtype)


def query_vector(m: torch.Tensor, mode: str, strength: float, epsilon: float, rho: float) -> torch.Tensor:
    """q for one style layer. Sequential: the binary query scaled by `strength` (1 = the paper)."""
    check_query_settings(mode, epsilon, rho)
    if mode == "simultaneous":
        return simultaneous_query(m, strength)
    return strength * sequential_query(m, epsilon, rho)


def epsilon_values(epsilon: float | Sequence[float]) -> list[float]:
    """The ε given, as a list: one number, or one per style layer."""
    return [float(epsilon)] if isinstance(epsilon, (int, float)) else [float(value) for value in epsilon]


def layer_epsilons(epsilon: float | Sequence[float], layers: list[str]) -> list[float]:
    """ε for each style layer: one value for all of them, or one per layer, as the authors'
    `StyleInterpolator.interpolate_ys` takes it."""
    values = epsilon_values(epsilon)
    if len(values) == 1:
        return values * len(layers)
    if len(values) != len(layers):
        raise OptionError(
            f"epsilon has {len(values)} values; expected 1 (every layer) or {len(layers)}, one per style layer "
            f"of this catalog ({layers[0]} ... {layers[-1]})."
        )
    return values


def check_query_settings(mode: str, epsilon: float | Sequence[float], rho: float) -> None:
    if mode not in MODES:
        raise OptionError(f"Local-style mode {mode!r}: expected sequential or simultaneous.")
    values = epsilon_values(epsilon)
    if not values:
        raise OptionError("epsilon needs a value: one for every layer, or one per style layer.")
    for value in values:
        if not value >= 0:
            raise OptionError(f"epsilon={value}: the out-of-region budget must be >= 0.")
    if not rho >= 0:
        raise OptionError(f"rho={rho}: must be >= 0 (channels need m > rho / (1 + rho)).")


def interpolate_styles(
    target: list[torch.Tensor], reference: list[torch.Tensor], queries: list[torch.Tensor]
) -> list[torch.Tensor]:
    """Eq. 3 per style layer: σ_S + q ⊙ (σ_R − σ_S); a one-image reference broadcasts over the batch.
    `torch.lerp` gives σ_S exactly at q = 0 and σ_R exactly at q = 1, which the literal sum does not."""
    import torch

    pairs = (torch.broadcast_tensors(s, r.to(s)) for s, r in zip(target, reference, strict=True))
    return [torch.lerp(s, r, q.to(s)) for (s, r), q in zip(pairs, queries, strict=True)]
