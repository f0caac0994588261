"""Everything a user can get wrong ends in one line and exit 2 (issue 23, items 1 and 2): output
locations and full disks, numbers out of range, spreadsheet CSVs, Typer's usage errors, markup in
user text, debug mode, and hostile edit files."""

from __future__ import annotations

import codecs
import errno
import json
import os
import re
import struct
from pathlib import Path

import pytest
import torch
from PIL import Image

from latentedit.edits import Edit
from latentedit.errors import EditFileError, LatentEditError, OptionError
from latentedit.fileio import atomic_write
from latentedit.labels import read_label_table
from latentedit.options import parse_options
from latentedit.store import edit_path
from latentedit.vectors import vector_edit
from tests.helpers import one_line_error, run

# --- the output location -------------------------------------------------------------------


def test_a_file_where_a_folder_belongs_is_one_line(cli, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine")
    result = run(cli, "generate", "--backend", "random:32", "--seeds", "0", "--out", str(afile))
    assert result.exit_code == 2
    assert f"{afile} is a file, not a folder" in one_line_error(result)
    image = tmp_path / "face.png"
    Image.new("RGB", (32, 32)).save(image)
    result = run(cli, "invert", str(image), "--backend", "random:32", "--out", str(afile / "x.safetensors"))
    assert result.exit_code == 2
    assert f"{afile} is a file, not a folder" in one_line_error(result)
    assert afile.read_text() == "mine"


def test_a_folder_where_a_file_belongs_is_one_line(cli, tmp_path: Path) -> None:
    for force in ([], ["--force"]):
        result = run(cli, "generate", "--backend", "random:32", "--seeds", "0", "--grid", str(tmp_path), *force)
        assert result.exit_code == 2
        assert one_line_error(result) == f"Error: {tmp_path} is a folder; give a file name."


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_folder_is_one_line(cli, tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    result = run(cli, "generate", "--backend", "random:32", "--seeds", "0", "--out", str(folder))
    assert result.exit_code == 2
    assert "is not writable" in one_line_error(result)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.ENOSPC, "no space left on device"),
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_os_errors_while_writing_name_the_file(cli, tmp_path: Path, monkeypatch, code: int, reason: str) -> None:
    """A full disk raises from write() with no file name; the line names the file asked for, and
    no temporary is left behind."""

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(Image.Image, "save", refuse)
    grid = tmp_path / "out" / "grid.png"
    result = run(cli, "generate", "--backend", "random:32", "--seeds", "0-1", "--grid", str(grid), "-q")
    assert result.exit_code == 2
    assert one_line_error(result) == f"Error: {grid}: {reason}."
    assert not grid.exists() and list(tmp_path.rglob(".*")) == []


def test_safetensors_io_errors_become_os_errors_naming_the_file(tmp_path: Path) -> None:
    """safetensors' Rust writer reports a full disk as text; it becomes an OSError like any other."""
    from safetensors import SafetensorError

    def full(tmp: Path) -> None:
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    def broken(tmp: Path) -> None:
        raise ValueError("not an I/O error")

    target = tmp_path / "edit.safetensors"
    with pytest.raises(OSError, match="No space left") as caught:
        atomic_write(target, full)
    assert (caught.value.errno, caught.value.filename) == (errno.ENOSPC, str(target))
    with pytest.raises(ValueError, match="not an I/O error"):
        atomic_write(target, broken)
    assert list(tmp_path.iterdir()) == []


def test_home_that_is_a_file_is_one_line(cli, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home-file"
    home.write_text("")
    monkeypatch.setenv("LATENTEDIT_HOME", str(home))
    for args in (["directions", "list"], ["discover", "-m", "sefa", "--backend", "random:32", "--name", "x"]):
        result = run(cli, *args)
        assert result.exit_code == 2
        assert "point LATENTEDIT_HOME at a folder" in one_line_error(result)


def test_an_edit_name_too_long_for_a_file_system_is_one_line(cli) -> None:
    result = run(cli, "discover", "-m", "sefa", "--backend", "random:32", "--name", "a" * 300)
    assert result.exit_code == 2
    assert "has 300 characters; use at most 200" in one_line_error(result)


def test_other_os_errors_are_still_bugs(cli, monkeypatch) -> None:
    """A missing internal file is not the user's doing: exit 1 and the hint, not exit 2."""

    def missing(*args, **kwargs):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/site-packages/latentedit/x.json")

    monkeypatch.setattr("latentedit.commands.directions.list_edits", missing)
    result = run(cli, "directions", "list")
    assert result.exit_code == 1
    assert "This is a bug" in one_line_error(result)


# --- numbers out of range ------------------------------------------------------------------


def test_options_out_of_the_librarys_range() -> None:
    from latentedit.methods.interfacegan import InterFaceGANOptions
    from latentedit.methods.pair import PairOptions

    with pytest.raises(OptionError, match="C=0.0: the SVM's regularisation must be a positive number"):
        parse_options(InterFaceGANOptions, ["C=0"])
    with pytest.raises(OptionError, match="NaN and infinity are not allowed"):
        parse_options(InterFaceGANOptions, ["C=inf"])
    with pytest.raises(OptionError, match="calibration_samples=0: need at least 2"):
        parse_options(PairOptions, ["calibration_samples=0"])
    with pytest.raises(OptionError, match="steps=-1"):
        parse_options(PairOptions, ["steps=-1"])


def test_too_many_samples_are_refused_before_allocating(cli, fake_scorers, monkeypatch) -> None:
    monkeypatch.setattr("latentedit.sampling.available_memory", lambda: 8 * 2**30)
    args = [
        "discover",
        "-m",
        "interfacegan",
        "--attr",
        "brightness",
        "--backend",
        "random:32",
        "--samples",
        "99999999999",
    ]
    result = run(cli, *args)
    assert result.exit_code == 2
    assert "99,999,999,999 samples would need" in one_line_error(result)
    assert "TiB of memory for their latents; 8.0 GiB is available" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["discover", "-m", "sefa", "--backend", "random:32", "--seed", "1180591620717411303424"],
        ["discover", "-m", "sefa", "--backend", "random:32", "--seed", "-1"],
        ["world", "render", "--out", "faces", "--seed", "-1"],
    ],
)
def test_seeds_beyond_the_generators_range_are_one_line(cli, args: list[str]) -> None:
    result = run(cli, *args)
    assert result.exit_code == 2
    assert "Invalid value for '--seed'" in one_line_error(result)


