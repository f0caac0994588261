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
    moved = latentedit.apply_edit(tiny_backend, ws, edit, strength=2.0)
    step = (moved - ws).reshape(3, -1) @ edit.tensors["direction"].reshape(-1)
    assert torch.allclose(step, torch.full((3,), 2.0 * float(edit.tensors["strength_unit"])), rtol=1e-4)


def test_an_edit_refuses_another_backend(cli, tmp_path) -> None:
    path = tmp_path / "pose.safetensors"
    run(cli, "discover", "--method", "sefa", "--backend", "random:32", "--name", "pose", "--out", str(path))
    other = latentedit.load_backend("random:64")
    edit = Edit.load(path)
    with pytest.raises(IncompatibleEditError, match="learned for backend random:32"):
        latentedit.apply_edit(other, other.mapping(other.sample_z(1, seed=0)), edit, strength=1.0)


def test_discover_rejects_inputs_the_method_does_not_use(cli) -> None:
    result = run(cli, "discover", "--method", "sefa", "--backend", "random:32", "--attr", "smile")
    assert result.exit_code == 2
    assert "does not use --attr" in one_line_error(result)


def test_discover_rejects_unknown_options(cli) -> None:
    result = run(cli, "discover", "--method", "sefa", "--backend", "random:32", "-o", "layer=1")
    assert result.exit_code == 2
    assert "Unknown option 'layer'" in one_line_error(result)


ONE_PER_INDEX = ["b4.conv1", "b8.conv0", "b8.conv1", "b16.conv0", "b16.conv1", "b32.conv0", "b32.conv1", "b32.torgb"]
"""random:32's style layers that genforce/sefa stacks for W+ indices 0..7: each index's conv, and the
last ToRGB for index 7; the ToRGBs of 4x4, 8x8 and 16x16 read indices 1, 3, 5 and are left out."""


def discovered(cli, *options: str) -> Edit:
    """`latentedit discover --method sefa -o OPTION ...` on random:32; the edit it wrote."""
    args = [item for value in ("samples=50", *options) for item in ("-o", value)]
    result = run(cli, "discover", "--method", "sefa", "--backend", "random:32", *args, "--force", "--json")
    assert result.exit_code == 0, result.output
    return Edit.load(json.loads(result.stdout)["path"])


@pytest.mark.parametrize(
    ("options", "stacked"),
    [
        ((), ONE_PER_INDEX),
        (("layers=0-2",), ["b4.conv1", "b8.conv0", "b8.conv1"]),
        (("layers=7",), ["b32.torgb"]),
        (("affines=all", "layers=0-2"), ["b4.conv1", "b4.torgb", "b8.conv0", "b8.conv1"]),
    ],
)
def test_the_stacked_style_layers_are_recorded(cli, options: tuple[str, ...], stacked: list[str]) -> None:
    edit = discovered(cli, *options)
    assert edit.provenance["style_layers"] == stacked
    assert edit.params["affines"] == ("all" if "affines=all" in options else "one")


def test_by_default_each_w_index_is_factorised_once_as_the_authors_code_does(cli, tiny_backend) -> None:
    from latentedit_sefa.method import factorize

    weights = dict(zip(tiny_backend.style_layers, tiny_backend.affine_weights(), strict=True))
    assert len(ONE_PER_INDEX) == tiny_backend.num_ws and len(weights) == 11
    _, expected = factorize([weights[name] for name in ONE_PER_INDEX])
    direction = discovered(cli).tensors["direction"]
    assert torch.allclose(direction, expected[0].expand(8, -1) / 8**0.5, atol=1e-5)


def test_affines_all_stacks_every_reader_as_before(cli, tiny_backend) -> None:
    """`affines=all` is the factorisation of every style layer (the plugin's earlier default), and
    the ToRGBs it adds change the direction on this network."""
    from latentedit_sefa.method import factorize

    _, every = factorize(tiny_backend.affine_weights())
    everything = discovered(cli, "affines=all")
    assert everything.provenance["style_layers"] == tiny_backend.style_layers
    assert torch.allclose(everything.tensors["direction"], every[0].expand(8, -1) / 8**0.5, atol=1e-5)
    default = discovered(cli).tensors["direction"].reshape(-1)
    assert abs(float(default @ everything.tensors["direction"].reshape(-1))) < 0.99


def test_discover_rejects_an_unknown_affine_set(cli) -> None:
    result = run(cli, "discover", "--method", "sefa", "--backend", "random:32", "-o", "affines=first")
    assert result.exit_code == 2
    assert "affines='first': expected one or all" in one_line_error(result)
