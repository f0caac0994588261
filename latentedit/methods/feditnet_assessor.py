"""FEditNet's attribute assessor D_attr = φ ∘ d (Eq. 5): a discriminator backbone and a light classifier.

By default d is the backend's own pretrained discriminator, frozen (the paper's few-shot
argument: its features were learned from thousands of images, so a light φ on them cannot
memorise 30 positives). `train_backbone` fine-tunes a copy of it as the original code's
``--finetune_D_backbone``; without `reuse_discriminator` an identically shaped discriminator is
trained from random weights (the paper's ablation, Fig. 8).

Where d ends is the paper's open point. The original code trains D's ``final_linear`` (the fc
and out layers) on the frozen convolutions, so φ = fc + out on the 4x4 conv output
(``head="final_linear"``, the default). ``head="linear"`` reads the paper's "linear classifier"
literally: one layer on the frozen fc output. On the world GAN the fc output keeps little of
where things are: a linear probe reads smile from it at 0.87 accuracy, from the conv output at
0.93 (majority 0.77), so the literal head can hardly learn a smile (docs/feditnet.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from latentedit.api import LatentEditError

if TYPE_CHECKING:
    import torch

    from latentedit.api import Backend

HEADS = {"final_linear": "b4", "linear": "epilogue"}
"""φ's kind -> the discriminator feature it reads: the 4x4 conv output ``[N, C, 4, 4]`` (original
code), or the fc output ``[N, C]`` right before D's `out` layer (the paper's words)."""


@dataclass
class Assessor:
    """φ (`head`) on d: the backend's frozen discriminator (`backbone` None) or a trainable one."""

    backend: Backend
    head: torch.nn.Module
    feature: str
    """The `disc_features` key φ reads (a value of `HEADS`)."""
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
        """d(x), flattened to ``[N, F]``; differentiable with respect to the images (and a trainable backbone)."""
        import torch

        if self.backbone is None:
            return self.backend.disc_features(images)[self.feature].flatten(1)
        return torch.cat([self.backbone.features(part)[self.feature].flatten(1) for part in images.split(self.group)])

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """φ(d(x)) as logits ``[N]``; p = sigmoid(logit) in Eq. 5."""
        return self.head(features).squeeze(1)


def build_assessor(
    backend: Backend,
    reuse_discriminator: bool,
    train_backbone: bool,
    generator: torch.Generator,
    head: str = "final_linear",
) -> Assessor:
    """The assessor for `backend`; φ starts from D's pretrained layers when D is reused.

    `head` is ``final_linear`` (copies of D's fc and out layers on the conv output, as the
    original code) or ``linear`` (one layer on the fc output, initialised from `out`).
    """
    import copy

    import torch

    if head not in HEADS:
        raise LatentEditError(f"Unknown assessor head {head!r}; expected one of: {', '.join(HEADS)}.")
    if not backend.has_discriminator:
        raise LatentEditError(
            f"Backend {backend.name} has no discriminator; FEditNet's assessor is built on one. "
            "Import a checkpoint that includes D."
        )
    module = getattr(backend, "D", None)
    if module is None and (train_backbone or not reuse_discriminator or head == "final_linear"):
        raise LatentEditError(
            f"Backend {backend.name} exposes discriminator features but not the network; "
            "-o train_backbone=true, -o reuse_discriminator=false and the final_linear head need it."
        )
    from latentedit.api import Discriminator

    channels = int(backend.disc_features(_probe(backend))["epilogue"].shape[1])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
        scorer = torch.nn.Linear(channels, 1).to(backend.device)
        fresh = None if reuse_discriminator else Discriminator(**module.init_kwargs).to(backend.device)
    source = module if reuse_discriminator else fresh
    out = getattr(getattr(source, "b4", None), "out", None)
    if out is not None and out.out_features == 1:
        scorer = copy.deepcopy(out) if head == "final_linear" else _linear_from(out, scorer)
    classifier = scorer if head == "linear" else torch.nn.Sequential(copy.deepcopy(source.b4.fc), scorer)
    classifier.train().requires_grad_(True)
    backbone = copy.deepcopy(module) if reuse_discriminator and train_backbone else fresh
    if backbone is not None:
        backbone.train().requires_grad_(True)
    epilogue = (module.init_kwargs.get("epilogue_kwargs") or {}) if module is not None else {}
    return Assessor(backend, classifier, HEADS[head], backbone, int(epilogue.get("mbstd_group_size", 4) or 1))


def _linear_from(out: torch.nn.Module, linear: torch.nn.Linear) -> torch.nn.Linear:
    """`linear` holding the effective weights of D's equalised `out` layer."""
    import torch

    with torch.no_grad():
        linear.weight.copy_(out.effective_weight())
        linear.bias.copy_(out.effective_bias())
    return linear


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
