"""Command help reads as prose on a narrow terminal: each paragraph flows to the terminal's width
instead of keeping the docstring's line breaks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from latentedit.cli import flowing


def description_paragraphs(help_text: str) -> list[list[str]]:
    """The paragraphs between the usage line and the first option box, as lists of lines."""
    lines = help_text.splitlines()
    start = next(i for i, line in enumerate(lines) if "Usage:" in line) + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("╭"))
    paragraphs: list[list[str]] = [[]]
    for line in lines[start:end]:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [paragraph for paragraph in paragraphs if paragraph]


@pytest.mark.parametrize("command", [["invert"], ["apply"], ["discover"], ["directions", "list"]])
def test_help_paragraphs_fill_an_80_column_terminal(command: list[str]) -> None:
    environment = os.environ | {"COLUMNS": "80", "TERM": "dumb"}
    result = subprocess.run(
        [sys.executable, "-m", "latentedit", *command, "--help"], capture_output=True, text=True, env=environment
    )
    assert result.returncode == 0, result.stderr
    paragraphs = description_paragraphs(result.stdout)
    assert paragraphs
    for paragraph in paragraphs:
        for line in paragraph[:-1]:  # only a paragraph's last line may be short
            assert len(line) >= 60, f"ragged help line {line!r} in {command}"


def test_flowing_joins_lines_but_keeps_paragraphs_and_unwrapped_blocks() -> None:
    text = """First line.

    A paragraph written
    over two lines.

    \b
    keep
    these lines
    """
    assert flowing(text) == "First line.\n\nA paragraph written over two lines.\n\n\b\nkeep\nthese lines"
    assert flowing(None) is None
