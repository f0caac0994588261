"""What a FEditNet run costs at generator resolutions above the embedded world's 64 px.

Run: python -m benchmarks.feditnet_cost [--resolutions 256] [--short 2] [--long 5] [--samples 50]
     [--more-samples 250] [--json out.json]

For each resolution a random config-f StyleGAN2 generator and discriminator (channel_base
32768, channel_max 512, as the official 256 px and 1024 px configs) are written once under
``--work``, 30 positives are drawn from that generator with ``latentedit generate``, and
``latentedit discover --method feditnet`` runs three times: SHORT and LONG steps with
SAMPLES calibration samples, and SHORT steps with MORE_SAMPLES. The differences give the time
per training step and per calibration sample; the rest of the first run is the fixed cost
(loading, the assessor's accuracy check, writing the edit). A default run (600 steps, 2,000
calibration samples) is estimated as fixed + 600 x per step + 2,000 x per sample, both by
the wall clock and by the CPU time of the commands (user + system: with ``--threads 1`` that
is the time on one idle core, and it barely moves when other jobs share the machine). The
weights are random, so only the time means something.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import config_f_network, emit, parser, run, timed

DEFAULT_STEPS = 600
DEFAULT_CALIBRATION = 2000


def latentedit(home: Path, *arguments: str) -> tuple[float, float]:
    """Run one `latentedit` command quietly with its store under `home`: its wall-clock seconds
    and its CPU seconds (user + system; on a shared machine the steadier of the two)."""
    command = [sys.executable, "-m", "latentedit", *arguments, "-q"]
    environment = {**os.environ, "LATENTEDIT_HOME": str(home)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    _, seconds = timed(subprocess.run, command, check=True, env=environment)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    threads = [] if args.threads is None else ["--threads", str(args.threads)]
    home = args.work / "home"
    for resolution in (int(r) for r in args.resolutions.split(",")):
        backend = config_f_network(resolution, args.work, discriminator=True)
        positives = args.work / f"positives-{resolution}"
        if not positives.is_dir():
            latentedit(home, *threads, "generate", "--backend", backend, "--seeds", "0-29", "--out", str(positives))
        runs = {}
        for steps, samples in ((args.short, args.samples), (args.long, args.samples), (args.short, args.more_samples)):
            runs[steps, samples] = latentedit(
                home, *threads, "discover", "--method", "feditnet", "--backend", backend,
                "--positives", str(positives), "--name", f"cost-{resolution}", "--force",
                "-o", f"steps={steps}", "-o", f"calibration_samples={samples}",
            )  # fmt: skip
        row: dict[str, Any] = {"resolution": resolution}
        for clock, which in (("wall", 0), ("cpu", 1)):
            short, long, more = (runs[key][which] for key in runs)
            per_step = (long - short) / (args.long - args.short)
            per_sample = (more - short) / (args.more_samples - args.samples)
            fixed = short - args.short * per_step - args.samples * per_sample
            default = fixed + DEFAULT_STEPS * per_step + DEFAULT_CALIBRATION * per_sample
            row[clock] = {
                "seconds": {f"steps={k[0]},calibration_samples={k[1]}": round(v[which], 1) for k, v in runs.items()},
                "seconds_per_step": round(per_step, 2),
                "seconds_per_calibration_sample": round(per_sample, 3),
                "fixed_seconds": round(fixed, 1),
                "default_run_minutes_estimated": round(default / 60, 1),
            }
        emit(row)
        results[str(resolution)] = row
    return results


def arguments() -> argparse.ArgumentParser:
    made = parser(__doc__, work="runs/feditnet-cost")
    made.add_argument("--resolutions", default="256", help="comma-separated generator resolutions")
    made.add_argument("--short", type=int, default=2, help="steps of the shorter run")
    made.add_argument("--long", type=int, default=5, help="steps of the longer run")
    made.add_argument("--samples", type=int, default=50, help="calibration samples of the first two runs")
    made.add_argument("--more-samples", type=int, default=250, help="calibration samples of the third run")
    return made


if __name__ == "__main__":
    run(measure, arguments())
