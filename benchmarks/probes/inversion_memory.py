"""Peak memory of inverting (and pivotally tuning) one photo on a 256 px config-f network.

Run: python -m benchmarks.probes.inversion_memory [--resolution 256] [--steps 5] [--pti-steps 5]
A randomly initialised StyleGAN2 config-f generator and discriminator (random weights cost what
trained ones do) invert one random image; each phase runs after garbage collection, with the
kernel's peak-RSS counter reset, and reports the peak resident memory above what was resident
before it (MB) and its seconds. Run it on two checkouts (PYTHONPATH) to compare code changes.
"""

from __future__ import annotations

import ctypes
import gc
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import common


def _status_mb(key: str) -> float:
    match = re.search(rf"^{key}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def phase(name: str, fn: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    value = fn()
    row = {
        "phase": name,
        "seconds": round(time.perf_counter() - started, 2),
        "peak_above_mb": round(_status_mb("VmHWM") - before, 1),
        "rss_before_mb": round(before, 1),
    }
    common.emit(row)
    return value, row


def measure(args) -> dict:
    import torch

    from latentedit.inversion import InversionOptions, invert_batch
    from latentedit.nets import Discriminator, Generator
    from latentedit.stylegan2_backend import StyleGAN2Backend

    torch.manual_seed(0)
    config = {"channel_base": 32768, "channel_max": 512}
    generator = Generator(
        z_dim=512, c_dim=0, w_dim=512, img_resolution=args.resolution, img_channels=3,
        mapping_kwargs={"num_layers": 8}, synthesis_kwargs=config,
    )  # fmt: skip
    discriminator = Discriminator(c_dim=0, img_resolution=args.resolution, img_channels=3, **config)
    backend = StyleGAN2Backend(f"config-f:{args.resolution}", generator, discriminator)
    image = torch.rand(1, 3, args.resolution, args.resolution) * 2 - 1
    rows = []
    inversion, row = phase("invert", lambda: invert_batch(backend, image, InversionOptions(steps=args.steps)))
    rows.append(row)
    if args.pti_steps:
        from latentedit.pti import tune

        options = InversionOptions(tune="pti", pti_steps=args.pti_steps)
        rows.append(phase("pti", lambda: tune(backend, image, inversion, options))[1])
    return {"resolution": args.resolution, "steps": args.steps, "pti_steps": args.pti_steps, "phases": rows}


def main(argv: Sequence[str] | None = None) -> None:
    arguments = common.parser(__doc__)
    arguments.add_argument("--resolution", type=int, default=256)
    arguments.add_argument("--steps", type=int, default=5, help="inversion steps (default 5)")
    arguments.add_argument("--pti-steps", type=int, default=5, help="tuning steps (default 5; 0: no tuning)")
    common.run(measure, arguments, argv)


if __name__ == "__main__":
    main()
