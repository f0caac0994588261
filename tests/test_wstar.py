"""W* (a flow W+ -> W* trained so attributes separate linearly) on toy data and a random network."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import latentedit
from latentedit.errors import IncompatibleEditError, LatentEditError, OptionError
from latentedit.hookspecs import hookimpl
from latentedit.methods import BUILTIN_METHODS
from latentedit.methods.wstar import WStar, edit_attributes, for_attribute, label_threshold, parse_attr_option
from latentedit.methods.wstar_flow import RealNVP
from latentedit.methods.wstar_losses import (
    Weights,
    attribute_preservation_loss,
    large_margin_loss,
    pretrain_classifiers,
    training_step,
)
from latentedit.methods.wstar_metrics import dci, separability
from latentedit.options import parse_options
from tests.fakes import StatisticsScorer
from tests.helpers import one_line_error, run

TINY = ("-o", "steps=30", "-o", "hidden=32", "-o", "couplings=2", "-o", "classifier_steps=50")


class WStarPlugin:
    @hookimpl
    def register_methods(self, register):
        register(WStar)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The machine is shared: these tests use one thread, and give the old setting back."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def wstar_method():
    """Register the method in-process until it is one of the built-ins."""
    from latentedit.plugins import register_plugin, unregister_plugin

    builtin = "latentedit.methods.wstar:WStar" in BUILTIN_METHODS
    if not builtin:
        register_plugin("wstar-under-test", WStarPlugin())
    yield
    if not builtin:
        unregister_plugin("wstar-under-test")


@pytest.fixture(scope="module")
def tiny_edit(tmp_path_factory, tiny_backend):
    """A W* edit for brightness and redness on random:32, discovered once and read back from its file."""
    from latentedit.api import DiscoverRequest
    from latentedit.edits import Edit
    from latentedit.plugins import register_plugin, unregister_plugin
    from tests.fakes import FakeWorldPlugin

    options = parse_options(WStar.Options, [item for item in TINY if item != "-o"])
    request = DiscoverRequest(name="looks", attrs=["brightness", "redness"], samples=160)
    register_plugin("fake-world", FakeWorldPlugin())
    try:
        edit = WStar().discover(tiny_backend, request, options, lambda step, total, **metrics: None)
    finally:
        unregister_plugin("fake-world")
    return Edit.load(edit.save(tmp_path_factory.mktemp("wstar") / "looks.safetensors"))


def random_flow(dim: int, hidden: int, couplings: int, seed: int = 0) -> RealNVP:
    """A flow far from the identity: every weight drawn at random (T moves codes by about their norm)."""
    torch.manual_seed(seed)
    flow = RealNVP(dim, hidden, couplings)
    with torch.no_grad():
        for parameter in flow.parameters():
            parameter.normal_(0, 1 / parameter.shape[-1] ** 0.5)
    return flow.train(False)


def test_flow_is_exactly_invertible_in_float32() -> None:
    flow = random_flow(1280, 64, 4)
    codes = torch.randn(1000, 1280)
    with torch.no_grad():
        mapped = flow(codes)
        back = flow.inverse(mapped)
    assert float((mapped - codes).norm(dim=1).min()) > 0.5 * float(codes.norm(dim=1).max())  # far from identity
    assert float((back - codes).norm(dim=1).max()) <= 1e-4


def test_flow_starts_as_the_identity_and_odd_sizes_work() -> None:
    codes = torch.randn(5, 7)
    assert torch.equal(RealNVP(7, 8, 3)(codes), codes)
    flow = random_flow(7, 8, 3)
    with torch.no_grad():
        assert torch.allclose(flow.inverse(flow(codes)), codes, atol=1e-5)


def test_large_margin_loss_pushes_right_codes_out_and_pulls_wrong_ones_in() -> None:
    logits = torch.tensor([[2.0], [-1.0]])  # both labelled 1: the first right, the second wrong
    labels = torch.ones(2, 1)
    # distances 2/2 = 1 (right: -1) and 1/2 = 0.5 (wrong: +0.5), averaged over codes
    assert float(large_margin_loss(logits, labels, torch.tensor([2.0]))) == pytest.approx(-0.25)


def test_attribute_preservation_loss_ignores_the_edited_attribute() -> None:
    classifier = torch.nn.Linear(2, 2).requires_grad_(False)
    with torch.no_grad():
        classifier.weight.copy_(torch.eye(2))
        classifier.bias.zero_()
    codes = torch.zeros(4, 2)
    along_first = codes + torch.tensor([3.0, 0.0])
    assert float(attribute_preservation_loss(classifier, codes, along_first, attribute=0)) == 0.0
    assert float(attribute_preservation_loss(classifier, codes, along_first, attribute=1)) == pytest.approx(
        torch.tensor(3.0).sigmoid().item() - 0.5
    )


def toy_problem(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Attributes that no hyperplane separates: |x_k| > 0.8 for k = 0, 1, in 8 dimensions."""
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randn(128, 8, generator=generator)
    return codes, (codes[:, :2].abs() > 0.8).float()


