"""Inversion options that change what codes an image gets."""

from __future__ import annotations

import pytest
import torch

from latentedit.errors import OptionError
from latentedit.inversion import InversionOptions, invert_batch
from latentedit.stylegan2_backend import StyleGAN2Backend
from latentedit.world.networks import Encoder


def test_the_in_domain_regulariser_keeps_codes_where_the_encoder_would_put_their_images(tiny_backend) -> None:
    torch.manual_seed(0)
    encoder = Encoder(tiny_backend.num_ws, tiny_backend.w_dim, width=8)
    torch.nn.init.normal_(encoder.head[-1].weight, std=0.05)  # an encoder whose answer depends on the image
    encoder.w_avg.copy_(tiny_backend.w_avg)
    backend = StyleGAN2Backend("random:32", tiny_backend.G, tiny_backend.D, encoder=encoder)
    with torch.inference_mode():
        target = backend.synthesize(backend.mapping(backend.z_for_seeds([3])))
    gap = {}
    for weight in (0.0, 100.0):
        options = InversionOptions(steps=15, lr=0.05, perceptual=0.0, noise=False, domain=weight)
        codes = invert_batch(backend, target.clone(), options).ws
        with torch.inference_mode():
            gap[weight] = float((codes - encoder(backend.synthesize(codes))).norm())
    assert gap[100.0] < 0.5 * gap[0.0]


def test_the_in_domain_regulariser_needs_an_encoder(tiny_backend) -> None:
    with pytest.raises(OptionError, match="needs an encoder"):
        invert_batch(tiny_backend, torch.zeros(1, 3, 32, 32), InversionOptions(steps=1, domain=1.0))
