"""`latentedit apply`: edit images (inverted) or generated samples with one or more edits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from latentedit.commands.photo_options import PHOTOS, AlignOpt, DetectorOpt, FaceOpt, LandmarksOpt, TemplateOpt
from latentedit.commands.plugin_params import Declared, PluginCommand, flags_given, merge, refuse_unused, resolve_values
from latentedit.commands.transform_options import RotateOpt, SweepRotateOpt, SweepTranslateOpt, TranslateOpt, given
from latentedit.console import emit_json, note, out, progress_bar
from latentedit.errors import LatentEditError
from latentedit.options import finite_number

if TYPE_CHECKING:
    from latentedit.backend import Backend
    from latentedit.photos import EditUnit


def parse_dir(text: str) -> tuple[str, float | None]:
    """``smile`` -> (smile, None: the default strength); ``smile=-2`` -> (smile, -2.0)."""
    name, sep, raw = text.rpartition("=")
    if not sep:
        return text, None
    return name, finite_number(raw, f"--dir {text!r} (NAME=STRENGTH): strength")


def apply_params() -> dict[str, Declared]:
    """The inputs every registered method declares for `apply` (e.g. local style's --reference)."""
    from latentedit.plugins import get_plugins

    rows = [
        (entry.plugin, entry.name, "Method inputs", param)
        for entry in get_plugins().methods
        for param in entry.value.apply_params
    ]
    return merge(rows, OWN_FLAGS)


def apply(
    inputs: Annotated[list[str], typer.Argument(help="Image files, folders, or seed:N / seed:A-B.")],
    directions: Annotated[
        list[str],
        typer.Option("--dir", "-d", help="Edit name or file, optionally NAME=STRENGTH (repeatable: composes)."),
    ],
    strength: Annotated[
        float | None,
        typer.Option(
            "--strength", "-s", help="Strength in standard deviations (default: the method's, 3 for vectors)."
        ),
    ] = None,
    sweep: Annotated[
        str | None, typer.Option("--sweep", help="FROM:TO:COUNT, e.g. -3:3:7: a strip PNG and a GIF per input.")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("edited"),
    translate: TranslateOpt = None,
    rotate: RotateOpt = None,
    sweep_translate: SweepTranslateOpt = None,
    sweep_rotate: SweepRotateOpt = None,
    align: AlignOpt = "auto",
    landmarks: LandmarksOpt = None,
    detector: DetectorOpt = None,
    face: FaceOpt = None,
    template: TemplateOpt = None,
    crop_only: Annotated[
        bool,
        typer.Option(
            "--crop-only", help="Write the edited crop, not the photo with it pasted back.", rich_help_panel=PHOTOS
        ),
    ] = False,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="png, or same: the photo's own format (JPEG, PNG, WebP, TIFF); EXIF and ICC profile kept.",
            rich_help_panel=PHOTOS,
        ),
    ] = "png",
    options: OptionsOpt = None,
    engine: EngineOpt = "local",
    ray_address: RayAddressOpt = None,
    ray_cpus: RayCpusOpt = None,
    backend: BackendOpt = "embedded",
    device: DeviceOpt = "cpu",
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    extras: dict | None = None,
) -> None:
    """Apply learned edits to photos (inverted first, cached) or to generated samples.

    Writes NAME_edited.png and NAME_compare.png (input | reconstruction | edit); with --sweep,
    NAME_sweep.png and NAME_sweep.gif. A photo that is not a crop at the generator's size has its
    faces aligned, edited and pasted back: NAME_edited.png is the whole photo (--crop-only: the
    edited crop, NAME-faceN_edited.png where the photo has several faces). Options (-o) are
    inversion settings (e.g. steps=500; tune=pti for pivotal tuning; `methods --inversion`
    lists them) or the edit method's apply settings (local style: mode, epsilon,
    rho). The methods of the installed plugins add their own inputs ("Method inputs").
    StyleGAN3 backends draw the results moved or turned with --translate/--rotate, and a sweep can
    animate the move alongside the edit (--sweep-translate/--sweep-rotate: the last frame's).
    """
    from latentedit.editing import plan_edits, prepare_subjects
    from latentedit.edits import Edit
    from latentedit.engine.batch import run_batch
    from latentedit.engine.manifest import MANIFEST_NAME, Manifest
    from latentedit.engine.photo_stages import InvertUnits, ReadPhotos, RenderUnits, WriteOutputs
    from latentedit.fileio import check_writable, sha256_file
    from latentedit.input_transform import applied, requested, require_support
    from latentedit.input_transform import sweep as sweep_transforms
    from latentedit.inputs import parse_inputs, parse_strength_range
    from latentedit.inversion import InversionOptions
    from latentedit.loaders import load_backend
    from latentedit.options import parse_options, split_options
    from latentedit.photos import FaceFinder, check_align_mode, template_for
    from latentedit.store import resolve_edit

    if output_format not in ("png", "same"):
        raise LatentEditError(f"--format {output_format!r}: expected png or same.")
    run_engine = chosen_engine(engine, ray_address, ray_cpus)
    check_align_mode(align)
    items = parse_inputs(inputs)
    chosen = [parse_dir(text) for text in directions]
    strengths = parse_strength_range(sweep) if sweep else None
    if strengths and len(chosen) != 1:
        raise LatentEditError("--sweep takes exactly one --dir.")
    transform = requested(translate, rotate)
    sweep_end = requested(sweep_translate, sweep_rotate, ("--sweep-translate", "--sweep-rotate"), transform)
    if sweep_end is not None and not strengths:
        raise LatentEditError("--sweep-translate/--sweep-rotate animate a sweep: add --sweep FROM:TO:COUNT.")
    model = load_backend(backend, device)
    require_support(
        model, given(translate=translate, rotate=rotate, sweep_translate=sweep_translate, sweep_rotate=sweep_rotate)
    )
    frame_transforms = sweep_transforms(transform, sweep_end, len(strengths or []))
    loaded = [Edit.load(resolve_edit(name, model.name)) for name, _ in chosen]
    strengths_given = [value if value is not None else strength for _, value in chosen]
    plan = plan_edits(model, list(zip(loaded, strengths_given, strict=True)))
    sweeps = [plan_edits(model, [(plan[0].edit, value)]) for value in strengths or []]
    classes = list(dict.fromkeys(type(item.method) for item in plan))
    declared = apply_params()
    wanted = flags_given(extras or {})
    usable = {param.name for cls in classes for param in cls.apply_params}
    refuse_unused(wanted, declared, usable, "none of these edits was made by it")
    apply_classes = [cls.ApplyOptions for cls in classes if cls.ApplyOptions is not None]
    inversion_pairs, *method_pairs = split_options(options, InversionOptions, *apply_classes)
    settings = parse_options(InversionOptions, inversion_pairs)
    method_inputs: dict = {}
    for cls, pairs in zip(apply_classes, method_pairs, strict=True):
        method_inputs.update(vars(parse_options(cls, pairs)) if pairs else {})
    finder = FaceFinder(landmarks, detector, model.name)
    face_template = template or template_for(model)
    suffixes = ("_sweep.png", "_sweep.gif") if strengths else (None, "_compare.png")
    content = {"backend_fingerprint": model.fingerprint, "edit_files": [sha256_file(edit.path) for edit in loaded]}
    if landmarks is not None:
        content["landmarks_file"] = sha256_file(landmarks)
    manifest = Manifest.open(out_dir / MANIFEST_NAME, "apply", run_settings(**content), fresh=force)
    for item in items:
        if not manifest.done(item):
            check_writable(out_dir / f"{item.name}{suffixes[-1]}", force)

    def invert(texts: list[str], progress) -> list:
        return [subject.ws for subject in prepare_subjects(model, parse_inputs(texts), settings, progress)]

    def draw(worker: Backend, unit: EditUnit) -> list:
        """One unit's pictures, drawn on `worker`: this process's backend, or a Ray worker's."""
        if strengths:
            return unit.sweep_writers(worker, sweeps, method_inputs, frame_transforms)
        with applied(worker, transform):
            return unit.writers(worker, plan, method_inputs)

    with progress_bar("reading inputs of the edits", quiet or json_output) as progress:
        method_inputs.update(resolve_values(wanted, declared, model, invert, progress))
    stages = [
        ReadPhotos(align, finder, face_template, face, model.resolution, crop_only, output_format == "same"),
        InvertUnits(settings),
        RenderUnits(draw, out_dir, suffixes),
        WriteOutputs(force),
    ]
    with progress_bar("editing", quiet or json_output) as progress:
        batch = run_batch(run_engine, model, items, stages, manifest, settings.batch, progress)
    if batch.skipped:
        note(f"{batch.skipped} of {len(items)} inputs done by an earlier run ({manifest.path}).", quiet or json_output)
    report = [result for item in items for result in manifest.entries.get(item.name, {}).get("results", [])]
    if json_output:
        failed = [vars(failure) for failure in batch.failures]
        edits = [[i.edit.name, i.strength] for i in plan]
        emit_json({"backend": model.name, "edits": edits, "results": report, "failed": failed})
    elif not quiet:
        for entry in report:
            quality = f" (inversion PSNR {entry['psnr']:.1f} dB)" if entry["psnr"] is not None else ""
            out().print(f"{entry['input']}{quality}: {', '.join(entry['files'])}", highlight=False)
    fail_if_any(batch.failures, len(items), manifest.path)


OWN_FLAGS = PluginCommand(apply, dict).own_names()
apply_command = PluginCommand(apply, apply_params)