def test_a_device_that_cannot_compute_is_one_line(cli, tmp_path: Path) -> None:
    result = run(cli, "generate", "--backend", "random:32", "--device", "meta", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert one_line_error(result).startswith("Error: --device meta cannot compute here (")


# --- label CSVs as spreadsheets write them --------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF8 + b"key,smile\r\n1,0.5\r\n2,0.25\r\n",  # Excel's "CSV UTF-8"
        "key\tsmile\r\n1\t0,5\r\n2\t0,25\r\n".encode("utf-16"),  # Excel's "Unicode text", German locale
        b"key;smile\n1;0,5\n2;0.25\n",  # semicolons where the decimal mark is a comma
    ],
)
def test_label_csvs_as_spreadsheets_save_them(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(data)
    table = read_label_table(path)
    assert table.columns == ["smile"]
    assert (table.seeds, table.scores("smile")) == ([1, 2], ([0.5, 0.25], []))


def test_an_image_or_legacy_encoding_given_as_labels_is_one_line(tmp_path: Path) -> None:
    image = tmp_path / "face.png"
    Image.new("RGB", (8, 8)).save(image)
    with pytest.raises(LatentEditError, match="is a binary file"):
        read_label_table(image)
    legacy = tmp_path / "latin1.csv"
    legacy.write_bytes("key,score\ncafé.png,1\n".encode("latin-1"))
    with pytest.raises(LatentEditError, match="save it as 'CSV UTF-8'"):
        read_label_table(legacy)


# --- Typer's usage errors, markup, debug ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["discover", "-m", "sefa", "--samples", "0"], "Error: Invalid value for '--samples'"),
        (["apply", "seed:0", "--dir", "x", "--strength", "abc"], "Error: Invalid value for '--strength'"),
        (["world", "render", "--out", "x", "--n", "0"], "Error: Invalid value for '--n'"),
        (["directions", "rm"], "Error: Missing argument 'name'"),
        (["--bogus"], "Error: No such option: --bogus"),
        (["nosuchcommand"], "Error: No such command 'nosuchcommand'"),
    ],
)
def test_usage_errors_are_one_line(cli, args: list[str], expected: str) -> None:
    result = run(cli, *args)
    assert result.exit_code == 2
    line = one_line_error(result)
    assert line.startswith(expected), line
    assert line.endswith("-h' for help."), line


def test_user_text_is_never_markup_or_emoji(cli) -> None:
    for backend in ("random:abc", "random:[red]x[/red]"):
        result = run(cli, "generate", "--backend", backend)
        assert result.exit_code == 2
        assert one_line_error(result) == f"Error: --backend {backend}: expected a resolution such as random:64."


