"""The `embedded` backend: shipped weights, a plain error without them, and trying others."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from latentedit.checkpoints.layout import save_networks
from latentedit.errors import CheckpointError
from latentedit.loaders import load_backend
from latentedit.world.weights import GAN, weights_path


def test_weights_in_latentedit_weights_replace_the_shipped_ones_file_by_file(
    tiny_backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_networks(tmp_path / GAN, tiny_backend.G, tiny_backend.D, source_format="latentedit")
    monkeypatch.setenv("LATENTEDIT_WEIGHTS", str(tmp_path))
    assert weights_path(GAN) == tmp_path / GAN
    assert weights_path("world_scorer.safetensors").parent.name == "weights"  # not in tmp_path: shipped one
    started = time.perf_counter()
    backend = load_backend("embedded")
    assert time.perf_counter() - started < 1.0
    assert backend.resolution == 32


def test_without_a_generator_the_embedded_backend_says_what_to_use_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import latentedit.world.weights as weights

    monkeypatch.setattr(weights, "weights_dir", lambda: tmp_path)
    with pytest.raises(CheckpointError, match="not shipped in this build yet.*random:64"):
        load_backend("embedded")


def test_the_shipped_world_loads_in_under_a_second_with_its_scorers() -> None:
    from latentedit.labels import scorer_for

    started = time.perf_counter()
    backend = load_backend("embedded")
    assert time.perf_counter() - started < 1.0
    assert (backend.resolution, backend.num_ws) == (64, 10)
    scores = scorer_for(backend).score(backend.synthesize(backend.mapping(backend.z_for_seeds([0, 1]))))
    assert {"smile", "glasses", "hair_color=gray"} <= set(scores)
