"""`latentedit demo`: the README's main job, on a tiny stand-in for the world GAN."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentedit.checkpoints.layout import save_networks
from latentedit.commands import demo
from latentedit.world.weights import GAN
from tests.helpers import one_line_error, run


@pytest.fixture
def tiny_world(tiny_backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A random 32 px generator as the embedded world's GAN (the shipped scorer reads it), and
    a demo small enough for a unit test."""
    weights = tmp_path / "weights"
    save_networks(weights / GAN, tiny_backend.G, tiny_backend.D, source_format="latentedit")
    monkeypatch.setenv("LATENTEDIT_WEIGHTS", str(weights))
    monkeypatch.setattr(demo, "DEMO_SAMPLES", 500)  # InterFaceGAN keeps 2%: 10 per class
    monkeypatch.setattr(demo, "DEMO_INVERSION_STEPS", 3)
    monkeypatch.setattr(demo, "DEMO_RESCORE_SAMPLES", 20)


def test_demo_learns_edits_a_held_out_photo_and_rescores(cli, tiny_world, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run(cli, "demo", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert {"photo.png", "photo_yaw_sweep.png", "photo_yaw_sweep.gif"} <= {p.name for p in out.iterdir()}
    assert "Learned 'yaw' from 500 samples" in result.stdout
    assert "Target yaw" in result.stdout and "background_hue" in result.stdout


def test_demo_keeps_earlier_pictures_unless_forced(cli, tiny_world, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "photo.png").write_bytes(b"an earlier result")
    refused = run(cli, "demo", "--out", str(out))
    assert refused.exit_code == 2
    assert "pass --force" in one_line_error(refused)
    assert (out / "photo.png").read_bytes() == b"an earlier result"
    assert run(cli, "demo", "--out", str(out), "--force").exit_code == 0
    # the learned edit is the demo's too: another --out does not make it safe to replace
    elsewhere = run(cli, "demo", "--out", str(tmp_path / "elsewhere"))
    assert elsewhere.exit_code == 2
    assert "demo-yaw.safetensors exists from an earlier demo" in one_line_error(elsewhere)


def test_without_the_world_gan_the_demo_says_so_and_draws_random_samples(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import latentedit.world.weights as weights

    monkeypatch.setattr(weights, "weights_dir", lambda: tmp_path / "empty")
    result = run(cli, "demo", "--out", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    assert "RANDOMLY INITIALISED" in result.output
    assert (tmp_path / "demo" / "samples-random-64.png").is_file()


def test_an_interrupted_demo_leaves_nothing_that_blocks_the_next(cli, tiny_world, tmp_path: Path) -> None:
    from latentedit import evaluate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "demo"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluate, "rescore", interrupted)  # Ctrl-C during the last stage
        assert run(cli, "demo", "--out", str(out)).exit_code == 130
    assert not out.exists() or not any(out.iterdir())
    again = run(cli, "demo", "--out", str(out))
    assert again.exit_code == 0, again.output
