"""The Backend for StyleGAN3 generators (stylegan3-t, -r), whose discriminator is StyleGAN2's.

StyleGAN2's backend interface over `nets.StyleGAN3Generator`, with three differences the methods
see: S space begins with the input's style (``input``: four numbers that turn and shift the
Fourier features, not a channel scale), features are cropped to the picture (StyleGAN3 computes
each layer on a margin around it), and there is no noise. It adds the input transform.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch

from latentedit.errors import LatentEditError
from latentedit.stylegan2_backend import StyleGAN2Backend, backend_from_file

if TYPE_CHECKING:
    from latentedit.nets.stylegan3 import SynthesisNetwork

INPUT_LAYER = "input"
"""The Fourier-feature input: a `features` layer (the first conv's input), and the first style layer."""


class StyleGAN3Backend(StyleGAN2Backend):
    """A StyleGAN3 generator (and optionally StyleGAN2's discriminator) for the methods."""

    _transform: torch.Tensor | None = None

    @property
    def synthesis(self) -> SynthesisNetwork:
        return self.G.synthesis

    @contextmanager
    def input_transform(self, translate: Sequence[float] = (0.0, 0.0), rotate: float = 0.0) -> Iterator[None]:
        """Within the block every picture is translated by `translate` (image widths) and rotated by
        `rotate` degrees. The stored weights are not touched (the fingerprint stays the same)."""
        from latentedit.nets.stylegan3 import input_transform_matrix

        saved = self._transform
        self._transform = input_transform_matrix(tuple(translate), float(rotate)).to(self.device)
        try:
            yield
        finally:
            self._transform = saved

    def synthesize(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        """Images from W+; StyleGAN3 has no noise, so every `noise_mode` gives the same picture."""
        return self.synthesis(ws.to(self.device), noise_mode=noise_mode, transform=self._transform)

    def synthesize_from_styles(self, styles: list[torch.Tensor], noise_mode: str = "const") -> torch.Tensor:
        return self.synthesis.synthesize_from_styles(styles, noise_mode=noise_mode, transform=self._transform)

    @property
    def conv_layer_sizes(self) -> dict[str, int]:
        """Each layer's sampling rate: the pixels across the picture its (cropped) features have."""
        return {name: int(getattr(self.synthesis, name).out_sampling_rate) for name in self.conv_layers}

    @property
    def style_inputs(self) -> list[str | None]:
        """The input's style multiplies nothing (None); L0 multiplies the Fourier features, each later
        layer the previous layer's output."""
        return [None, INPUT_LAYER, *self.synthesis.layer_names[:-1]]

    def synthesis_input(self, ws: torch.Tensor) -> torch.Tensor | None:
        """None: StyleGAN3's first style turns and shifts the Fourier features, it scales no channels."""
        return None

    def synthesize_with_features(
        self, ws: torch.Tensor, layers: list[str] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Images and the features of `layers` (all conv layers if None), cropped to the picture."""
        wanted = self._check_layers(layers)
        images, features = self.synthesis(ws.to(self.device), return_features=True, transform=self._transform)
        return images, {name: self._crop(name, features[name]) for name in wanted}

    def features(self, ws: torch.Tensor, layers: list[str] | None = None) -> dict[str, torch.Tensor]:
        """Layer outputs by name (all conv layers if None; ``input`` too), cropped to the picture, so
        that a feature pixel covers the same part of the image as in StyleGAN2."""
        wanted = self._check_layers(layers)
        features = self.synthesis.features(ws.to(self.device), wanted, transform=self._transform)
        return {name: self._crop(name, features[name]) for name in wanted}

    def _check_layers(self, layers: list[str] | None) -> list[str]:
        known = [INPUT_LAYER, *self.conv_layers]
        wanted = list(self.conv_layers if layers is None else layers)
        unknown = [layer for layer in wanted if layer not in known]
        if unknown:
            raise LatentEditError(f"Unknown generator layer(s) {unknown}. Available: {', '.join(known)}.")
        return wanted

    def _crop(self, name: str, feature: torch.Tensor) -> torch.Tensor:
        """The centre `sampling_rate` pixels: the margin StyleGAN3 computes around the picture removed."""
        layer = getattr(self.synthesis, name)
        rate = int(layer.sampling_rate if name == INPUT_LAYER else layer.out_sampling_rate)
        margin = (feature.shape[-1] - rate) // 2
        return feature[..., margin : margin + rate, margin : margin + rate] if margin > 0 else feature


def from_file(arg: str, device: str = "cpu") -> StyleGAN3Backend:
    """``stylegan3:FILE``: an imported StyleGAN3 checkpoint (a StyleGAN2 file is refused with a hint)."""
    backend = backend_from_file(arg, device, "stylegan3")
    assert isinstance(backend, StyleGAN3Backend)
    return backend
