"""StyleGAN2 synthesis network with taps for latent editing (S space, per-layer features).

Parameters, buffers and math follow the official `SynthesisLayer`, `ToRGBLayer`,
`SynthesisBlock` and `SynthesisNetwork`. Computation is always float32 (what the official
code does on CPU or with `force_fp32=True`); `conv_clamp` applies wherever the official code
applies it. Each style layer's affine output ("style", S space) is computed first, then the
image is synthesised from the styles alone, so editing in W and in S share one code path.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Sequence
from typing import Any, Literal

import torch

from latentedit.nets import ops
from latentedit.nets.layers import Conv2dLayer, FullyConnectedLayer
from latentedit.nets.modconv import modulated_conv2d
from latentedit.nets.resample import setup_filter, upsample2d
from latentedit.nets.style_space import StyleSpaceNetwork, affine_map

NoiseMode = Literal["const", "random", "none"]
NOISE_MODES: tuple[str, ...] = ("const", "random", "none")

# Convolutions at or above this resolution run in channels-last memory format, which
# oneDNN convolves markedly faster on CPU when channels are few and images large.
CHANNELS_LAST_MIN_RES = 64


class SynthesisLayer(torch.nn.Module):
    """Modulated 3x3 convolution (optionally 2x upsampling) + noise + bias + activation + clamp.

    As the official `SynthesisLayer`. For lrelu/relu/linear the activation gain (sqrt(2), times
    sqrt(1/2) in resnet blocks) is applied before the activation, riding on the demodulation
    scale, noise and bias, which saves a pass over the output.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        kernel_size: int = 3,
        up: int = 1,
        use_noise: bool = True,
        activation: str = "lrelu",
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.resolution = resolution
        self.up = up
        self.use_noise = use_noise
        self.activation = activation
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.act_gain = ops.activation(activation).def_gain
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = torch.nn.Parameter(torch.zeros([]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))

    def style(self, w: torch.Tensor) -> torch.Tensor:
        """The modulation coefficients `[N, in_channels]` for w `[N, w_dim]`."""
        return self.affine(w)

    def style_affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight `[in_channels, w_dim]`, bias `[in_channels]`) with `style(w) = w @ weight.T + bias`."""
        return affine_map(self.affine)

    def _noise(self, x: torch.Tensor, noise_mode: str) -> torch.Tensor | None:
        if not self.use_noise or noise_mode == "none":
            return None
        if noise_mode == "random":
            shape = [x.shape[0], 1, self.resolution, self.resolution]
            return torch.randn(shape, device=x.device) * self.noise_strength
        return self.noise_const * self.noise_strength

    def forward(
        self,
        x: torch.Tensor,
        style: torch.Tensor,
        noise_mode: str = "const",
        fused_modconv: bool | None = None,
        gain: float = 1,
    ) -> torch.Tensor:
        # lrelu(y) * g == lrelu(y * g) for g > 0.
        total_gain = self.act_gain * gain
        pre_gain = total_gain if ops.is_homogeneous(self.activation) else 1.0
        noise = self._noise(x, noise_mode)
        y = modulated_conv2d(
            x,
            self.weight,
            style,
            up=self.up,
            padding=self.padding,
            resample_filter=self.resample_filter,
            flip_weight=self.up == 1,
            fused=fused_modconv,
            out_gain=pre_gain,
        )
        if noise is not None:
            noise = (noise * pre_gain).to(y.dtype)
            y = y.add_(noise) if ops.can_work_in_place() else y + noise
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return ops.bias_act(y, self.bias * pre_gain, act=self.activation, gain=total_gain / pre_gain, clamp=clamp)


class ToRGBLayer(torch.nn.Module):
    """Modulated 1x1 convolution to image channels, no demodulation, bias, clamp."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        kernel_size: int = 1,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)

    def style(self, w: torch.Tensor) -> torch.Tensor:
        """`affine(w) * weight_gain`: the official layer folds its equalized-lr gain into the style."""
        return self.affine(w) * self.weight_gain

    def style_affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight `[in_channels, w_dim]`, bias `[in_channels]`) with `style(w) = w @ weight.T + bias`."""
        return affine_map(self.affine, self.weight_gain)

    def forward(self, x: torch.Tensor, style: torch.Tensor, fused_modconv: bool | None = None) -> torch.Tensor:
        y = modulated_conv2d(x, self.weight, style, demodulate=False, fused=fused_modconv)
        return ops.bias_act(y, self.bias, clamp=self.conv_clamp)


class SynthesisBlock(torch.nn.Module):
    """One resolution: [conv0 (up 2x)], conv1, [torgb], [skip]; architecture 'orig', 'skip' or 'resnet'.

    `use_fp16` is kept as information and `fp16_channels_last` accepted for config
    compatibility; neither changes anything: this block always computes in float32, like the
    official block with `force_fp32=True`, in the memory layout `CHANNELS_LAST_MIN_RES` picks.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        is_last: bool,
        architecture: str = "skip",
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
        use_fp16: bool = False,
        fp16_channels_last: bool = False,
        **layer_kwargs: Any,
    ) -> None:
        if architecture not in ("orig", "skip", "resnet"):
            raise ValueError(f"architecture must be 'orig', 'skip' or 'resnet', got {architecture!r}")
        super().__init__()
        self.in_channels = in_channels
        self.w_dim = w_dim
        self.resolution = resolution
        self.img_channels = img_channels
        self.is_last = is_last
        self.architecture = architecture
        self.use_fp16 = use_fp16
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.num_conv = 0
        self.num_torgb = 0
        self.memory_format = torch.channels_last if resolution >= CHANNELS_LAST_MIN_RES else torch.contiguous_format
        if in_channels == 0:
            self.const = torch.nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(
                in_channels,
                out_channels,
                w_dim=w_dim,
                resolution=resolution,
                up=2,
                resample_filter=resample_filter,
                conv_clamp=conv_clamp,
                **layer_kwargs,
            )
            self.num_conv += 1
        self.conv1 = SynthesisLayer(
            out_channels,
            out_channels,
            w_dim=w_dim,
            resolution=resolution,
            conv_clamp=conv_clamp,
            **layer_kwargs,
        )
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and architecture == "resnet":
            self.skip = Conv2dLayer(
                in_channels,
                out_channels,
                kernel_size=1,
                bias=False,
                up=2,
                resample_filter=resample_filter,
            )

    def style_layers(self) -> list[tuple[str, SynthesisLayer | ToRGBLayer]]:
        """(local name, layer) for each layer that takes a w, in the order they consume ws."""
        names = (["conv0"] if self.in_channels != 0 else []) + ["conv1"] + (["torgb"] if self.num_torgb else [])
        return [(name, getattr(self, name)) for name in names]

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        styles: Sequence[torch.Tensor],
        noise_mode: str = "const",
        fused_modconv: bool | None = None,
        features: dict[str, torch.Tensor] | None = None,
        prefix: str = "",
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Run the block on `styles` (one per style layer); record conv outputs in `features` if given."""
        style_iter = iter(styles)
        batch = styles[0].shape[0]
        if x is None:
            x = self.const.to(torch.float32).unsqueeze(0).expand(batch, -1, -1, -1)
        x = x.to(dtype=torch.float32).contiguous(memory_format=self.memory_format)

        def run(name: str, inp: torch.Tensor, gain: float = 1) -> torch.Tensor:
            layer: SynthesisLayer = getattr(self, name)
            out = layer(inp, next(style_iter), noise_mode=noise_mode, fused_modconv=fused_modconv, gain=gain)
            if features is not None:
                features[prefix + name] = out.contiguous()
            return out

        if self.in_channels == 0:
            x = run("conv1", x)
        elif self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = run("conv0", x)
            x = run("conv1", x, gain=math.sqrt(0.5))
            x = y.add_(x)
        else:
            x = run("conv0", x)
            x = run("conv1", x)

        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.num_torgb:
            y = self.torgb(x, next(style_iter), fused_modconv=fused_modconv).to(torch.float32)
            img = img.add_(y) if img is not None else y
        return x, img


class SynthesisNetwork(StyleSpaceNetwork):
    """ws `[N, num_ws, w_dim]` to images `[N, img_channels, R, R]`, plus S-space and feature taps.

    Block `b{res}` reads ws `[i, i + num_conv + num_torgb)` and the next block starts at
    `i + num_conv`, so a block's torgb shares its w with the next block's conv0, as officially.
    """

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 32768,
        channel_max: int = 512,
        num_fp16_res: int = 0,
        **block_kwargs: Any,
    ) -> None:
        if img_resolution < 4 or img_resolution & (img_resolution - 1):
            raise ValueError(f"img_resolution must be a power of two >= 4, got {img_resolution}")
        super().__init__()
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_resolution_log2 = int(math.log2(img_resolution))
        self.img_channels = img_channels
        self.block_resolutions = [2**i for i in range(2, self.img_resolution_log2 + 1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions}
        fp16_resolution = max(2 ** (self.img_resolution_log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(
                channels[res // 2] if res > 4 else 0,
                channels[res],
                w_dim=w_dim,
                resolution=res,
                img_channels=img_channels,
                is_last=res == img_resolution,
                use_fp16=res >= fp16_resolution,
                **block_kwargs,
            )
            self.num_ws += block.num_conv + (block.num_torgb if res == img_resolution else 0)
            setattr(self, f"b{res}", block)
        self.style_layer_names: list[str] = []
        self.style_w_indices: list[int] = []
        w_idx = 0
        for block in self.blocks():
            for offset, (name, _) in enumerate(block.style_layers()):
                self.style_layer_names.append(f"b{block.resolution}.{name}")
                self.style_w_indices.append(w_idx + offset)
            w_idx += block.num_conv
        self.conv_layer_names: list[str] = [name for name in self.style_layer_names if ".conv" in name]

    def blocks(self) -> Iterator[SynthesisBlock]:
        """The blocks from 4x4 up."""
        for res in self.block_resolutions:
            yield getattr(self, f"b{res}")

    def style_layers(self) -> list[SynthesisLayer | ToRGBLayer]:
        """The layers that take a style, in `style_layer_names` order."""
        return [layer for block in self.blocks() for _, layer in block.style_layers()]

    def forward(
        self,
        ws: torch.Tensor,
        noise_mode: NoiseMode = "const",
        fused_modconv: bool | None = None,
        force_fp32: bool = True,
        return_features: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Images `[N, C, H, W]` (about [-1, 1]) from ws; with `return_features`, also the conv features.

        `force_fp32` is accepted for call compatibility with the official network; this one
        always computes in float32. Features: see `synthesize_from_styles`.
        """
        return self.synthesize_from_styles(
            self.styles(ws), noise_mode=noise_mode, fused_modconv=fused_modconv, return_features=return_features
        )

    def synthesize_from_styles(
        self,
        styles: Sequence[torch.Tensor],
        noise_mode: NoiseMode = "const",
        fused_modconv: bool | None = None,
        return_features: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Images from S-space styles (`styles(ws)` gives the same image as `forward(ws)`).

        With `return_features`, also a dict `b{res}.conv{0,1}` -> `[N, C, res, res]`: the
        output of that synthesis layer after noise, bias, activation, gain and clamp (the
        input of the next layer), before the resnet skip sum.
        """
        features: dict[str, torch.Tensor] | None = {} if return_features else None
        img = self._run(styles, noise_mode, fused_modconv, features, stop_when=None)
        assert img is not None
        return (img, features) if features is not None else img

    def features(
        self, ws: torch.Tensor, layers: Collection[str] | None = None, noise_mode: NoiseMode = "const"
    ) -> dict[str, torch.Tensor]:
        """Conv features by name (see `synthesize_from_styles`); stops after the last block it needs."""
        wanted = list(self.conv_layer_names if layers is None else layers)
        unknown = [name for name in wanted if name not in self.conv_layer_names]
        if unknown:
            raise KeyError(f"unknown synthesis layer {unknown[0]!r}; known: {', '.join(self.conv_layer_names)}")
        features: dict[str, torch.Tensor] = {}
        self._run(self.styles(ws), noise_mode, None, features, stop_when=set(wanted))
        return {name: features[name] for name in wanted}

    def _run(
        self,
        styles: Sequence[torch.Tensor],
        noise_mode: str,
        fused_modconv: bool | None,
        features: dict[str, torch.Tensor] | None,
        stop_when: set[str] | None,
    ) -> torch.Tensor | None:
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")
        self._check_styles(styles)
        x: torch.Tensor | None = None
        img: torch.Tensor | None = None
        start = 0
        for block in self.blocks():
            count = block.num_conv + block.num_torgb
            x, img = block(
                x,
                img,
                styles[start : start + count],
                noise_mode,
                fused_modconv,
                features,
                prefix=f"b{block.resolution}.",
            )
            start += count
            if stop_when is not None and features is not None and stop_when <= features.keys():
                return None
        assert img is not None
        return img.contiguous()
