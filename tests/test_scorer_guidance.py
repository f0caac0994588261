"""Scorer guidance of the world GAN: its losses, and a guided run that trains and resumes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from latentedit.world import scoring
from latentedit.world.train.gan import GanConfig, GanTrainer
from latentedit.world.train.guidance import STATISTICS_TEMPERATURE, ScorerGuide, soft_scores
from tests.test_world_training import TINY_GAN

GUIDED = GanConfig(
    **{
        **TINY_GAN.__dict__,
        "guide_linear_weight": 1.0,
        "guide_statistics_weight": 1.0,
        "guide_orthogonal_weight": 1.0,
        "guide_correlation_weight": 1.0,
        "guide_interval": 1,
        "guide_batch": 8,
        "guide_renders": 32,
    }
)


def _scorer_outputs(binary_logit: torch.Tensor) -> dict[str, torch.Tensor]:
    """Raw scorer outputs with every binary head reading `binary_logit`, the rest one constant
    and confident reading (so no head has a loss floor of its own)."""
    n = binary_logit.shape[0]
    outputs = {}
    for name, (kind, size) in scoring.HEADS.items():
        if kind == "binary":
            outputs[name] = binary_logit[:, None]
        elif kind == "categorical":
            outputs[name] = torch.nn.functional.one_hot(torch.zeros(n, dtype=torch.long), size).float() * 20
        else:
            outputs[name] = torch.full((n, size), 0.5)
    return outputs


def test_the_linearity_loss_is_lower_when_attributes_are_half_spaces_of_w() -> None:
    torch.manual_seed(0)
    w = torch.randn(512, 8)
    half_space = _scorer_outputs(4 * w[:, 0])
    shell = _scorer_outputs(4 * (w.norm(dim=1) - 2.7))  # inside vs outside a sphere: no half-space
    losses = []
    for outputs in (half_space, shell):
        guide = ScorerGuide(w_dim=8)
        guide.fit_readout(w, outputs, steps=600)
        losses.append(float(guide.linearity_loss(w, outputs).detach()))
    assert bool(guide.ready)
    assert losses[0] < 0.5 * losses[1], losses


def test_the_statistics_loss_is_zero_at_the_renderers_statistics_and_grows_with_a_dropped_mode() -> None:
    torch.manual_seed(0)
    rendered = _scorer_outputs(torch.randn(256) * 4)
    guide = ScorerGuide(w_dim=8)
    scores = soft_scores(rendered, STATISTICS_TEMPERATURE)
    guide.real_mean.copy_(scores.mean(0))
    guide.real_std.copy_(scores.std(0))
    assert float(guide.statistics_loss(rendered)) == pytest.approx(0.0, abs=1e-10)
    no_positives = _scorer_outputs(-(torch.randn(256).abs() * 4))  # every binary attribute absent
    assert float(guide.statistics_loss(no_positives)) > 1.0


def test_a_guided_step_moves_the_generator_through_the_frozen_scorer(tmp_path: Path) -> None:
    trainer = GanTrainer(GUIDED, tmp_path)
    synthesis_before = [p.clone() for p in trainer.G.synthesis.parameters()]
    scorer_before = [p.clone() for p in trainer.guide_scorer.parameters()]
    metrics = trainer.guide_step()
    assert bool(trainer.guide.ready) and min(metrics.values()) > 0
    assert float(trainer.guide.real_std.min()) >= 0 and float(trainer.guide.real_mean.abs().sum()) > 0
    moved = [not torch.equal(a, b) for a, b in zip(synthesis_before, trainer.G.synthesis.parameters(), strict=True)]
    assert any(moved)
    assert all(torch.equal(a, b) for a, b in zip(scorer_before, trainer.guide_scorer.parameters(), strict=True))


def test_guidance_can_be_switched_on_when_resuming_an_unguided_run_and_its_state_resumes(tmp_path: Path) -> None:
    plain = GanTrainer(TINY_GAN, tmp_path)
    plain.train_step()
    plain.save()
    guided = GanTrainer(GUIDED, tmp_path)
    guided.resume()  # the checkpoint has no read-out: it starts fresh, the networks are the run's
    assert guided.nimg == plain.nimg and not bool(guided.guide.ready)
    assert all(torch.equal(a, b) for a, b in zip(plain.G.parameters(), guided.G.parameters(), strict=True))
    guided.train_step()
    guided.save()
    again = GanTrainer(GUIDED, tmp_path)
    again.resume()
    assert bool(again.guide.ready)
    assert torch.equal(again.guide.readout.weight, guided.guide.readout.weight)
    assert torch.equal(again.guide.real_mean, guided.guide.real_mean)


def test_guidance_settings_that_cannot_work_are_refused() -> None:
    from latentedit.errors import OptionError

    for bad in ({"guide_linear_weight": -1.0}, {"guide_lr": 0.0}, {"guide_batch": 0}):
        with pytest.raises(OptionError):
            GanConfig(**{**GUIDED.__dict__, **bad}).validate()


def test_a_mode_the_scorer_is_sure_is_absent_still_gets_a_pull_toward_the_renderers_rate() -> None:
    guide = ScorerGuide(w_dim=8)
    guide.real_mean.copy_(soft_scores(_scorer_outputs(torch.randn(256) * 8), STATISTICS_TEMPERATURE).mean(0))
    logits = torch.full((64,), -12.0, requires_grad=True)  # sigmoid'(-12) ~ 6e-6
    guide.statistics_loss(_scorer_outputs(logits)).backward()
    assert float(logits.grad.sum()) < -0.01  # descending the loss raises the logits


def test_the_orthogonality_loss_is_high_for_a_shared_direction_and_zero_for_orthogonal_ones() -> None:
    guide = ScorerGuide(w_dim=32)
    rows = guide.readout.weight.shape[0]
    with torch.no_grad():
        guide.readout.weight.copy_(torch.ones(rows, 32))  # every attribute read along one direction
    shared = float(guide.orthogonality_loss().detach())
    with torch.no_grad():
        guide.readout.weight.copy_(torch.eye(32)[:rows])  # every output along its own axis
    # (hair colours, centred, have no direction then; every other pair has cosine 1)
    assert shared > 0.4 and float(guide.orthogonality_loss().detach()) == pytest.approx(0.0, abs=1e-6)


def test_resuming_with_another_guide_scorer_measures_the_renderer_again_through_it(tmp_path: Path) -> None:
    trainer = GanTrainer(GUIDED, tmp_path)
    trainer.guide_step()
    trainer.save()
    same = GanTrainer(GUIDED, tmp_path)
    same.resume()
    assert bool(same.guide.ready)
    other = GanTrainer(GUIDED, tmp_path)
    with torch.no_grad():
        next(other.guide_scorer.parameters()).mul_(1.5)  # stands in for a scorer trained otherwise
    other.resume()
    assert not bool(other.guide.ready)
    other.guide_step()
    assert bool(other.guide.ready) and not torch.equal(other.guide.real_mean, trainer.guide.real_mean)


def test_the_correlation_loss_sees_attributes_that_come_together_when_the_renderer_draws_them_apart() -> None:
    torch.manual_seed(0)
    rendered = {name: torch.randn(512, size) * 3 for name, (_, size) in scoring.HEADS.items()}  # independent
    guide = ScorerGuide(w_dim=8)
    tempered = soft_scores(rendered, STATISTICS_TEMPERATURE)
    guide.real_correlation.copy_(torch.corrcoef(tempered.T).nan_to_num(0.0))
    coupled = {**rendered, "smile": rendered["glasses"] / 8 + 0.5}  # generated smiles come with glasses
    assert float(guide.correlation_loss(rendered)) == pytest.approx(0.0, abs=1e-4)
    assert float(guide.correlation_loss(coupled)) > 1.0


def test_a_read_out_saved_before_correlations_were_matched_is_measured_again(tmp_path: Path) -> None:
    guide = ScorerGuide(w_dim=8)
    guide.ready.fill_(True)
    old = {key: value for key, value in guide.state_dict().items() if key != "real_correlation"}
    resumed = ScorerGuide(w_dim=8)
    resumed.load_state_dict(old)
    assert not bool(resumed.ready)
