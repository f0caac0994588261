"""FIR resampling (upfirdn2d) and convolutions with 2x up/down-sampling, in plain torch.

Semantics follow the official `upfirdn2d` and `conv2d_resample` ops: upsample by inserting
zeros, pad (negative = crop), convolve with the FIR filter, keep every `down`-th pixel; padding
is counted on the upsampled image. The implementation differs for speed: zero insertion is
a strided transposed convolution, downsampling is a strided convolution (no wasted outputs),
and the per-channel filter runs as one depthwise convolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

Padding = int | Sequence[int]

# Transposed convolutions of single images at least this large (in both dimensions) run
# phase by phase (see `transposed_conv2d`). Measured on CPU (docs/nets.md): 9% faster for a
# 1024 px generator at batch 1, no gain below 128 px inputs, and a small loss for batches.
PHASES_MIN_SIZE = 128


def setup_filter(
    f: Sequence[float] | Sequence[Sequence[float]] | torch.Tensor | float | None,
    normalize: bool = True,
    flip_filter: bool = False,
    gain: float = 1,
    separable: bool | None = None,
) -> torch.Tensor:
    """The float32 filter tensor the official `setup_filter` makes (and networks store as `resample_filter`).

    A 1-D list shorter than 8 taps becomes its 2-D outer product, as officially; it is
    normalised to sum 1 so a constant signal keeps its level.
    """
    filt = torch.as_tensor(1 if f is None else f, dtype=torch.float32)
    if filt.ndim == 0:
        filt = filt.reshape(1)
    if filt.ndim not in (1, 2) or filt.numel() == 0:
        raise ValueError(f"a resample filter must be a non-empty 1-D or 2-D array, got shape {list(filt.shape)}")
    if separable is None:
        separable = filt.ndim == 1 and filt.numel() >= 8
    if filt.ndim == 1 and not separable:
        filt = torch.outer(filt, filt)
    if normalize:
        filt = filt / filt.sum()
    if flip_filter:
        filt = filt.flip(list(range(filt.ndim)))
    return filt * (gain ** (filt.ndim / 2))


def _parse_padding(padding: Padding) -> tuple[int, int, int, int]:
    """`p`, `[px, py]` or `[x0, x1, y0, y1]` to `(x0, x1, y0, y1)`, the official convention."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    values = [int(p) for p in padding]
    if len(values) == 2:
        return values[0], values[0], values[1], values[1]
    if len(values) == 4:
        return values[0], values[1], values[2], values[3]
    raise ValueError(f"padding must have 1, 2 or 4 entries, got {len(values)}")


def _depthwise_kernel(f: torch.Tensor, channels: int, gain: float, flip: bool, dtype: torch.dtype) -> torch.Tensor:
    """`[channels, 1, fh, fw]` kernel; a 1-D (separable) filter becomes its outer product."""
    filt = f.to(dtype)
    if filt.ndim == 1:
        filt = torch.outer(filt, filt)
    if flip:
        filt = filt.flip([0, 1])
    return (filt * gain).expand(channels, 1, *filt.shape)


