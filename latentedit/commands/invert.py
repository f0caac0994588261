"""`latentedit invert`: images -> W+ codes (cached), with PSNR per image."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.commands.common import BackendOpt, DeviceOpt, ForceOpt, JsonOpt, OptionsOpt, QuietOpt
from latentedit.commands.engine_options import (
    EngineOpt,
    RayAddressOpt,
    RayCpusOpt,
    chosen_engine,
    fail_if_any,
    run_settings,
)
from latentedit.commands.photo_options import AlignOpt, DetectorOpt, FaceOpt, LandmarksOpt, TemplateOpt
from latentedit.console import emit_json, out, progress_bar
from latentedit.errors import LatentEditError

PER_IMAGE = ("file", "psnr", "disc", "tuned", "warning")
"""Row keys that are not the face's alignment record (kept apart in the codes file's metadata)."""


AGAIN = "fix them and run the command again with --force (the images inverted already come from the cache)"


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
    engine: EngineOpt = "local",
    ray_address: RayAddressOpt = None,
    ray_cpus: RayCpusOpt = None,
    backend: BackendOpt = "embedded",
    device: DeviceOpt = "cpu",
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Invert images into the generator's W+ space (encoder start + optimisation).

    Options (-o KEY=VALUE): steps, lr, perceptual, noise, noise_lr, noise_regularize, batch, domain;
    tune=pti adds pivotal tuning (the generator fine-tuned on each image around its code) with
    its pti_* options; the `methods --inversion` command lists every option with its default.
    Editing the same image later reuses the cached inversion (and tuned weights). A photo that is not a crop at the
    generator's size has its faces aligned first: one code per face, with its transform from crop
    to photo pixels in the file's metadata ("faces") and in --json.
    """
    import json

    from latentedit.engine.batch import run_batch
    from latentedit.engine.manifest import Manifest
    from latentedit.engine.photo_stages import InvertCodes, ReadPhotos
    from latentedit.fileio import atomic_write, check_writable
    from latentedit.inputs import parse_inputs
    from latentedit.inversion import Inversion, InversionOptions
    from latentedit.loaders import load_backend
    from latentedit.options import parse_options
    from latentedit.photos import FaceFinder, check_align_mode, check_reconstruction, template_for
    from latentedit.reproducible import save_safetensors

    run_engine = chosen_engine(engine, ray_address, ray_cpus)
    check_align_mode(align)
    inputs = parse_inputs(images)
    if any(entry.path is None for entry in inputs):
        raise LatentEditError("invert takes image files or folders, not seed:N (seeds need no inversion).")
    settings = parse_options(InversionOptions, options)
    check_writable(out_path, force)
    model = load_backend(backend, device)
    finder = FaceFinder(landmarks, detector, model.name)
    face_template = template or template_for(model)
    manifest_path = out_path.with_name(f"{out_path.stem}.manifest.json")
    manifest = Manifest.open(manifest_path, "invert", run_settings(backend_fingerprint=model.fingerprint), fresh=True)
    stages = [ReadPhotos(align, finder, face_template, face, model.resolution), InvertCodes(settings, not no_cache)]
    with progress_bar("inverting", quiet or json_output) as progress:
        batch = run_batch(run_engine, model, inputs, stages, manifest, settings.batch, progress, skip_done=False)
    done = [batch.finished[entry.name] for entry in inputs if entry.name in batch.finished]
    if not done:
        fail_if_any(batch.failures, len(inputs), manifest.path, AGAIN)
    rows: list[dict] = [dict(row) for finished in done for row in finished.record["codes"]]
    results = [inversion for finished in done for inversion in finished.payload]
    joined = Inversion.concat(results)
    for row, result in zip(rows, results, strict=True):
        name = row["file"] if row["face"] is None else f"{row['file']} face {row['face']}"
        row["psnr"] = round(result.psnr[0], 2)
        row["disc"] = round(result.disc[0], 3) if result.disc else None
        row["tuned"] = str(result.tuned.file) if result.tuned and result.tuned.file else None
        row["warning"] = check_reconstruction(name, result.psnr[0], row["disc"])
    tensors = {"ws": joined.ws.contiguous(), **{f"noise.{i}": n.contiguous() for i, n in enumerate(joined.noises)}}
    metadata = {
        "files": json.dumps([row["file"] for row in rows]),
        "faces": json.dumps([{k: v for k, v in row.items() if k not in PER_IMAGE} for row in rows]),
        "psnr": json.dumps(joined.psnr),
        "tuned": json.dumps([row["tuned"] for row in rows]),
        "backend": model.fingerprint,
        "backend_name": model.name,
    }
    atomic_write(out_path, lambda tmp: save_safetensors(tensors, tmp, metadata))
    mean = sum(joined.psnr) / len(joined.psnr)
    if json_output:
        failed = [vars(failure) for failure in batch.failures]
        document = {"out": str(out_path), "images": rows, "mean_psnr": mean, "ws_shape": list(joined.ws.shape)}
        emit_json(document | {"failed": failed})
    elif not quiet:
        from rich.table import Table

        table = Table("image", "face", "PSNR (dB)")
        for row in rows:
            table.add_row(row["file"], "" if row["face"] is None else str(row["face"]), f"{row['psnr']:.2f}")
        out().print(table)
        out().print(f"Mean PSNR {mean:.2f} dB; codes {tuple(joined.ws.shape)} written to {out_path}")
    fail_if_any(batch.failures, len(inputs), manifest.path, AGAIN)
