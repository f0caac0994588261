"""StyleGAN3 ("Alias-Free GAN") generator in plain PyTorch, with the editing taps of our StyleGAN2.

Same constructor arguments, parameters, buffers and math as the official NVlabs/stylegan3
`training/networks_stylegan3.py` (`Generator`, `MappingNetwork`, `SynthesisInput`,
`SynthesisLayer`, `SynthesisNetwork`), so official weights load with `strict=True`.
Computation is float32 (the official `force_fp32` path). StyleGAN3 has no noise inputs:
`noise_mode` is accepted for call compatibility and every mode gives the same image.
See docs/nets.md, "StyleGAN3".
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from latentedit.nets.config import jsonable
from latentedit.nets.layers import FullyConnectedLayer
from latentedit.nets.mapping import MappingNetwork
from latentedit.nets.modconv import modulated_conv2d
from latentedit.nets.sg3_filters import design_lowpass_filter, filtered_lrelu
from latentedit.nets.style_space import StyleSpaceNetwork, affine_map
from latentedit.nets.synthesis import NOISE_MODES, NoiseMode

INPUT_LAYER = "input"


def input_transform_matrix(translate: Sequence[float] = (0.0, 0.0), rotate_deg: float = 0.0) -> torch.Tensor:
    """The 3x3 float32 matrix to store in `synthesis.input.transform` to translate and rotate the image.

    The official gen_images.py convention: build the rotation (by `rotate_deg` degrees) plus
    translation matrix and store its inverse, because the buffer maps output-image coordinates
    to input coordinates. Translation is in image widths: (1 / R, 0) moves the content one
    pixel right.
    """
    angle = rotate_deg / 360.0 * math.pi * 2
    sin, cos = math.sin(angle), math.cos(angle)
    forward = np.array([[cos, sin, translate[0]], [-sin, cos, translate[1]], [0.0, 0.0, 1.0]])
    return torch.from_numpy(np.linalg.inv(forward)).to(torch.float32)


class StyleGAN3Mapping(MappingNetwork):
    """StyleGAN3's mapping: StyleGAN2's layers and math, 2 layers and w_avg beta 0.998 by default.

    What differs from StyleGAN2 is when `w_avg` moves: only when `update_emas=True` is passed
    (the official StyleGAN3 flag), not whenever the module is in training mode.
    """

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int,
        num_layers: int = 2,
        lr_multiplier: float = 0.01,
        w_avg_beta: float = 0.998,
    ) -> None:
        super().__init__(
            z_dim, c_dim, w_dim, num_ws, num_layers=num_layers, lr_multiplier=lr_multiplier, w_avg_beta=w_avg_beta
        )

    def forward(  # type: ignore[override]
        self,
        z: torch.Tensor | None,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
    ) -> torch.Tensor:
        """w `[N, num_ws, w_dim]`, truncated towards `w_avg` for the first `truncation_cutoff` ws (all if None)."""
        x = self.map(z, c)
        if update_emas:
            self.update_w_avg(x)
        return self.broadcast_and_truncate(x, truncation_psi, truncation_cutoff)


class SynthesisInput(torch.nn.Module):
    """Fourier features: a fixed bank of frequencies, rotated and shifted per image by an affine of w.

    Parameters and buffers as official: `weight` (channel mixing), `affine` (w -> 4 numbers:
    cos, sin of a rotation and a translation), `transform` (the user-set 3x3 inverse transform
    of the output image, identity by default), `freqs`, `phases`.
    """

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float) -> None:
        super().__init__()
        self.w_dim = w_dim
        self.channels = channels
        self.size = (int(size), int(size))
        self.sampling_rate = float(sampling_rate)
        self.bandwidth = float(bandwidth)
        freqs = torch.randn([channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs /= radii * radii.square().exp().pow(0.25)
        freqs *= bandwidth
        phases = torch.rand([channels]) - 0.5
        self.weight = torch.nn.Parameter(torch.randn([channels, channels]))
        self.affine = FullyConnectedLayer(w_dim, 4)
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.register_buffer("transform", torch.eye(3, 3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def forward(self, t: torch.Tensor, transform: torch.Tensor | None = None) -> torch.Tensor:
        """Features `[N, channels, size, size]` from the affine output `t` `[N, 4]` (the input's style).

        `transform` (`[3, 3]` or `[N, 3, 3]`) replaces the stored `transform` buffer for this call.
        """
        batch = t.shape[0]
        user = (self.transform if transform is None else transform.to(t.dtype)).expand(batch, 3, 3)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        zero, one = torch.zeros_like(t[:, 0]), torch.ones_like(t[:, 0])
        rotation = torch.stack([t[:, 0], -t[:, 1], zero, t[:, 1], t[:, 0], zero, zero, zero, one], dim=1).reshape(
            batch, 3, 3
        )
        translation = torch.stack([one, zero, -t[:, 2], zero, one, -t[:, 3], zero, zero, one], dim=1).reshape(
            batch, 3, 3
        )
        transforms = rotation @ translation @ user
        phases = self.phases.unsqueeze(0) + (self.freqs.unsqueeze(0) @ transforms[:, :2, 2:]).squeeze(2)
        freqs = self.freqs.unsqueeze(0) @ transforms[:, :2, :2]
        # Dampen frequencies that a user transform pushed out of band.
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        theta = torch.eye(2, 3, device=t.device)
        theta[0, 0] = 0.5 * self.size[0] / self.sampling_rate
        theta[1, 1] = 0.5 * self.size[1] / self.sampling_rate
        grid = torch.nn.functional.affine_grid(
            theta.unsqueeze(0), [1, 1, self.size[1], self.size[0]], align_corners=False
        )
        x = (grid.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)  # [N, H, W, C]
        x = x + phases.unsqueeze(1).unsqueeze(2)
        x = torch.sin(x * (np.pi * 2))
        x = x * amplitudes.unsqueeze(1).unsqueeze(2)
        x = x @ (self.weight / np.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)

    def style(self, w: torch.Tensor) -> torch.Tensor:
        """The affine output `[N, 4]` (rotation cos/sin, translation) before normalisation."""
        return self.affine(w)

    def style_affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight `[4, w_dim]`, bias `[4]`) with `style(w) = w @ weight.T + bias`."""
        return affine_map(self.affine)


class SynthesisLayer(torch.nn.Module):
    """Modulated convolution, then filtered leaky ReLU (up-sample, lrelu, low-pass, down-sample), clamp.

    As the official StyleGAN3 `SynthesisLayer`, including the input gain `magnitude_ema**-0.5`
    (the EMA of the input's mean square, updated only with `update_emas=True`) and the
    final ToRGB variant (1x1, no demodulation, linear).
    """

    def __init__(
        self,
        w_dim: int,
        is_torgb: bool,
        is_critically_sampled: bool,
        use_fp16: bool,
        in_channels: int,
        out_channels: int,
        in_size: int,
        out_size: int,
        in_sampling_rate: int,
        out_sampling_rate: int,
        in_cutoff: float,
        out_cutoff: float,
        in_half_width: float,
        out_half_width: float,
        conv_kernel: int = 3,
        filter_size: int = 6,
        lrelu_upsampling: int = 2,
        use_radial_filters: bool = False,
        conv_clamp: float | None = 256,
        magnitude_ema_beta: float = 0.999,
    ) -> None:
        super().__init__()
        self.w_dim = w_dim
        self.is_torgb = is_torgb
        self.is_critically_sampled = is_critically_sampled
        self.use_fp16 = use_fp16
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.in_size = (int(in_size), int(in_size))
        self.out_size = (int(out_size), int(out_size))
        self.in_sampling_rate = in_sampling_rate
        self.out_sampling_rate = out_sampling_rate
        self.tmp_sampling_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp = conv_clamp
        self.magnitude_ema_beta = magnitude_ema_beta
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, self.conv_kernel, self.conv_kernel]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))

        self.up_factor = int(np.rint(self.tmp_sampling_rate / in_sampling_rate))
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.register_buffer(
            "up_filter",
            design_lowpass_filter(self.up_taps, in_cutoff, in_half_width * 2, self.tmp_sampling_rate),
        )
        self.down_factor = int(np.rint(self.tmp_sampling_rate / out_sampling_rate))
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.down_radial = use_radial_filters and not is_critically_sampled
        self.register_buffer(
            "down_filter",
            design_lowpass_filter(
                self.down_taps, out_cutoff, out_half_width * 2, self.tmp_sampling_rate, radial=self.down_radial
            ),
        )
        # Padding so the output lands on the symmetric sample grid (paper, Appendix C.3).
        pad_total = (out_size - 1) * self.down_factor + 1
        pad_total -= (in_size + self.conv_kernel - 1) * self.up_factor
        pad_total += self.up_taps + self.down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = [int(pad_lo), int(pad_hi), int(pad_lo), int(pad_hi)]
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight_gain = 1 / np.sqrt(in_channels * self.conv_kernel**2) if is_torgb else 1.0

    def style(self, w: torch.Tensor) -> torch.Tensor:
        """The modulation `[N, in_channels]` (ToRGB folds its weight gain in, as officially)."""
        styles = self.affine(w)
        return styles * self.weight_gain if self.is_torgb else styles

    def style_affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight `[in_channels, w_dim]`, bias `[in_channels]`) with `style(w) = w @ weight.T + bias`."""
        return affine_map(self.affine, self.weight_gain)

    def forward(self, x: torch.Tensor, style: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        if update_emas:
            magnitude = x.detach().to(torch.float32).square().mean()
            self.magnitude_ema.copy_(magnitude.lerp(self.magnitude_ema, self.magnitude_ema_beta))
        input_gain = float(self.magnitude_ema.rsqrt())
        weight = self.weight.to(torch.float32)
        if not self.is_torgb:
            # Scale-free under demodulation; kept for the same rounding as the official code.
            weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
            style = style * style.square().mean(dim=1, keepdim=True).rsqrt()
        y = modulated_conv2d(
            x.to(torch.float32),
            weight,
            style,
            demodulate=not self.is_torgb,
            padding=self.conv_kernel - 1,
            out_gain=input_gain,
        )
        return filtered_lrelu(
            y,
            self.up_filter,
            self.down_filter,
            self.bias,
            up=self.up_factor,
            down=self.down_factor,
            padding=self.padding,
            gain=1 if self.is_torgb else np.sqrt(2),
            slope=1 if self.is_torgb else 0.2,
            clamp=self.conv_clamp,
        )

    def extra_repr(self) -> str:
        return (
            f"in={self.in_channels}x{self.in_size[0]}, out={self.out_channels}x{self.out_size[0]}, "
            f"up={self.up_factor}, down={self.down_factor}, torgb={self.is_torgb}, "
            f"critical={self.is_critically_sampled}, radial={self.down_radial}"
        )


class SynthesisNetwork(StyleSpaceNetwork):
    """ws `[N, num_ws, w_dim]` to images, plus S-space and feature taps.

    ws[0] drives the Fourier input; ws[i + 1] drives layer `L{i}_{size}_{channels}`; the last
    layer is the ToRGB. The style layers are `input` (its affine output `[N, 4]`) and every
    `L*` layer; `conv_layer_names` are the `L*` layers before ToRGB.
    """

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 32768,
        channel_max: int = 512,
        num_layers: int = 14,
        num_critical: int = 2,
        first_cutoff: float = 2,
        first_stopband: float = 2**2.1,
        last_stopband_rel: float = 2**0.3,
        margin_size: int = 10,
        output_scale: float = 0.25,
        num_fp16_res: int = 4,
        **layer_kwargs: Any,
    ) -> None:
        super().__init__()
        self.w_dim = w_dim
        self.num_ws = num_layers + 2
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.num_layers = num_layers
        self.num_critical = num_critical
        self.margin_size = margin_size
        self.output_scale = output_scale
        self.num_fp16_res = num_fp16_res
        # Geometric progression of cutoffs and minimum stopbands (paper, Section 3.2 / Figure 4).
        last_cutoff = img_resolution / 2
        last_stopband = last_cutoff * last_stopband_rel
        exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
        cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
        stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
        sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
        half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
        sizes = sampling_rates + margin_size * 2
        sizes[-2:] = img_resolution
        channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
        channels[-1] = img_channels
        self.input = SynthesisInput(
            w_dim=w_dim,
            channels=int(channels[0]),
            size=int(sizes[0]),
            sampling_rate=sampling_rates[0],
            bandwidth=cutoffs[0],
        )
        self.layer_names: list[str] = []
        for idx in range(num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayer(
                w_dim=w_dim,
                is_torgb=idx == num_layers,
                is_critically_sampled=idx >= num_layers - num_critical,
                use_fp16=bool(sampling_rates[idx] * (2**num_fp16_res) > img_resolution),
                in_channels=int(channels[prev]),
                out_channels=int(channels[idx]),
                in_size=int(sizes[prev]),
                out_size=int(sizes[idx]),
                in_sampling_rate=int(sampling_rates[prev]),
                out_sampling_rate=int(sampling_rates[idx]),
                in_cutoff=cutoffs[prev],
                out_cutoff=cutoffs[idx],
                in_half_width=half_widths[prev],
                out_half_width=half_widths[idx],
                **layer_kwargs,
            )
            name = f"L{idx}_{layer.out_size[0]}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)
        self.style_layer_names: list[str] = [INPUT_LAYER, *self.layer_names]
        self.style_w_indices: list[int] = list(range(self.num_ws))
        self.conv_layer_names: list[str] = self.layer_names[:-1]
        self.feature_layer_names: list[str] = list(self.style_layer_names)

    def style_layers(self) -> list[SynthesisInput | SynthesisLayer]:
        """The modules that read a w, in `style_layer_names` order."""
        return [getattr(self, name) for name in self.style_layer_names]

    def set_input_transform(self, translate: Sequence[float] = (0.0, 0.0), rotate_deg: float = 0.0) -> None:
        """Translate/rotate every image this network makes (see `input_transform_matrix`)."""
        matrix = input_transform_matrix(translate, rotate_deg).to(self.input.transform.device)
        with torch.no_grad():
            self.input.transform.copy_(matrix)

    def forward(
        self,
        ws: torch.Tensor,
        noise_mode: NoiseMode = "const",
        force_fp32: bool = True,
        update_emas: bool = False,
        return_features: bool = False,
        transform: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Images `[N, C, R, R]` from ws; with `return_features`, also every layer's output.

        `noise_mode` and `force_fp32` are accepted for call compatibility: there is no noise
        in StyleGAN3 and this network always computes in float32. `update_emas` moves the
        layers' `magnitude_ema` as in official training. `transform` (`[3, 3]` or `[N, 3, 3]`)
        overrides the stored input transform for this call.
        """
        return self.synthesize_from_styles(
            self.styles(ws),
            noise_mode=noise_mode,
            update_emas=update_emas,
            return_features=return_features,
            transform=transform,
        )

    def synthesize_from_styles(
        self,
        styles: Sequence[torch.Tensor],
        noise_mode: NoiseMode = "const",
        update_emas: bool = False,
        return_features: bool = False,
        transform: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Images from S-space styles (`styles(ws)` gives the same image as `forward(ws)`, bit for bit).

        Features: `input` -> `[N, C, size, size]` (the Fourier features), and each `L*` layer
        -> its output after filtered leaky ReLU and clamp (the next layer's input); the ToRGB
        layer's output is the image before `output_scale`.
        """
        features: dict[str, torch.Tensor] | None = {} if return_features else None
        img = self._run(styles, noise_mode, update_emas, features, None, transform)
        assert img is not None
        return (img, features) if features is not None else img

    def features(
        self,
        ws: torch.Tensor,
        layers: Collection[str] | None = None,
        noise_mode: NoiseMode = "const",
        transform: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Layer outputs by name (see `synthesize_from_styles`); stops after the last layer it needs."""
        wanted = list(self.conv_layer_names if layers is None else layers)
        unknown = [name for name in wanted if name not in self.feature_layer_names]
        if unknown:
            raise KeyError(f"unknown synthesis layer {unknown[0]!r}; known: {', '.join(self.feature_layer_names)}")
        features: dict[str, torch.Tensor] = {}
        self._run(self.styles(ws), noise_mode, False, features, set(wanted), transform)
        return {name: features[name] for name in wanted}

    def _run(
        self,
        styles: Sequence[torch.Tensor],
        noise_mode: str,
        update_emas: bool,
        features: dict[str, torch.Tensor] | None,
        stop_when: set[str] | None,
        transform: torch.Tensor | None,
    ) -> torch.Tensor | None:
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")
        self._check_styles(styles)
        x = self.input(styles[0].to(torch.float32), transform)
        for name, style in zip(self.style_layer_names, styles, strict=True):
            if name != INPUT_LAYER:
                x = getattr(self, name)(x, style.to(torch.float32), update_emas=update_emas)
            if features is not None:
                features[name] = x.contiguous()
                if stop_when is not None and stop_when <= features.keys():
                    return None
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32).contiguous()


class StyleGAN3Generator(torch.nn.Module):
    """Drop-in for the official StyleGAN3 `Generator`: same kwargs, same state-dict keys.

    `Generator(z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs={}, **synthesis_kwargs)`;
    `init_kwargs` holds them as JSON data (synthesis kwargs flat, as officially), so
    `StyleGAN3Generator(**G.init_kwargs)` rebuilds the layout `G.state_dict()` fills.
    """

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        mapping_kwargs: Mapping[str, Any] | None = None,
        **synthesis_kwargs: Any,
    ) -> None:
        super().__init__()
        mapping_kwargs = dict(mapping_kwargs or {})
        self.init_kwargs: dict[str, Any] = jsonable(
            {
                "z_dim": z_dim,
                "c_dim": c_dim,
                "w_dim": w_dim,
                "img_resolution": img_resolution,
                "img_channels": img_channels,
                "mapping_kwargs": mapping_kwargs,
                **synthesis_kwargs,
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
        self.mapping = StyleGAN3Mapping(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, num_ws=self.num_ws, **mapping_kwargs)

    def set_input_transform(self, translate: Sequence[float] = (0.0, 0.0), rotate_deg: float = 0.0) -> None:
        """Same as `synthesis.set_input_transform`."""
        self.synthesis.set_input_transform(translate, rotate_deg)

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
        noise_mode: NoiseMode = "const",
        force_fp32: bool = True,
    ) -> torch.Tensor:
        """Images `[N, img_channels, R, R]` from z `[N, z_dim]` (and labels c `[N, c_dim]` if c_dim > 0)."""
        ws = self.mapping(
            z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff, update_emas=update_emas
        )
        img = self.synthesis(ws, noise_mode=noise_mode, force_fp32=force_fp32, update_emas=update_emas)
        assert isinstance(img, torch.Tensor)
        return img
