"""The GANSpace plugin, found through its entry point: PCA of sampled W, on chosen layers, with a preview."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from latentedit.edits import Edit
from tests.helpers import one_line_error, run

FEW = ("--samples", "3000", "-o", "components=8")


def discover(cli, *args: str):
    return run(cli, "discover", "--method", "ganspace", "--backend", "random:32", "--json", *FEW, *args)


def test_listed_from_its_entry_point(cli) -> None:
    methods = {row["name"]: row for row in json.loads(run(cli, "methods", "--json").stdout)}
    assert methods["ganspace"]["plugin"] == "ganspace"
    plugins = {row["name"]: row for row in json.loads(run(cli, "plugins", "--json").stdout)}
    assert plugins["ganspace"]["source"] == "latentedit-ganspace"


def test_the_edit_is_the_top_principal_component_of_sampled_w(cli, tiny_backend) -> None:
    result = discover(cli, "--name", "pc0")
    assert result.exit_code == 0, result.output
    edit = Edit.load(json.loads(result.stdout)["path"])
    assert (edit.method, edit.space) == ("ganspace", "w")
    direction = edit.tensors["direction"]
    w = tiny_backend.mapping(tiny_backend.sample_z(3000, seed=0))[:, 0]
    centred = w - w.mean(dim=0)
    top = torch.linalg.svd(centred, full_matrices=False).Vh[0]
    assert abs(float(direction @ top)) == pytest.approx(1.0, abs=1e-4)
    spread = float((w @ direction).std())
    assert float(edit.tensors["strength_unit"]) == pytest.approx(spread, rel=1e-4)
    assert edit.metrics["component_stdev"] == pytest.approx(spread, rel=1e-3)
    random = torch.nn.functional.normalize(torch.randn(128, generator=torch.Generator().manual_seed(0)), dim=0)
    assert spread > 2 * float((w @ random).std())  # the first component carries far more variance
    assert edit.tensors["components"].shape == (8, 128)


def test_a_component_on_a_layer_range(cli) -> None:
    result = discover(cli, "--name", "pc2", "-o", "component=2", "-o", "layers=1-3")
    edit = Edit.load(json.loads(result.stdout)["path"])
    direction = edit.tensors["direction"]
    assert edit.space == "w+" and direction.shape == (8, 128)
    assert torch.count_nonzero(direction[[0, 4, 5, 6, 7]]) == 0
    assert torch.allclose(direction[1], direction[3]) and float(direction.norm()) == pytest.approx(1.0, abs=1e-5)
    # a W code moved on 3 layers: one unit is sqrt(3) component standard deviations
    assert float(edit.tensors["strength_unit"]) == pytest.approx(3**0.5 * edit.metrics["component_stdev"], rel=1e-3)
    assert edit.provenance["layers"] == "1-3"


def test_preview_draws_the_first_components_at_two_sigma(cli, tmp_path: Path) -> None:
    picture = tmp_path / "components.png"
    result = discover(cli, "--preview", str(picture), "-o", "components=4")
    assert result.exit_code == 0, result.output
    image = np.asarray(Image.open(picture))
    assert image.shape == (4 * 34 + 2, 6 * 34 + 2, 3)  # 4 components x (2 seeds x -2σ, 0, +2σ) of 32 px, padded
    first, middle, last = (image[2:34, 2 + 34 * column : 34 + 34 * column].astype(int) for column in (0, 1, 2))
    assert np.abs(first - middle).mean() > 1 and np.abs(last - middle).mean() > 1  # ±2σ changes the face


def test_ganspace_edits_export_and_import_back(cli, tmp_path: Path) -> None:
    made = Edit.load(json.loads(discover(cli, "--name", "pc1", "-o", "component=1").stdout)["path"])
    out = tmp_path / "pc1.npz"
    exported = run(cli, "directions", "export", "pc1", "--backend", "random:32", "--format", "npz", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    result = run(
        cli, "directions", "import", str(out), "--backend", "random:32", "--name", "back", "-o", "samples=3000",
        "--json",
    )
    back = Edit.load(json.loads(result.stdout)["path"])
    assert back.space == "w"
    assert float(back.tensors["direction"] @ made.tensors["direction"]) == pytest.approx(1.0, abs=1e-6)
    assert float(back.tensors["strength_unit"]) == pytest.approx(float(made.tensors["strength_unit"]), rel=1e-5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "component=8"], "Option component=8: must lie in 0..7"),
        (["-o", "layers=0-9"], "indices must lie in 0..7"),
        (["-o", "estimator=svd"], "expected pca or ipca"),
    ],
)
def test_bad_options_fail_with_one_line(cli, args: list[str], message: str) -> None:
    result = discover(cli, *args)
    assert result.exit_code == 2
    assert message in one_line_error(result)
