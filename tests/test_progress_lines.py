"""Progress in logs: with stderr not a terminal, long jobs print plain progress lines on stderr at
a modest rate (never on stdout, nothing with --quiet)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from latentedit.console import progress_lines
from tests.helpers import one_line_error, run


@pytest.fixture(autouse=True)
def not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """CliRunner's stderr is no terminal; make sure rich is not told otherwise."""
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(variable, raising=False)


def test_a_job_logs_one_line_per_step_when_the_interval_is_zero(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LATENTEDIT_PROGRESS_INTERVAL", "0")
    result = run(cli, "world", "render", "--n", "4", "--seed", "3", "--out", str(tmp_path / "faces"))
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(" elapsed ")[0] for line in lines] == [
        "rendering: 1/4 (25%)",
        "rendering: 2/4 (50%)",
        "rendering: 3/4 (75%)",
        "rendering: 4/4 (100%)",
    ]
    assert all(line.split(" elapsed ")[1] == "0:00:00" for line in lines)
    assert "rendering" not in result.stdout and result.stdout.startswith("Wrote 4 faces")


def test_quiet_and_short_jobs_print_no_progress(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LATENTEDIT_PROGRESS_INTERVAL", "0")
    quiet = run(cli, "world", "render", "--n", "2", "--out", str(tmp_path / "a"), "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    monkeypatch.delenv("LATENTEDIT_PROGRESS_INTERVAL")  # default: a line at most every 10 s
    short = run(cli, "world", "render", "--n", "2", "--out", str(tmp_path / "b"))
    assert short.exit_code == 0 and short.stderr == ""


def test_a_bad_interval_is_one_line(cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATENTEDIT_PROGRESS_INTERVAL", "often")
    result = run(cli, "world", "render", "--n", "1", "--out", str(tmp_path / "a"))
    assert result.exit_code == 2
    assert "LATENTEDIT_PROGRESS_INTERVAL='often': expected a number of seconds" in one_line_error(result)


def test_lines_come_at_most_every_interval_with_metrics_and_the_final_state(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    monkeypatch.setenv("LATENTEDIT_PROGRESS_INTERVAL", "10")
    with progress_lines("inverting") as progress:
        for step in range(1, 36):  # one step a second for 35 s
            clock[0] += 1.0
            progress(step, 35, loss=1.0 / step, psnr=20.0 + step / 10)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "inverting: 10/35 (29%) loss=0.1 psnr=21 elapsed 0:00:10",
        "inverting: 20/35 (57%) loss=0.05 psnr=22 elapsed 0:00:20",
        "inverting: 30/35 (86%) loss=0.03333 psnr=23 elapsed 0:00:30",
        "inverting: 35/35 (100%) loss=0.02857 psnr=23.5 elapsed 0:00:35",
    ]


def test_an_unknown_total_prints_the_step(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LATENTEDIT_PROGRESS_INTERVAL", "0")
    with progress_lines("training GAN (kimg)") as progress:
        progress(7, 0)
    assert capsys.readouterr().err.startswith("training GAN (kimg): step 7 elapsed ")
