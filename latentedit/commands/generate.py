"""`latentedit generate`: images from seeds, one PNG per seed or one grid."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.commands.common import BackendOpt, DeviceOpt, ForceOpt, JsonOpt, QuietOpt
from latentedit.commands.transform_options import RotateOpt, TranslateOpt, given
from latentedit.console import emit_json, note, out, progress_bar
from latentedit.errors import LatentEditError
from latentedit.inputs import parse_seeds


def generate_command(
    seeds: Annotated[str, typer.Option("--seeds", help="Seeds to draw: '0-7', '1,3,5' or '0-3,10'.")] = "0-7",
    truncation: Annotated[
        float, typer.Option("--truncation", "-t", help="Truncation psi around w_avg (1 = none).")
    ] = 1.0,
    grid_path: Annotated[Path | None, typer.Option("--grid", help="Write all images as one grid PNG here.")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for one PNG per seed (seed0000.png ...).")
    ] = None,
    noise_mode: Annotated[str, typer.Option("--noise-mode", help="const (deterministic), random or none.")] = "const",
    translate: TranslateOpt = None,
    rotate: RotateOpt = None,
    backend: BackendOpt = "embedded",
    device: DeviceOpt = "cpu",
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Generate images from seeds. The same seed always gives the same PNG.

    StyleGAN3 backends also take --translate and --rotate (the input transform: the same face,
    moved or turned, without texture sticking)."""
    import math

    from latentedit.fileio import check_writable
    from latentedit.images import grid, save_png
    from latentedit.input_transform import applied, requested, require_support
    from latentedit.loaders import load_backend
    from latentedit.sampling import seed_images

    seed_list = parse_seeds(seeds)
    if not math.isfinite(truncation) or not 0.0 <= truncation <= 2.0:
        raise LatentEditError(f"--truncation {truncation}: expected a value between 0 and 2.")
    if noise_mode not in ("const", "random", "none"):
        raise LatentEditError(f"--noise-mode {noise_mode!r}: expected const, random or none.")
    transform = requested(translate, rotate)
    if grid_path is None and out_dir is None:
        out_dir = Path("generated")
    targets = [out_dir / f"seed{seed:04d}.png" for seed in seed_list] if out_dir else []
    for path in [*targets, *([grid_path] if grid_path else [])]:
        check_writable(path, force)
    model = load_backend(backend, device)
    require_support(model, given(translate=translate, rotate=rotate))
    if model.name.startswith("random"):
        note("[yellow]Note: backend random has untrained weights; the images are not faces.[/yellow]", quiet)
    with progress_bar("generating", quiet or json_output) as progress, applied(model, transform):
        array = seed_images(model, seed_list, truncation, noise_mode, progress)
    written = [str(save_png(image, path, force)) for image, path in zip(array, targets, strict=True)] if targets else []
    if grid_path:
        written.append(str(save_png(grid(array), grid_path, force)))
    if json_output:
        moved = {"input_transform": transform.as_dict()} if transform else {}
        emit_json({"backend": model.name, "seeds": seed_list, "truncation": truncation, **moved, "files": written})
    elif not quiet:
        out().print(f"Wrote {len(written)} file(s): {written[0]}{' ...' if len(written) > 1 else ''}")
