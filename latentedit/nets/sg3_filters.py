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
from collections.abc import Sequence

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


def _phase_kernels(f: torch.Tensor, factor: int, dim: int, dtype: torch.dtype) -> torch.Tensor:
    """`[factor, 1, kh, kw]` correlation kernels, one per output phase, along `dim` (2 = rows, 3 = columns).

    Phase `r` of a zero-stuffed-by-`factor` signal convolved with `f` sees only the taps
    `f[r::factor]`; a 1-D `f` gives 1-D kernels along `dim`.
    """
    taps = len(f)
    if taps % factor:
        f = F.pad(f, [0, factor - taps % factor])
    phases = f.reshape(-1, factor).t().flip(1).to(dtype)  # [factor, taps/factor], flipped: correlation
    return phases[:, None, :, None] if dim == 2 else phases[:, None, None, :]


def _crop(x: torch.Tensor, dim: int, start: int, length: int) -> torch.Tensor:
    """`x[start : start + length]` along `dim`, zero-extended where that window leaves `x`."""
    pads = [0, 0, 0, 0]
    side = 0 if dim == 3 else 2
    pads[side], pads[side + 1] = -start, start + length - x.shape[dim]
    return F.pad(x, pads) if any(pads) else x


def _upsample_axis(x: torch.Tensor, f: torch.Tensor, up: int, pad0: int, pad1: int, dim: int) -> torch.Tensor:
    """Zero-insert by `up`, pad by (pad0, pad1), convolve with 1-D `f`, along `dim` of `x` `[B, 1, H, W]`."""
    size = x.shape[dim]
    if up == 1:
        kernel = f.flip(0).to(x.dtype)
        kernel = kernel[None, None, :, None] if dim == 2 else kernel[None, None, None, :]
        x = _crop(x, dim, -pad0, size + pad0 + pad1)
        return F.conv2d(x, kernel)
    kernels = _phase_kernels(f, up, dim, x.dtype)
    phase_taps = kernels.shape[dim]
    padding = (phase_taps - 1, 0) if dim == 2 else (0, phase_taps - 1)
    y = F.conv2d(x, kernels, padding=padding)  # [B, up, ..]: full convolution, one channel per phase
    batch, _, height, width = y.shape
    if dim == 3:
        y = y.permute(0, 2, 3, 1).reshape(batch, 1, height, width * up)
    else:
        y = y.permute(0, 2, 1, 3).reshape(batch, 1, height * up, width)
    # y[m] is the full convolution of the zero-stuffed signal at m; output i reads m = i + taps - 1 - pad0.
    length = size * up + pad0 + pad1 - len(f) + 1
    return _crop(y, dim, len(f) - 1 - pad0, length)


def _upsample_2d(x: torch.Tensor, f: torch.Tensor, up: int, padding: Sequence[int]) -> torch.Tensor:
    """Zero-insert, pad, convolve with a 2-D filter `f` `[fh, fw]`: one phase kernel per output pixel phase."""
    px0, px1, py0, py1 = padding
    fh, fw = f.shape
    f = F.pad(f, [0, (-fw) % up, 0, (-fh) % up])
    phases = f.reshape(f.shape[0] // up, up, f.shape[1] // up, up).permute(1, 3, 0, 2).flip([2, 3])
    kernels = phases.reshape(up * up, 1, f.shape[0] // up, f.shape[1] // up).to(x.dtype)
    y = F.conv2d(x, kernels, padding=(kernels.shape[2] - 1, kernels.shape[3] - 1))
    y = F.pixel_shuffle(y, up)
    height, width = x.shape[2:]
    y = _crop(y, 3, fw - 1 - px0, width * up + px0 + px1 - fw + 1)
    return _crop(y, 2, fh - 1 - py0, height * up + py0 + py1 - fh + 1)


def _downsample(x: torch.Tensor, f: torch.Tensor, down: int) -> torch.Tensor:
    """Convolve with `f` (valid part only) and keep every `down`-th sample, as `upfirdn2d(x, f, down=down)`."""
    if f.ndim == 2:
        return F.conv2d(x, f.flip([0, 1]).to(x.dtype)[None, None], stride=down)
    kernel = f.flip(0).to(x.dtype)
    x = F.conv2d(x, kernel[None, None, None, :], stride=(1, down))
    return F.conv2d(x, kernel[None, None, :, None], stride=(down, 1))


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
    """
    batch, channels = x.shape[:2]
    inplace = ops.can_work_in_place()
    if b is not None:
        bias = b.to(x.dtype).reshape(1, -1, 1, 1)
        x = x.add_(bias) if inplace else x + bias
    # Every channel gets the same filters: run them as single-channel images in one batch.
    x = x.contiguous().reshape(batch * channels, 1, *x.shape[2:])
    px0, px1, py0, py1 = padding
    if fu is None and up == 1:
        x = _crop(_crop(x, 3, -px0, x.shape[3] + px0 + px1), 2, -py0, x.shape[2] + py0 + py1)
    elif fu is None or fu.ndim == 1:
        fu = torch.full([1], float(up), device=x.device) if fu is None else fu * up
        x = _upsample_axis(x, fu, up, px0, px1, dim=3)
        x = _upsample_axis(x, fu, up, py0, py1, dim=2)
    else:
        x = _upsample_2d(x, fu * (up * up), up, padding)
    if slope != 1:
        x = F.leaky_relu(x, slope, inplace=True) if inplace else F.leaky_relu(x, slope)
    if gain != 1:
        x = x.mul_(gain) if inplace else x * gain
    if clamp is not None:
        x = x.clamp_(-clamp, clamp) if inplace else x.clamp(-clamp, clamp)
    if fd is not None:
        x = _downsample(x, fd, down)
    elif down > 1:
        x = x[:, :, ::down, ::down]
    return x.reshape(batch, channels, *x.shape[2:])
