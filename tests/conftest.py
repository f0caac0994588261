"""Every test gets its own LATENTEDIT_HOME and freshly loaded plugins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from latentedit.plugins import register_plugin, reset_plugins, unregister_plugin


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("LATENTEDIT_HOME", str(home))
    monkeypatch.delenv("LATENTEDIT_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("LATENTEDIT_DEBUG", raising=False)
    monkeypatch.delenv("LATENTEDIT_BACKEND", raising=False)
    monkeypatch.delenv("LATENTEDIT_WEIGHTS", raising=False)
    reset_plugins()
    yield home
    reset_plugins()


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def tiny_backend():
    """A randomly initialised 32 px StyleGAN2: real networks, fast enough for unit tests."""
    from latentedit.loaders import load_backend

    return load_backend("random:32")


@pytest.fixture
def fake_scorers() -> Iterator[None]:
    """Scorer and segmenter for `random:*` backends (image statistics; see tests/fakes.py)."""
    from tests.fakes import FakeWorldPlugin

    register_plugin("fake-world", FakeWorldPlugin())
    yield
    unregister_plugin("fake-world")


@pytest.fixture
def without_face_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    """The photo path as it is without the extra ``latentedit[faces]``: no MTCNN detector registered."""
    monkeypatch.setattr("latentedit.faces.plugin.mtcnn_installed", lambda: False)
    reset_plugins()
