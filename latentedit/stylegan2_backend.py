"""The Backend implementation for any StyleGAN2 generator (imported, random or embedded)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from latentedit.errors import CheckpointError, LatentEditError

if TYPE_CHECKING:
    from latentedit.nets import Discriminator, Generator

RANDOM_CONFIG: dict[str, Any] = {
    "z_dim": 128,
    "c_dim": 0,
    "w_dim": 128,
    "img_channels": 3,
    "mapping_kwargs": {"num_layers": 4},
    "synthesis_kwargs": {"channel_base": 1024, "channel_max": 128},
}
"""The world GAN's shape, so `random:64` times like the embedded backend."""


class StyleGAN2Backend:
    """Wraps a generator (and optionally a discriminator and an encoder) for the methods."""

    face_template = "ffhq"
    """Imported networks are taken to be FFHQ-aligned face generators (see `Backend`)."""

    def __init__(
        self,
        name: str,
        generator: Generator,
        discriminator: Discriminator | None = None,
        encoder: torch.nn.Module | None = None,
        device: str = "cpu",
        fingerprint: str | None = None,
    ) -> None:
        from latentedit.checkpoints.layout import fingerprint as weights_fingerprint

        self.name = name
        self.device = device
        self.G = generator.eval().requires_grad_(False).to(device)
        self.D = discriminator.eval().requires_grad_(False).to(device) if discriminator is not None else None
        self.encoder = encoder.eval().requires_grad_(False).to(device) if encoder is not None else None
        self.fingerprint = fingerprint or weights_fingerprint(generator)
        self.resolution = int(generator.img_resolution)
        self.num_ws = int(generator.num_ws)
        self.w_dim = int(generator.w_dim)
        self.z_dim = int(generator.z_dim)
        if int(getattr(generator, "c_dim", 0)) > 0:
            raise CheckpointError(f"Backend {name}: conditional generators (c_dim > 0) are not supported yet.")

    def __repr__(self) -> str:
        return f"<backend {self.name} {self.resolution}px num_ws={self.num_ws} fingerprint={self.fingerprint}>"

    @property
    def w_avg(self) -> torch.Tensor:
        return self.G.mapping.w_avg

    def sample_z(self, n: int, seed: int) -> torch.Tensor:
        """`n` latents from one seeded stream (for sampling training sets)."""
        generator = torch.Generator().manual_seed(int(seed))
        return torch.randn(n, self.z_dim, generator=generator).to(self.device)

    def z_for_seeds(self, seeds: list[int]) -> torch.Tensor:
        """One latent per seed, independent of the batch it is in (`generate --seeds`)."""
        rows = [torch.randn(self.z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
        return torch.stack(rows).to(self.device)

    def mapping(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        return self.G.mapping(z.to(self.device), None, truncation_psi=truncation)

    def synthesize(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        return self.G.synthesis(ws.to(self.device), noise_mode=noise_mode)

    @property
    def style_layers(self) -> list[str]:
        return list(self.G.synthesis.style_layer_names)

    @property
    def style_ws_indices(self) -> list[int]:
        """The W+ index each style layer reads (StyleGAN2's overlap rule, kept by the network)."""
        return list(self.G.synthesis.style_w_indices)

    def styles(self, ws: torch.Tensor) -> list[torch.Tensor]:
        return self.G.synthesis.styles(ws.to(self.device))

    def synthesize_from_styles(self, styles: list[torch.Tensor], noise_mode: str = "const") -> torch.Tensor:
        return self.G.synthesis.synthesize_from_styles(styles, noise_mode=noise_mode)

    def affine_weights(self) -> list[torch.Tensor]:
        return self.G.synthesis.affine_weights()

    @property
    def conv_layers(self) -> list[str]:
        """The layers whose activations `features` returns, coarse to fine (StyleGAN2: ``b{res}.conv{0,1}``)."""
        return list(self.G.synthesis.conv_layer_names)

    @property
    def conv_layer_sizes(self) -> dict[str, int]:
        """Each conv layer's feature size in pixels (square); methods pick default layers by it."""
        return {name: int(name.split(".", 1)[0].removeprefix("b")) for name in self.conv_layers}

    @property
    def style_inputs(self) -> list[str | None]:
        """For each style layer, the conv layer whose output its style multiplies channel by channel
        (None: the synthesis input, `synthesis_input`)."""
        convs = set(self.conv_layers)
        inputs: list[str | None] = []
        previous: str | None = None
        for name in self.style_layers:
            inputs.append(previous)
            if name in convs:
                previous = name
        return inputs

    def synthesis_input(self, ws: torch.Tensor) -> torch.Tensor | None:
        """What the style layers whose `style_inputs` is None multiply, ``[N, C, h, w]``: StyleGAN2's
        learned constant."""
        const = next(iter(self.G.synthesis.blocks())).const
        return const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)

    def synthesize_with_features(
        self, ws: torch.Tensor, layers: list[str] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Images and generator activations by layer name (all conv layers when `layers` is None),
        from one synthesis pass."""
        images, features = self.G.synthesis(ws.to(self.device), noise_mode="const", return_features=True)
        if layers is None:
            return images, features
        unknown = [layer for layer in layers if layer not in features]
        if unknown:
            raise LatentEditError(f"Unknown generator layer(s) {unknown}. Available: {', '.join(features)}.")
        return images, {layer: features[layer] for layer in layers}

    def features(self, ws: torch.Tensor, layers: list[str] | None = None) -> dict[str, torch.Tensor]:
        """Generator activations by layer name (all conv layers when `layers` is None)."""
        if layers is None:
            return self.synthesize_with_features(ws)[1]
        unknown = [layer for layer in layers if layer not in self.G.synthesis.conv_layer_names]
        if unknown:
            names = ", ".join(self.G.synthesis.conv_layer_names)
            raise LatentEditError(f"Unknown generator layer(s) {unknown}. Available: {names}.")
        return self.G.synthesis.features(ws.to(self.device), layers=layers, noise_mode="const")

    def noise_layers(self) -> list[torch.nn.Module]:
        """Synthesis layers with a constant noise input (what inversion may optimise)."""
        return [
            module
            for module in self.G.synthesis.modules()
            if isinstance(getattr(module, "noise_const", None), torch.Tensor)
        ]

    @contextmanager
    def per_image_noise(self, noises: list[torch.Tensor]) -> Iterator[None]:
        """Within the block, `noise_mode="const"` uses `noises[i]` ``[N, 1, h, w]`` per image.

        The layers add ``noise_const * noise_strength`` to ``[N, C, h, w]`` activations, so a
        per-image ``[N, 1, h, w]`` tensor broadcasts exactly like the shared ``[h, w]`` one.
        """
        layers = self.noise_layers()
        if len(noises) != len(layers):
            raise LatentEditError(f"Expected {len(layers)} noise tensors, got {len(noises)}.")
        saved = [layer.noise_const for layer in layers]
        try:
            for layer, noise in zip(layers, noises, strict=True):
                layer.noise_const = noise
            yield
        finally:
            for layer, original in zip(layers, saved, strict=True):
                layer.noise_const = original

    @property
    def has_discriminator(self) -> bool:
        return self.D is not None

    def _require_discriminator(self) -> Discriminator:
        if self.D is None:
            raise LatentEditError(f"Backend {self.name} has no discriminator; import a checkpoint that includes D.")
        return self.D

    def _group_batches(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Split a batch so minibatch-stddev groups divide every part (StyleGAN2 needs it)."""
        epilogue = self._require_discriminator().init_kwargs.get("epilogue_kwargs", {})
        group = int(epilogue.get("mbstd_group_size", 4) or 1)
        head = images.shape[0] - images.shape[0] % group if images.shape[0] > group else images.shape[0]
        return [part for part in (images[:head], images[head:]) if part.shape[0]]

    def disc_logits(self, images: torch.Tensor) -> torch.Tensor:
        D = self._require_discriminator()
        return torch.cat([D(part.to(self.device), None) for part in self._group_batches(images)])

    def disc_features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        D = self._require_discriminator()
        parts = [D.features(part.to(self.device), None) for part in self._group_batches(images)]
        return {key: torch.cat([part[key] for part in parts]) for key in parts[0]}

    @property
    def has_encoder(self) -> bool:
        return self.encoder is not None

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images -> W+ initial guess; without an encoder, every image starts at w_avg."""
        if self.encoder is None:
            return self.w_avg.expand(images.shape[0], self.num_ws, -1).clone()
        return self.encoder(images.to(self.device))


def from_file(arg: str, device: str = "cpu") -> StyleGAN2Backend:
    """``stylegan2:FILE`` (and a bare ``FILE.safetensors``): a checkpoint in latentedit's layout.

    The file says which generator it holds: a StyleGAN3 one loads as ``stylegan3:FILE``, so an
    imported file works under either spelling and its edits are stored under one name.
    """
    return backend_from_file(arg, device, "stylegan2")


def backend_from_file(arg: str, device: str, scheme: str) -> StyleGAN2Backend:
    """The backend for a checkpoint file, as ``--backend SCHEME:FILE`` asked for it."""
    from latentedit.checkpoints.layout import architecture, load_networks

    if not arg:
        raise LatentEditError(f"--backend {scheme} needs a file: --backend {scheme}:NAME.safetensors")
    path = Path(arg)
    if not path.exists():
        raise CheckpointError(
            f"Checkpoint {path} not found. Import one first: latentedit import-checkpoint FILE --out {path.name}"
        )
    loaded = load_networks(path, device="cpu")
    kind = architecture(loaded.metadata)
    if scheme == "stylegan3" and kind != "stylegan3":
        raise CheckpointError(f"{path} holds a StyleGAN2 generator; use --backend stylegan2:{path} (or just the path).")
    if kind == "stylegan3":
        from latentedit.stylegan3_backend import StyleGAN3Backend

        return StyleGAN3Backend(f"stylegan3:{path}", loaded.G, loaded.D, device=device)
    return StyleGAN2Backend(f"stylegan2:{path}", loaded.G, loaded.D, device=device)


def random_backend(arg: str, device: str = "cpu") -> StyleGAN2Backend:
    """``random[:RES]``: untrained weights from a fixed seed, for tests and plumbing."""
    from latentedit.nets import Discriminator, Generator

    try:
        resolution = int(arg or 64)
    except ValueError:
        raise LatentEditError(f"--backend random:{arg}: expected a resolution such as random:64.") from None
    if resolution < 16 or resolution > 1024 or resolution & (resolution - 1):
        raise LatentEditError(f"--backend random:{arg}: resolution must be a power of two from 16 to 1024.")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        generator = Generator(img_resolution=resolution, **RANDOM_CONFIG)
        discriminator = Discriminator(
            c_dim=0, img_resolution=resolution, img_channels=3, channel_base=1024, channel_max=128
        )
    backend = StyleGAN2Backend(f"random:{resolution}", generator, discriminator, device=device)
    backend.face_template = "embedded"  # the test networks stand in for the embedded world
    return backend