def test_training_steps_reduce_the_loss_and_leave_the_classifiers_frozen() -> None:
    torch.manual_seed(0)
    codes, labels = toy_problem()
    classifier = pretrain_classifiers(codes, labels, steps=100, lr=0.05)
    frozen = classifier.weight.clone()
    flow = RealNVP(8, 32, 4).train(True)
    optimizer = torch.optim.Adam(flow.parameters(), lr=3e-3)
    weights = Weights(lm=0.01, ap=0.1)
    first = training_step(flow, classifier, optimizer, codes, labels, 0, 1.0, weights)
    for step in range(40):
        last = training_step(flow, classifier, optimizer, codes, labels, step % 2, 1.0, weights)
    assert last["l_a"] < 0.8 * first["l_a"]
    assert last["accuracy"] > first["accuracy"]
    assert torch.equal(classifier.weight, frozen)


def test_the_step_is_log_determinant_free() -> None:
    codes, labels = toy_problem()
    classifier = pretrain_classifiers(codes, labels, steps=20, lr=0.05)
    flow = random_flow(8, 16, 2).train(True)
    optimizer = torch.optim.Adam(flow.parameters(), lr=1e-4)
    metrics = training_step(flow, classifier, optimizer, codes[:8], labels[:8], 1, 2.0, Weights(lm=0.5, ap=0.1))
    assert metrics["log_det"] != 0  # the flow changes volume ...
    # ... but the objective is exactly L_a + λ_lm L_lm + λ_ap L_ap
    assert metrics["loss"] == pytest.approx(metrics["l_a"] + 0.5 * metrics["l_lm"] + 0.1 * metrics["l_ap"], rel=1e-6)


def test_dci_is_perfect_when_codes_are_the_factors() -> None:
    rng = np.random.default_rng(0)
    factors = (rng.random((600, 4)) > 0.5).astype(float)
    perfect = dci(factors, factors)
    assert perfect["disentanglement"] == pytest.approx(1.0, abs=1e-6)
    assert perfect["completeness"] == pytest.approx(1.0, abs=1e-6)
    assert perfect["informativeness"] == 0.0
    mixed = dci(factors @ rng.standard_normal((4, 4)) + 0.05 * rng.standard_normal((600, 4)), factors)
    assert mixed["disentanglement"] < 0.6 and mixed["completeness"] < 0.6


def test_label_thresholds() -> None:
    probabilities = torch.tensor([0.01, 0.02, 0.97, 0.99, 0.03, 0.95, 0.9, 0.05, 0.98, 0.99])
    assert label_threshold(probabilities, binary=False) == (0.5, "binary")
    values = torch.arange(11.0)
    assert label_threshold(values, binary=False) == (5.0, "median")
    assert label_threshold(values, binary=True) == (0.5, "binary")
    assert label_threshold(values, binary=False, given=0.3) == (0.3, "given")
    with pytest.raises(OptionError, match="NAME:VALUE"):
        parse_options(WStar.Options, ["thresholds=smile"])


