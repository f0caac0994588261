"""FEditNet from the command line: a few positives in a folder, a short run, then layer response."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import run

BACKEND = ("--backend", "random:32")
pytestmark = pytest.mark.usefixtures("fake_scorers")


def test_feditnet_learns_from_positives_and_reports_layer_response(cli, tmp_path: Path) -> None:
    positives = tmp_path / "bright"
    positives.mkdir()
    generator = np.random.default_rng(0)
    for index in range(6):
        image = np.clip(200 + generator.normal(0, 20, (32, 32, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(positives / f"{index}.png")
    made = run(
        cli,
        "discover",
        "--method",
        "feditnet",
        "--attr",
        "brightness",
        "--positives",
        str(positives),
        *BACKEND,
        "-o",
        "steps=3",
        "--samples",
        "50",
        "--json",
    )
    assert made.exit_code == 0, made.output
    metadata = json.loads(made.stdout)["metadata"]
    assert metadata["method"] == "feditnet" and len(json.loads(metadata["provenance"])["sha256"]) == 6
    response = run(cli, "evaluate", "--dir", "brightness", "--layer-response", "--samples", "40", *BACKEND, "--json")
    assert response.exit_code == 0, response.output
    ratios = json.loads(response.stdout)["layer_response"]["brightness"]
    assert set(ratios) >= {"b8.conv0", "b32.conv1"} and all(value > 0 for value in ratios.values())
