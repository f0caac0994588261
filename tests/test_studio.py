"""The studio without a browser: its one-line errors, which edits it offers, and that a slider
state renders exactly what `latentedit apply` writes."""

from __future__ import annotations

import importlib.util
import json
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentedit.edits import Edit
from latentedit.errors import LatentEditError
from latentedit.inversion import InversionOptions
from latentedit.loaders import load_backend
from latentedit.store import backend_dirname, edit_path, home
from latentedit.studio.session import Studio, write_gif, write_result
from tests.helpers import one_line_error, photo_of_two_faces, run

BACKEND = ("--backend", "random:32")


def test_without_the_extra_it_says_how_to_install_it(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a))
    result = run(cli, "studio", "--no-browser")
    assert result.exit_code == 2
    assert "pip install 'latentedit[studio]'" in one_line_error(result)


def test_a_taken_port_is_one_line(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "gradio" else real(name, *a))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(cli, "studio", "--no-browser", "--port", str(port))
    assert result.exit_code == 2
    assert f"Cannot serve on 127.0.0.1:{port}" in one_line_error(result)


def test_a_port_a_studio_just_left_is_free_again() -> None:
    from latentedit.commands.studio import check_port_free

    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):  # a browser
            served, _ = server.accept()
            served.close()  # the server hangs up first: its side of the port waits in TIME_WAIT
    check_port_free("127.0.0.1", port)  # a restarted studio may serve there, as Gradio's server does


def test_only_edits_of_this_backend_are_offered(cli, tmp_path: Path) -> None:
    assert run(cli, "discover", "--method", "sefa", *BACKEND, "--name", "mine").exit_code == 0
    stranger = home() / backend_dirname("random:32") / "stranger.safetensors"
    learned_elsewhere = run(cli, "discover", "--method", "sefa", "--backend", "random:64", "--out", str(stranger))
    assert learned_elsewhere.exit_code == 0, learned_elsewhere.output
    studio = Studio.open(load_backend("random:32"))
    assert list(studio.edits) == ["mine"]
    assert [(item.name, "learned on backend random:64" in item.reason) for item in studio.skipped] == [
        ("stranger", True)
    ]


def test_a_slider_state_renders_what_apply_writes(cli, tmp_path: Path) -> None:
    run(cli, "discover", "--method", "sefa", *BACKEND, "--name", "s0")
    run(cli, "discover", "--method", "sefa", *BACKEND, "--name", "s1", "-o", "component=1")
    studio = Studio.open(load_backend("random:32"), InversionOptions(steps=5))
    assert studio.conditionable() == ["s0", "s1"]
    photo = tmp_path / "photo.png"
    subject = studio.from_seed(3)
    Image.fromarray(studio.render(subject, {})).save(photo)
    photo_subject = studio.from_photo(photo)
    out = tmp_path / "out"
    composed = write_result(photo_subject, studio.render(photo_subject, {"s0": 2.0, "s1": -1.5}), tmp_path)
    applied = run(
        cli, "apply", str(photo), "--dir", "s0=2", "--dir", "s1=-1.5", "-o", "steps=5", *BACKEND, "--out", str(out)
    )
    assert applied.exit_code == 0, applied.output
    assert composed.read_bytes() == (out / "photo_edited.png").read_bytes()
    gif = write_gif(studio.sweep(photo_subject, "s1", "-2:2:5"), tmp_path / "studio.gif")
    sweep = ("--dir", "s1", "--sweep", "-2:2:5")
    swept = run(cli, "apply", str(photo), *sweep, "-o", "steps=5", *BACKEND, "--out", str(out))
    assert swept.exit_code == 0, swept.output
    assert gif.read_bytes() == (out / "photo_sweep.gif").read_bytes()
    # zero on every slider is the reconstruction; one slider alone differs from the composition
    assert np.array_equal(studio.render(photo_subject, {"s0": 0.0, "s1": 0.0}), studio.render(photo_subject, {}))
    alone = studio.render(photo_subject, {"s0": 2.0})
    assert not np.array_equal(alone, np.asarray(Image.open(composed)))
    # "conditioned on" an edit that shares half of s0's direction: s0 loses that part and edits differently;
    # SeFa's own components are orthogonal already, so conditioning s0 on s1 changes nothing
    orthogonal = studio.render(photo_subject, {"s0": 2.0}, conditioned_on=["s1"])
    assert np.abs(orthogonal.astype(int) - alone.astype(int)).max() <= 1  # float rounding only
    mixed = Edit.load(edit_path("s0", "random:32"))
    first, second = (studio.edits[name].tensors["direction"] for name in ("s0", "s1"))
    mixed.tensors["direction"] = (first + second) / (first + second).norm()
    mixed.save(edit_path("mixed", "random:32"))
    studio = Studio.open(load_backend("random:32"))
    conditioned = studio.render(photo_subject, {"s0": 2.0}, conditioned_on=["mixed"])
    assert np.abs(conditioned.astype(int) - alone.astype(int)).mean() > 1  # grey levels


