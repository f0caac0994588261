"""`latentedit invert`: images -> W+ codes (cached), with PSNR per image."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.commands.common import BackendOpt, DeviceOpt, ForceOpt, JsonOpt, OptionsOpt, QuietOpt
from latentedit.console import emit_json, out, progress_bar
from latentedit.errors import LatentEditError


def invert_command(
    images: Annotated[list[str], typer.Argument(help="Image files or folders.")],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the codes (.safetensors).")] = Path(
        "latents.safetensors"
    ),
    options: OptionsOpt = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore and do not write cached inversions.")] = False,
    backend: BackendOpt = "embedded",
    device: DeviceOpt = "cpu",
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Invert images into the generator's W+ space (encoder start + optimisation).

    Options (-o KEY=VALUE): steps, lr, perceptual, noise, noise_lr, noise_regularize, batch.
    Editing the same image later reuses the cached inversion.
    """
    import json

    from latentedit.fileio import atomic_write, check_writable
    from latentedit.inputs import parse_inputs
    from latentedit.inversion import Inversion, InversionOptions, invert_files
    from latentedit.loaders import load_backend
    from latentedit.options import parse_options
    from latentedit.reproducible import save_safetensors

    inputs = parse_inputs(images)
    if any(entry.path is None for entry in inputs):
        raise LatentEditError("invert takes image files or folders, not seed:N (seeds need no inversion).")
    settings = parse_options(InversionOptions, options)
    check_writable(out_path, force)
    model = load_backend(backend, device)
    paths = [entry.path for entry in inputs]
    with progress_bar("inverting", quiet or json_output) as progress:
        results = invert_files(model, paths, settings, progress, use_cache=not no_cache)
    joined = Inversion.concat(results)
    tensors = {"ws": joined.ws.contiguous(), **{f"noise.{i}": n.contiguous() for i, n in enumerate(joined.noises)}}
    metadata = {
        "files": json.dumps([str(p) for p in paths]),
        "psnr": json.dumps(joined.psnr),
        "backend": model.fingerprint,
        "backend_name": model.name,
    }
    atomic_write(out_path, lambda tmp: save_safetensors(tensors, tmp, metadata))
    rows = [{"file": str(p), "psnr": round(v, 2)} for p, v in zip(paths, joined.psnr, strict=True)]
    mean = sum(joined.psnr) / len(joined.psnr)
    if json_output:
        emit_json({"out": str(out_path), "images": rows, "mean_psnr": mean, "ws_shape": list(joined.ws.shape)})
        return
    if not quiet:
        from rich.table import Table

        table = Table("image", "PSNR (dB)")
        for row in rows:
            table.add_row(row["file"], f"{row['psnr']:.2f}")
        out().print(table)
        out().print(f"Mean PSNR {mean:.2f} dB; codes {tuple(joined.ws.shape)} written to {out_path}")
