"""The third-party SeFa plugin, found through its entry point, writes ordinary edit files."""

from __future__ import annotations

import json

import pytest
import torch

import latentedit
from latentedit.edits import Edit
from latentedit.errors import IncompatibleEditError
from tests.helpers import one_line_error, run


def test_discover_sefa_writes_a_valid_edit(cli, isolated_home) -> None:
    result = run(
        cli, "discover", "--method", "sefa", "--backend", "random:32", "--name", "pose", "-o", "layers=0-2", "--json"
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    edit = Edit.load(document["path"])
    assert (edit.method, edit.space, edit.name) == ("sefa", "w+", "pose")
    direction = edit.tensors["direction"]
    assert direction.shape == (8, 128)  # random:32 has 8 W+ codes of 128 dims
    assert torch.count_nonzero(direction[3:]) == 0  # layers outside 0-2 are untouched
    assert float(direction.norm()) == pytest.approx(1.0, abs=1e-5)
    assert edit.metrics["eigenvalue"] > 0 and edit.params["layers"] == "0-2"
    assert document["path"].startswith(str(isolated_home / "random-32"))


def test_sefa_direction_is_the_top_eigenvector(tiny_backend) -> None:
    from latentedit_sefa.method import factorize

    values, vectors = factorize(tiny_backend.affine_weights())
    stacked = torch.cat([w / w.norm(dim=1, keepdim=True) for w in tiny_backend.affine_weights()])
    gain = (stacked @ vectors[0]).norm()
    random_direction = torch.nn.functional.normalize(torch.randn(vectors.shape[1]), dim=0)
    assert gain > (stacked @ random_direction).norm()
    assert float(gain.square()) == pytest.approx(float(values[0]), rel=1e-3)


def test_applying_moves_latents_by_calibrated_standard_deviations(cli, tiny_backend) -> None:
    run(cli, "discover", "--method", "sefa", "--backend", "random:32", "--name", "pose")
    edit = latentedit.load_edit("pose", backend="random:32")
    ws = tiny_backend.mapping(tiny_backend.sample_z(3, seed=5))
    moved = edit.apply(tiny_backend, ws, strength=2.0)
    step = (moved - ws).reshape(3, -1) @ edit.tensors["direction"].reshape(-1)
    assert torch.allclose(step, torch.full((3,), 2.0 * float(edit.tensors["strength_unit"])), rtol=1e-4)


def test_an_edit_refuses_another_backend(cli, tmp_path) -> None:
    path = tmp_path / "pose.safetensors"
    run(cli, "discover", "--method", "sefa", "--backend", "random:32", "--name", "pose", "--out", str(path))
    other = latentedit.load_backend("random:64")
    edit = Edit.load(path)
    with pytest.raises(IncompatibleEditError, match="learned for backend random:32"):
        edit.apply(other, other.mapping(other.sample_z(1, seed=0)), strength=1.0)


def test_discover_rejects_inputs_the_method_does_not_use(cli) -> None:
    result = run(cli, "discover", "--method", "sefa", "--backend", "random:32", "--attr", "smile")
    assert result.exit_code == 2
    assert "does not use --attr" in one_line_error(result)


def test_discover_rejects_unknown_options(cli) -> None:
    result = run(cli, "discover", "--method", "sefa", "--backend", "random:32", "-o", "layer=1")
    assert result.exit_code == 2
    assert "Unknown option 'layer'" in one_line_error(result)
