"""StyleGAN2 mapping network: z (and an optional label c) to w, with truncation around `w_avg`."""

from __future__ import annotations

import torch

from latentedit.nets.layers import FullyConnectedLayer
from latentedit.nets.ops import normalize_2nd_moment


class MappingNetwork(torch.nn.Module):
    """Same parameters (`embed`, `fc{i}`), buffer (`w_avg`) and forward math as the official `MappingNetwork`.

    `num_ws=None` returns `[N, w_dim]` (the discriminator's label mapping); otherwise w is
    broadcast to `[N, num_ws, w_dim]`. `w_avg` exists only when `num_ws` and `w_avg_beta`
    are both set, as officially.
    """

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int | None,
        num_layers: int = 8,
        embed_features: int | None = None,
        layer_features: int | None = None,
        activation: str = "lrelu",
        lr_multiplier: float = 0.01,
        w_avg_beta: float | None = 0.995,
    ) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.num_ws = num_ws
        self.num_layers = num_layers
        self.w_avg_beta = w_avg_beta
        if embed_features is None:
            embed_features = w_dim
        if c_dim == 0:
            embed_features = 0
        if layer_features is None:
            layer_features = w_dim
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for idx in range(num_layers):
            layer = FullyConnectedLayer(
                features[idx], features[idx + 1], activation=activation, lr_multiplier=lr_multiplier
            )
            setattr(self, f"fc{idx}", layer)
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def _inputs(self, z: torch.Tensor | None, c: torch.Tensor | None) -> torch.Tensor:
        parts = []
        if self.z_dim > 0:
            if z is None or z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ValueError(f"z must have shape [N, {self.z_dim}], got {None if z is None else list(z.shape)}")
            parts.append(normalize_2nd_moment(z.to(torch.float32)))
        if self.c_dim > 0:
            if c is None or c.ndim != 2 or c.shape[1] != self.c_dim:
                raise ValueError(f"c must have shape [N, {self.c_dim}], got {None if c is None else list(c.shape)}")
            parts.append(normalize_2nd_moment(self.embed(c.to(torch.float32))))
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]

    def forward(
        self,
        z: torch.Tensor | None,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1,
        truncation_cutoff: int | None = None,
        skip_w_avg_update: bool = False,
    ) -> torch.Tensor:
        """w `[N, num_ws, w_dim]` (or `[N, w_dim]` with `num_ws=None`).

        Truncation replaces w by `lerp(w_avg, w, psi)`, for the first `truncation_cutoff`
        ws only if given. In training mode `w_avg` tracks the batch mean, as officially.
        """
        x = self.map(z, c)
        if hasattr(self, "w_avg") and self.training and not skip_w_avg_update:
            self.update_w_avg(x)
        return self.broadcast_and_truncate(x, truncation_psi, truncation_cutoff)

    def map(self, z: torch.Tensor | None, c: torch.Tensor | None = None) -> torch.Tensor:
        """w `[N, w_dim]`: normalised z (and embedded c) through the fc layers."""
        x = self._inputs(z, c)
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        return x

    def update_w_avg(self, w: torch.Tensor) -> None:
        """Move `w_avg` towards the batch mean of `w` `[N, w_dim]` (decay `w_avg_beta`)."""
        self.w_avg.copy_(w.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))

    def broadcast_and_truncate(
        self, x: torch.Tensor, truncation_psi: float = 1, truncation_cutoff: int | None = None
    ) -> torch.Tensor:
        """Repeat w `num_ws` times (if set) and lerp the first `truncation_cutoff` (all if None) towards `w_avg`."""
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            if not hasattr(self, "w_avg"):
                raise ValueError("truncation needs w_avg, which this mapping network does not track")
            w_avg = self.w_avg.to(x.dtype)
            if self.num_ws is None or truncation_cutoff is None:
                x = w_avg.lerp(x, truncation_psi)
            else:
                x = torch.cat([w_avg.lerp(x[:, :truncation_cutoff], truncation_psi), x[:, truncation_cutoff:]], dim=1)
        return x
