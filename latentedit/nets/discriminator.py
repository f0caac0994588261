"""StyleGAN2 discriminator with a backbone-feature tap, built from the official init kwargs.

Parameters, buffers and math follow the official `DiscriminatorBlock`, `MinibatchStdLayer`,
`DiscriminatorEpilogue` and `Discriminator`; computation is always float32 (the official
CPU / `force_fp32=True` behaviour), with `conv_clamp` applied where the official code applies it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch

from latentedit.nets.config import jsonable
from latentedit.nets.layers import Conv2dLayer, FullyConnectedLayer
from latentedit.nets.mapping import MappingNetwork
from latentedit.nets.resample import downsample2d, setup_filter

ARCHITECTURES = ("orig", "skip", "resnet")


def _check_architecture(architecture: str) -> None:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")


class DiscriminatorBlock(torch.nn.Module):
    """[fromrgb], conv0, conv1 (down 2x), [skip]; `freeze_layers` turns the first layers' weights into buffers.

    `use_fp16` is kept as information and `fp16_channels_last` accepted for config
    compatibility; computation is always float32 (the official `force_fp32=True`).
    """

    def __init__(
        self,
        in_channels: int,
        tmp_channels: int,
        out_channels: int,
        resolution: int,
        img_channels: int,
        first_layer_idx: int,
        architecture: str = "resnet",
        activation: str = "lrelu",
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
        use_fp16: bool = False,
        fp16_channels_last: bool = False,
        freeze_layers: int = 0,
    ) -> None:
        if in_channels not in (0, tmp_channels):
            raise ValueError(f"in_channels must be 0 or tmp_channels ({tmp_channels}), got {in_channels}")
        _check_architecture(architecture)
        super().__init__()
        self.in_channels = in_channels
        self.resolution = resolution
        self.img_channels = img_channels
        self.first_layer_idx = first_layer_idx
        self.architecture = architecture
        self.use_fp16 = use_fp16
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.num_layers = 0

        def trainable() -> bool:
            # Freeze-D: the first `freeze_layers` layers of the whole network are not trained.
            index = self.first_layer_idx + self.num_layers
            self.num_layers += 1
            return index >= freeze_layers

        common = dict(activation=activation, conv_clamp=conv_clamp)
        if in_channels == 0 or architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, kernel_size=1, trainable=trainable(), **common)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, kernel_size=3, trainable=trainable(), **common)
        self.conv1 = Conv2dLayer(
            tmp_channels,
            out_channels,
            kernel_size=3,
            down=2,
            resample_filter=resample_filter,
            trainable=trainable(),
            **common,
        )
        if architecture == "resnet":
            self.skip = Conv2dLayer(
                tmp_channels,
                out_channels,
                kernel_size=1,
                bias=False,
                down=2,
                resample_filter=resample_filter,
                trainable=trainable(),
            )

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.in_channels == 0 or self.architecture == "skip":
            assert img is not None
            img = img.to(torch.float32)
            y = self.fromrgb(img)
            x = x + y if x is not None else y
            img = downsample2d(img, self.resample_filter) if self.architecture == "skip" else None
        assert x is not None
        x = x.to(torch.float32)
        if self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x)
            x = self.conv1(x, gain=math.sqrt(0.5))
            return y.add_(x), img
        return self.conv1(self.conv0(x)), img


class MinibatchStdLayer(torch.nn.Module):
    """Append the stddev across groups of `group_size` samples as `num_channels` extra feature maps.

    As officially, the batch size must be divisible by `min(group_size, N)`.
    """

    def __init__(self, group_size: int | None, num_channels: int = 1) -> None:
        super().__init__()
        self.group_size = group_size
        self.num_channels = num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        group = min(self.group_size, n) if self.group_size is not None else n
        if n % group:
            raise ValueError(f"minibatch-stddev needs the batch size ({n}) divisible by the group size ({group})")
        f = self.num_channels
        y = x.reshape(group, -1, f, c // f, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0)
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4])
        y = y.reshape(-1, f, 1, 1).repeat(group, 1, h, w)
        return torch.cat([x, y], dim=1)


class DiscriminatorEpilogue(torch.nn.Module):
    """The 4x4 head: [fromrgb], minibatch stddev, conv, fc, out, and the label projection."""

    def __init__(
        self,
        in_channels: int,
        cmap_dim: int,
        resolution: int,
        img_channels: int,
        architecture: str = "resnet",
        mbstd_group_size: int | None = 4,
        mbstd_num_channels: int = 1,
        activation: str = "lrelu",
        conv_clamp: float | None = None,
    ) -> None:
        _check_architecture(architecture)
        super().__init__()
        self.in_channels = in_channels
        self.cmap_dim = cmap_dim
        self.resolution = resolution
        self.img_channels = img_channels
        self.architecture = architecture
        if architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, in_channels, kernel_size=1, activation=activation)
        self.mbstd = (
            MinibatchStdLayer(group_size=mbstd_group_size, num_channels=mbstd_num_channels)
            if mbstd_num_channels > 0
            else None
        )
        self.conv = Conv2dLayer(
            in_channels + mbstd_num_channels, in_channels, kernel_size=3, activation=activation, conv_clamp=conv_clamp
        )
        self.fc = FullyConnectedLayer(in_channels * resolution**2, in_channels, activation=activation)
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def backbone(self, x: torch.Tensor, img: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(conv output `[N, C, 4, 4]`, fc output `[N, C]`): everything before the `out` layer."""
        x = x.to(torch.float32)
        if self.architecture == "skip":
            assert img is not None
            x = x + self.fromrgb(img.to(torch.float32))
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        return x, self.fc(x.flatten(1))

    def head(self, features: torch.Tensor, cmap: torch.Tensor | None) -> torch.Tensor:
        """Logits `[N, 1]` from the fc output; with labels, the projection onto `cmap` scaled by 1/sqrt(cmap_dim)."""
        x = self.out(features)
        if self.cmap_dim > 0:
            assert cmap is not None
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / math.sqrt(self.cmap_dim))
        return x

    def forward(self, x: torch.Tensor, img: torch.Tensor | None, cmap: torch.Tensor | None) -> torch.Tensor:
        return self.head(self.backbone(x, img)[1], cmap)


