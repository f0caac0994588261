"""Pivotal tuning against the latent inversion alone, on held-out renders of the embedded world.

Run: python -m benchmarks.pti_quality [--images 100] [--workers 2] [--attribute smile] [-o pti_steps=350 ...]
[--json PATH] (``--images`` fewer for a quick look; ``--workers`` tune that many images at once, one
process and one torch thread each). For each held-out render it inverts with the default settings
(the pivot), then tunes the generator with the default `-o tune=pti` settings (``-o`` changes them),
and measures for both:
PSNR, the binary-attribute same-side rate (scorer on the reconstruction vs the renderer's
truth), the re-scored change of a strength-3 InterFaceGAN edit of ``--attribute`` (fraction of the
attribute's range; the bar: PTI weakens it by at most 0.05; and how far the edit moves a code, in
W+ norm), time per image, and the process's peak resident memory after each phase (with ``--workers``,
the tuning's is in the workers and not counted).
"""

from __future__ import annotations

import multiprocessing
import resource
import statistics
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from benchmarks import common
from latentedit import load_backend
from latentedit.api import DiscoverRequest, InversionOptions, from_uint8, no_progress, scorer_for
from latentedit.editing import Subject, apply_edits, render
from latentedit.evaluate import score_deltas
from latentedit.inversion import Inversion, invert_arrays
from latentedit.methods.interfacegan import InterFaceGAN, InterFaceGANOptions
from latentedit.options import parse_options
from latentedit.pti import tune, tuning_settings
from latentedit.world.attributes import ATTRIBUTES
from latentedit.world.heldout import heldout_seeds

RENDER_OFFSET = 950_000
"""Held-out renderer seeds from `heldout_seeds(n, RENDER_OFFSET)`, apart from other benchmarks'."""
EDIT_STRENGTH = 3.0
WEAKENING_BAR = 0.05


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def same_side(scores: dict[str, torch.Tensor], records: list[dict]) -> float:
    binary = [name for name, spec in ATTRIBUTES.items() if spec.kind == "binary"]
    agree = [
        float((scores[name][i] > 0.5) == bool(record[name])) for name in binary for i, record in enumerate(records)
    ]
    return float(np.mean(agree))


def phase(backend, scorer, subjects: list[Subject], records: list[dict], edit) -> dict:
    """PSNR, same-side rate and the edit's re-scored change for inverted `subjects`."""
    drawn = from_uint8(np.stack([render(backend, subject, []) for subject in subjects]))
    edited = from_uint8(np.stack([render(backend, subject, [(edit, EDIT_STRENGTH)]) for subject in subjects]))
    with torch.inference_mode():
        before, after = scorer.score(drawn), scorer.score(edited)
    change = score_deltas(scorer, before, after)[edit.attribute]
    return {
        "mean_psnr": statistics.mean(subject.psnr for subject in subjects),
        "min_psnr": min(subject.psnr for subject in subjects),
        "binary_same_side": same_side(before, records),
        "edit_change": float(change.mean()),
    }


_worker_backend = None


def _start_worker() -> None:
    global _worker_backend
    torch.set_num_threads(1)
    _worker_backend = load_backend("embedded")


def _tune_in_worker(image: np.ndarray, inversion: Inversion, options: InversionOptions) -> Inversion:
    """Tune one image in a worker process; the inversion comes back with its tuned weights."""
    tune(_worker_backend, from_uint8(image[None]), inversion, options)
    return inversion


def tune_all(backend, images: np.ndarray, inversions: list[Inversion], options, workers: int) -> list[Inversion]:
    """Tune every image, `workers` at a time (1: in this process), reporting each as it ends."""

    def report(index: int, inversion: Inversion) -> Inversion:
        tuned = inversion.tuned
        common.emit({"image": index, "pivot_psnr": tuned.pivot_psnr, "pti_psnr": inversion.psnr[0], "s": tuned.seconds})
        return inversion

    if workers == 1:
        for i, inversion in enumerate(inversions):
            tune(backend, from_uint8(images[i][None]), inversion, options)
            report(i, inversion)
        return inversions
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=spawn, initializer=_start_worker) as pool:
        pairs = zip(images, inversions, strict=True)
        futures = [pool.submit(_tune_in_worker, image, inversion, options) for image, inversion in pairs]
        return [report(i, future.result()) for i, future in enumerate(futures)]


def measure(args) -> dict:
    from latentedit.world.render import render_batch

    backend = load_backend("embedded")
    scorer = scorer_for(backend)
    request = DiscoverRequest(name=f"{args.attribute}-pti", attr=args.attribute)
    edit = InterFaceGAN().discover(backend, request, InterFaceGANOptions(samples=args.samples), no_progress)
    with torch.inference_mode():
        ws = backend.mapping(backend.z_for_seeds([0]))
        moved = apply_edits(backend, ws, [(edit, EDIT_STRENGTH)]) - ws
    images, _, records = render_batch(heldout_seeds(args.images, RENDER_OFFSET))
    options = parse_options(InversionOptions, ["tune=pti", *args.option])
    report: dict = {
        "images": args.images,
        "edit": f"interfacegan {args.attribute}, {args.samples} samples",
        "tuning": tuning_settings(options),
        "edit_displacement_wplus_norm": float(moved.norm()),
    }
    common.emit({"edit_displacement_wplus_norm": report["edit_displacement_wplus_norm"]})

    (inversions, seconds) = common.timed(invert_arrays, backend, list(images), InversionOptions(), use_cache=False)
    latent = [Subject(f"render-{i}", inv.ws, inversion=inv) for i, inv in enumerate(inversions)]
    report["latent"] = phase(backend, scorer, latent, records, edit) | {
        "seconds_per_image": seconds / args.images,
        "peak_rss_mb": peak_rss_mb(),
    }
    common.emit({"latent": report["latent"]})

    inversions = tune_all(backend, images, inversions, options, args.workers)
    tuned_seconds = [inversion.tuned.seconds for inversion in inversions]
    latent = [Subject(f"render-{i}", inv.ws, inversion=inv) for i, inv in enumerate(inversions)]
    report["pti"] = phase(backend, scorer, latent, records, edit) | {
        "seconds_per_image": statistics.mean(tuned_seconds) + seconds / args.images,
        "tuning_seconds_per_image": statistics.mean(tuned_seconds),
        "peak_rss_mb": peak_rss_mb(),
        "workers": args.workers,
    }
    weakening = abs(report["latent"]["edit_change"]) - abs(report["pti"]["edit_change"])
    report["edit_weakening"] = weakening
    report["bars"] = {f"weakening<={WEAKENING_BAR}": weakening <= WEAKENING_BAR}
    common.emit({"pti": report["pti"], "edit_weakening": weakening, "bars": report["bars"]})
    return report


def main(argv: Sequence[str] | None = None) -> None:
    arguments = common.parser(__doc__)
    arguments.add_argument("--images", type=int, default=100, help="held-out renders (default 100)")
    arguments.add_argument("--workers", type=int, default=1, help="images tuned at once (processes; default 1)")
    arguments.add_argument("--attribute", default="smile", help="attribute of the edit (default smile)")
    arguments.add_argument("--samples", type=int, default=2000, help="InterFaceGAN's samples (default 2000)")
    arguments.add_argument(
        "-o", "--option", action="append", default=[], metavar="KEY=VALUE", help="a tuning option, e.g. pti_steps=350"
    )
    common.run(measure, arguments, argv)


if __name__ == "__main__":
    main()