def filter_size(f: torch.Tensor | None) -> tuple[int, int]:
    """(width, height) of a prepared filter; None is the 1x1 identity."""
    if f is None:
        return 1, 1
    return int(f.shape[-1]), int(f.shape[0])


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1,
) -> torch.Tensor:
    """Upsample (zeros), pad, FIR-filter, downsample `x` `[N, C, H, W]`, as the official `upfirdn2d`.

    The filter is applied as a true convolution unless `flip_filter`; `gain` scales the 2-D
    filter (a 1-D filter is applied along both axes, so it is scaled by sqrt(gain) per axis
    officially, which is the same thing).
    """
    if f is None:
        f = torch.ones(1, 1, dtype=torch.float32, device=x.device)
    x0, x1, y0, y1 = _parse_padding(padding)
    channels = x.shape[1]
    if up > 1:
        # conv_transpose2d with stride `up` inserts the zeros and convolves (not correlates)
        # over the full support; the requested window is a crop (or pad) of that, and the
        # transposed convolution can do the symmetric part of the crop itself.
        kernel = _depthwise_kernel(f, channels, gain, flip_filter, x.dtype)
        fh, fw = kernel.shape[2:]
        crop_x, crop_y = (fw - 1 - x0, fw - up - x1), (fh - 1 - y0, fh - up - y1)
        inner = (max(min(crop_y), 0), max(min(crop_x), 0))
        x = F.conv_transpose2d(x, kernel, stride=up, groups=channels, padding=inner)
        x = _pad(x, [inner[1] - crop_x[0], inner[1] - crop_x[1], inner[0] - crop_y[0], inner[0] - crop_y[1]])
        return x[:, :, ::down, ::down] if down > 1 else x
    kernel = _depthwise_kernel(f, channels, gain, not flip_filter, x.dtype)
    # Let the convolution zero-pad symmetrically (no padded copy); F.pad does the rest.
    inner = (max(min(y0, y1), 0), max(min(x0, x1), 0))
    x = _pad(x, [x0 - inner[1], x1 - inner[1], y0 - inner[0], y1 - inner[0]])
    return F.conv2d(x, kernel, stride=down, padding=inner, groups=channels)


def _pad(x: torch.Tensor, pads: list[int]) -> torch.Tensor:
    """F.pad (negative = crop), skipped when there is nothing to do."""
    return F.pad(x, pads) if any(pads) else x


