"""Edit files: atomic safetensors with validated metadata; a bad file is one clear error."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from latentedit.edits import Edit, check_strength, read_header
from latentedit.errors import EditFileError, FileExistsNoForceError, IncompatibleEditError, LatentEditError


def make_edit(**changes) -> Edit:
    fields = dict(
        method="sefa",
        name="smile",
        space="w",
        attribute="smile",
        tensors={"direction": torch.tensor([0.6, 0.8]), "strength_unit": torch.tensor(1.5)},
        backend="abc123def456",
        backend_name="random:32",
        params={"steps": 3},
        metrics={"accuracy": 0.97},
        provenance={"seed": 0},
    )
    fields.update(changes)
    return Edit(**fields)


def test_round_trip_keeps_tensors_and_metadata(tmp_path: Path) -> None:
    path = make_edit().save(tmp_path / "smile.safetensors")
    loaded = Edit.load(path)
    assert torch.equal(loaded.tensors["direction"], torch.tensor([0.6, 0.8]))
    assert (loaded.method, loaded.space, loaded.attribute) == ("sefa", "w", "smile")
    assert loaded.metrics == {"accuracy": 0.97} and loaded.params == {"steps": 3}
    assert loaded.path == path


def test_header_is_read_without_the_tensors(tmp_path: Path) -> None:
    path = make_edit().save(tmp_path / "smile.safetensors")
    metadata, tensors = read_header(path)
    assert metadata["latentedit.format"] == "1" and metadata["backend"] == "abc123def456"
    assert tensors["direction"]["shape"] == [2]


def test_never_overwrites_without_force(tmp_path: Path) -> None:
    path = make_edit().save(tmp_path / "smile.safetensors")
    with pytest.raises(FileExistsNoForceError, match="--force"):
        make_edit().save(path)
    make_edit(name="other").save(path, force=True)
    assert Edit.load(path).name == "other"
    assert [p.name for p in tmp_path.iterdir()] == ["smile.safetensors"]  # no temp files left


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(EditFileError, match="NaN"):
        make_edit(tensors={"direction": torch.tensor([float("nan"), 1.0])}).save(tmp_path / "bad.safetensors")
    assert list(tmp_path.iterdir()) == []


def _write_raw(path: Path, metadata: dict[str, str], tensors=None) -> Path:
    save_file(tensors or {"direction": torch.ones(2)}, str(path), metadata=metadata)
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m.pop("latentedit.format"), "not a latentedit edit"),
        (lambda m: m.update({"latentedit.format": "99"}), "format version 99"),
        (lambda m: m.pop("backend"), "missing backend"),
        (lambda m: m.update({"space": "q"}), "unknown latent space 'q'"),
        (lambda m: m.update({"metrics": "{oops"}), "'metrics' is not valid JSON"),
    ],
)
def test_invalid_metadata_is_one_clear_error(tmp_path: Path, mutate, message: str) -> None:
    metadata = make_edit().metadata()
    mutate(metadata)
    path = _write_raw(tmp_path / "bad.safetensors", metadata)
    with pytest.raises(EditFileError, match=message):
        Edit.load(path)


def test_non_finite_tensors_are_refused_on_load(tmp_path: Path) -> None:
    path = _write_raw(
        tmp_path / "nan.safetensors", make_edit().metadata(), {"direction": torch.tensor([1.0, float("inf")])}
    )
    with pytest.raises(EditFileError, match="NaN or infinite"):
        Edit.load(path)


@pytest.mark.parametrize("content", [b"", b"garbage", struct.pack("<Q", 10) + b"{not json}", struct.pack("<Q", 2**40)])
def test_corrupt_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "corrupt.safetensors"
    path.write_bytes(content)
    with pytest.raises(EditFileError, match="corrupt.safetensors"):
        Edit.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EditFileError, match="not found"):
        Edit.load(tmp_path / "nope.safetensors")


def test_truncated_tensor_data_is_refused(tmp_path: Path) -> None:
    path = make_edit().save(tmp_path / "smile.safetensors")
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(EditFileError, match="cannot read tensors"):
        Edit.load(path)


class _Backend:
    name = "stylegan2:other.safetensors"
    fingerprint = "999999999999"


def test_an_edit_refuses_another_backend() -> None:
    with pytest.raises(IncompatibleEditError, match=r"learned for backend random:32 \(abc123def456\).*stylegan2:other"):
        make_edit().check_backend(_Backend())


@pytest.mark.parametrize("strength", [float("nan"), float("inf"), 1e6, -101])
def test_absurd_strengths_are_refused(strength: float) -> None:
    with pytest.raises(LatentEditError, match="Strength"):
        check_strength(strength)


def test_metadata_is_plain_strings() -> None:
    metadata = make_edit().metadata()
    assert all(isinstance(value, str) for value in metadata.values())
    assert json.loads(metadata["params"]) == {"steps": 3}