def test_debug_shows_the_traceback_and_keeps_the_exit_code(cli, monkeypatch) -> None:
    monkeypatch.setenv("LATENTEDIT_DEBUG", "1")
    result = run(cli, "generate", "--backend", "random:abc")
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().endswith("Error: --backend random:abc: expected a resolution such as random:64.")


# --- hostile edit files --------------------------------------------------------------------

NESTED = b"[" * 100_000 + b"]" * 100_000


def raw_edit_file(path: Path, header: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


def good_edit(backend) -> Edit:
    ws = backend.mapping(backend.sample_z(64, seed=0))[:, 0]
    direction = torch.ones(backend.w_dim)
    return vector_edit(
        method="sefa", name="good", space="w", direction=direction, backend=backend, calibration_latents=ws
    )


def test_deeply_nested_headers_are_one_line_and_do_not_break_listing(cli, tiny_backend) -> None:
    good_edit(tiny_backend).save(edit_path("good", tiny_backend.name))
    raw_edit_file(edit_path("deep", tiny_backend.name), NESTED)
    metadata = dict(good_edit(tiny_backend).metadata(), params=NESTED.decode())
    raw_edit_file(edit_path("deepmeta", tiny_backend.name), json.dumps({"__metadata__": metadata}).encode())
    listed = run(cli, "directions", "list", "--json")
    assert listed.exit_code == 0
    errors = {row["name"]: row["error"] for row in json.loads(listed.stdout)}
    assert errors["good"] == ""
    assert "nests too deeply" in errors["deep"] and "'params' is not valid JSON" in errors["deepmeta"]
    assert run(cli, "directions", "list").exit_code == 0
    for name in ("deep", "deepmeta"):
        for args in (["directions", "show", name], ["apply", "seed:0", "--dir", name, "--out", "o", "-q"]):
            result = run(cli, *args, "--backend", "random:32")
            assert result.exit_code == 2
            assert str(edit_path(name, tiny_backend.name)) in one_line_error(result)


def test_rm_removes_a_corrupt_store_file_but_only_edit_files_elsewhere(cli, tmp_path: Path, tiny_backend) -> None:
    corrupt = raw_edit_file(edit_path("deep", tiny_backend.name), NESTED)
    result = run(cli, "directions", "rm", "deep", "--backend", "random:32", "--yes")
    assert result.exit_code == 0 and not corrupt.exists()
    mine = tmp_path / "notes.safetensors"
    mine.write_text("not an edit")
    result = run(cli, "directions", "rm", str(mine), "--yes")
    assert result.exit_code == 2 and mine.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"strength_unit": torch.ones(3)}, "tensor 'strength_unit' has shape (3,); it must be one number"),
        ({"strength_unit": torch.tensor(1e30)}, "strength unit 1e+30 is outside (0, 100]"),
        ({"strength_unit": torch.tensor(-1.0)}, "strength unit -1 is outside (0, 100]"),
        ({"direction": torch.ones(1, 1, 128)}, "a direction is 1-D or 2-D"),
    ],
)
def test_hostile_edit_tensors_are_refused_at_load(cli, tmp_path: Path, tiny_backend, change, message: str) -> None:
    from safetensors.torch import save_file

    edit = good_edit(tiny_backend)
    path = tmp_path / "hostile.safetensors"
    save_file({**edit.tensors, **change}, str(path), metadata=edit.metadata())
    with pytest.raises(EditFileError, match=re.escape(message)):
        Edit.load(path)
    result = run(
        cli, "apply", "seed:0", "--dir", str(path), "--backend", "random:32", "--out", str(tmp_path / "o"), "-q"
    )
    assert result.exit_code == 2
    assert message in one_line_error(result)


def test_a_direction_that_would_saturate_the_image_is_refused(cli, tmp_path: Path, tiny_backend) -> None:
    """A finite but huge direction would move codes by ~1e31 (the image saturates, or turns NaN)."""
    edit = good_edit(tiny_backend)
    edit.tensors["direction"] = edit.tensors["direction"] * 1e30
    path = edit.save(tmp_path / "huge.safetensors")
    result = run(
        cli, "apply", "seed:0", "--dir", str(path), "--backend", "random:32", "--out", str(tmp_path / "o"), "-q"
    )
    assert result.exit_code == 2
    assert "has a direction of length 1e+30; a vector edit's direction has length 1" in one_line_error(result)
    assert not (tmp_path / "o").exists()