def test_attr_option_parsing() -> None:
    assert parse_attr_option([]) is None
    assert parse_attr_option(["smile"]) == "smile"
    assert parse_attr_option(["smile:2", "hair_color=gray:-1", "beard"]) == [
        ("smile", 2.0),
        ("hair_color=gray", -1.0),
        ("beard", 1.0),
    ]
    with pytest.raises(LatentEditError, match="NAME:STRENGTH"):
        parse_attr_option(["smile:lots"])


def test_discovered_edit_round_trips_and_composes(tiny_edit, tiny_backend) -> None:
    edit = tiny_edit
    dim = tiny_backend.num_ws * tiny_backend.w_dim
    assert edit.space == "w*" and edit.method == "wstar"
    assert edit_attributes(edit) == ["brightness", "redness"]
    assert any(key.startswith("flow.") for key in edit.tensors)
    assert edit.tensors["direction.brightness"].shape == (dim,)
    assert float(edit.tensors["direction.brightness"].norm()) == pytest.approx(1.0, abs=1e-5)
    assert float(edit.tensors["strength_unit.redness"]) > 0
    assert edit.params["flow"] == {"dim": dim, "hidden": 32, "couplings": 2, "negative_slope": 0.01}
    assert edit.metrics["invertibility_max_error"] < 1e-4
    assert edit.metrics["brightness"]["rule"] == "median"

    with torch.inference_mode():
        ws = tiny_backend.mapping(tiny_backend.sample_z(6, seed=5))
        same = latentedit.apply_edit(tiny_backend, ws, edit, 0.0, attr="brightness")
        assert float((same - ws).abs().max()) <= 1e-4
        brighter = latentedit.apply_edit(tiny_backend, ws, edit, 3.0, attr="brightness")
        both = latentedit.apply_edit(tiny_backend, ws, edit, 1.0, attr=[("brightness", 2.0), ("redness", -1.0)])
        assert float((brighter - ws).abs().max()) > 0.1

        from latentedit.methods.wstar import load_flow

        flow = load_flow(edit, tiny_backend)
        moved = flow(brighter.reshape(6, -1)) - flow(ws.reshape(6, -1))
        unit = float(edit.tensors["strength_unit.brightness"])
        assert torch.allclose(moved @ edit.tensors["direction.brightness"], torch.full((6,), 3 * unit), rtol=1e-3)
        composed = flow(both.reshape(6, -1)) - flow(ws.reshape(6, -1))
        expected = (
            2 * unit * edit.tensors["direction.brightness"]
            - float(edit.tensors["strength_unit.redness"]) * edit.tensors["direction.redness"]
        )
        assert torch.allclose(composed, expected.expand(6, -1), atol=1e-3)

        single = for_attribute(edit, "redness")
        assert single.attribute == "redness" and edit_attributes(single) == ["redness"]
        only_redness = latentedit.apply_edit(tiny_backend, ws, single, 2.0)
        assert torch.allclose(only_redness, latentedit.apply_edit(tiny_backend, ws, edit, 2.0, attr="redness"))


def test_brightness_edit_brightens(tiny_edit, tiny_backend) -> None:
    scorer = StatisticsScorer()
    with torch.inference_mode():
        ws = tiny_backend.mapping(tiny_backend.sample_z(40, seed=11))
        before = scorer.score(tiny_backend.synthesize(ws))["brightness"]
        edited = latentedit.apply_edit(tiny_backend, ws, tiny_edit, 3.0, attr="brightness")
        after = scorer.score(tiny_backend.synthesize(edited))
    assert float((after["brightness"] - before).mean()) > 0.02


def test_apply_errors_are_clear(tiny_edit, tiny_backend) -> None:
    ws = tiny_backend.mapping(tiny_backend.sample_z(2, seed=0))
    with pytest.raises(LatentEditError, match="holds 2 attributes \\(brightness, redness\\); choose one with --attr"):
        latentedit.apply_edit(tiny_backend, ws, tiny_edit, 1.0)
    with pytest.raises(IncompatibleEditError, match="has no attribute 'smile'; it holds: brightness, redness"):
        latentedit.apply_edit(tiny_backend, ws, tiny_edit, 1.0, attr="smile")
    with pytest.raises(IncompatibleEditError, match="edits W\\+ codes of 1024 values"):
        latentedit.apply_edit(tiny_backend, ws[:, :4], tiny_edit, 1.0, attr="redness")
    with pytest.raises(LatentEditError, match="absurd"):
        latentedit.apply_edit(tiny_backend, ws, tiny_edit, 1.0, attr=[("redness", 500.0)])
    broken = for_attribute(tiny_edit, "redness")
    broken.tensors = {key: value for key, value in broken.tensors.items() if key != "flow.0.scale.0.weight"}
    with pytest.raises(IncompatibleEditError, match="flow tensors do not match"):
        latentedit.apply_edit(tiny_backend, ws, broken, 1.0)


