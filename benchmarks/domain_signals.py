"""Out-of-domain signals on the embedded world: inversion PSNR and the discriminator's score.

Run: python -m benchmarks.domain_signals --photos DIR [--renders 40] [--json PATH]
(DIR: real photos, e.g. scikit-image's ``skimage/data`` unpacked from its wheel; about 10
minutes on one core). For held-out renders (the generator's own domain) and every PNG/JPEG in
DIR (centre-cropped and resized, as ``--align none`` reads them), plus the astronaut's face
aligned with the embedded template from hand-placed landmarks when DIR has ``astronaut.png``, it
inverts with the default settings and prints per image: the reconstruction's PSNR, the
discriminator's logit on the reconstruction and on the input. The generator's own samples'
logits are printed as the scale they are read against. docs/faces.md chooses the thresholds
of `photos.check_reconstruction` from these numbers. ``--pti NAMES`` also tunes the named photos
(``-o tune=pti`` defaults) and scores the tuned reconstructions; ``--only NAMES`` and
``--renders 0`` keep a run to those photos.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from benchmarks import common
from latentedit import load_backend
from latentedit.api import from_uint8
from latentedit.inversion import InversionOptions, disc_scores, invert_arrays, synthesize

ASTRONAUT_LANDMARKS = [[204.5, 100.8], [247.0, 103.0], [223.8, 127.5], [203.8, 141.3], [243.8, 141.3]]
"""The astronaut's five points placed by hand (docs/faces.md)."""

RENDER_OFFSET = 5000
"""Held-out renderer seeds from `heldout_seeds(n, RENDER_OFFSET)`, apart from other benchmarks'."""


def renders(count: int) -> dict[str, np.ndarray]:
    from latentedit.world.heldout import heldout_seeds
    from latentedit.world.render import render_batch

    seeds = heldout_seeds(count, RENDER_OFFSET)
    images = render_batch(seeds)[0]
    return {f"render-{seed}": image for seed, image in zip(seeds, images, strict=True)}


def photos(folder: Path, resolution: int) -> dict[str, np.ndarray]:
    from latentedit.faces.align import align
    from latentedit.faces.templates import as_landmarks, load_template
    from latentedit.images import load_image, read_photo_file

    found = {}
    for path in sorted([*folder.glob("*.png"), *folder.glob("*.jpg")]):
        found[path.stem] = load_image(path, resolution)
    astronaut = folder / "astronaut.png"
    if astronaut.is_file():
        pixels = read_photo_file(astronaut).pixels
        face = align(pixels, as_landmarks(ASTRONAUT_LANDMARKS), load_template("embedded"), resolution)
        found["astronaut-face (aligned)"] = face.crop
    return found


def signals(backend, images: dict[str, np.ndarray], tuned: Sequence[str] = ()) -> dict[str, dict[str, float]]:
    """PSNR of the default inversion, D's logit on its reconstruction and on the input, per image;
    for the images named in `tuned`, also both numbers after pivotal tuning (default settings)."""
    from latentedit.pti import tune

    names = list(images)
    inversions = invert_arrays(backend, [images[name] for name in names], InversionOptions(), use_cache=False)
    rows = {}
    for name, inversion in zip(names, inversions, strict=True):
        with torch.inference_mode():
            drawn = synthesize(backend, inversion.ws, inversion.noises)
        rows[name] = {
            "psnr": round(inversion.psnr[0], 2),
            "disc_reconstruction": round(disc_scores(backend, drawn)[0], 3),
            "disc_input": round(disc_scores(backend, from_uint8(images[name][None]))[0], 3),
        }
        if name in tuned:
            tune(backend, from_uint8(images[name][None]), inversion, InversionOptions(tune="pti"))
            rows[name] |= {"psnr_pti": round(inversion.psnr[0], 2), "disc_pti": round(inversion.disc[0], 3)}
        common.emit({name: rows[name]})
    return rows


def summary(rows: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    keys = next(iter(rows.values())).keys()
    return {
        key: {
            "mean": round(statistics.mean(row[key] for row in rows.values()), 3),
            "min": min(row[key] for row in rows.values()),
            "max": max(row[key] for row in rows.values()),
        }
        for key in keys
    }


def measure(args) -> dict:
    backend = load_backend("embedded")
    with torch.inference_mode():
        samples = backend.synthesize(backend.mapping(backend.z_for_seeds(list(range(args.samples)))))
    own = disc_scores(backend, samples)
    report = {
        "samples_disc": {"mean": statistics.mean(own), "min": min(own), "max": max(own), "count": len(own)},
    }
    common.emit(report)
    if args.renders:
        report["renders"] = signals(backend, renders(args.renders))
        report["renders_summary"] = summary(report["renders"])
        common.emit({"renders_summary": report["renders_summary"]})
    found = photos(args.photos, backend.resolution)
    if args.only:
        found = {name: found[name] for name in args.only.split(",")}
    report["photos"] = signals(backend, found, args.pti.split(",") if args.pti else ())
    return report


def main(argv: Sequence[str] | None = None) -> None:
    arguments = common.parser(__doc__)
    arguments.add_argument("--photos", type=Path, required=True, help="folder of real photos (PNG, JPEG)")
    arguments.add_argument("--renders", type=int, default=40, help="held-out renders (default 40)")
    arguments.add_argument("--samples", type=int, default=200, help="generator samples scored by D (default 200)")
    arguments.add_argument("--only", metavar="NAMES", help="only these photos (comma-separated names)")
    arguments.add_argument("--pti", metavar="NAMES", help="also tune these photos (-o tune=pti) and score again")
    common.run(measure, arguments, argv)


if __name__ == "__main__":
    main()
