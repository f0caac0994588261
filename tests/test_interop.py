"""A user brings the community's direction files in (`directions import`) and takes edits out
(`directions export`): every published layout, code-free reading, clear refusals, round trips."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch

import latentedit
from latentedit.edits import Edit
from latentedit.sampling import sample
from latentedit.vectors import project
from tests.helpers import one_line_error, run
from tests.interop_files import Layout, ganspace_pkl, save_on_cuda, unit_rows, write_layouts

SAMPLES = "samples=400"


@pytest.fixture(scope="module")
def embedded():
    return latentedit.load_backend("embedded")


@pytest.fixture(scope="module")
def layouts(tmp_path_factory, embedded) -> tuple[Path, dict[str, tuple[Layout, np.ndarray]]]:
    folder = tmp_path_factory.mktemp("directions")
    return folder, write_layouts(folder, embedded.num_ws, embedded.w_dim)


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory) -> str:
    """A 32 px StyleGAN2 with 32-dimensional W (8 W+ codes), imported as a `stylegan2:` backend."""
    from latentedit.checkpoints.layout import save_networks
    from latentedit.nets import Generator

    torch.manual_seed(5)
    G = Generator(
        z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3,
        mapping_kwargs={"num_layers": 2}, synthesis_kwargs={"channel_base": 512, "channel_max": 32},
    )
    path = save_networks(tmp_path_factory.mktemp("ckpt") / "small.safetensors", G, source_format="latentedit")
    return f"stylegan2:{path}"


def import_file(cli, path: Path, *args: str):
    return run(cli, "directions", "import", str(path), "--json", "-o", SAMPLES, *args)


def cosine(a: torch.Tensor, b: np.ndarray) -> float:
    a, b = a.double().reshape(-1), torch.tensor(b, dtype=torch.float64).reshape(-1)
    return float(a @ b / (a.norm() * b.norm()))


@pytest.mark.parametrize(
    "key",
    [
        "interfacegan-w", "interfacegan-z", "interfacegan-wp", "interfacegan-told", "e4e", "e4e-cuda", "e4e-wplus",
        "e4e-legacy", "ganspace-pt", "ganspace-npz", "ganspace-pkl", "rosinality", "wplus-layers", "wplus-identical",
    ],
)
def test_each_layout_is_detected_and_imported_as_a_vector_edit(cli, layouts, key: str) -> None:
    folder, table = layouts
    layout, expected = table[key]
    path = folder / layout.filename
    options = [item for option in layout.options for item in ("-o", option)]
    result = import_file(cli, path, "--name", key, *options)
    assert result.exit_code == 0, result.output
    edit = Edit.load(json.loads(result.stdout)["path"])
    assert (edit.method, edit.space) == ("imported", layout.space)
    assert tuple(edit.tensors["direction"].shape) == ((10, 128) if layout.space == "w+" else (128,))
    assert cosine(edit.tensors["direction"], expected) == pytest.approx(1.0, abs=1e-6)
    assert float(edit.tensors["direction"].norm()) == pytest.approx(1.0, abs=1e-6)
    provenance = edit.provenance
    assert provenance["source_format"] == layout.format  # --format auto found it
    assert provenance["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert provenance["source_file"] == str(path.resolve())
    assert provenance["space"] == layout.space


def test_the_strength_unit_is_one_standard_deviation_of_the_backends_latents(cli, layouts, embedded) -> None:
    folder, table = layouts
    layout, _ = table["wplus-layers"]
    result = import_file(cli, folder / layout.filename, "-o", "layers=0-7", "--seed", "3")
    edit = Edit.load(json.loads(result.stdout)["path"])
    ws = sample(embedded, 400, seed=3).ws
    spread = float(project(ws, edit.tensors["direction"]).std())
    assert float(edit.tensors["strength_unit"]) == pytest.approx(spread, rel=1e-5)
    moved = latentedit.apply_edits(embedded, ws[:5], [(edit, 3.0)])
    shift = project(moved, edit.tensors["direction"]) - project(ws[:5], edit.tensors["direction"])
    assert torch.allclose(shift, torch.full((5,), 3.0 * spread), rtol=1e-4)  # --strength 3 = three std devs
    assert torch.equal(moved[:, 8:], ws[:5, 8:])  # the layers the file's authors leave alone stay put


def test_an_imported_edit_applies_from_the_command_line(cli, layouts, tmp_path: Path) -> None:
    folder, table = layouts
    assert import_file(cli, folder / table["e4e-cuda"][0].filename, "--name", "smile").exit_code == 0
    result = run(cli, "apply", "seed:1", "--dir", "smile", "--strength", "3", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "seed0001_edited.png").is_file()


def test_a_cuda_tagged_file_needs_the_cpu_mapping(tmp_path: Path) -> None:
    path = save_on_cuda(torch.ones(1, 4), tmp_path / "gpu.pt")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)
    from latentedit.interop.containers import open_container

    assert torch.equal(open_container(path).content, torch.ones(1, 4))


def test_show_says_where_an_edit_came_from(cli, layouts) -> None:
    folder, table = layouts
    layout, _ = table["ganspace-pkl"]
    assert import_file(cli, folder / layout.filename, "--name", "grin").exit_code == 0
    shown = run(cli, "directions", "show", "grin", "--json")
    provenance = json.loads(shown.stdout)["metadata"]["provenance"]
    assert provenance["source_format"] == "ganspace-pkl"
    assert provenance["source_file"].endswith(layout.filename) and len(provenance["source_sha256"]) == 64
    assert (provenance["layers"], provenance["space"], provenance["name"]) == ("2-4", "w+", "smile")
    table_view = run(cli, "directions", "show", "grin")
    assert "ganspace-pkl" in table_view.stdout and provenance["source_sha256"][:12] in table_view.stdout


class Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


@pytest.mark.parametrize("payload", [{"lat_comp": Boom()}, {"lat_comp": np.zeros((1, 128)), "f": np.load}])
def test_a_pickle_reaching_beyond_numpy_is_refused_without_running_it(cli, tmp_path, monkeypatch, payload) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(payload))
    result = import_file(cli, path)
    assert result.exit_code == 2
    message = one_line_error(result)
    assert "refusing to unpickle" in message and "nothing from the file was run" in message
    assert not (tmp_path / "pwned").exists()


def test_a_torch_file_holding_more_than_tensors_is_refused(cli, tmp_path: Path) -> None:
    path = tmp_path / "directions.pt"
    torch.save({"eigvec": torch.eye(128), "extra": Layout("x", "y", "z")}, path)
    result = import_file(cli, path)
    assert result.exit_code == 2
    assert "refusing to load" in one_line_error(result) and "Layout" in one_line_error(result)


def test_numpy_pickles_of_every_protocol_load(tmp_path: Path) -> None:
    from latentedit.interop.numpy_pickle import load_numpy_pickle

    lat_comp = unit_rows(1, 128, seed=9)
    for protocol in (2, 3, 4, 5):
        path = ganspace_pkl(tmp_path / f"p{protocol}.pkl", lat_comp, 0, 10, protocol=protocol)
        data = load_numpy_pickle(path)
        assert np.array_equal(data["lat_comp"], lat_comp.astype(np.float32)) and data["sigma_range"] == 2.5


@pytest.mark.parametrize(
    ("key", "args", "message"),
    [
        ("interfacegan-w", ["--backend", "random:32", "-o", "layers=0-9"], "indices must lie in 0..7"),
        ("ganspace-pt", [], "holds 6 components; choose one with -o component=i (0-5)"),
        ("ganspace-pt", ["-o", "component=6"], "-o component=6 is out of range"),
        ("e4e", ["-o", "component=1"], "holds one direction"),
        ("interfacegan-z", ["-o", "layers=0-3"], "a Z direction moves every layer"),
        ("e4e", ["--format", "ganspace-npz"], "is a torch file; --format ganspace-npz reads npz files"),
        ("e4e", ["--format", "ganspace-pt"], "needs the keys comp, std; this file holds an array of shape (1, 128)"),
        ("e4e", ["--format", "sefa"], "Unknown direction format 'sefa'"),
        ("e4e", ["-o", "spaces=w"], "Unknown option 'spaces'"),
    ],
)
def test_bad_requests_fail_with_one_line(cli, layouts, key: str, args: list[str], message: str) -> None:
    folder, table = layouts
    result = import_file(cli, folder / table[key][0].filename, *args)
    assert result.exit_code == 2
    assert message in one_line_error(result)


def test_a_file_that_does_not_say_its_space_needs_one(cli, layouts) -> None:
    folder, table = layouts
    result = import_file(cli, folder / table["interfacegan-told"][0].filename)
    assert result.exit_code == 2
    assert "pass -o space=z or -o space=w" in one_line_error(result)


def test_a_zero_direction_is_refused(cli, tmp_path: Path) -> None:
    np.save(tmp_path / "empty_w_boundary.npy", np.zeros((1, 128)))
    result = import_file(cli, tmp_path / "empty_w_boundary.npy")
    assert result.exit_code == 2 and "the direction is zero" in one_line_error(result)


def test_a_direction_for_another_generator_is_refused(cli, tmp_path: Path, small_checkpoint: str) -> None:
    np.save(tmp_path / "ffhq_smile_w_boundary.npy", unit_rows(1, 512, seed=0))
    result = import_file(cli, tmp_path / "ffhq_smile_w_boundary.npy")
    assert result.exit_code == 2
    assert "this direction has 512 dimensions, backend embedded has 128" in one_line_error(result)
    np.save(tmp_path / "ffhq_wplus.npy", unit_rows(18, 128, seed=0))
    rows = import_file(cli, tmp_path / "ffhq_wplus.npy")
    assert "this direction has 18 layers (W+ rows), backend embedded has 10" in one_line_error(rows)
    np.save(tmp_path / "world_w.npy", unit_rows(1, 128, seed=0))
    other = import_file(cli, tmp_path / "world_w.npy", "--backend", small_checkpoint)
    assert f"this direction has 128 dimensions, backend {small_checkpoint} has 32" in one_line_error(other)


def test_directions_import_and_apply_on_an_imported_stylegan2_checkpoint(cli, tmp_path: Path, small_checkpoint) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    table = write_layouts(folder, num_ws=8, dim=32)
    for key in ("interfacegan-w", "e4e-cuda", "ganspace-pkl", "rosinality", "wplus-layers"):
        layout, expected = table[key]
        options = [item for option in layout.options for item in ("-o", option)]
        result = import_file(cli, folder / layout.filename, "--backend", small_checkpoint, "--name", key, *options)
        assert result.exit_code == 0, result.output
        edit = Edit.load(json.loads(result.stdout)["path"])
        assert cosine(edit.tensors["direction"], expected) == pytest.approx(1.0, abs=1e-6)
    out = tmp_path / "out"
    result = run(cli, "apply", "seed:0", "--backend", small_checkpoint, "--dir", "ganspace-pkl", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "seed0000_edited.png").is_file()


@pytest.mark.parametrize(
    ("key", "fmt", "suffix"),
    [
        ("interfacegan-w", "npz", "npz"),  # W
        ("interfacegan-z", "interfacegan-npy", "npy"),  # Z
        ("ganspace-pt", "e4e-pt", "pt"),  # W+, a component on layers 0-3
        ("interfacegan-wp", "interfacegan-npy", "npy"),  # W+ as one flattened row
        ("wplus-layers", "npz", "npz"),
    ],
)
def test_export_then_import_gives_the_same_direction_and_unit(cli, layouts, tmp_path, key, fmt, suffix) -> None:
    folder, table = layouts
    layout, _ = table[key]
    options = [item for option in layout.options for item in ("-o", option)]
    first = Edit.load(json.loads(import_file(cli, folder / layout.filename, "--name", "x", *options).stdout)["path"])
    out = tmp_path / f"x.{suffix}"
    exported = run(cli, "directions", "export", "x", "--format", fmt, "--out", str(out), "--json")
    assert exported.exit_code == 0, exported.output
    words = shlex.split(json.loads(exported.stdout)["import_command"])  # the re-import command export prints
    assert words[:4] == ["latentedit", "directions", "import", str(out)]
    result = run(cli, *words[1:], "--out", str(tmp_path / "y.st"))
    assert result.exit_code == 0, result.output
    second = Edit.load(tmp_path / "y.st")
    assert second.space == first.space and second.tensors["direction"].shape == first.tensors["direction"].shape
    assert cosine(second.tensors["direction"], first.tensors["direction"].numpy()) == pytest.approx(1.0, abs=1e-6)
    assert float(second.tensors["strength_unit"]) == pytest.approx(float(first.tensors["strength_unit"]), rel=1e-6)
    assert second.provenance["layers"] == first.provenance["layers"]


def test_export_writes_the_layouts_other_tools_read(cli, layouts, tmp_path: Path) -> None:
    folder, table = layouts
    import_file(cli, folder / table["interfacegan-w"][0].filename, "--name", "smile")
    run(cli, "directions", "export", "smile", "--format", "interfacegan-npy", "--out", str(tmp_path / "b.npy"))
    run(cli, "directions", "export", "smile", "--format", "e4e-pt", "--out", str(tmp_path / "e.pt"))
    run(cli, "directions", "export", "smile", "--format", "npz", "--out", str(tmp_path / "g.npz"))
    boundary = np.load(tmp_path / "b.npy", allow_pickle=False)
    assert boundary.shape == (1, 128) and boundary.dtype == np.float64
    assert np.linalg.norm(boundary) == pytest.approx(1.0)
    tensor = torch.load(tmp_path / "e.pt", weights_only=True)
    assert tensor.shape == (1, 128) and tensor.dtype == torch.float32
    archive = np.load(tmp_path / "g.npz", allow_pickle=False)
    assert archive["lat_comp"].shape == (1, 1, 128) and archive["lat_stdev"].shape == (1,)


def test_export_refuses_to_overwrite_without_force(cli, layouts, tmp_path: Path) -> None:
    folder, table = layouts
    import_file(cli, folder / table["e4e"][0].filename, "--name", "age")
    out = tmp_path / "age.pt"
    assert run(cli, "directions", "export", "age", "--format", "e4e-pt", "--out", str(out)).exit_code == 0
    before = out.read_bytes()
    again = run(cli, "directions", "export", "age", "--format", "npz", "--out", str(out))
    assert again.exit_code == 2 and "--force" in one_line_error(again)
    assert out.read_bytes() == before
    forced = run(cli, "directions", "export", "age", "--format", "interfacegan-npy", "--out", str(out), "--force")
    assert forced.exit_code == 0 and out.read_bytes() != before


VECTOR = {"direction": torch.ones(128), "strength_unit": torch.tensor(1.0)}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (dict(method="localstyle", space="s", tensors={"catalog": torch.zeros(4, 8)}), "is not a vector edit"),
        (dict(method="wstar", space="w*", tensors=VECTOR), "a direction in w*, which only latentedit can apply"),
        (dict(method="interfacegan", space="z", tensors=VECTOR), "e4e-pt directions are added to W codes"),
    ],
)
def test_export_refuses_what_other_tools_cannot_apply(cli, tmp_path: Path, edit: dict, message: str) -> None:
    from latentedit.store import edit_path

    Edit(name="other", backend="0" * 12, backend_name="embedded", **edit).save(edit_path("other", "embedded"))
    result = run(cli, "directions", "export", "other", "--format", "e4e-pt", "--out", str(tmp_path / "o.pt"))
    assert result.exit_code == 2
    assert message in one_line_error(result)
    assert not (tmp_path / "o.pt").exists()


def test_the_imported_method_learns_nothing(cli) -> None:
    result = run(cli, "discover", "--method", "imported")
    assert result.exit_code == 2
    assert "use `latentedit directions import FILE`" in one_line_error(result)


DISCOVERED = {
    "sefa": ["--method", "sefa"],
    "interfacegan": ["--method", "interfacegan", "--attr", "brightness", "--samples", "300", "-o", "ratio=0.1"],
}


@pytest.mark.parametrize("method", sorted(DISCOVERED))
def test_a_discovered_edit_exports_and_imports_back_with_the_same_unit(cli, fake_scorers, tmp_path, method) -> None:
    found = run(cli, "discover", *DISCOVERED[method], "--name", "found", "--backend", "random:32")
    assert found.exit_code == 0, found.output
    first = latentedit.load_edit("found", backend="random:32")
    exported = run(cli, "directions", "export", "found", "--format", "e4e-pt", "--out", str(tmp_path / "f.pt"),
                   "--backend", "random:32", "--json")  # fmt: skip
    assert exported.exit_code == 0, exported.output
    words = shlex.split(json.loads(exported.stdout)["import_command"])
    assert "samples=" in " ".join(words)  # the calibration the edit recorded travels with the command
    again = run(cli, *words[1:], "--out", str(tmp_path / "back.safetensors"))
    assert again.exit_code == 0, again.output
    second = Edit.load(tmp_path / "back.safetensors")
    assert cosine(second.tensors["direction"], first.tensors["direction"].numpy()) == pytest.approx(1.0, abs=1e-6)
    assert float(second.tensors["strength_unit"]) == pytest.approx(float(first.tensors["strength_unit"]), rel=1e-6)
