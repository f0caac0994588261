"""What every benchmark shares: its command line, the machine it ran on, timers, one report shape.

Benchmarks run from the repository root as modules: ``python -m benchmarks.NAME --help``
(one-off probes: ``python -m benchmarks.probes.NAME``). Each prints what it measures as it goes
and, with ``--json PATH``, writes one report, atomically:

    {"benchmark": "feditnet_quality",
     "command": "python -m benchmarks.feditnet_quality --attrs glasses",
     "machine": {"cpus": 2, "threads": 2, "torch": "2.13.0", "python": "3.12.3", "platform": "Linux-..."},
     "results": {...what the benchmark measured...},
     "seconds": 812.4}

``--threads N`` sets torch's CPU threads through latentedit's thread policy (timings depend on
it; the report records it; default: the cores this process may use), and
benchmarks that keep inputs between runs (rendered pairs, picked positives) take ``--work DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from latentedit.api import atomic_write

T = TypeVar("T")


def parser(doc: str | None, work: str | None = None) -> argparse.ArgumentParser:
    """An argument parser with the module docstring as help, ``--json PATH`` and ``--threads N``,
    and ``--work DIR`` (default `work`) for a benchmark that keeps files between runs."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    prog = f"python -m {spec.name}" if spec is not None else None
    made = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    made.add_argument("--json", type=Path, metavar="PATH", help="also write the report to PATH (benchmarks/common.py)")
    made.add_argument("--threads", type=int, metavar="N", help="torch CPU threads (default: the cores it may use)")
    if work is not None:
        made.add_argument(
            "--work", type=Path, default=Path(work), metavar="DIR", help=f"inputs kept between runs (default: {work})"
        )
    return made


def set_threads(threads: int | None) -> None:
    """Apply latentedit's thread policy with `threads` (None: the policy's own choice, from
    LATENTEDIT_THREADS, OMP_NUM_THREADS or the cores this process may use; latentedit/threads.py)."""
    from latentedit.threads import apply_thread_policy, request_threads

    request_threads(threads)
    apply_thread_policy()


def machine() -> dict[str, Any]:
    """What a number may depend on: CPU count, torch version and threads, Python, platform."""
    import torch

    return {
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def config_f_network(resolution: int, folder: Path, discriminator: bool = False) -> str:
    """A `stylegan2:FILE` backend name for a randomly initialised StyleGAN2 config-f generator of
    `resolution` px (512-d Z and W, 8 mapping layers, channels min(32768 / res, 512)), with its
    discriminator if asked, written to `folder` once as ``latentedit import-checkpoint`` writes an
    imported network (random weights cost what trained ones do)."""
    import torch

    from latentedit.checkpoints.layout import save_networks
    from latentedit.nets import Discriminator, Generator

    path = (folder / f"config-f-{'gd-' if discriminator else ''}{resolution}.safetensors").resolve()
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            generator = Generator(
                z_dim=512,
                c_dim=0,
                w_dim=512,
                img_resolution=resolution,
                img_channels=3,
                mapping_kwargs={"num_layers": 8},
                synthesis_kwargs={"channel_base": 32768, "channel_max": 512},
            )
            critic = Discriminator(c_dim=0, img_resolution=resolution, img_channels=3) if discriminator else None
        save_networks(path, generator, critic, source_format="latentedit")
    return f"stylegan2:{path}"


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """`fn(*args, **kwargs)` and the wall-clock seconds it took."""
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - started


def seconds_per_call(
    fn: Callable[[], Any], iters: int, warmup: int = 1, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Median time of `fn` by `clock` over `iters` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def emit(row: dict[str, Any]) -> None:
    """Print one measurement as a JSON line as soon as it is known (long runs show progress)."""
    print(json.dumps(row, default=str), flush=True)


def benchmark_name(fn: Callable[..., Any]) -> str:
    """`fn`'s module under `benchmarks.`, also when it runs as ``python -m`` (module ``__main__``)."""
    module = sys.modules[fn.__module__]
    spec = getattr(module, "__spec__", None)
    return (spec.name if spec is not None else fn.__module__).removeprefix("benchmarks.")


def write_report(path: Path, report: dict[str, Any]) -> Path:
    """Write `report` as indented JSON, atomically (a crash keeps any previous report whole)."""
    return atomic_write(path, lambda tmp: tmp.write_text(json.dumps(report, indent=2, default=str) + "\n"))


def run(
    measure: Callable[[argparse.Namespace], dict[str, Any]],
    arguments: argparse.ArgumentParser,
    argv: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Parse the command line, set the threads, run `measure(args)` and return its report, also
    written to ``--json PATH`` when given."""
    args = arguments.parse_args(argv)
    set_threads(args.threads)
    name = benchmark_name(measure)
    results, seconds = timed(measure, args)
    report = {
        "benchmark": name,
        "command": shlex.join(["python", "-m", f"benchmarks.{name}", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine(),
        "results": results,
        "seconds": round(seconds, 1),
    }
    if args.json:
        write_report(args.json, report)
    return report
