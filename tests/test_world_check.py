"""The shipped scorers read held-out renders, and `world check` reports every quality number."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from latentedit.world.check import frechet_distance, separability
from latentedit.world.heldout import evaluate_scorer, evaluate_segmenter
from latentedit.world.scorers import WorldScorer, WorldSegmenter
from tests.helpers import run


def test_the_shipped_scorer_reads_held_out_renders() -> None:
    report = evaluate_scorer(WorldScorer().model, count=200)
    for name in ("glasses", "beard", "bangs", "long_hair", "hair_color"):
        assert report[name] >= 0.95, (name, report[name])
    for name in ("smile", "eyes_open", "yaw", "skin_tone", "face_width", "background_hue"):
        assert report[name] >= 0.9, (name, report[name])


def test_the_shipped_segmenter_finds_the_parts_of_held_out_renders() -> None:
    report = evaluate_segmenter(WorldSegmenter().model, count=100)
    assert report["mean_iou"] >= 0.85
    assert report["iou_glasses"] >= 0.8 and report["iou_eyes"] >= 0.8


def test_frechet_distance_is_zero_for_one_set_and_grows_with_a_shift() -> None:
    features = np.random.default_rng(0).normal(size=(500, 4))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(features + 1.0, features) == pytest.approx(4.0, rel=1e-6)


def test_separability_is_high_for_a_linear_label_and_absent_for_a_constant_one() -> None:
    ws = torch.randn(400, 8, generator=torch.Generator().manual_seed(0))
    scores = {name: torch.zeros(400) for name in ("glasses", "beard", "bangs", "long_hair")}
    scores["glasses"] = (ws[:, 0] > 0).float()
    result = separability(ws, scores)
    assert result["glasses"] >= 0.95
    assert result["beard"] is None


def test_world_check_reports_every_number_as_json_and_as_a_table(cli, capsys) -> None:
    result = run(cli, "world", "check", "--backend", "random:32", "--samples", "100", "--svm-samples", "100", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"scorer_heldout", "segmenter_heldout", "rendered", "generated", "frechet", "separability_w"} <= set(report)
    assert sum(v for k, v in report["rendered"]["hair_color"].items() if k != "confidence") == pytest.approx(1.0)
    assert 0 <= report["rendered"]["background_hue"]["resultant"] < 0.3  # hue is spread all round the circle
    assert report["frechet"]["rendered_vs_rendered"] < report["frechet"]["generated_vs_rendered"]  # an untrained G
    assert report["bars"]["deterministic"] is True
    assert report["bars"]["binary_rates_within_0.05"] is False
    assert all(isinstance(passed, bool) for passed in report["bars"].values())

    from latentedit.commands.world import _print_check

    capsys.readouterr()
    _print_check(report)
    printed = capsys.readouterr().out
    assert "FAIL binary_rates_within_0.05" in printed and "PASS deterministic" in printed
    assert "Fréchet distance" in printed
