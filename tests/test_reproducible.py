"""The same command with the same seed writes the same bytes (docs/reliability.md, Reproducibility)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from latentedit.edits import Edit
from latentedit.errors import LatentEditError
from latentedit.reproducible import created_timestamp, save_safetensors
from tests.helpers import one_line_error, run

EPOCH = "1700000000"
EPOCH_ISO = "2023-11-14T22:13:20+00:00"
DISCOVERIES = {
    "sefa": ["--method", "sefa"],
    "interfacegan": ["--method", "interfacegan", "--attr", "brightness", "--samples", "100", "-o", "ratio=0.2"],
    "localstyle": ["--method", "localstyle", "-o", "k=3", "-o", "samples=6", "-o", "layer=b16.conv1"],
}


def _header(path: Path) -> dict:
    (length,) = struct.unpack("<Q", path.read_bytes()[:8])
    return json.loads(path.read_bytes()[8 : 8 + length])


def _in_home(cli, monkeypatch: pytest.MonkeyPatch, home: Path, *args: str) -> Path:
    monkeypatch.setenv("LATENTEDIT_HOME", str(home))
    result = run(cli, *args, "--backend", "random:32", "--quiet")
    assert result.exit_code == 0, result.output
    return home


@pytest.mark.parametrize("method", sorted(DISCOVERIES))
def test_discover_twice_writes_identical_bytes(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_scorers, method: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    files = [
        _in_home(cli, monkeypatch, tmp_path / home, "discover", *DISCOVERIES[method], "--name", "same")
        / "random-32"
        / "same.safetensors"
        for home in ("first", "second")
    ]
    assert files[0].read_bytes() == files[1].read_bytes()
    metadata = _header(files[0])["__metadata__"]
    assert metadata["created"] == EPOCH_ISO == Edit.load(files[0]).created
    assert list(metadata) == sorted(metadata)


def test_without_source_date_epoch_only_created_differs(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    files = [
        _in_home(cli, monkeypatch, tmp_path / home, "discover", "--method", "sefa", "--name", "same")
        / "random-32"
        / "same.safetensors"
        for home in ("first", "second")
    ]
    headers = [_header(path) for path in files]
    for header in headers:
        assert header["__metadata__"].pop("created").endswith("+00:00")
    assert headers[0] == headers[1]
    data = [path.read_bytes()[-64:] for path in files]
    assert data[0] == data[1]


def test_invert_out_twice_writes_identical_bytes(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images = tmp_path / "images"
    _in_home(cli, monkeypatch, tmp_path / "first", "generate", "--seeds", "0", "--out", str(images))
    outs = [tmp_path / "first.safetensors", tmp_path / "second.safetensors"]
    for out in outs:
        _in_home(cli, monkeypatch, tmp_path / out.stem, "invert", str(images), "-o", "steps=2", "--out", str(out))
    assert outs[0].read_bytes() == outs[1].read_bytes()
    metadata = _header(outs[0])["__metadata__"]
    assert list(metadata) == sorted(metadata) and "created" not in metadata


def test_save_safetensors_sorts_metadata_whatever_the_insertion_order(tmp_path: Path) -> None:
    tensors = {"b": torch.arange(3.0), "a": torch.ones(2, dtype=torch.float64), "c": torch.zeros(1, dtype=torch.int64)}
    tricky = {"quote": 'say "hi"\\', "control": "tab\tnew\nline\x1f", "unicode": "smile 😀 é", "empty": ""}
    keys = [*tricky, *(f"k{index:02d}" for index in range(30))]
    values = {key: tricky.get(key, key * 3) for key in keys}
    written = []
    for order in (keys, keys[::-1]):
        path = tmp_path / f"{len(written)}.safetensors"
        save_safetensors(dict(reversed(tensors.items())) if written else tensors, path, {k: values[k] for k in order})
        written.append(path.read_bytes())
        with safe_open(str(path), framework="pt") as handle:
            assert handle.metadata() == values
            assert all(torch.equal(handle.get_tensor(key), tensor) for key, tensor in tensors.items())
    assert written[0] == written[1]
    assert list(_header(tmp_path / "0.safetensors")["__metadata__"]) == sorted(keys)


def test_created_honours_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert created_timestamp() == "1970-01-01T00:00:00+00:00"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "")
    assert created_timestamp().endswith("+00:00")
    for bad in ("yesterday", "-5", "1.5", "99999999999999999999"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", bad)
        with pytest.raises(LatentEditError, match="SOURCE_DATE_EPOCH=.* is not a time"):
            created_timestamp()


def test_malformed_source_date_epoch_is_one_line_exit_2(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "next tuesday")
    result = run(cli, "discover", "--method", "sefa", "--backend", "random:32")
    assert result.exit_code == 2
    assert "SOURCE_DATE_EPOCH='next tuesday' is not a time" in one_line_error(result)
