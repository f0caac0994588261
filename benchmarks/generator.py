"""Generator throughput on CPU: latentedit.nets vs (optionally) the official StyleGAN2-ADA / StyleGAN3 code.

    python -m benchmarks.generator                                     # ours only
    PYTHONPATH=/tmp/ada python -m benchmarks.generator --reference     # also the official code, same weights
    python -m benchmarks.generator --arch stylegan3-t --official-sg3 /tmp/sg3ref   # StyleGAN3 vs NVlabs/stylegan3

Times mapping + synthesis (noise_mode='const') under `torch.inference_mode()` and prints
images/s per resolution and batch size, from wall-clock time (median over the timed calls),
or from this process's CPU time with `--cpu-time` (steadier on a shared machine; use it with
`--threads 1`, since CPU time adds up over threads). The official code runs its reference (non-CUDA)
path with `force_fp32=True`, which is what it does on CPU. `--reference` imports the official
`training.networks` from a checkout of https://github.com/NVlabs/stylegan2-ada-pytorch put on
PYTHONPATH; `--official-sg3 PATH` imports `training.networks_stylegan3` from a checkout of
https://github.com/NVlabs/stylegan3 at PATH (its reference ops run on CPU, nothing is compiled).
Nothing of either is vendored here.
"""

from __future__ import annotations

import importlib
import sys
import time
import types
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from benchmarks import common
from latentedit.nets import Generator, StyleGAN3Generator

# Official training configs (train.py): 'auto' at 64 px, 'paper256', 'stylegan2' at 1024 px.
CONFIGS: dict[int, dict[str, Any]] = {
    64: {
        "z_dim": 512,
        "c_dim": 0,
        "w_dim": 512,
        "img_resolution": 64,
        "img_channels": 3,
        "mapping_kwargs": {"num_layers": 2},
        "synthesis_kwargs": {"channel_base": 16384, "channel_max": 512, "num_fp16_res": 4, "conv_clamp": 256},
    },
    256: {
        "z_dim": 512,
        "c_dim": 0,
        "w_dim": 512,
        "img_resolution": 256,
        "img_channels": 3,
        "mapping_kwargs": {"num_layers": 8},
        "synthesis_kwargs": {"channel_base": 16384, "channel_max": 512, "num_fp16_res": 4, "conv_clamp": 256},
    },
    1024: {
        "z_dim": 512,
        "c_dim": 0,
        "w_dim": 512,
        "img_resolution": 1024,
        "img_channels": 3,
        "mapping_kwargs": {"num_layers": 8},
        "synthesis_kwargs": {"channel_base": 32768, "channel_max": 512, "num_fp16_res": 4, "conv_clamp": 256},
    },
}
DEFAULT_ITERS = {64: 10, 256: 3, 1024: 1}


def stylegan3_config(resolution: int, radial: bool) -> dict[str, Any]:
    """The official train.py StyleGAN3 config (--cbase 32768 --cmax 512, batch 32): -t, or -r with `radial`."""
    kwargs: dict[str, Any] = {
        "z_dim": 512,
        "c_dim": 0,
        "w_dim": 512,
        "img_resolution": resolution,
        "img_channels": 3,
        "mapping_kwargs": {"num_layers": 2},
        "channel_base": 32768,
        "channel_max": 512,
        "magnitude_ema_beta": 0.5 ** (32 / (20 * 1e3)),
        "num_fp16_res": 4,
        "conv_clamp": 256,
    }
    if radial:
        kwargs.update(conv_kernel=1, channel_base=65536, channel_max=1024, use_radial_filters=True)
    return kwargs


# (our generator class, init kwargs by resolution) per architecture.
ARCHITECTURES: dict[str, tuple[type[torch.nn.Module], dict[int, dict[str, Any]]]] = {
    "stylegan2": (Generator, CONFIGS),
    "stylegan3-t": (StyleGAN3Generator, {res: stylegan3_config(res, radial=False) for res in CONFIGS}),
    "stylegan3-r": (StyleGAN3Generator, {res: stylegan3_config(res, radial=True) for res in CONFIGS}),
}


@dataclass
class Row:
    """One measurement: seconds per batch (median) for ours and, if measured, the official code."""

    resolution: int
    batch: int
    arch: str
    ours_s: float
    official_s: float | None
    max_abs_diff: float | None


def _stand_in(module: str, **attributes: Any) -> None:
    """Register an empty module `module` (with `attributes`) unless the real one imports."""
    try:
        importlib.import_module(module)
    except ImportError:
        stand_in = types.ModuleType(module)
        stand_in.__dict__.update(attributes)
        sys.modules[module] = stand_in