def test_local_style_takes_a_reference_and_a_region_as_apply_does(cli, tmp_path: Path) -> None:
    catalog = ("-o", "k=4", "-o", "samples=12", "-o", "layer=b16.conv1")
    assert run(cli, "discover", "--method", "localstyle", *BACKEND, "--name", "parts", *catalog).exit_code == 0
    assert run(cli, "directions", "label", "parts", "top=0,1", "rest=2", *BACKEND).exit_code == 0
    studio = Studio.open(load_backend("random:32"))
    assert studio.needs_reference == ["parts"] and studio.regions() == ["rest", "top"]
    target, reference = studio.from_seed(3), studio.reference("seed:4")
    image = studio.render(target, {"parts": 1.0}, reference=reference, region="top")
    out = tmp_path / "out"
    local = ("--dir", "parts=1", "--reference", "seed:4", "--region", "top")
    applied = run(cli, "apply", "seed:3", *local, *BACKEND, "--out", str(out))
    assert applied.exit_code == 0, applied.output
    written = write_result(target, image, tmp_path)
    assert written.read_bytes() == (out / "seed0003_edited.png").read_bytes()
    assert not np.array_equal(image, studio.render(target, {}))
    with pytest.raises(LatentEditError, match="needs a reference"):
        studio.render(target, {"parts": 1.0})


def test_a_larger_photo_is_taken_as_apply_takes_it(cli, tmp_path: Path, without_face_detector) -> None:
    run(cli, "discover", "--method", "sefa", *BACKEND, "--name", "s0")
    studio = Studio.open(load_backend("random:32"), InversionOptions(steps=3))
    big = tmp_path / "big.png"
    Image.fromarray(np.kron(studio.render(studio.from_seed(5), {}), np.ones((3, 3, 1), np.uint8))).save(big)
    with pytest.raises(LatentEditError, match="no face detector is installed"):
        studio.from_photo(big)  # --align auto: a 96 px photo for a 32 px generator needs its faces found
    unit = studio.from_photo(big, align="none")
    written = write_result(unit, studio.render(unit, {"s0": -2.0}), tmp_path)
    out = tmp_path / "out"
    applied = run(
        cli, "apply", str(big), "--dir", "s0=-2", "--align", "none", "-o", "steps=3", *BACKEND, "--out", str(out)
    )
    assert applied.exit_code == 0, applied.output
    assert written.read_bytes() == (out / "big_edited.png").read_bytes()


def test_one_face_of_a_photo_is_edited_and_pasted_back_as_apply_face_does(cli, tmp_path: Path) -> None:
    run(cli, "discover", "--method", "sefa", *BACKEND, "--name", "s0")
    studio = Studio.open(load_backend("random:32"), InversionOptions(steps=3))
    photo, marks, pixels = photo_of_two_faces(tmp_path, (3, 4))
    every = studio.from_photo(photo, landmarks=marks)
    assert [face["face"] for face in every.describe()["faces"]] == [0, 1]
    second = studio.from_photo(photo, landmarks=marks, face=1)
    written = write_result(second, studio.render(second, {"s0": -3.0}), tmp_path)
    out = tmp_path / "out"
    faces = ("--landmarks", str(marks), "--face", "1")
    applied = run(cli, "apply", str(photo), "--dir", "s0=-3", *faces, "-o", "steps=3", *BACKEND, "--out", str(out))
    assert applied.exit_code == 0, applied.output
    assert written.read_bytes() == (out / "scene_edited.png").read_bytes()
    edited = np.asarray(Image.open(written))
    assert edited.shape == pixels.shape  # the whole photo
    assert np.array_equal(edited[:, :200], pixels[:, :200])  # face 0 untouched
    assert np.abs(edited[:, 200:].astype(int) - pixels[:, 200:]).mean() > 1  # face 1 edited in place


def test_the_rendered_face_picker_offers_what_world_render_writes(cli, tmp_path: Path) -> None:
    from latentedit.world.seeds import HELDOUT_SEED

    assert run(cli, "world", "render", "--n", "2", "--out", str(tmp_path / "rendered")).exit_code == 0
    studio = Studio.open(load_backend("random:64"))  # a stand-in for the world's 64 px generator
    picked = studio.rendered_faces(HELDOUT_SEED, 2, tmp_path / "picker")
    assert [path.name for path in picked] == [f"{HELDOUT_SEED}.png", f"{HELDOUT_SEED + 1}.png"]
    assert [path.read_bytes() for path in picked] == [
        (tmp_path / "rendered" / path.name).read_bytes() for path in picked
    ]
    assert studio.renders_faces


def test_the_latency_benchmark_runs(tmp_path: Path) -> None:
    from benchmarks import studio_latency

    report = tmp_path / "latency.json"
    argv = ["--backend", "random:32", "--changes", "4", "--warmup", "1", "--no-browser", "--work", str(tmp_path)]
    studio_latency.main([*argv, "--json", str(report)])
    results = json.loads(report.read_text())["results"]
    assert results["handler"]["n"] == 4 and results["handler"]["median_ms"] > 0
    assert results["browser"] == {"skipped": "--no-browser"}
