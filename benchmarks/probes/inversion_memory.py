"""Peak memory of inverting (and pivotally tuning) one photo on a 256 px config-f network.

Run: python -m benchmarks.probes.inversion_memory [--resolution 256] [--steps 5] [--pti-steps 5]
A randomly initialised StyleGAN2 config-f generator and discriminator (`common.config_f_network`,
kept in --work; random weights cost what trained ones do) invert one random image; each phase is
measured as `benchmarks.photo_pipeline` measures a stage (peak resident memory above what was
resident before it, seconds). Run it on two checkouts (PYTHONPATH) to compare code changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks import common
from benchmarks.photo_pipeline import measure_stage


def measure(args) -> dict:
    import torch

    from latentedit import load_backend
    from latentedit.inversion import InversionOptions, invert_batch

    backend = load_backend(common.config_f_network(args.resolution, args.work, discriminator=True))
    image = torch.rand(1, 3, args.resolution, args.resolution, generator=torch.Generator().manual_seed(0)) * 2 - 1
    invert = InversionOptions(steps=args.steps)
    inversion, row = measure_stage("invert", lambda: invert_batch(backend, image, invert), "cpu")
    rows = [row]
    if args.pti_steps:
        from latentedit.pti import tune

        options = InversionOptions(tune="pti", pti_steps=args.pti_steps)
        rows.append(measure_stage("pti", lambda: tune(backend, image, inversion, options), "cpu")[1])
    return {"resolution": args.resolution, "steps": args.steps, "pti_steps": args.pti_steps, "phases": rows}


def main(argv: Sequence[str] | None = None) -> None:
    arguments = common.parser(__doc__, work="runs/networks")
    arguments.add_argument("--resolution", type=int, default=256)
    arguments.add_argument("--steps", type=int, default=5, help="inversion steps (default 5)")
    arguments.add_argument("--pti-steps", type=int, default=5, help="tuning steps (default 5; 0: no tuning)")
    common.run(measure, arguments, argv)


if __name__ == "__main__":
    main()
