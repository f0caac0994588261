"""FEditNet's attribute assessor D_attr = φ ∘ d (Eq. 5): a discriminator backbone and a linear classifier.

By default d is the backend's own pretrained discriminator, frozen (the paper's few-shot
argument: its features were learned from thousands of images, so a linear φ on them cannot
memorise 30 positives). `train_backbone` fine-tunes a copy of it as the original code's
``--finetune_D_backbone``; without `reuse_discriminator` an identically shaped discriminator is
trained from random weights (the paper's ablation, Fig. 8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from latentedit.errors import LatentEditError

if TYPE_CHECKING:
    import torch

    from latentedit.backend import Backend

FEATURES = "epilogue"
"""The discriminator feature the classifier reads: the fc output ``[N, C]`` right before D's `out` layer."""


@dataclass
class Assessor:
    """φ (`head`) on d: the backend's frozen discriminator (`backbone` None) or a trainable one."""

    backend: Backend
    head: torch.nn.Linear
    backbone: torch.nn.Module | None = None
    group: int = 4
    """Images per backbone call for a trainable backbone: its minibatch-stddev group size."""

    @property
    def trains_backbone(self) -> bool:
        return self.backbone is not None

    def parameter_groups(self, lr_head: float, lr_backbone: float) -> list[dict]:
        """Optimiser groups: φ at `lr_head`; a trainable backbone, if any, at `lr_backbone`."""
        groups: list[dict] = [{"params": list(self.head.parameters()), "lr": lr_head}]
        if self.backbone is not None:
            groups.append({"params": list(self.backbone.parameters()), "lr": lr_backbone})
        return groups

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """d(x): ``[N, C]``; differentiable with respect to the images (and a trainable backbone)."""
        import torch

        if self.backbone is None:
            return self.backend.disc_features(images)[FEATURES]
        return torch.cat([self.backbone.features(part)[FEATURES] for part in images.split(self.group)])

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """φ(d(x)) as logits ``[N]``; p = sigmoid(logit) in Eq. 5."""
        return self.head(features).squeeze(1)


def build_assessor(
    backend: Backend, reuse_discriminator: bool, train_backbone: bool, generator: torch.Generator
) -> Assessor:
    """The assessor for `backend`; φ starts from D's pretrained `out` layer when D is reused."""
    import copy

    import torch

    if not backend.has_discriminator:
        raise LatentEditError(
            f"Backend {backend.name} has no discriminator; FEditNet's assessor is built on one. "
            "Import a checkpoint that includes D."
        )
    module = getattr(backend, "D", None)
    if module is None and (train_backbone or not reuse_discriminator):
        raise LatentEditError(
            f"Backend {backend.name} exposes discriminator features but not the network; "
            "-o train_backbone=true and -o reuse_discriminator=false need it."
        )
    from latentedit.nets import Discriminator

    channels = int(backend.disc_features(_probe(backend))[FEATURES].shape[1])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
        head = torch.nn.Linear(channels, 1).to(backend.device)
        backbone = None if reuse_discriminator else Discriminator(**module.init_kwargs).to(backend.device)
    if reuse_discriminator and train_backbone:
        backbone = copy.deepcopy(module)
    out = getattr(getattr(module, "b4", None), "out", None)
    if reuse_discriminator and out is not None and out.out_features == 1:
        with torch.no_grad():
            head.weight.copy_(out.effective_weight())
            head.bias.copy_(out.effective_bias())
    if backbone is not None:
        backbone.train().requires_grad_(True)
    epilogue = (module.init_kwargs.get("epilogue_kwargs") or {}) if module is not None else {}
    return Assessor(backend, head, backbone, int(epilogue.get("mbstd_group_size", 4) or 1))


def _probe(backend: Backend) -> torch.Tensor:
    import torch

    return torch.zeros(1, 3, backend.resolution, backend.resolution, device=backend.device)


def assessor_accuracy(assessor: Assessor, positives: torch.Tensor, edited: torch.Tensor) -> dict[str, float]:
    """Fraction of positives scored positive, of edited samples scored not, and of both together.

    Near 1 the assessor still tells edited samples from the positives; near 0.5 the direction
    has made them indistinguishable to it (the adversarial game's equilibrium).
    """
    import torch

    with torch.no_grad():
        on_positives = float((assessor.logits(assessor.features(positives)) > 0).float().mean())
        on_edited = float((assessor.logits(assessor.features(edited)) <= 0).float().mean())
    total = len(positives) + len(edited)
    return {
        "assessor_accuracy_positives": on_positives,
        "assessor_accuracy_edited": on_edited,
        "assessor_accuracy": (on_positives * len(positives) + on_edited * len(edited)) / total,
    }
