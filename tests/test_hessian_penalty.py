"""The Hessian penalty sees interactions between latent coordinates, and only those."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from latentedit.world.train.gan import GanConfig, GanTrainer
from latentedit.world.train.hessian import hessian_penalty, second_differences
from tests.test_world_training import TINY_GAN


def test_a_function_of_separate_coordinates_has_no_penalty() -> None:
    torch.manual_seed(0)
    w = torch.randn(8, 5, dtype=torch.float64)

    def separable(w: torch.Tensor) -> torch.Tensor:  # a sum of one-coordinate functions per output
        return torch.stack([w[:, 0] ** 2 + 3 * torch.sin(w[:, 1]), w[:, 3] ** 3], 1)

    assert float(hessian_penalty(separable, w, k=4)) == pytest.approx(0.0, abs=1e-12)


def test_an_interaction_between_coordinates_is_penalised_by_its_strength() -> None:
    torch.manual_seed(0)
    w = torch.randn(64, 2, dtype=torch.float64)

    # f = a·w0·w1: vᵀHv = 2a·v0·v1 = ±2a, whose variance over v is 4a² (estimated from k draws)
    def penalty(a: float) -> float:
        torch.manual_seed(1)  # the same random directions for both
        return float(hessian_penalty(lambda w: (a * w[:, 0] * w[:, 1])[:, None], w, k=8))

    assert 0 < penalty(1.0) < penalty(3.0)
    assert penalty(3.0) / penalty(1.0) == pytest.approx(9.0)


def test_second_differences_estimate_the_curvature_along_each_direction() -> None:
    w = torch.zeros(3, 4, dtype=torch.float64)
    estimates = second_differences(lambda w: (w**2).sum(1, keepdim=True), w, k=3, epsilon=0.5)
    assert estimates.shape == (3, 3, 1)
    assert torch.allclose(estimates, torch.full_like(estimates, 8.0))  # vᵀ(2I)v with |v|² = 4


def test_the_gan_recipe_can_train_with_the_hessian_penalty(tmp_path: Path) -> None:
    trainer = GanTrainer(GanConfig(**{**TINY_GAN.__dict__, "hessian_weight": 0.01, "hessian_interval": 1}), tmp_path)
    before = [p.clone() for p in trainer.G.synthesis.parameters()]
    metrics = trainer.train_step()
    assert metrics["hessian"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.synthesis.parameters(), strict=True))
    assert "hessian" not in GanTrainer(TINY_GAN, tmp_path / "plain").train_step()