def test_separability_compares_both_spaces(tiny_edit, tiny_backend) -> None:
    report = separability(tiny_backend, tiny_edit, StatisticsScorer(), "both", samples=200, dci_samples=120)
    assert set(report["spaces"]) == {"w+", "w*"}
    for table in report["spaces"].values():
        assert set(table["accuracy"]) == {"brightness", "redness"}
        assert 0.5 <= table["min_accuracy"] <= table["mean_accuracy"] <= table["max_accuracy"] <= 1
        assert 0 <= table["disentanglement"] <= 1 and 0 <= table["completeness"] <= 1
        assert 0 <= table["informativeness"] <= 0.5
    assert report["labels"]["brightness"]["threshold"] == tiny_edit.metrics["brightness"]["threshold"]
    with pytest.raises(LatentEditError, match="needs a W\\* edit"):
        separability(tiny_backend, None, StatisticsScorer(), "wstar", samples=100)


def test_labels_from_a_csv_table(cli, tmp_path: Path, tiny_backend) -> None:
    seeds = list(range(120))
    with torch.inference_mode():
        scores = StatisticsScorer().score(
            tiny_backend.synthesize(tiny_backend.mapping(tiny_backend.z_for_seeds(seeds)))
        )
    table = tmp_path / "labels.csv"
    rows = [f"{s},{float(scores['brightness'][i])},{float(scores['redness'][i])}\n" for i, s in enumerate(seeds)]
    table.write_text("seed,brightness,redness\n" + "".join(rows))
    result = run(
        cli, "discover", "-m", "wstar", "--labels", str(table), "--attrs", "redness", "--name", "red",
        "--backend", "random:32", *TINY, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    edit = latentedit.load_edit("red", backend="random:32")
    assert edit_attributes(edit) == ["redness"] and edit.provenance["rows"] == 120
    ws = tiny_backend.mapping(tiny_backend.z_for_seeds([1, 2]))
    assert latentedit.apply_edit(tiny_backend, ws, edit, 1.0).shape == ws.shape  # one attribute: no --attr needed


@pytest.mark.usefixtures("fake_scorers")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--attrs", "sparkle"], "Unknown attribute 'sparkle'"),
        (["--attrs", "brightness", "-o", "thresholds=brightness:5"], "every sample falls on one side"),
        (["--attrs", "brightness", "-o", "validation=0.7"], "expected a fraction in (0, 0.5)"),
        (["--attrs", "brightness", "--labels", "missing.csv"], "not found"),
    ],
)
def test_bad_requests_are_one_line_errors(cli, args: list[str], message: str) -> None:
    result = run(cli, "discover", "-m", "wstar", "--backend", "random:32", "--samples", "60", *TINY, *args)
    assert result.exit_code == 2, result.output
    assert message in one_line_error(result)


@pytest.mark.slow
def test_defaults_finish_within_fifteen_minutes_on_the_world_shape(cli, fake_scorers) -> None:
    """random:64 has the world GAN's shapes (num_ws 10, w_dim 128): the default run must fit 15 minutes."""
    started = time.monotonic()
    result = run(cli, "discover", "-m", "wstar", "--backend", "random:64", "--json")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    metrics = json.loads(json.loads(result.stdout)["metadata"]["metrics"])
    assert elapsed < 15 * 60
    assert metrics["invertibility_max_error"] < 1e-4
    for name in ("brightness", "redness"):
        assert metrics[name]["svm_accuracy_w*"] >= metrics[name]["classifier_accuracy_w+"] - 0.02
