"""Batch runs of `apply DIR` on the local engine: a manifest in the output folder records every
input, a run started again skips what is done, and one bad image fails alone (exit 3)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.batch_inputs import add_broken, face_folder
from tests.helpers import one_line_error, run

FAST = ("-o", "steps=2")


@pytest.fixture
def edit(cli, monkeypatch) -> str:
    monkeypatch.setenv("LATENTEDIT_THREADS", "1")
    assert run(cli, "discover", "-m", "sefa", "--name", "s0", "-q").exit_code == 0
    return "s0"


def manifest(out: Path) -> dict:
    return json.loads((out / "latentedit-manifest.json").read_text())


def test_one_bad_image_fails_alone_and_is_reported_at_the_end(cli, tmp_path, edit) -> None:
    faces = face_folder(tmp_path / "faces", 3)
    broken = add_broken(faces)
    out = tmp_path / "out"
    result = run(cli, "apply", str(faces), "-d", edit, *FAST, "--out", str(out), "-q")
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    failed = [line for line in lines if line.startswith("Failed:")]
    assert len(failed) == 1 and failed[0].startswith(f"Failed: {broken}: ")
    assert lines[-1].startswith("Error: 1 of 4 inputs failed (listed above); the others are done.")
    assert sorted(path.name for path in out.glob("*_edited.png")) == [f"face{i:02d}_edited.png" for i in range(3)]
    recorded = manifest(out)
    assert recorded["summary"] == {"inputs": 4, "done": 3, "failed": 1}
    assert recorded["inputs"]["broken"]["status"] == "failed"
    assert (
        recorded["inputs"]["face00"]["source"]["sha256"]
        == hashlib.sha256((faces / "face00.png").read_bytes()).hexdigest()
    )
    for path, output in recorded["inputs"]["face01"]["outputs"].items():
        assert Path(path).stat().st_size == output["size"]


def test_a_run_started_again_does_only_what_is_not_done(cli, tmp_path, edit, monkeypatch) -> None:
    faces = face_folder(tmp_path / "faces", 2)
    add_broken(faces, "face02.png")
    out = tmp_path / "out"
    assert run(cli, "apply", str(faces), "-d", edit, *FAST, "--out", str(out), "-q").exit_code == 3
    written = {path.name: path.stat().st_mtime_ns for path in out.glob("*.png")}
    face_folder(faces, 1, first_seed=2)  # the bad file replaced by a good face
    monkeypatch.setenv("LATENTEDIT_PROGRESS_INTERVAL", "0")  # a progress line for every update
    again = run(cli, "apply", str(faces), "-d", edit, *FAST, "--out", str(out))
    assert again.exit_code == 0, again.output
    assert "2 of 3 inputs done by an earlier run" in again.stderr
    assert "editing: 2/3 (67%)" in again.stderr and "editing: 3/3 (100%) images_per_s=" in again.stderr
    assert {name: (out / name).stat().st_mtime_ns for name in written} == written  # not written again
    assert (out / "face02_edited.png").is_file() and manifest(out)["summary"]["done"] == 3


def test_other_settings_do_not_reuse_a_manifest(cli, tmp_path, edit) -> None:
    faces = face_folder(tmp_path / "faces", 1)
    out = tmp_path / "out"
    assert run(cli, "apply", str(faces), "-d", edit, *FAST, "--out", str(out), "-q").exit_code == 0
    stronger = run(cli, "apply", str(faces), "-d", f"{edit}=5", *FAST, "--out", str(out), "-q")
    assert stronger.exit_code == 2 and "--force" in one_line_error(stronger)
    assert run(cli, "apply", str(faces), "-d", f"{edit}=5", *FAST, "--out", str(out), "-q", "--force").exit_code == 0
    assert manifest(out)["settings"]["directions"] == [f"{edit}=5"]


def test_engine_ray_without_the_extra_says_how_to_install_it(cli, tmp_path, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    face_folder(tmp_path / "faces", 1)
    for command in (
        ["apply", str(tmp_path / "faces"), "-d", "x"],
        ["discover", "-m", "interfacegan", "--attr", "smile"],
    ):
        result = run(cli, *command, "--engine", "ray")
        assert result.exit_code == 2
        assert "pip install 'latentedit[ray]'" in one_line_error(result)
