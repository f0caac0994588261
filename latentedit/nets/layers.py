"""Equalized-learning-rate layers shared by the generator and the discriminator.

Parameters are stored unscaled (`randn` init) and multiplied by a constant gain at run time,
exactly like the official `FullyConnectedLayer` and `Conv2dLayer`, so official state dicts
load unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from latentedit.nets import ops
from latentedit.nets.resample import conv2d_resample, setup_filter


class FullyConnectedLayer(torch.nn.Module):
    """`act(x @ (weight * weight_gain).T + bias * bias_gain)`; weight `[out, in]`, as officially."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation: str = "linear",
        lr_multiplier: float = 1,
        bias_init: float = 0,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight = torch.nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = torch.nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def effective_weight(self) -> torch.Tensor:
        """The weight actually applied, `[out, in]` (stored weight times the equalized-lr gain)."""
        return self.weight * self.weight_gain

    def effective_bias(self) -> torch.Tensor | None:
        """The bias actually applied, `[out]`, or None."""
        if self.bias is None:
            return None
        return self.bias * self.bias_gain if self.bias_gain != 1 else self.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.effective_weight().to(x.dtype)
        b = self.effective_bias()
        if b is not None:
            b = b.to(x.dtype)
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return ops.bias_act(x.matmul(w.t()), b, act=self.activation)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, activation={self.activation}"


class Conv2dLayer(torch.nn.Module):
    """Equalized-lr convolution with optional FIR up/downsampling, bias, activation and clamp.

    Same parameters and buffers as the official `Conv2dLayer`: `weight`, `bias` (if any),
    `resample_filter`. With `trainable=False` (Freeze-D) weight and bias are buffers, as
    officially.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        activation: str = "linear",
        up: int = 1,
        down: int = 1,
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__()
        self.activation = activation
        self.up = up
        self.down = down
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.act_gain = ops.activation(activation).def_gain
        weight = torch.randn([out_channels, in_channels, kernel_size, kernel_size])
        bias_value = torch.zeros([out_channels]) if bias else None
        if trainable:
            self.weight = torch.nn.Parameter(weight)
            self.bias = torch.nn.Parameter(bias_value) if bias_value is not None else None
        else:
            self.register_buffer("weight", weight)
            self.register_buffer("bias", bias_value)

    def forward(self, x: torch.Tensor, gain: float = 1) -> torch.Tensor:
        w = (self.weight * self.weight_gain).to(x.dtype)
        b = self.bias.to(x.dtype) if self.bias is not None else None
        # The official layer correlates when not upsampling and convolves when upsampling.
        x = conv2d_resample(
            x,
            w,
            self.resample_filter,
            up=self.up,
            down=self.down,
            padding=self.padding,
            flip_weight=self.up == 1,
            bias=b,
        )
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return ops.bias_act(x, None, act=self.activation, gain=self.act_gain * gain, clamp=clamp)
