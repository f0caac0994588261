"""Inversion options that change what codes an image gets."""

from __future__ import annotations

import pytest
import torch

from latentedit.errors import OptionError
from latentedit.inversion import InversionOptions, invert_batch
from latentedit.stylegan2_backend import StyleGAN2Backend
from latentedit.world.networks import Encoder


def test_the_in_domain_regulariser_pulls_codes_towards_what_the_encoder_says(tiny_backend) -> None:
    encoder = Encoder(tiny_backend.num_ws, tiny_backend.w_dim, width=8)
    encoder.w_avg.copy_(tiny_backend.w_avg)  # an untrained encoder: every image -> w_avg
    backend = StyleGAN2Backend("random:32", tiny_backend.G, tiny_backend.D, encoder=encoder)
    with torch.inference_mode():
        target = backend.synthesize(backend.mapping(backend.z_for_seeds([3])))
    distance = {}
    for weight in (0.0, 100.0):
        options = InversionOptions(steps=15, lr=0.05, perceptual=0.0, noise=False, domain=weight)
        codes = invert_batch(backend, target.clone(), options).ws
        distance[weight] = float((codes - backend.w_avg).norm())
    assert distance[100.0] < 0.5 * distance[0.0]


def test_the_in_domain_regulariser_needs_an_encoder(tiny_backend) -> None:
    with pytest.raises(OptionError, match="needs an encoder"):
        invert_batch(tiny_backend, torch.zeros(1, 3, 32, 32), InversionOptions(steps=1, domain=1.0))
