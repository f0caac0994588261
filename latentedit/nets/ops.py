"""Elementwise building blocks: bias + activation + gain + clamp, and 2nd-moment normalisation.

The official StyleGAN2-ADA code runs these through a fused CUDA kernel (`bias_act`) or, on
CPU, through a chain of out-of-place ops. Here they are plain torch ops that work in place
when no autograd graph is being recorded, which halves the memory traffic at high resolution.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Activation:
    """An activation function with the default gain StyleGAN2 multiplies its output by."""

    func: Callable[[torch.Tensor, float, bool], torch.Tensor]
    def_alpha: float
    def_gain: float


def _linear(x: torch.Tensor, alpha: float, inplace: bool) -> torch.Tensor:
    return x


def _relu(x: torch.Tensor, alpha: float, inplace: bool) -> torch.Tensor:
    return F.relu(x, inplace=inplace)


def _lrelu(x: torch.Tensor, alpha: float, inplace: bool) -> torch.Tensor:
    return F.leaky_relu(x, alpha, inplace=inplace)


def _tanh(x: torch.Tensor, alpha: float, inplace: bool) -> torch.Tensor:
    return x.tanh_() if inplace else x.tanh()


def _sigmoid(x: torch.Tensor, alpha: float, inplace: bool) -> torch.Tensor:
    return x.sigmoid_() if inplace else x.sigmoid()


def _elu(x: torch.Tensor, alpha: float, inplace: bool) -> torch.Tensor:
    return F.elu(x, inplace=inplace)


def _selu(x: torch.Tensor, alpha: float, inplace: bool) -> torch.Tensor:
    return F.selu(x, inplace=inplace)


def _softplus(x: torch.Tensor, alpha: float, inplace: bool) -> torch.Tensor:
    return F.softplus(x)


def _swish(x: torch.Tensor, alpha: float, inplace: bool) -> torch.Tensor:
    return x * x.sigmoid()


# Same names, default alphas and gains as the official `bias_act.activation_funcs`.
ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(_linear, 0.0, 1.0),
    "relu": Activation(_relu, 0.0, math.sqrt(2)),
    "lrelu": Activation(_lrelu, 0.2, math.sqrt(2)),
    "tanh": Activation(_tanh, 0.0, 1.0),
    "sigmoid": Activation(_sigmoid, 0.0, 1.0),
    "elu": Activation(_elu, 0.0, 1.0),
    "selu": Activation(_selu, 0.0, 1.0),
    "softplus": Activation(_softplus, 0.0, 1.0),
    "swish": Activation(_swish, 0.0, math.sqrt(2)),
}

# Activations that commute with a positive scale, so the gain can be applied before them.
_POSITIVELY_HOMOGENEOUS = frozenset({"linear", "relu", "lrelu"})


def activation(name: str) -> Activation:
    """Look up an activation by its official name; a KeyError names the known ones."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise KeyError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}") from None


def is_homogeneous(name: str) -> bool:
    """True if `act(g * x) == g * act(x)` for g > 0, which lets callers fold the gain into weights."""
    return name in _POSITIVELY_HOMOGENEOUS


def can_work_in_place() -> bool:
    """In-place updates are safe only when autograd is not recording (no_grad / inference_mode)."""
    return not torch.is_grad_enabled()


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    act: str = "linear",
    alpha: float | None = None,
    gain: float | None = None,
    clamp: float | None = None,
    dim: int = 1,
) -> torch.Tensor:
    """`clamp(act(x + b) * gain, -clamp, clamp)`, the official `bias_act` semantics.

    `gain=None` means the activation's default gain, `clamp=None` means no clamping. With
    autograd off, `x` is updated in place and returned: pass a tensor nobody else reads.
    """
    spec = activation(act)
    alpha = spec.def_alpha if alpha is None else float(alpha)
    gain = spec.def_gain if gain is None else float(gain)
    inplace = can_work_in_place()
    if b is not None:
        shape = [-1 if i == dim else 1 for i in range(x.ndim)]
        bias = b.to(x.dtype).reshape(shape)
        x = x.add_(bias) if inplace else x + bias
    x = spec.func(x, alpha, inplace)
    if gain != 1:
        x = x.mul_(gain) if inplace else x * gain
    if clamp is not None:
        x = x.clamp_(-clamp, clamp) if inplace else x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Scale to unit mean square along `dim`, as the official mapping network does for z and embed(c)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()
