"""Pivotal tuning (`-o tune=pti`): the generator is fine-tuned on one photo around its code, the
tuned weights are cached beside the inversion, and editing the same photo again tunes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import latentedit.pti
from latentedit.images import from_uint8
from latentedit.inversion import InversionOptions, invert_arrays
from latentedit.pti import tuned_weights
from latentedit.world.heldout import heldout_seeds
from latentedit.world.render import render_batch
from tests.helpers import one_line_error, run

FAST = ("-o", "steps=5", "-o", "tune=pti", "-o", "pti_steps=4")


@pytest.fixture(scope="module")
def embedded():
    from latentedit.loaders import load_backend

    return load_backend("embedded")


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """A held-out render: a face the embedded generator never saw."""
    return render_batch(heldout_seeds(1, 123_456))[0][0]


@pytest.fixture
def tunings(monkeypatch) -> list[int]:
    """Counts the images pivotal tuning runs on."""
    calls: list[int] = []
    original = latentedit.pti.tune

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(latentedit.pti, "tune", counted)
    return calls


def test_tuning_makes_the_pivot_reproduce_the_face(embedded, face) -> None:
    latent = InversionOptions(steps=10)
    (plain,) = invert_arrays(embedded, [face], latent, use_cache=False)
    (tuned,) = invert_arrays(embedded, [face], InversionOptions(steps=10, tune="pti", pti_steps=15), use_cache=False)
    assert tuned.tuned is not None and plain.tuned is None
    assert tuned.tuned.pivot_psnr == pytest.approx(plain.psnr[0])  # the same pivot...
    assert tuned.psnr[0] > plain.psnr[0] + 0.5  # ...drawn closer to the face by the tuned weights
    assert torch.equal(tuned.ws, plain.ws)  # tuning changes weights, never the code


def test_the_backend_draws_with_its_own_weights_outside_the_block(embedded, face) -> None:
    (inversion,) = invert_arrays(
        embedded, [face], InversionOptions(steps=2, tune="pti", pti_steps=2, pti_lr=0.01), use_cache=False
    )
    ws = embedded.mapping(embedded.z_for_seeds([7]))
    with torch.inference_mode():
        before = embedded.synthesize(ws)
        with tuned_weights(embedded, inversion.tuned):
            inside = embedded.synthesize(ws)
        after = embedded.synthesize(ws)
    assert not torch.equal(inside, before)
    assert torch.equal(after, before)  # bit for bit


def test_the_locality_regulariser_keeps_other_faces_as_they_were(embedded, face) -> None:
    (pivot,) = invert_arrays(embedded, [face], InversionOptions(steps=5), use_cache=False)
    others = embedded.mapping(embedded.z_for_seeds(list(range(8))))
    with torch.inference_mode():
        untouched = embedded.synthesize(others)

    def drift(regularize: float) -> float:
        options = InversionOptions(tune="pti", pti_steps=10, pti_lr=3e-3, pti_regularize=regularize, pti_samples=4)
        tuned = latentedit.pti.tune(embedded, from_uint8(face[None]), pivot.select(0), options)
        with torch.inference_mode(), tuned_weights(embedded, tuned):
            return float((embedded.synthesize(others) - untouched).square().mean())

    assert drift(1.0) < 0.7 * drift(0.0)


def _crop(tmp_path: Path, face: np.ndarray) -> Path:
    Image.fromarray(face).save(tmp_path / "face.png")  # a 64 px crop: used as it is
    return tmp_path / "face.png"


@pytest.fixture
def edit(cli) -> str:
    assert run(cli, "discover", "-m", "sefa", "--backend", "embedded", "--name", "s0").exit_code == 0
    return "s0"


def test_editing_the_same_photo_again_tunes_nothing_and_gives_the_same_bytes(
    cli, tmp_path, face, edit, tunings
) -> None:
    photo = _crop(tmp_path, face)
    first = run(cli, "apply", str(photo), "--dir", edit, "--out", str(tmp_path / "a"), *FAST, "--json")
    assert first.exit_code == 0 and len(tunings) == 1
    second = run(cli, "apply", str(photo), "--dir", edit, "--out", str(tmp_path / "b"), *FAST, "--json")
    assert second.exit_code == 0 and len(tunings) == 1  # the cached tuned weights were used
    assert (tmp_path / "a/face_edited.png").read_bytes() == (tmp_path / "b/face_edited.png").read_bytes()
    assert json.loads(first.stdout)["results"][0]["psnr"] == json.loads(second.stdout)["results"][0]["psnr"]


def test_a_damaged_tuning_cache_entry_is_rebuilt_with_one_warning(cli, tmp_path, face, tunings) -> None:
    photo = _crop(tmp_path, face)
    first = run(cli, "invert", str(photo), "--out", str(tmp_path / "a.st"), *FAST, "--json")
    assert first.exit_code == 0
    cached = Path(json.loads(first.stdout)["images"][0]["tuned"])
    assert cached.name.endswith(".safetensors") and cached.stat().st_size > 0
    cached.write_bytes(b"not a safetensors file")
    again = run(cli, "invert", str(photo), "--out", str(tmp_path / "b.st"), *FAST, "--json")
    assert again.exit_code == 0 and len(tunings) == 2
    damaged = [line for line in again.stderr.splitlines() if line.startswith("Warning:") and "damaged" in line]
    assert len(damaged) == 1 and "Traceback" not in again.stderr
    assert (tmp_path / "a.st").read_bytes() == (tmp_path / "b.st").read_bytes()


def test_an_unknown_tuning_is_one_line(cli, tmp_path, face) -> None:
    result = run(cli, "invert", str(_crop(tmp_path, face)), "-o", "tune=hyperstyle", "--out", str(tmp_path / "c"))
    assert result.exit_code == 2
    assert "tune='hyperstyle': expected one of none, pti" in one_line_error(result)


def test_methods_lists_the_tuning_options_and_where_they_leave_the_papers(cli) -> None:
    result = run(cli, "methods", "--inversion", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    defaults = {name: row["default"] for name, row in rows.items()}
    assert defaults["tune"] == "none" and defaults["pti_lr"] == "0.0003" and defaults["pti_alpha"] == "30.0"
    assert defaults["pti_steps"] == "100" and "PTI's code: 350" in rows["pti_steps"]["help"]
    assert defaults["pti_regularize"] == "1.0" and "PTI: 0.1" in rows["pti_regularize"]["help"]
