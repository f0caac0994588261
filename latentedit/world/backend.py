"""The `embedded` backend: the shipped generator, discriminator and encoder of the world."""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentedit.errors import CheckpointError

if TYPE_CHECKING:
    from latentedit.stylegan2_backend import StyleGAN2Backend


def embedded_backend(arg: str = "", device: str = "cpu") -> StyleGAN2Backend:
    """Load the shipped world GAN; say plainly when it has not been trained and shipped yet."""
    from latentedit.checkpoints.layout import load_networks
    from latentedit.stylegan2_backend import StyleGAN2Backend
    from latentedit.world.networks import Encoder
    from latentedit.world.weights import ENCODER, GAN, load_module, weights_path

    path = weights_path(GAN)
    if not path.is_file():
        raise CheckpointError(
            f"The embedded world's generator ({path.name}) is not shipped in this build yet. "
            "Use --backend random:64 (untrained) or --backend stylegan2:FILE."
        )
    loaded = load_networks(path, device="cpu")
    encoder_path = path.parent / ENCODER  # an encoder belongs to the generator it was trained on: same folder
    encoder = load_module(encoder_path, Encoder, "encoder") if encoder_path.is_file() else None
    backend = StyleGAN2Backend("embedded", loaded.G, loaded.D, encoder=encoder, device=device)
    backend.face_template = "embedded"  # the renderer's geometry (latentedit.faces.templates)
    return backend
