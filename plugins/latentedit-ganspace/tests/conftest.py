"""The plugin's tests use latentedit's own fixtures: an isolated LATENTEDIT_HOME and fresh plugins
for every test (autouse), a CLI runner and the tiny random backend."""

from __future__ import annotations

from tests.conftest import cli, isolated_home, tiny_backend

__all__ = ["cli", "isolated_home", "tiny_backend"]
