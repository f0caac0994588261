"""The W* training objective (Shukor et al., Sec. 3): frozen linear classifiers and Eqs. 1-3.

One linear layer ``C(w) = w A^T + b`` holds the K attribute classifiers C_i (row i of A is the
normal d_i of hyperplane i). They are pre-trained in W+ on the flattened codes, then frozen;
only the flow T is trained. Where each classifier acts:

* Eq. 1 (L_a) and Eq. 2 (L_lm) act in W*: on ``T(w)``.
* Eq. 3 (L_ap) acts in W+: on the code ``w`` and on the edited code mapped back,
  ``ŵ = T^-1(T(w) + α d_j / ‖d_j‖)``, for one attribute j drawn per batch.

No log-determinant enters the loss: the paper uses the flow for its bijectivity only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from latentedit.methods.wstar_flow import RealNVP


def pretrain_classifiers(codes: torch.Tensor, labels: torch.Tensor, steps: int, lr: float) -> torch.nn.Linear:
    """K logistic regressions in W+ (one linear layer on flat codes), trained full-batch with
    Adam on the binary cross-entropy from zero, returned frozen.

    Starting from zero keeps each normal in the span of the codes: sampled W+ codes repeat one
    w on every layer, and a random start would leave random weights across layers that no data
    constrains, which Eq. 3's edits along the normals would then follow.
    """
    import torch

    classifier = torch.nn.Linear(codes.shape[1], labels.shape[1])
    with torch.no_grad():
        classifier.weight.zero_()
        classifier.bias.zero_()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.binary_cross_entropy_with_logits(classifier(codes), labels).backward()
        optimizer.step()
    return classifier.eval().requires_grad_(False)


def attribute_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 1: binary cross-entropy of the frozen classifiers on T(w), summed over attributes."""
    import torch

    return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none").sum(1).mean()


def large_margin_loss(logits: torch.Tensor, labels: torch.Tensor, normal_norms: torch.Tensor) -> torch.Tensor:
    """Eq. 2: ``sum_i -m_i |dist_i| + (1 - m_i) |dist_i|``, summed over attributes.

    ``dist_i`` is the signed distance of T(w) to hyperplane i (the logit over ‖d_i‖, i.e. the
    paper's ``w^T d_i`` with the classifier's bias and a unit normal); m_i = 1 where C_i
    classifies the code correctly: correct codes are pushed away, wrong ones pulled toward it.
    """
    distance = (logits / normal_norms).abs()
    correct = (logits > 0) == (labels > 0.5)
    return (distance * (1 - 2 * correct.to(distance.dtype))).sum(1).mean()


def attribute_preservation_loss(
    classifier: torch.nn.Linear, codes: torch.Tensor, edited: torch.Tensor, attribute: int
) -> torch.Tensor:
    """Eq. 3: ``sum_{i != j} |C_i(w) - C_i(ŵ)|`` on probabilities, with both codes in W+."""
    before = classifier(codes).sigmoid()
    after = classifier(edited).sigmoid()
    change = (after - before).abs()
    keep = [index for index in range(change.shape[1]) if index != attribute]
    return change[:, keep].sum(1).mean()


@dataclass
class Weights:
    """The loss weights: ``L = L_a + lm * L_lm + ap * L_ap``."""

    lm: float
    ap: float


def training_step(
    flow: RealNVP,
    classifier: torch.nn.Linear,
    optimizer: torch.optim.Optimizer,
    codes: torch.Tensor,
    labels: torch.Tensor,
    attribute: int,
    edit_size: float,
    weights: Weights,
) -> dict[str, float]:
    """One Adam step on ``L_a + λ_lm L_lm + λ_ap L_ap`` (no log-determinant); the losses as floats.

    For Eq. 3 each T(w) moves by `edit_size` along the unit normal of classifier `attribute` in
    W*, toward the other side of its hyperplane (the edit flips the attribute), and T^-1 maps it back.
    """
    import torch

    normals = classifier.weight
    norms = normals.norm(dim=1)
    optimizer.zero_grad(set_to_none=True)
    mapped, log_det = flow.forward(codes)
    logits = classifier(mapped)
    l_a = attribute_loss(logits, labels)
    l_lm = large_margin_loss(logits, labels, norms)
    toward = torch.where(logits[:, attribute].detach() > 0, -edit_size, edit_size)
    moved = mapped + toward[:, None] * (normals[attribute] / norms[attribute])
    l_ap = attribute_preservation_loss(classifier, codes, flow.inverse(moved), attribute)
    total = l_a + weights.lm * l_lm + weights.ap * l_ap
    total.backward()
    optimizer.step()
    accuracy = ((logits > 0) == (labels > 0.5)).float().mean()
    return {
        "loss": float(total.detach()),
        "l_a": float(l_a.detach()),
        "l_lm": float(l_lm.detach()),
        "l_ap": float(l_ap.detach()),
        "accuracy": float(accuracy),
        "log_det": float(log_det.detach().mean()),
    }
