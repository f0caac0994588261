"""torch's thread count is chosen on purpose: never more than the cores this process may use,
`--threads` / LATENTEDIT_THREADS when given, set when a backend is loaded (not at start-up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from latentedit import threads
from latentedit.errors import LatentEditError


def run_python(script: str, env: dict[str, str] | None = None) -> dict:
    environment = {key: value for key, value in os.environ.items() if key not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    environment.update(env or {})
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=300
    )
    assert output.returncode == 0, output.stderr
    return json.loads(output.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_a_process_pinned_to_one_core_runs_torch_on_one_thread() -> None:
    report = run_python(
        "import json, os\n"
        "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
        "import latentedit\n"
        "latentedit.load_backend('random:32')\n"
        "import torch\n"
        "print(json.dumps({'threads': torch.get_num_threads(), 'wait': os.environ.get('OMP_WAIT_POLICY')}))\n"
    )
    assert report == {"threads": 1, "wait": "PASSIVE"}


def test_threads_option_and_environment_variable_set_torch_threads(tmp_path: Path) -> None:
    script = (
        "import json, os, sys\n"
        "from typer.testing import CliRunner\n"
        "from latentedit.cli import app\n"
        "before = 'torch' in sys.modules\n"
        "result = CliRunner().invoke(app, json.loads({args!r}))\n"
        "assert result.exit_code == 0, result.output\n"
        "import torch\n"
        "print(json.dumps({{'threads': torch.get_num_threads(), 'interop': torch.get_num_interop_threads(),"
        " 'torch_at_start': before}}))\n"
    )
    generate = ["generate", "--seeds", "0", "--backend", "random:32", "-q"]
    by_option = run_python(script.format(args=json.dumps(["--threads", "3", *generate, "--out", str(tmp_path / "a")])))
    assert by_option == {"threads": 3, "interop": 3, "torch_at_start": False}
    by_env = run_python(
        script.format(args=json.dumps([*generate, "--out", str(tmp_path / "b")])), {"LATENTEDIT_THREADS": "1"}
    )
    assert by_env["threads"] == 1


def test_the_threads_option_does_not_import_torch() -> None:
    report = run_python(
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from latentedit.cli import app\n"
        "result = CliRunner().invoke(app, ['--threads', '1', 'directions', 'list'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(json.dumps({'torch': 'torch' in sys.modules}))\n"
    )
    assert report == {"torch": False}


def test_cgroup_quota_caps_the_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert threads._cgroup_cpu_quota(tmp_path) == 2  # 1.5 CPUs: two threads, each often idle
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads._cgroup_cpu_quota(tmp_path) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert threads._cgroup_cpu_quota(tmp_path) == 1
    monkeypatch.setattr(threads, "_cgroup_cpu_quota", lambda: 1)
    assert threads.available_cores() == 1


def test_policy_order_and_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "_requested", None)
    monkeypatch.delenv("LATENTEDIT_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert threads.chosen_threads() == threads.available_cores() <= len(os.sched_getaffinity(0))
    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    assert threads.chosen_threads() == 5
    monkeypatch.setenv("LATENTEDIT_THREADS", "2")
    assert threads.chosen_threads() == 2
    monkeypatch.setattr(threads, "_requested", 7)
    assert threads.chosen_threads() == 7
    monkeypatch.setattr(threads, "_requested", None)
    monkeypatch.setenv("LATENTEDIT_THREADS", "two")
    with pytest.raises(LatentEditError, match="LATENTEDIT_THREADS='two': expected a positive whole number"):
        threads.chosen_threads()
