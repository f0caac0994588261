"""StyleGAN3's low-pass filter design and filtered leaky ReLU, in plain torch.

`design_lowpass_filter` makes the same taps as the official `SynthesisLayer.design_lowpass_filter`
(a Kaiser-windowed sinc as `scipy.signal.firwin`, or the radially symmetric jinc filter of
StyleGAN3-R). `filtered_lrelu` computes what the official `filtered_lrelu` reference path
computes (bias, zero-insertion upsampling + FIR, leaky ReLU with gain and clamp, FIR +
downsampling), but never touches the inserted zeros or the dropped samples: upsampling runs
as one small convolution per output phase, downsampling as a strided convolution, and a
separable (1-D) filter runs one axis at a time, so a 24-tap filter costs 6 + 6 multiply-adds
per output sample instead of the reference's 24 + 24 over a 4x larger image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from latentedit.nets import ops


def _kaiser_beta(attenuation: float) -> float:
    """Kaiser's empirical window parameter for a stop-band attenuation in dB."""
    if attenuation > 50:
        return 0.1102 * (attenuation - 8.7)
    if attenuation > 21:
        return 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21)
    return 0.0


def _kaiser_attenuation(numtaps: int, width: float) -> float:
    """Attenuation (dB) of a Kaiser FIR filter with `numtaps` taps and transition `width` (fraction of Nyquist)."""
    return 2.285 * (numtaps - 1) * math.pi * width + 7.95


