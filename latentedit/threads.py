"""How many CPU threads torch uses: chosen on purpose, not left to torch's default.

torch starts one OpenMP thread per core it sees, and an idle OpenMP thread spins waiting for
the next parallel region. On a machine busy with other work those spinning threads fight the
working ones for the cores: on 2 shared cores beside two busy processes, many small operations
(inversion, synthesis at low resolution) ran 20x slower with 2 threads than with 1
(docs/results.md, "Threads under load"). The policy:

- the thread count is ``--threads N`` (or ``LATENTEDIT_THREADS``), else ``OMP_NUM_THREADS`` if
  set, else the cores this process may actually run on: its CPU affinity, capped by a cgroup
  CPU quota (a container limited to 2 CPUs on a 64-core host gets 2, not 64);
- waiting threads sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE`` unless set). OpenMP
  reads this once, when torch is first imported, so the CLI sets it at start-up; a library user
  who imported torch before latentedit gets the thread count but not the wait policy.

Nothing here imports torch until `apply_thread_policy` runs, which `load_backend` calls.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from latentedit.errors import LatentEditError

ENV_THREADS = "LATENTEDIT_THREADS"
_requested: int | None = None
_applied: int | None = None


def available_cores() -> int:
    """The cores this process may run on: its affinity mask, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cores, quota) if quota else cores)


def _cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """CPUs allowed by the cgroup (v2 ``cpu.max`` or v1 ``cfs_quota_us``), rounded up; None if unlimited."""
    candidates = [
        (root / "cpu.max", None),
        (root / "cpu" / "cpu.cfs_quota_us", root / "cpu" / "cpu.cfs_period_us"),
    ]
    for quota_file, period_file in candidates:
        try:
            fields = quota_file.read_text().split()
            if period_file is not None:
                fields.append(period_file.read_text().strip())
            quota, period = fields[0], fields[1]
        except (OSError, IndexError):
            continue
        if quota in ("max", "-1") or not quota.lstrip("-").isdigit() or not period.isdigit():
            return None
        if int(quota) > 0 and int(period) > 0:
            return max(1, math.ceil(int(quota) / int(period)))
    return None


def request_threads(threads: int | None) -> None:
    """Record the CLI's ``--threads`` (None: the policy decides) and set the OpenMP wait policy.

    Called before torch is imported, so the wait policy takes effect; imports nothing heavy.
    """
    global _requested
    if threads is not None and threads < 1:
        raise LatentEditError(f"--threads {threads}: expected a positive whole number of threads.")
    _requested = threads
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def chosen_threads() -> int:
    """The thread count the policy picks now (see the module docstring for the order)."""
    if _requested is not None:
        return _requested
    for variable in (ENV_THREADS, "OMP_NUM_THREADS"):
        text = os.environ.get(variable, "").strip()
        if not text:
            continue
        if not text.isdigit() or int(text) < 1:
            raise LatentEditError(f"{variable}={text!r}: expected a positive whole number of threads.")
        return int(text)
    return available_cores()


def requested_threads() -> int | None:
    """The thread count the user asked for (``--threads`` or LATENTEDIT_THREADS); None if neither."""
    if _requested is not None:
        return _requested
    return chosen_threads() if os.environ.get(ENV_THREADS, "").strip() else None


def apply_thread_policy() -> int:
    """Set torch's intra- and inter-op thread counts to `chosen_threads()`; return the count.

    Cheap after the first call; the inter-op count can only be set before torch's first
    parallel work, so a later change keeps the inter-op count it had.
    """
    global _applied
    threads = chosen_threads()
    if threads == _applied:
        return threads
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # inter-op pool already started
        pass
    _applied = threads
    return threads