def import_official(module: str, hint: str) -> Any:
    """The official networks module (`training.networks` or `training.networks_stylegan3`).

    Both checkouts import modules they need only for downloads (`requests`) or a version check
    (`pkg_resources`); stand-ins are used when those are absent. `hint` says where the
    checkout should be when the import fails.
    """
    from packaging.version import parse as parse_version

    _stand_in("requests")
    _stand_in("pkg_resources", parse_version=parse_version)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            raise SystemExit(f"cannot import the official {module} ({exc}); {hint}") from None


def import_official_stylegan3(checkout: str) -> Any:
    """The official `training.networks_stylegan3` from the NVlabs/stylegan3 checkout at `checkout`."""
    sys.path.insert(0, checkout)
    return import_official("training.networks_stylegan3", f"is {checkout} a checkout of NVlabs/stylegan3?")


def measure(
    arch: str,
    resolution: int,
    batch: int,
    iters: int,
    warmup: int,
    official: Any | None,
    clock: Callable[[], float],
) -> Row:
    """Build both generators on the same random weights and time them on the same z."""
    ours_class, configs = ARCHITECTURES[arch]
    kwargs = configs[resolution]
    torch.manual_seed(0)
    ours = ours_class(**kwargs).eval().requires_grad_(False)
    reference = None
    if official is not None:
        reference = official.Generator(**kwargs).eval().requires_grad_(False)
        ours.load_state_dict(reference.state_dict(), strict=True)
    z = torch.randn(batch, kwargs["z_dim"], generator=torch.Generator().manual_seed(1))

    def run_ours() -> torch.Tensor:
        return ours(z, None, noise_mode="const")

    def run_reference() -> torch.Tensor:
        return reference(z, None, noise_mode="const", force_fp32=True)

    with torch.inference_mode():
        ours_s = common.seconds_per_call(run_ours, iters, warmup, clock)
        if reference is None:
            return Row(resolution, batch, arch, ours_s, None, None)
        official_s = common.seconds_per_call(run_reference, iters, warmup, clock)
        diff = float((run_ours() - run_reference()).abs().max())
    return Row(resolution, batch, arch, ours_s, official_s, diff)


def table(rows: list[Row]) -> str:
    """A Markdown table of images/s (and speed-up and max |diff| when the official code ran)."""
    with_ref = any(row.official_s is not None for row in rows)
    head = "| res | batch | ours img/s | ours s/batch |"
    rule = "|---:|---:|---:|---:|"
    if with_ref:
        head += " official img/s | official s/batch | speed-up | max abs diff |"
        rule += "---:|---:|---:|---:|"
    lines = [head, rule]
    for row in rows:
        line = f"| {row.resolution} | {row.batch} | {row.batch / row.ours_s:.2f} | {row.ours_s:.3f} |"
        if row.official_s is not None:
            line += (
                f" {row.batch / row.official_s:.2f} | {row.official_s:.3f} |"
                f" {row.official_s / row.ours_s:.2f}x | {row.max_abs_diff:.1e} |"
            )
        lines.append(line)
    return "\n".join(lines)


def measure_all(args) -> dict[str, Any]:
    """Every (resolution, batch) case, printed as a table row as soon as it is timed."""
    clock = time.process_time if args.cpu_time else time.perf_counter
    if args.official_sg3 and args.arch == "stylegan2":
        raise SystemExit("--official-sg3 goes with --arch stylegan3-t or stylegan3-r; --reference times StyleGAN2")
    official = None
    if args.arch == "stylegan2" and args.reference:
        official = import_official("training.networks", "put a checkout of NVlabs/stylegan2-ada-pytorch on PYTHONPATH")
    elif args.official_sg3:
        official = import_official_stylegan3(args.official_sg3)
    timing = "process CPU time" if args.cpu_time else "wall clock"
    print(f"{args.arch}, torch {torch.__version__}, {torch.get_num_threads()} threads, {timing}", flush=True)
    rows = []
    for resolution in args.resolutions:
        for batch in args.batches:
            iters = args.iters or DEFAULT_ITERS[resolution]
            rows.append(measure(args.arch, resolution, batch, iters, args.warmup, official, clock))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(rows))
    return {"timing": timing, "arch": args.arch, "rows": [asdict(row) for row in rows]}


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--resolutions", type=int, nargs="+", default=sorted(CONFIGS), choices=sorted(CONFIGS))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--iters", type=int, default=None, help="timed calls per case (default: by resolution)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument(
        "--reference", action="store_true", help="also time the official code (its checkout on PYTHONPATH)"
    )
    parser.add_argument("--cpu-time", action="store_true", help="time by process CPU time instead of wall clock")
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default="stylegan2", help="generator architecture")
    parser.add_argument(
        "--official-sg3",
        metavar="PATH",
        help="with --arch stylegan3-*: also time the official code from this NVlabs/stylegan3 checkout",
    )
    common.run(measure_all, parser, argv)


if __name__ == "__main__":
    main()