def upsample2d(x: torch.Tensor, f: torch.Tensor | None, up: int = 2, gain: float = 1) -> torch.Tensor:
    """Upsample by `up` keeping the signal level (gain up^2 for the zeros), as the official `upsample2d`."""
    fw, fh = filter_size(f)
    padding = [(fw + up - 1) // 2, (fw - up) // 2, (fh + up - 1) // 2, (fh - up) // 2]
    return upfirdn2d(x, f, up=up, padding=padding, gain=gain * up * up)


def downsample2d(x: torch.Tensor, f: torch.Tensor | None, down: int = 2, gain: float = 1) -> torch.Tensor:
    """Low-pass then keep every `down`-th pixel, as the official `downsample2d`."""
    fw, fh = filter_size(f)
    padding = [(fw - down + 1) // 2, (fw - down) // 2, (fh - down + 1) // 2, (fh - down) // 2]
    return upfirdn2d(x, f, down=down, padding=padding, gain=gain)


def conv2d_resample(
    x: torch.Tensor,
    w: torch.Tensor,
    f: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: int = 0,
    groups: int = 1,
    flip_weight: bool = True,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """2-D convolution of `x` with `w` `[O, I/groups, k, k]` with FIR up- or down-sampling.

    Matches the official `conv2d_resample`: `padding` refers to the upsampled image and the
    filter `f` low-passes around the resampling. `flip_weight=False` means true convolution
    (the official layers use it when upsampling). `bias` `[O]` is added to the result.
    """
    if up > 1 and down > 1:
        raise ValueError("conv2d_resample: combined up- and downsampling is not supported")
    if up > 1:
        return _conv_up(x, w, f, up, padding, groups, flip_weight, bias)
    if not flip_weight:  # F.conv2d correlates; a true convolution needs the flipped kernel
        w = w.flip([2, 3])
    if down > 1:
        return _conv_down(x, w, f, down, padding, groups, bias)
    return F.conv2d(x, w, bias, padding=padding, groups=groups)


def _conv_up(
    x: torch.Tensor,
    w: torch.Tensor,
    f: torch.Tensor | None,
    up: int,
    padding: int,
    groups: int,
    flip_weight: bool,
    bias: torch.Tensor | None,
) -> torch.Tensor:
    """Upsampling convolution: work at the low resolution, then the FIR on the upsampled grid.

    A 1x1 kernel convolves first and upsamples after. A k x k kernel runs as a strided
    transposed convolution (a quarter of the work of convolving the zero-stuffed image),
    whose (k - 1)-pixel border the FIR padding then crops.
    """
    kh, kw = int(w.shape[2]), int(w.shape[3])
    fw, fh = filter_size(f)
    pad = [
        padding + (fw + up - 1) // 2,
        padding + (fw - up) // 2,
        padding + (fh + up - 1) // 2,
        padding + (fh - up) // 2,
    ]
    if kh == 1 and kw == 1:
        x = upfirdn2d(F.conv2d(x, w, groups=groups), f, up=up, padding=pad, gain=up * up)
    else:
        kernel = w.flip([2, 3]) if flip_weight else w  # the true-convolution kernel
        x = transposed_conv2d(x, kernel, up, groups)
        pad = [pad[0] - kw + 1, pad[1] - kw + up, pad[2] - kh + 1, pad[3] - kh + up]
        x = upfirdn2d(x, f, padding=pad, gain=up * up)
    return x if bias is None else x + bias.reshape(1, -1, 1, 1)


def transposed_conv2d(x: torch.Tensor, kernel: torch.Tensor, stride: int, groups: int = 1) -> torch.Tensor:
    """Convolve the zero-stuffed `x` with `kernel` `[O, I/groups, k, k]` over the full support.

    This is `F.conv_transpose2d` (output `(H - 1) * stride + k`). For a large single image it
    runs as one ordinary convolution per output phase, each with the kernel taps that phase
    sees: the same multiply-adds, but oneDNN's direct convolutions are faster on CPU than its
    transposed ones at high resolution.
    """
    out_channels, in_per_group, kh, kw = (int(size) for size in kernel.shape)
    if x.shape[0] > 1 or min(x.shape[2:]) < PHASES_MIN_SIZE or kh < stride or kw < stride:
        # conv_transpose2d wants [in_channels, out_channels / groups, kh, kw]; a strided view will do.
        if groups == 1:
            weight = kernel.transpose(0, 1)
        else:
            weight = kernel.reshape(groups, out_channels // groups, in_per_group, kh, kw).transpose(1, 2)
            weight = weight.reshape(groups * in_per_group, out_channels // groups, kh, kw)
        return F.conv_transpose2d(x, weight, stride=stride, groups=groups)
    height, width = x.shape[2:]
    out = torch.empty(
        [x.shape[0], out_channels, (height - 1) * stride + kh, (width - 1) * stride + kw],
        dtype=x.dtype,
        device=x.device,
        memory_format=_memory_format(x),
    )
    for py in range(stride):
        for px in range(stride):
            taps = kernel[:, :, py::stride, px::stride].flip([2, 3])  # F.conv2d correlates
            padding = (taps.shape[2] - 1, taps.shape[3] - 1)
            out[:, :, py::stride, px::stride] = F.conv2d(x, taps, padding=padding, groups=groups)
    return out


def _conv_down(
    x: torch.Tensor,
    w: torch.Tensor,
    f: torch.Tensor | None,
    down: int,
    padding: int,
    groups: int,
    bias: torch.Tensor | None,
) -> torch.Tensor:
    """Downsampling correlation: FIR then strided convolution (a 1x1 kernel: downsample, then convolve)."""
    kh, kw = int(w.shape[2]), int(w.shape[3])
    fw, fh = filter_size(f)
    pad = [
        padding + (fw - down + 1) // 2,
        padding + (fw - down) // 2,
        padding + (fh - down + 1) // 2,
        padding + (fh - down) // 2,
    ]
    if kh == 1 and kw == 1:
        return F.conv2d(upfirdn2d(x, f, down=down, padding=pad), w, bias, groups=groups)
    return F.conv2d(upfirdn2d(x, f, padding=pad), w, bias, stride=down, groups=groups)


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    return torch.channels_last if channels_last else torch.contiguous_format
