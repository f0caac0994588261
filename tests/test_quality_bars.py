"""The issues' quality bars on the shipped embedded world (slow: `make test-slow`, not CI).

Each test runs the benchmark that docs/results.md quotes and asserts every bar it reports,
so the numbers in the docs and the checks here cannot drift apart.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def run_benchmark(script: str, out: Path, *args: str) -> dict:
    report = out / "report.json"
    command = [sys.executable, str(ROOT / "benchmarks" / script), "--json", str(report), *args]
    subprocess.run(command, check=True, cwd=out)
    return json.loads(report.read_text())


def failed_bars(section: dict) -> list[str]:
    """`name: bar` for every false entry of every `bars` dict (and `bar: ...` key) in a report;
    None marks a bar that does not apply (e.g. conditioning where the renderer has no partner)."""
    failures = []
    for name, row in section.items():
        if not isinstance(row, dict):
            continue
        failures += [f"{name}: {bar}" for bar, held in row.get("bars", {}).items() if held is False]
        failures += [f"{name}: {key}" for key, held in row.items() if key.startswith("bar:") and held is False]
    return failures


def test_issue_3_world_check_on_the_shipped_weights(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "latentedit", "world", "check", "--json"]
    report = json.loads(subprocess.run(command, check=True, cwd=tmp_path, capture_output=True, text=True).stdout)
    assert all(report["bars"].values()), {bar: held for bar, held in report["bars"].items() if not held}


def test_issue_4_interfacegan_pairs_and_inversion(tmp_path: Path) -> None:
    report = run_benchmark("end_to_end_quality.py", tmp_path)
    failures = failed_bars(report["interfacegan"]) + failed_bars(report["pairs"])
    failures += failed_bars({"inversion": report["inversion"]})
    assert not failures, failures


def test_issue_5_feditnet_against_interfacegan_with_30_samples(tmp_path: Path) -> None:
    report = run_benchmark("feditnet_quality.py", tmp_path)
    assert not failed_bars(report["attributes"]), failed_bars(report["attributes"])
    assert all(row["feditnet"]["seconds"] < 600 for row in report["attributes"].values())


def test_issue_6_wstar_table_1_and_leakage(tmp_path: Path) -> None:
    report = run_benchmark("wstar_quality.py", tmp_path)
    assert report["invertibility_max_error"] <= 1e-4
    assert not failed_bars({"table1": report["table1"]}), report["table1"]["bars"]
    assert not failed_bars(report["leakage"]), failed_bars(report["leakage"])
    assert report["wstar_seconds"] < 15 * 60
