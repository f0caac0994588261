"""Batch throughput of `apply DIR` and discovery sampling, `--engine local` vs `--engine ray`.

    python -m benchmarks.scale --json runs/scale.json                 # 200 faces, 100,000 latents
    python -m benchmarks.scale --faces 40 --samples 20000 --steps 10  # a quick look

Renders `--faces` faces of the embedded world (64 px crops, kept in --work), then times the
command a user runs, each in a fresh process with a cold inversion cache:
``latentedit apply DIR -d EDIT -o steps=N --engine local --threads T`` for T = 1, 2 and
``--engine ray --ray-cpus W --threads 1`` for W = 1, 2 workers (wall clock, start-up included),
and checks the Ray runs wrote the local run's bytes. Ray's fixed cost is timed on its own:
`ray.init` plus a first Ray Data stage whose actor loads the backend. Discovery sampling, in this
process, locally and on a Ray instance of 1 and 2 CPUs: `--samples` latents mapped to W (GANSpace's
sampling) and `--scored` latents drawn and scored by the world's attribute scorer (InterFaceGAN's
and W*'s labelling; synthesis and scoring cost about 40 ms per sample on a loaded core, hence fewer).
`--parts` picks what to measure (apply, startup, sampling).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import common

ENV_KEEP = ("PATH", "HOME", "LANG", "PYTHONPATH", "RAY_memory_monitor_refresh_ms")
"""Passed on to the timed commands (0 in the last: Ray kills no worker when other jobs fill the machine's memory)."""


def render_faces(folder: Path, count: int) -> Path:
    """`count` rendered faces in `folder` (kept: rendering is not what is measured)."""
    from tests.batch_inputs import face_folder

    if len(list(folder.glob("face*.png"))) != count:
        face_folder(folder, count)
    return folder


def run_apply(faces: Path, edit: Path, out: Path, steps: int, engine: list[str], threads: int, device: str) -> float:
    """Wall seconds of one `latentedit apply` in a fresh process with its own empty home."""
    home = out.with_name(out.name + "-home")
    env = {key: os.environ[key] for key in ENV_KEEP if key in os.environ} | {"LATENTEDIT_HOME": str(home)}
    command = [sys.executable, "-m", "latentedit", "--threads", str(threads), "apply", str(faces), "-d", str(edit)]
    command += ["-o", f"steps={steps}", "--out", str(out), "--device", device, "-q", *engine]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    return time.perf_counter() - started


def ray_startup(cpus: int) -> dict[str, float]:
    """Seconds to start a Ray instance, and to a first result from an actor that loads the backend."""
    import ray
    import ray.data

    from latentedit.engine import Engine, WorkerSetup
    from latentedit.engine.photo_stages import InvertUnits
    from latentedit.engine.pipeline import ChunkResult, Pipeline
    from latentedit.engine.ray_engine import connect, run_on_ray
    from latentedit.inversion import InversionOptions
    from latentedit.loaders import load_backend

    started = time.perf_counter()
    connect(Engine("ray", cpus=cpus))
    init = time.perf_counter() - started
    setup = WorkerSetup.like(load_backend("embedded"), 1)
    started = time.perf_counter()
    results = list(run_on_ray(Engine("ray", cpus=cpus), Pipeline(setup, [InvertUnits(InversionOptions())]), [[]]))
    assert isinstance(results[0], ChunkResult)
    first = time.perf_counter() - started
    ray.shutdown()
    return {"ray_init_s": round(init, 2), "first_actor_result_s": round(first, 2)}


def sampling(samples: int, scored: int) -> list[dict[str, Any]]:
    """Seconds to draw `samples` latents mapped to W (GANSpace's sampling) and to draw and score
    `scored` (InterFaceGAN's and W*'s labelling): locally, then on Ray with 1 and 2 CPUs."""
    import ray
    import torch

    from latentedit.engine import Engine, draw_samples
    from latentedit.engine.ray_engine import connect
    from latentedit.labels import scorer_for
    from latentedit.loaders import load_backend

    backend = load_backend("embedded")
    jobs = [("mapped to W", samples, None, "w"), ("mapped and scored", scored, scorer_for(backend), "w+")]
    rows, local = [], {}
    for engine in (None, Engine("ray", cpus=1), Engine("ray", cpus=2)):
        if engine is not None:
            connect(engine)  # started before the clock: its cost is ray_startup's
        for what, count, scorer, keep in jobs:
            drawn, seconds = common.timed(draw_samples, engine, backend, count, 0, scorer, keep=keep)
            first = local.setdefault(what, drawn)  # the local engine's, drawn first
            same = torch.equal(drawn.ws, first.ws) and all(
                torch.equal(drawn.scores[k], first.scores[k]) for k in first.scores
            )
            row = {
                "stage": f"sampling, {what}",
                "engine": "local" if engine is None else f"ray, {engine.cpus} worker(s)",
                "samples": count,
                "seconds": round(seconds, 1),
                "samples_per_s": round(count / seconds, 1),
                "same_as_local": same,
            }
            common.emit(row)
            rows.append(row)
        if engine is not None:
            ray.shutdown()
    return rows


def measure(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {}
    parts = args.parts.split(",")
    if "apply" in parts or "apply-ray" in parts:
        report["apply"] = apply_runs(args, ray_only="apply" not in parts)
    if "startup" in parts:
        report["ray_startup"] = ray_startup(2)
        common.emit({"stage": "ray start-up", **report["ray_startup"]})
    if "sampling" in parts:
        report["sampling"] = sampling(args.samples, args.scored)
    return report | {"load": os.getloadavg()}


def apply_runs(args: argparse.Namespace, ray_only: bool = False) -> list[dict[str, Any]]:
    """`apply DIR` over the rendered faces: local with 1 and 2 threads (unless `ray_only`), Ray with
    1 and 2 workers."""
    from tests.batch_inputs import files_by_name

    faces = render_faces(args.work / f"faces{args.faces}", args.faces)
    runs = []
    with tempfile.TemporaryDirectory(prefix="scale-", dir=args.work) as scratch:
        root = Path(scratch)
        edit = root / "s0.safetensors"
        subprocess.run(
            [sys.executable, "-m", "latentedit", "discover", "-m", "sefa", "--out", str(edit), "-q"], check=True
        )
        configs = [("local", [], 1), ("local", [], 2), ("ray", ["--ray-cpus", "1"], 1), ("ray", ["--ray-cpus", "2"], 1)]
        reference: dict[str, bytes] | None = None
        if ray_only:  # the reference bytes: a local run of the same command, 1 thread
            configs = [("local", [], 1)] + configs[2:]
        for index, (engine, extra, threads) in enumerate(configs):
            out = root / f"out{index}"
            seconds = run_apply(faces, edit, out, args.steps, ["--engine", engine, *extra], threads, args.device)
            written = files_by_name(out)
            reference = reference or written
            workers = int(extra[1]) if extra else 1
            row = {
                "stage": "apply",
                "engine": engine,
                "workers": workers,
                "threads_per_worker": threads,
                "faces": args.faces,
                "steps": args.steps,
                "seconds": round(seconds, 1),
                "images_per_s": round(args.faces / seconds, 2),
                "same_bytes_as_first": written == reference,
            }
            common.emit(row)
            runs.append(row)
    return runs


def main() -> None:
    arguments = common.parser(__doc__, work="runs/scale")
    arguments.add_argument("--faces", type=int, default=200, help="rendered faces to edit (default 200)")
    arguments.add_argument("--steps", type=int, default=20, help="inversion steps per face (default 20)")
    arguments.add_argument("--samples", type=int, default=100_000, help="latents mapped to W (default 100,000)")
    arguments.add_argument("--scored", type=int, default=2_000, help="latents mapped and scored (default 2,000)")
    arguments.add_argument(
        "--parts", default="apply,startup,sampling", help="what to measure: apply (or apply-ray), startup, sampling"
    )
    arguments.add_argument("--device", default="cpu", help="device of the apply runs (cuda: one Ray worker per GPU)")
    common.run(measure, arguments)


if __name__ == "__main__":
    main()
