"""Scorer guidance of the world GAN: its losses, and a guided run that trains and resumes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from latentedit.world import scoring
from latentedit.world.train.gan import GanConfig, GanTrainer
from latentedit.world.train.guidance import STATISTICS_TEMPERATURE, ScorerGuide, soft_scores, split_heads
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

    for bad in ({"guide_linear_weight": -1.0}, {"guide_lr": 0.0}, {"guide_batch": 0}, {"guide_edit_random": 2.0}):
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


def test_edit_consistency_is_zero_when_scores_follow_the_read_out_and_sees_a_leak_when_they_do_not() -> None:
    torch.manual_seed(0)
    guide = ScorerGuide(w_dim=8)
    w = torch.randn(64, 8)
    moved = guide.edited_codes(w, strength=3.0, random_fraction=0.0)
    readout = {name: value.detach() for name, value in split_heads(guide.readout(w)).items()}
    readout_moved = {name: value.detach() for name, value in split_heads(guide.readout(moved)).items()}
    assert float(guide.edit_consistency_loss(w, readout, moved, readout_moved)) == pytest.approx(0.0, abs=1e-10)
    leaked = {**readout_moved, "glasses": readout_moved["glasses"] + 4.0}  # every edit also adds glasses
    assert float(guide.edit_consistency_loss(w, readout, moved, leaked)) > 0.1


def test_edit_moves_reach_the_asked_number_of_standard_deviations_along_read_out_directions() -> None:
    torch.manual_seed(0)
    guide = ScorerGuide(w_dim=8)
    w = torch.randn(2000, 8) * torch.linspace(0.5, 2.0, 8)
    moved = guide.edited_codes(w, strength=3.0, random_fraction=0.0)
    directions = torch.nn.functional.normalize(guide.readout.weight.detach(), dim=1)
    alignment = (torch.nn.functional.normalize(moved - w, dim=1) @ directions.T).abs().max(dim=1).values
    assert float(alignment.min()) > 1 - 1e-5  # each move is along one attribute's read-out
    along = ((moved - w) * torch.nn.functional.normalize(moved - w, dim=1)).sum(1)
    spread = (w @ directions.T).std(0)
    assert float(along.max()) <= 3.0 * float(spread.max()) + 1e-4 and float(along.mean()) > 0.5 * float(spread.min())


def test_a_guided_step_with_edit_consistency_reports_it_and_trains(tmp_path: Path) -> None:
    trainer = GanTrainer(GanConfig(**{**GUIDED.__dict__, "guide_edit_weight": 1.0}), tmp_path)
    synthesis_before = [p.clone() for p in trainer.G.synthesis.parameters()]
    metrics = trainer.guide_step()
    assert metrics["guide_edit"] >= 0 and "guide_linear" in metrics
    assert any(not torch.equal(a, b) for a, b in zip(synthesis_before, trainer.G.synthesis.parameters(), strict=True))


def test_resuming_at_another_statistics_temperature_measures_the_renderer_again(tmp_path: Path) -> None:
    trainer = GanTrainer(GUIDED, tmp_path)
    trainer.guide_step()
    trainer.save()
    plain = GanTrainer(GanConfig(**{**GUIDED.__dict__, "guide_statistics_temperature": 1.0}), tmp_path)
    plain.resume()
    assert not bool(plain.guide.ready)
    plain.guide_step()
    assert float(plain.guide.real_std.sum()) > float(trainer.guide.real_std.sum())  # untempered: wider


def test_a_face_surely_read_on_the_wrong_side_of_the_read_out_still_gets_pulled_across() -> None:
    torch.manual_seed(0)
    guide = ScorerGuide(w_dim=8)
    w = torch.randn(64, 8)
    with torch.no_grad():
        guide.readout.weight.zero_()
        guide.readout.weight[:, 0] = 10.0  # every head reads w[:, 0]
        guide.readout.bias.zero_()
    side = torch.where(w[:, 0] > 0, 12.0, -12.0)
    assert float(guide.side_loss(w, _scorer_outputs(side))) < 1e-3
    pulls = []
    for loss in (guide.linearity_loss, guide.side_loss):
        wrong = (-side).clone().requires_grad_(True)  # the scorer is sure of the other side
        loss(w, _scorer_outputs(wrong)).backward()
        pulls.append(-(wrong.grad * side.sign())[w[:, 0].abs() > 0.1])  # > 0: toward the read-out's side
    assert float(pulls[0].abs().max()) < 1e-4  # the linearity loss leaves them where they are
    assert bool((pulls[1] > 1e-3).all())
