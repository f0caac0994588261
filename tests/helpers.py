"""Small helpers shared by tests: invoking the CLI like a user at a terminal."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from latentedit.cli import app


def run(runner: CliRunner, *args: str, **kwargs: Any):
    """Invoke `latentedit ARGS...`; returns click's Result (exit_code, stdout, stderr)."""
    return runner.invoke(app, list(args), catch_exceptions=False, **kwargs)


def one_line_error(result) -> str:
    """The stderr of a failed command, asserted to be a single line."""
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]
