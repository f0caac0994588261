"""The world's own small networks: attribute scorer, part segmenter, and W+ encoder.

All three are plain CNNs sized for 64 px and 2 CPU cores. Their constructor arguments are
kept in `init_kwargs` so the shipped safetensors files rebuild them without pickle.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _conv_block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.GroupNorm(min(8, c_out // 4), c_out),
        nn.SiLU(inplace=True),
    )


class Backbone(nn.Module):
    """64 px image -> a feature pyramid: a light full-resolution stem, then four stride-2 stages.

    Most compute sits at 32 px and below, which keeps a training step cheap on a CPU.
    """

    def __init__(self, width: int = 32, in_channels: int = 3) -> None:
        super().__init__()
        self.stem = _conv_block(in_channels, width // 2, 1)
        widths = [width, width * 2, width * 4, width * 8]
        self.stages = nn.ModuleList()
        c_in = width // 2
        for c_out in widths:
            self.stages.append(nn.Sequential(_conv_block(c_in, c_out, 2), _conv_block(c_out, c_out, 1)))
            c_in = c_out
        self.out_channels = [width // 2, *widths]

    def pyramid(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Features at 64, 32, 16, 8 and 4 px."""
        features = [self.stem(images)]
        for stage in self.stages:
            features.append(stage(features[-1]))
        return features


class AttributeScorer(nn.Module):
    """Predicts every world attribute from an image; `heads` fixes the output layout.

    ``heads`` maps attribute -> (kind, size): binary 1 logit, continuous 1 value in [0, 1]
    (the attribute's range rescaled), cyclic 2 values (cos, sin), categorical K logits.
    """

    def __init__(self, heads: dict[str, list[Any]], width: int = 32) -> None:
        super().__init__()
        self.init_kwargs = {"heads": heads, "width": width}
        self.heads = {name: (kind, int(size)) for name, (kind, size) in heads.items()}
        self.backbone = Backbone(width)
        features = self.backbone.out_channels[-1]
        self.embed = nn.Sequential(nn.Linear(features, 256), nn.SiLU(inplace=True))
        self.out = nn.Linear(256, sum(size for _, size in self.heads.values()))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features [N, 256] (the space of the world's Fréchet distance)."""
        pooled = self.backbone.pyramid(images)[-1].mean(dim=(2, 3))
        return self.embed(pooled)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw head outputs by attribute."""
        raw = self.out(self.features(images))
        outputs, start = {}, 0
        for name, (_, size) in self.heads.items():
            outputs[name] = raw[:, start : start + size]
            start += size
        return outputs


class PartSegmenter(nn.Module):
    """A small U-Net: 64 px image -> per-pixel logits over the world's parts."""

    def __init__(self, num_parts: int, width: int = 24) -> None:
        super().__init__()
        self.init_kwargs = {"num_parts": num_parts, "width": width}
        self.backbone = Backbone(width)
        channels = self.backbone.out_channels
        self.up = nn.ModuleList()
        for deep, shallow in zip(channels[::-1][:-1], channels[::-1][1:], strict=True):
            self.up.append(_conv_block(deep + shallow, shallow, 1))
        self.head = nn.Conv2d(channels[0], num_parts, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pyramid = self.backbone.pyramid(images)
        x = pyramid[-1]
        for block, skip in zip(self.up, pyramid[::-1][1:], strict=True):
            x = nn.functional.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)


class Encoder(nn.Module):
    """Image -> W+ codes, predicted as offsets from the generator's w_avg.

    Starting from w_avg means an untrained or uncertain encoder still gives a sensible face,
    and inversion by optimisation refines from there.
    """

    def __init__(self, num_ws: int, w_dim: int, width: int = 32) -> None:
        super().__init__()
        self.init_kwargs = {"num_ws": num_ws, "w_dim": w_dim, "width": width}
        self.num_ws, self.w_dim = num_ws, w_dim
        self.backbone = Backbone(width)
        features = sum(self.backbone.out_channels[-2:])
        self.head = nn.Sequential(nn.Linear(features, 512), nn.SiLU(inplace=True), nn.Linear(512, num_ws * w_dim))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pyramid = self.backbone.pyramid(images)
        pooled = torch.cat([pyramid[-2].mean(dim=(2, 3)), pyramid[-1].mean(dim=(2, 3))], dim=1)
        offsets = self.head(pooled).view(-1, self.num_ws, self.w_dim)
        return self.w_avg.view(1, 1, -1) + offsets
