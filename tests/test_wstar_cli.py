"""W* from the command line: one file learns several attributes; apply picks and composes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import one_line_error, run

BACKEND = ("--backend", "random:32")
TINY = ("--samples", "200", "-o", "steps=5", "-o", "hidden=16", "-o", "couplings=2", "-o", "classifier_steps=5")
pytestmark = pytest.mark.usefixtures("fake_scorers")


def test_discover_apply_attributes_and_separability(cli, tmp_path: Path) -> None:
    made = run(cli, "discover", "--method", "wstar", "--attrs", "brightness,redness", "--name", "flow", *BACKEND, *TINY)
    assert made.exit_code == 0, made.output
    out = tmp_path / "edited"
    one = run(cli, "apply", "seed:1", "--dir", "flow", "--attr", "brightness", *BACKEND, "--out", str(out))
    assert one.exit_code == 0, one.output
    both = run(
        cli,
        "apply",
        "seed:1",
        "--dir",
        "flow",
        "--attr",
        "brightness:1",
        "--attr",
        "redness:-1",
        *BACKEND,
        "--out",
        str(tmp_path / "both"),
    )
    assert both.exit_code == 0, both.output
    missing = run(cli, "apply", "seed:1", "--dir", "flow", *BACKEND, "--out", str(tmp_path / "x"))
    assert missing.exit_code == 2 and "attr" in one_line_error(missing)
    report = run(cli, "evaluate", "--dir", "flow", "--separability", "--samples", "200", *BACKEND, "--json")
    assert report.exit_code == 0, report.output
    assert "w*" in json.dumps(json.loads(report.stdout)).lower()


def test_attr_is_only_for_wstar_edits(cli) -> None:
    run(cli, "discover", "--method", "sefa", *BACKEND, "--name", "s0")
    result = run(cli, "apply", "seed:1", "--dir", "s0", "--attr", "smile", *BACKEND, "--out", "unused")
    assert result.exit_code == 2 and "--attr is an input of wstar" in one_line_error(result)
