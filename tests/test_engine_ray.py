"""`--engine ray` on a real local Ray instance (2 CPUs, shared by the tests here): the same bytes as
`--engine local` for a folder of rendered faces and a photo that is aligned and pasted back, the
same failure report for a bad image, and the same edit file from discovery's sampling."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.batch_inputs import add_broken, add_photo, face_folder, files_by_name
from tests.helpers import run

ray = pytest.importorskip("ray")

FAST = ("-o", "steps=2")


@pytest.fixture(scope="module")
def ray_instance():
    """One Ray instance for the module: starting one costs seconds (docs/scale.md)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def one_thread(monkeypatch) -> None:
    """Both engines run torch with one thread per worker: the same arithmetic, the same bytes."""
    monkeypatch.setenv("LATENTEDIT_THREADS", "1")


def test_ray_writes_the_same_files_as_local(cli, tmp_path: Path, ray_instance, one_thread, monkeypatch) -> None:
    faces = face_folder(tmp_path / "faces", 20)
    add_photo(faces, tmp_path / "marks.json")
    broken = add_broken(faces)
    edit = tmp_path / "s0.safetensors"
    assert run(cli, "discover", "-m", "sefa", "--out", str(edit), "-q").exit_code == 0
    pictures, failures = {}, {}
    for engine in ("local", "ray"):
        monkeypatch.setenv("LATENTEDIT_HOME", str(tmp_path / f"home-{engine}"))  # each engine inverts afresh
        out = tmp_path / engine
        args = ["apply", str(faces), "-d", str(edit), "--landmarks", str(tmp_path / "marks.json"), *FAST, "-q"]
        result = run(cli, *args, "--out", str(out), "--engine", engine)
        assert result.exit_code == 3, result.output  # the broken file fails alone
        failures[engine] = [line for line in result.stderr.splitlines() if line.startswith("Failed:")]
        pictures[engine] = files_by_name(out)
    assert len(failures["local"]) == 1 and failures["local"][0].startswith(f"Failed: {broken}: ")
    assert failures["ray"] == failures["local"]
    assert len(pictures["local"]) == 2 * 21  # 20 crops and the photo: edited picture and comparison each
    assert pictures["ray"] == pictures["local"]


@pytest.mark.parametrize("method", ["interfacegan", "ganspace"])
def test_ray_sampling_gives_the_same_edit_file(
    cli, tmp_path: Path, ray_instance, one_thread, method, monkeypatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")  # the files' creation time, else the one difference
    files = {}
    for engine in ("local", "ray"):
        files[engine] = tmp_path / f"{engine}.safetensors"
        args = ["discover", "-m", method, "--samples", "300", "--out", str(files[engine]), "--engine", engine, "-q"]
        extra = ["--attr", "smile", "-o", "ratio=0.2"] if method == "interfacegan" else ["-o", "components=4"]
        result = run(cli, *args, *extra)
        assert result.exit_code == 0, result.output
    assert files["ray"].read_bytes() == files["local"].read_bytes()
