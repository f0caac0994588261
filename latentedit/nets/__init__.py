"""StyleGAN2 and StyleGAN3 networks in plain PyTorch, numerically matching the official code.

`Generator` and `Discriminator` take the official init kwargs and have the official state-dict
layout, so official weights load with `load_state_dict(strict=True)`. `StyleGAN3Generator`
does the same for NVlabs/stylegan3's `Generator`. See docs/nets.md.
"""

from __future__ import annotations

from latentedit.nets.discriminator import Discriminator
from latentedit.nets.generator import Generator
from latentedit.nets.mapping import MappingNetwork
from latentedit.nets.stylegan3 import StyleGAN3Generator
from latentedit.nets.synthesis import NOISE_MODES, SynthesisNetwork

__all__ = [
    "NOISE_MODES",
    "Discriminator",
    "Generator",
    "MappingNetwork",
    "StyleGAN3Generator",
    "SynthesisNetwork",
]
