"""StyleGAN2 generator: mapping + synthesis, built from the official init kwargs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from latentedit.nets.config import jsonable
from latentedit.nets.mapping import MappingNetwork
from latentedit.nets.synthesis import NoiseMode, SynthesisNetwork


class Generator(torch.nn.Module):
    """Drop-in for the official StyleGAN2-ADA `Generator`: same kwargs, same state-dict keys.

    `init_kwargs` holds the constructor arguments as JSON data, so `Generator(**G.init_kwargs)`
    rebuilds the layout that `G.state_dict()` fills.
    """

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        mapping_kwargs: Mapping[str, Any] | None = None,
        synthesis_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        mapping_kwargs = dict(mapping_kwargs or {})
        synthesis_kwargs = dict(synthesis_kwargs or {})
        self.init_kwargs: dict[str, Any] = jsonable(
            {
                "z_dim": z_dim,
                "c_dim": c_dim,
                "w_dim": w_dim,
                "img_resolution": img_resolution,
                "img_channels": img_channels,
                "mapping_kwargs": mapping_kwargs,
                "synthesis_kwargs": synthesis_kwargs,
            }
        )
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.synthesis = SynthesisNetwork(
            w_dim=w_dim, img_resolution=img_resolution, img_channels=img_channels, **synthesis_kwargs
        )
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, num_ws=self.num_ws, **mapping_kwargs)

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1,
        truncation_cutoff: int | None = None,
        noise_mode: NoiseMode = "const",
        fused_modconv: bool | None = None,
        force_fp32: bool = True,
    ) -> torch.Tensor:
        """Images `[N, img_channels, R, R]` from z `[N, z_dim]` (and labels c `[N, c_dim]` if c_dim > 0)."""
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        img = self.synthesis(ws, noise_mode=noise_mode, fused_modconv=fused_modconv, force_fp32=force_fp32)
        assert isinstance(img, torch.Tensor)
        return img
