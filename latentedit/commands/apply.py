"""`latentedit apply`: edit images (inverted) or generated samples with one or more edits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.commands.common import BackendOpt, DeviceOpt, ForceOpt, JsonOpt, OptionsOpt, QuietOpt
from latentedit.commands.photo_options import PHOTOS, AlignOpt, DetectorOpt, FaceOpt, LandmarksOpt, TemplateOpt
from latentedit.commands.plugin_params import Declared, PluginCommand, flags_given, merge, refuse_unused, resolve_values
from latentedit.commands.transform_options import RotateOpt, SweepRotateOpt, SweepTranslateOpt, TranslateOpt, given
from latentedit.console import emit_json, out, progress_bar
from latentedit.errors import LatentEditError
from latentedit.options import finite_number


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
    inversion settings (e.g. steps=500) or the edit method's apply settings (local style: mode,
    epsilon, rho). The methods of the installed plugins add their own inputs ("Method inputs").
    StyleGAN3 backends draw the results moved or turned with --translate/--rotate, and a sweep can
    animate the move alongside the edit (--sweep-translate/--sweep-rotate: the last frame's).
    """
    from latentedit.editing import plan_edits, prepare_subjects
    from latentedit.edits import Edit
    from latentedit.fileio import atomic_write_group, check_writable
    from latentedit.input_transform import applied, requested, require_support
    from latentedit.input_transform import sweep as sweep_transforms
    from latentedit.inputs import parse_inputs, parse_strength_range
    from latentedit.inversion import InversionOptions
    from latentedit.loaders import load_backend
    from latentedit.options import parse_options, split_options
    from latentedit.photos import FaceFinder, invert_units, open_photo, plan_units, template_for
    from latentedit.store import resolve_edit

    if output_format not in ("png", "same"):
        raise LatentEditError(f"--format {output_format!r}: expected png or same.")
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
    finder = FaceFinder(landmarks, detector)
    face_template = template or template_for(model.name)
    photos = {
        item.name: open_photo(item.path, align, model.resolution, finder, face_template, face)
        for item in items
        if item.path is not None
    }
    units = plan_units(items, photos, crop_only, output_format == "same")
    suffixes = ("_sweep.png", "_sweep.gif") if strengths else (None, "_compare.png")
    targets = {
        unit.name: [
            check_writable(out_dir / f"{unit.name}{suffix or unit.edited_suffix}", force) for suffix in suffixes
        ]
        for unit in units
    }

    def invert(texts: list[str], progress) -> list:
        return [subject.ws for subject in prepare_subjects(model, parse_inputs(texts), settings, progress)]

    with progress_bar("reading inputs of the edits", quiet or json_output) as progress:
        method_inputs.update(resolve_values(wanted, declared, model, invert, progress))
    with progress_bar("inverting", quiet or json_output) as progress:
        invert_units(model, units, settings, progress)
    report = []
    for unit in units:
        first, second = targets[unit.name]
        if strengths:
            writers = unit.sweep_writers(model, sweeps, method_inputs, frame_transforms)
        else:
            with applied(model, transform):
                writers = unit.writers(model, plan, method_inputs)
        files = atomic_write_group(list(zip((first, second), writers, strict=True)), force)  # both or neither
        report.append(unit.describe() | {"files": [str(path) for path in files]})
    if json_output:
        emit_json({"backend": model.name, "edits": [[i.edit.name, i.strength] for i in plan], "results": report})
    elif not quiet:
        for entry in report:
            quality = f" (inversion PSNR {entry['psnr']:.1f} dB)" if entry["psnr"] is not None else ""
            out().print(f"{entry['input']}{quality}: {', '.join(entry['files'])}", highlight=False)


OWN_FLAGS = PluginCommand(apply, dict).own_names()
apply_command = PluginCommand(apply, apply_params)
