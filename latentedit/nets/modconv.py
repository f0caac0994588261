"""StyleGAN2's modulated (and demodulated) convolution.

Math as the official `modulated_conv2d`: the weight `w[o, i]` is scaled by the style `s[n, i]`
and, with demodulation, each output channel by `d[n, o] = 1 / sqrt(sum_ik (w[o,i,k] s[n,i])^2 + 1e-8)`.
Equivalent ways to run it, picked by cost:

- 1x1 kernels (toRGB): a batched matrix product with per-sample `[O, I]` weights;
- fused: per-sample weights (one pass over the weight tensor per sample) and one
  convolution, grouped by sample for batches. Cheapest for a single image whenever the
  weight tensor is smaller than the input activations (the high resolutions);
- unfused: scale the input by `s`, convolve with the shared weight, scale the output by
  `d`. On CPU a batched convolution with shared weights is much faster than the grouped
  one, so this is the choice for batches and for low-resolution, wide layers.
"""

from __future__ import annotations

import torch

from latentedit.nets.ops import can_work_in_place
from latentedit.nets.resample import conv2d_resample


def demodulation_coefficients(weight: torch.Tensor, styles: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """`d[n, o]` for weight `[O, I, kh, kw]` and styles `[N, I]`, without forming per-sample weights."""
    return (styles.square() @ weight.square().sum(dim=[2, 3]).t() + eps).rsqrt()


def prefers_fused(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Fused iff a single sample and its weight tensor is no bigger than its input activations."""
    return x.shape[0] == 1 and weight.numel() <= x[0].numel()


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool = True,
    up: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
    flip_weight: bool = True,
    fused: bool | None = None,
    out_gain: float = 1.0,
) -> torch.Tensor:
    """Modulated convolution of `x` `[N, I, H, W]` with `weight` `[O, I, k, k]` and `styles` `[N, I]`.

    `out_gain` multiplies the result; folding a positive activation gain in here saves a full
    pass over the output. `fused=None` picks the cheapest form (see the module docstring);
    True/False force per-sample weights or activation scaling, as the official `fused_modconv`.
    """
    batch = x.shape[0]
    out_channels, in_channels, kh, kw = (int(size) for size in weight.shape)
    weight = weight.to(x.dtype)
    styles = styles.to(x.dtype)
    dcoefs = demodulation_coefficients(weight, styles) if demodulate else None
    out_scale = styles.new_full([batch, out_channels], out_gain) if dcoefs is None else dcoefs * out_gain

    if kh == 1 and kw == 1 and up == 1 and padding == 0 and fused is not False:
        # [N, O, I] weights times [N, I, H*W] pixels; flatten(2) is a view in either memory format.
        per_sample = weight.reshape(1, out_channels, in_channels) * (out_scale[:, :, None] * styles[:, None, :])
        y = torch.bmm(per_sample, x.flatten(2))
        return y.reshape(batch, out_channels, *x.shape[2:])

    if fused is None:
        fused = prefers_fused(x, weight)
    if fused:
        scale = out_scale[:, :, None] * styles[:, None, :]  # [N, O, I]
        per_sample = weight.reshape(1, out_channels, in_channels, kh * kw) * scale[..., None]
        per_sample = per_sample.reshape(batch * out_channels, in_channels, kh, kw)
        if batch > 1:
            x = x.reshape(1, batch * in_channels, *x.shape[2:])
        y = conv2d_resample(
            x, per_sample, resample_filter, up=up, padding=padding, groups=batch, flip_weight=flip_weight
        )
        # Only un-group real batches: reshaping a batch of 1 gives a channels-last tensor odd
        # strides that make the next convolution fall back to a copy and the NCHW kernels.
        return y.reshape(batch, out_channels, *y.shape[2:]) if batch > 1 else y

    x = x * styles.reshape(batch, -1, 1, 1)
    y = conv2d_resample(x, weight, resample_filter, up=up, padding=padding, flip_weight=flip_weight)
    if dcoefs is None and out_gain == 1:
        return y
    scale = out_scale.reshape(batch, -1, 1, 1)
    return y.mul_(scale) if can_work_in_place() else y * scale
