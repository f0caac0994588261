"""`latentedit --help` and the listing commands start fast: they never import torch."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

PROBE = """
import sys
from typer.testing import CliRunner
from latentedit.cli import app
result = CliRunner().invoke(app, {args!r})
assert result.exit_code == 0, result.output
print('TORCH_IMPORTED' if 'torch' in sys.modules else 'GRADIO_IMPORTED' if 'gradio' in sys.modules else 'NO_TORCH')
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["plugins", "--json"],
        ["methods", "--json"],
        ["methods", "sefa"],
        ["backends", "--json"],
        ["directions", "list"],
        ["discover", "--help"],
        ["studio", "--help"],
    ],
)
def test_listing_and_help_do_not_import_torch(args: list[str]) -> None:
    output = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, check=True)
    assert output.stdout.strip().endswith("NO_TORCH"), output.stdout + output.stderr


def test_help_starts_in_well_under_two_seconds() -> None:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "latentedit", "--help"], capture_output=True, check=True)
    assert time.perf_counter() - started < 2.0


def test_methods_json_lists_the_plugin_method() -> None:
    output = subprocess.run(
        [sys.executable, "-m", "latentedit", "methods", "--json"], capture_output=True, text=True, check=True
    )
    assert "sefa" in {row["name"] for row in json.loads(output.stdout)}