class Discriminator(torch.nn.Module):
    """Drop-in for the official StyleGAN2-ADA `Discriminator`: same kwargs, same state-dict keys.

    Blocks `b{res}` run from the image resolution down to 8 (each halves the size), then the
    4x4 epilogue `b4`. `init_kwargs` holds the constructor arguments as JSON data.
    """

    def __init__(
        self,
        c_dim: int,
        img_resolution: int,
        img_channels: int,
        architecture: str = "resnet",
        channel_base: int = 32768,
        channel_max: int = 512,
        num_fp16_res: int = 0,
        conv_clamp: float | None = None,
        cmap_dim: int | None = None,
        block_kwargs: Mapping[str, Any] | None = None,
        mapping_kwargs: Mapping[str, Any] | None = None,
        epilogue_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        block_kwargs = dict(block_kwargs or {})
        mapping_kwargs = dict(mapping_kwargs or {})
        epilogue_kwargs = dict(epilogue_kwargs or {})
        self.init_kwargs: dict[str, Any] = jsonable(
            {
                "c_dim": c_dim,
                "img_resolution": img_resolution,
                "img_channels": img_channels,
                "architecture": architecture,
                "channel_base": channel_base,
                "channel_max": channel_max,
                "num_fp16_res": num_fp16_res,
                "conv_clamp": conv_clamp,
                "cmap_dim": cmap_dim,
                "block_kwargs": block_kwargs,
                "mapping_kwargs": mapping_kwargs,
                "epilogue_kwargs": epilogue_kwargs,
            }
        )
        if img_resolution < 4 or img_resolution & (img_resolution - 1):
            raise ValueError(f"img_resolution must be a power of two >= 4, got {img_resolution}")
        self.c_dim = c_dim
        self.img_resolution = img_resolution
        self.img_resolution_log2 = int(math.log2(img_resolution))
        self.img_channels = img_channels
        self.block_resolutions = [2**i for i in range(self.img_resolution_log2, 2, -1)]
        channels = {res: min(channel_base // res, channel_max) for res in [*self.block_resolutions, 4]}
        fp16_resolution = max(2 ** (self.img_resolution_log2 + 1 - num_fp16_res), 8)
        if cmap_dim is None:
            cmap_dim = channels[4]
        if c_dim == 0:
            cmap_dim = 0
        common = dict(img_channels=img_channels, architecture=architecture, conv_clamp=conv_clamp)
        layer_idx = 0
        for res in self.block_resolutions:
            block = DiscriminatorBlock(
                channels[res] if res < img_resolution else 0,
                channels[res],
                channels[res // 2],
                resolution=res,
                first_layer_idx=layer_idx,
                use_fp16=res >= fp16_resolution,
                **block_kwargs,
                **common,
            )
            setattr(self, f"b{res}", block)
            layer_idx += block.num_layers
        if c_dim > 0:
            self.mapping = MappingNetwork(
                z_dim=0, c_dim=c_dim, w_dim=cmap_dim, num_ws=None, w_avg_beta=None, **mapping_kwargs
            )
        self.b4 = DiscriminatorEpilogue(channels[4], cmap_dim=cmap_dim, resolution=4, **epilogue_kwargs, **common)

    def blocks(self) -> Iterator[DiscriminatorBlock]:
        """The downsampling blocks, from the image resolution down to 8."""
        for res in self.block_resolutions:
            yield getattr(self, f"b{res}")

    def _check_img(self, img: torch.Tensor) -> None:
        expected = [self.img_channels, self.img_resolution, self.img_resolution]
        if img.ndim != 4 or list(img.shape[1:]) != expected:
            raise ValueError(f"img must have shape [N, {', '.join(map(str, expected))}], got {list(img.shape)}")

    def _cmap(self, c: torch.Tensor | None) -> torch.Tensor | None:
        return self.mapping(None, c) if self.c_dim > 0 else None

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None, force_fp32: bool = True) -> torch.Tensor:
        """Logits `[N, 1]`. `force_fp32` is accepted for call compatibility (always float32 here)."""
        self._check_img(img)
        x: torch.Tensor | None = None
        image: torch.Tensor | None = img
        for block in self.blocks():
            x, image = block(x, image)
        assert x is not None
        return self.b4(x, image, self._cmap(c))

    def features(self, img: torch.Tensor, c: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Backbone features by name, for feature-space losses and probes.

        `b{res}`: output of block `b{res}` (input `res` x `res`, output half that);
        `b4`: the epilogue's 3x3 conv output `[N, C, 4, 4]`; `epilogue`: the fc output `[N, C]`,
        the features right before the final `out` layer and the label projection.
        `c` is accepted for symmetry with `forward`; none of these features depend on it.
        """
        self._check_img(img)
        features: dict[str, torch.Tensor] = {}
        x: torch.Tensor | None = None
        image: torch.Tensor | None = img
        for block in self.blocks():
            x, image = block(x, image)
            features[f"b{block.resolution}"] = x
        assert x is not None
        features["b4"], features["epilogue"] = self.b4.backbone(x, image)
        return features