def design_lowpass_filter(
    numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False
) -> torch.Tensor | None:
    """The float32 low-pass filter a StyleGAN3 layer stores: None (identity) for 1 tap.

    Separable: a windowed sinc with a Kaiser window, normalised to unit DC gain (scipy's
    `firwin(numtaps, cutoff, width=width, fs=fs)`). Radial: `jinc(2 cutoff r)` times the
    outer product of the same Kaiser window, normalised to sum 1.
    """
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    nyquist = fs / 2
    beta = _kaiser_beta(_kaiser_attenuation(numtaps, width / nyquist))
    window = np.kaiser(numtaps, beta)
    if not radial:
        m = np.arange(numtaps) - (numtaps - 1) / 2
        normalized_cutoff = cutoff / nyquist
        taps = normalized_cutoff * np.sinc(normalized_cutoff * m) * window
        return torch.as_tensor(taps / taps.sum(), dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    arg = torch.from_numpy(2 * cutoff * (np.pi * r))
    taps = torch.special.bessel_j1(arg).numpy() / (np.pi * r)
    taps = taps * np.outer(window, window)
    return torch.as_tensor(taps / taps.sum(), dtype=torch.float32)


# Axes up to this many samples are resampled by one dense matrix product (the whole
# zero-insert + pad + filter + crop, or filter + stride, as a [size_in, size_out] matrix):
# BLAS beats depthwise convolutions there, though it multiplies by zeros. Longer axes use
# depthwise convolutions that skip the zeros. Measured on CPU (docs/nets.md, StyleGAN3).
MATMUL_MAX_SIZE = 160

# Most values an up-sampled intermediate of `filtered_lrelu` may hold at once (64 MiB in float32).
CHUNK_ELEMENTS = 2**24


def _phase_kernels(f: torch.Tensor, factor: int, dim: int, channels: int, dtype: torch.dtype) -> torch.Tensor:
    """`[channels * factor, 1, kh, kw]` depthwise correlation kernels, one per channel and output phase.

    Phase `r` of a zero-stuffed-by-`factor` signal convolved with `f` sees only the taps
    `f[r::factor]`; the kernels lie along `dim` (2 = rows, 3 = columns).
    """
    taps = len(f)
    if taps % factor:
        f = F.pad(f, [0, factor - taps % factor])
    phases = f.reshape(-1, factor).t().flip(1).to(dtype)  # [factor, taps/factor], flipped: correlation
    phases = phases.repeat(channels, 1)
    return phases[:, None, :, None] if dim == 2 else phases[:, None, None, :]


def _line_kernel(f: torch.Tensor, dim: int, channels: int, dtype: torch.dtype) -> torch.Tensor:
    """`[channels, 1, k, 1]` or `[channels, 1, 1, k]` depthwise correlation kernel of the convolution with `f`."""
    kernel = f.flip(0).to(dtype)
    kernel = kernel[:, None] if dim == 2 else kernel[None, :]
    return kernel.expand(channels, 1, *kernel.shape)


def _crop(x: torch.Tensor, dim: int, start: int, length: int) -> torch.Tensor:
    """`x[start : start + length]` along `dim`, zero-extended where that window leaves `x`."""
    pads = [0, 0, 0, 0]
    side = 0 if dim == 3 else 2
    pads[side], pads[side + 1] = -start, start + length - x.shape[dim]
    return F.pad(x, pads) if any(pads) else x


def _upsample_axis(x: torch.Tensor, f: torch.Tensor, up: int, pad0: int, pad1: int, dim: int) -> torch.Tensor:
    """Zero-insert by `up`, pad by (pad0, pad1), convolve with 1-D `f`, along `dim` of `x` `[N, C, H, W]`."""
    size, channels = x.shape[dim], x.shape[1]
    if up == 1:
        x = _crop(x, dim, -pad0, size + pad0 + pad1)
        return F.conv2d(x, _line_kernel(f, dim, channels, x.dtype), groups=channels)
    kernels = _phase_kernels(f, up, dim, channels, x.dtype)
    phase_taps = kernels.shape[dim]
    padding = (phase_taps - 1, 0) if dim == 2 else (0, phase_taps - 1)
    y = F.conv2d(x, kernels, padding=padding, groups=channels)  # full convolution, one channel per phase
    batch, _, height, width = y.shape
    y = y.reshape(batch, channels, up, height, width)
    if dim == 3:
        y = y.permute(0, 1, 3, 4, 2).reshape(batch, channels, height, width * up)
    else:
        y = y.permute(0, 1, 3, 2, 4).reshape(batch, channels, height * up, width)
    # y[m] is the full convolution of the zero-stuffed signal at m; output i reads m = i + taps - 1 - pad0.
    length = size * up + pad0 + pad1 - len(f) + 1
    return _crop(y, dim, len(f) - 1 - pad0, length)


def _downsample_axis(x: torch.Tensor, f: torch.Tensor, down: int, dim: int) -> torch.Tensor:
    """Convolve with 1-D `f` (valid part only) and keep every `down`-th sample, along `dim`."""
    channels = x.shape[1]
    stride = (down, 1) if dim == 2 else (1, down)
    return F.conv2d(x, _line_kernel(f, dim, channels, x.dtype), stride=stride, groups=channels)


def _axis_matrix(size: int, resample: Callable[[torch.Tensor], torch.Tensor], like: torch.Tensor) -> torch.Tensor:
    """The `[size, size_out]` matrix of a linear per-axis operation: `resample` applied to the identity."""
    eye = torch.eye(size, dtype=like.dtype, device=like.device).reshape(size, 1, 1, size)
    return resample(eye).reshape(size, -1)


def _apply_axis(x: torch.Tensor, dim: int, resample: Callable[[torch.Tensor, int], torch.Tensor]) -> torch.Tensor:
    """Resample axis `dim` of `x`: `resample(x, dim)`, or, when the axis is short, a matrix product.

    `resample(t, d)` must apply this axis's operation along axis `d` of `t` (the matrix is
    built by running it along the columns of an identity).
    """
    size = x.shape[dim]
    if size > MATMUL_MAX_SIZE:
        return resample(x, dim)
    matrix = _axis_matrix(size, lambda eye: resample(eye, 3), x)
    return x @ matrix if dim == 3 else matrix.t() @ x


def _upsample_2d(x: torch.Tensor, f: torch.Tensor, up: int, padding: Sequence[int]) -> torch.Tensor:
    """Zero-insert, pad, convolve with a 2-D filter `f` `[fh, fw]`: one phase kernel per output pixel phase."""
    batch, channels, height, width = x.shape
    px0, px1, py0, py1 = padding
    fh, fw = f.shape
    f = F.pad(f, [0, (-fw) % up, 0, (-fh) % up])
    phases = f.reshape(f.shape[0] // up, up, f.shape[1] // up, up).permute(1, 3, 0, 2).flip([2, 3])
    kernels = phases.reshape(up * up, 1, f.shape[0] // up, f.shape[1] // up).to(x.dtype)
    kernels = kernels.repeat(channels, 1, 1, 1)
    y = F.conv2d(x, kernels, padding=(kernels.shape[2] - 1, kernels.shape[3] - 1), groups=channels)
    y = F.pixel_shuffle(y, up)
    y = _crop(y, 3, fw - 1 - px0, width * up + px0 + px1 - fw + 1)
    return _crop(y, 2, fh - 1 - py0, height * up + py0 + py1 - fh + 1)


def filtered_lrelu(
    x: torch.Tensor,
    fu: torch.Tensor | None,
    fd: torch.Tensor | None,
    b: torch.Tensor | None,
    up: int,
    down: int,
    padding: Sequence[int],
    gain: float,
    slope: float,
    clamp: float | None,
) -> torch.Tensor:
    """`down(clamp(lrelu(up(x + b)) * gain))`, the official `filtered_lrelu` on `x` `[N, C, H, W]`.

    `up` inserts `up - 1` zeros after each sample, pads by `padding` `[x0, x1, y0, y1]`
    (negative crops) and convolves with `fu` scaled by `up**2`; `down` convolves with `fd`
    and keeps every `down`-th sample. Filters are 1-D (separable, applied on both axes) or
    2-D; None is the identity. Under autograd everything runs out of place.

    Every channel is filtered alone, so a large input runs in groups of channels whose
    up-sampled image stays under `CHUNK_ELEMENTS` values (at 1024 px that image would take
    gigabytes at once).
    """
    per_channel = x.shape[0] * x.shape[2] * x.shape[3] * up * up
    group = min(x.shape[1], max(1, CHUNK_ELEMENTS // per_channel))
    pieces = [
        _filtered_lrelu(
            x[:, i : i + group], fu, fd, None if b is None else b[i : i + group], up, down, padding, gain, slope, clamp
        )
        for i in range(0, x.shape[1], group)
    ]
    return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=1)


def _filtered_lrelu(
    x: torch.Tensor,
    fu: torch.Tensor | None,
    fd: torch.Tensor | None,
    b: torch.Tensor | None,
    up: int,
    down: int,
    padding: Sequence[int],
    gain: float,
    slope: float,
    clamp: float | None,
) -> torch.Tensor:
    inplace = ops.can_work_in_place()
    if b is not None:
        bias = b.to(x.dtype).reshape(1, -1, 1, 1)
        x = x.add_(bias) if inplace else x + bias
    x = x.contiguous()
    px0, px1, py0, py1 = padding
    if fu is None and up == 1:
        x = _crop(_crop(x, 3, -px0, x.shape[3] + px0 + px1), 2, -py0, x.shape[2] + py0 + py1)
    elif fu is None or fu.ndim == 1:
        taps = torch.full([1], float(up), device=x.device) if fu is None else fu * up
        for dim, pads in ((3, (px0, px1)), (2, (py0, py1))):
            x = _apply_axis(x, dim, lambda t, d, p=pads: _upsample_axis(t, taps, up, *p, dim=d))
    else:
        x = _upsample_2d(x, fu * (up * up), up, padding)
    if slope != 1:
        x = F.leaky_relu(x, slope, inplace=True) if inplace else F.leaky_relu(x, slope)
    if gain != 1:
        x = x.mul_(gain) if inplace else x * gain
    if clamp is not None:
        x = x.clamp_(-clamp, clamp) if inplace else x.clamp(-clamp, clamp)
    if fd is not None and fd.ndim == 2:
        kernel = fd.flip([0, 1]).to(x.dtype).expand(x.shape[1], 1, *fd.shape)
        return F.conv2d(x, kernel, stride=down, groups=x.shape[1])
    if fd is not None:
        for dim in (3, 2):
            x = _apply_axis(x, dim, lambda t, d: _downsample_axis(t, fd, down, d))
    elif down > 1:
        x = x[:, :, ::down, ::down]
    return x
