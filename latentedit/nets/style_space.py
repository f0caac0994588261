"""S space shared by the StyleGAN2 and StyleGAN3 synthesis networks: styles, affine maps, shape checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from latentedit.nets.layers import FullyConnectedLayer


def affine_map(affine: FullyConnectedLayer, gain: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight `[C, w_dim]`, bias `[C]`) with `gain * affine(w) = w @ weight.T + bias`: a style as a linear map."""
    bias = affine.effective_bias()
    assert bias is not None, "style affines have a bias"
    return affine.effective_weight() * gain, bias * gain


class StyleSpaceNetwork(torch.nn.Module):
    """A synthesis network whose layers each read one w through an affine map (their "style").

    Subclasses set `style_layer_names`, `style_w_indices` (the ws index each style layer reads),
    `num_ws` and `w_dim`, and return the layers from `style_layers()`; each layer has
    `style(w)`, `style_affine()` and an `affine` with `out_features`.
    """

    style_layer_names: list[str]
    style_w_indices: list[int]
    num_ws: int
    w_dim: int

    def style_layers(self) -> Sequence[Any]:
        """The modules that take a style, in `style_layer_names` order."""
        raise NotImplementedError

    def styles(self, ws: torch.Tensor) -> list[torch.Tensor]:
        """S space: each style layer's modulation `[N, C_in]`, exactly what the layer multiplies in."""
        self._check_ws(ws)
        ws = ws.to(torch.float32)
        return [layer.style(ws[:, idx]) for layer, idx in zip(self.style_layers(), self.style_w_indices, strict=True)]

    def affine_weights(self) -> list[torch.Tensor]:
        """Effective affine weights `[C_in, w_dim]` per style layer: `styles(ws)[i] = w_i @ A_i.T + b_i`.

        Includes the equalized-lr gain and, for torgb layers, the torgb weight gain, so these
        are the exact linear maps from w to S (SeFa factorises them).
        """
        return [layer.style_affine()[0] for layer in self.style_layers()]

    def affine_biases(self) -> list[torch.Tensor]:
        """Effective affine biases `[C_in]` per style layer (see `affine_weights`)."""
        return [layer.style_affine()[1] for layer in self.style_layers()]

    def _check_ws(self, ws: torch.Tensor) -> None:
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")

    def _check_styles(self, styles: Sequence[torch.Tensor]) -> None:
        layers = self.style_layers()
        if len(styles) != len(layers):
            raise ValueError(f"expected {len(layers)} style tensors (one per style layer), got {len(styles)}")
        for name, layer, style in zip(self.style_layer_names, layers, styles, strict=True):
            channels = layer.affine.out_features
            if style.ndim != 2 or style.shape[1] != channels:
                raise ValueError(f"style for {name} must have shape [N, {channels}], got {list(style.shape)}")
