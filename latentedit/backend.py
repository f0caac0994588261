"""What every method talks to: the Backend protocol, and loading backends by name.

A backend wraps one generator, and optionally its discriminator and an inverter (encoder).
Images are float tensors in [-1, 1], NCHW. ``--backend`` takes ``SCHEME`` or ``SCHEME:ARG``,
e.g. ``embedded``, ``random:64``, ``stylegan2:ffhq.safetensors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch

DEFAULT_BACKEND = "embedded"


@dataclass(frozen=True)
class BackendSpec:
    """A backend factory registered by a plugin.

    ``factory`` is ``"module:function"`` (or a callable) taking ``(arg: str, device: str)``.
    ``example`` shows users how to spell it.
    """

    scheme: str
    summary: str
    factory: str
    example: str = ""


@runtime_checkable
class Backend(Protocol):
    """The interface every method uses; see DESIGN.md.

    ``face_template`` says how the generator's training faces were aligned, so photos are aligned
    the same way: ``ffhq`` (imported face networks), ``embedded`` (the embedded world's renderer),
    ``none`` (not aligned faces: photos are centre-cropped), or a template JSON file (docs/faces.md).
    """

    name: str
    face_template: str
    fingerprint: str
    resolution: int
    num_ws: int
    w_dim: int
    z_dim: int
    device: str

    @property
    def w_avg(self) -> torch.Tensor: ...
    def sample_z(self, n: int, seed: int) -> torch.Tensor: ...
    def z_for_seeds(self, seeds: list[int]) -> torch.Tensor: ...
    def mapping(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor: ...
    def synthesize(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor: ...
    @property
    def style_layers(self) -> list[str]: ...
    @property
    def style_ws_indices(self) -> list[int]: ...
    def styles(self, ws: torch.Tensor) -> list[torch.Tensor]: ...
    def synthesize_from_styles(self, styles: list[torch.Tensor], noise_mode: str = "const") -> torch.Tensor: ...
    def affine_weights(self) -> list[torch.Tensor]: ...
    @property
    def conv_layers(self) -> list[str]: ...
    @property
    def conv_layer_sizes(self) -> dict[str, int]: ...
    @property
    def style_inputs(self) -> list[str | None]: ...
    def synthesis_input(self, ws: torch.Tensor) -> torch.Tensor | None: ...
    def features(self, ws: torch.Tensor, layers: list[str] | None = None) -> dict[str, torch.Tensor]: ...
    def synthesize_with_features(
        self, ws: torch.Tensor, layers: list[str] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...
    @property
    def has_discriminator(self) -> bool: ...
    def disc_logits(self, images: torch.Tensor) -> torch.Tensor: ...
    def disc_features(self, images: torch.Tensor) -> dict[str, torch.Tensor]: ...
    @property
    def has_encoder(self) -> bool: ...
    def encode(self, images: torch.Tensor) -> torch.Tensor: ...


def parse_backend(text: str) -> tuple[str, str]:
    """Split ``SCHEME:ARG``; a bare path to a .safetensors file means ``stylegan2:PATH`` (which
    recognises a StyleGAN3 file from its metadata)."""
    scheme, sep, arg = text.partition(":")
    if not sep and text.endswith(".safetensors"):
        return "stylegan2", text
    return scheme, arg


def check_device(device: str) -> None:
    """Fail with one clear line on a device torch cannot use here."""
    from latentedit.errors import LatentEditError

    if device == "cpu":
        return
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise LatentEditError(
            f"--device {device}: no CUDA GPU is available here (torch {torch.__version__}). Use --device cpu."
        )
    try:
        torch.device(device)
    except RuntimeError as exc:
        raise LatentEditError(f"--device {device!r} is not a torch device: {exc}") from None
    try:  # one number there and back: `meta` holds no data, other devices lack a build or a driver
        float(torch.ones(1, device=device).cpu())
    except (RuntimeError, NotImplementedError, AssertionError, ImportError) as exc:
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0].split(". ")[0].rstrip(".!")
        raise LatentEditError(f"--device {device} cannot compute here ({reason}). Use --device cpu.") from None
