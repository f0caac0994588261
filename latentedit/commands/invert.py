"""`latentedit invert`: images -> W+ codes (cached), with PSNR per image."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.commands.common import BackendOpt, DeviceOpt, ForceOpt, JsonOpt, OptionsOpt, QuietOpt
from latentedit.commands.photo_options import AlignOpt, DetectorOpt, FaceOpt, LandmarksOpt, TemplateOpt
from latentedit.console import emit_json, out, progress_bar
from latentedit.errors import LatentEditError


def invert_command(
    images: Annotated[list[str], typer.Argument(help="Image files or folders.")],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the codes (.safetensors).")] = Path(
        "latents.safetensors"
    ),
    options: OptionsOpt = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore and do not write cached inversions.")] = False,
    align: AlignOpt = "auto",
    landmarks: LandmarksOpt = None,
    detector: DetectorOpt = None,
    face: FaceOpt = None,
    template: TemplateOpt = None,
    backend: BackendOpt = "embedded",
    device: DeviceOpt = "cpu",
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Invert images into the generator's W+ space (encoder start + optimisation).

    Options (-o KEY=VALUE): steps, lr, perceptual, noise, noise_lr, noise_regularize, batch.
    Editing the same image later reuses the cached inversion. A photo that is not a crop at the
    generator's size has its faces aligned first: one code per face, with its transform from crop
    to photo pixels in the file's metadata ("faces") and in --json.
    """
    import json

    from latentedit.fileio import atomic_write, check_writable
    from latentedit.images import load_image
    from latentedit.inputs import parse_inputs
    from latentedit.inversion import Inversion, InversionOptions, invert_arrays
    from latentedit.loaders import load_backend
    from latentedit.options import parse_options
    from latentedit.photos import FaceFinder, check_reconstruction, describe_faces, open_photo, template_for
    from latentedit.reproducible import save_safetensors

    inputs = parse_inputs(images)
    if any(entry.path is None for entry in inputs):
        raise LatentEditError("invert takes image files or folders, not seed:N (seeds need no inversion).")
    settings = parse_options(InversionOptions, options)
    check_writable(out_path, force)
    model = load_backend(backend, device)
    finder = FaceFinder(landmarks, detector)
    face_template = template or template_for(model.name)
    rows: list[dict] = []
    arrays = []
    for entry in inputs:
        photo = open_photo(entry.path, align, model.resolution, finder, face_template, face)  # type: ignore[arg-type]
        if photo is None:
            rows.append({"file": str(entry.path), "face": None})
            arrays.append(load_image(entry.path, model.resolution))  # type: ignore[arg-type]
            continue
        for aligned, record in zip(photo.faces, describe_faces(photo), strict=True):
            rows.append({"file": str(entry.path)} | record)
            arrays.append(aligned.aligned.crop)
    with progress_bar("inverting", quiet or json_output) as progress:
        results = invert_arrays(model, arrays, settings, progress, use_cache=not no_cache)
    joined = Inversion.concat(results)
    for row, value in zip(rows, joined.psnr, strict=True):
        name = row["file"] if row["face"] is None else f"{row['file']} face {row['face']}"
        row["psnr"] = round(value, 2)
        row["warning"] = check_reconstruction(name, value)
    tensors = {"ws": joined.ws.contiguous(), **{f"noise.{i}": n.contiguous() for i, n in enumerate(joined.noises)}}
    metadata = {
        "files": json.dumps([row["file"] for row in rows]),
        "faces": json.dumps([{k: v for k, v in row.items() if k not in ("file", "psnr", "warning")} for row in rows]),
        "psnr": json.dumps(joined.psnr),
        "backend": model.fingerprint,
        "backend_name": model.name,
    }
    atomic_write(out_path, lambda tmp: save_safetensors(tensors, tmp, metadata))
    mean = sum(joined.psnr) / len(joined.psnr)
    if json_output:
        emit_json({"out": str(out_path), "images": rows, "mean_psnr": mean, "ws_shape": list(joined.ws.shape)})
        return
    if not quiet:
        from rich.table import Table

        table = Table("image", "face", "PSNR (dB)")
        for row in rows:
            table.add_row(row["file"], "" if row["face"] is None else str(row["face"]), f"{row['psnr']:.2f}")
        out().print(table)
        out().print(f"Mean PSNR {mean:.2f} dB; codes {tuple(joined.ws.shape)} written to {out_path}")
