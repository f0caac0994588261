"""`latentedit apply`: edit images (inverted) or generated samples with one or more edits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.commands.common import BackendOpt, DeviceOpt, ForceOpt, JsonOpt, OptionsOpt, QuietOpt
from latentedit.commands.plugin_params import Declared, PluginCommand, flags_given, merge, refuse_unused, resolve_values
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
    NAME_sweep.png and NAME_sweep.gif. Options (-o) are inversion settings (e.g. steps=500) or
    the edit method's apply settings (local style: mode, epsilon, rho). The methods of the
    installed plugins add their own inputs (listed under "Method inputs").
    """
    import numpy as np

    from latentedit.editing import plan_edits, prepare_subjects, render
    from latentedit.edits import Edit
    from latentedit.fileio import atomic_write_group, check_writable
    from latentedit.images import gif_writer, grid, png_writer
    from latentedit.inputs import parse_inputs, parse_strength_range
    from latentedit.inversion import InversionOptions
    from latentedit.loaders import load_backend
    from latentedit.options import parse_options, split_options
    from latentedit.store import resolve_edit

    items = parse_inputs(inputs)
    chosen = [parse_dir(text) for text in directions]
    strengths = parse_strength_range(sweep) if sweep else None
    if strengths and len(chosen) != 1:
        raise LatentEditError("--sweep takes exactly one --dir.")
    model = load_backend(backend, device)
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
    suffixes = ("_sweep.png", "_sweep.gif") if strengths else ("_edited.png", "_compare.png")
    targets = {
        item.name: [check_writable(out_dir / f"{item.name}{suffix}", force) for suffix in suffixes] for item in items
    }

    def invert(texts: list[str], progress) -> list:
        return [subject.ws for subject in prepare_subjects(model, parse_inputs(texts), settings, progress)]

    with progress_bar("reading inputs of the edits", quiet or json_output) as progress:
        method_inputs.update(resolve_values(wanted, declared, model, invert, progress))
    with progress_bar("inverting", quiet or json_output) as progress:
        subjects = prepare_subjects(model, items, settings, progress)
    report = []
    for subject in subjects:
        first, second = targets[subject.name]
        if strengths:
            frames = [render(model, subject, frame_plan, **method_inputs) for frame_plan in sweeps]
            writers = [png_writer(grid(np.stack(frames), columns=len(frames), pad=2)), gif_writer(frames)]
        else:
            edited = render(model, subject, plan, **method_inputs)
            panels = [panel for panel in (subject.source, render(model, subject, []), edited) if panel is not None]
            writers = [png_writer(edited), png_writer(grid(np.stack(panels), columns=len(panels), pad=2))]
        files = atomic_write_group(list(zip((first, second), writers, strict=True)), force)  # both or neither
        report.append({"input": subject.name, "psnr": subject.psnr, "files": [str(path) for path in files]})
    if json_output:
        emit_json({"backend": model.name, "edits": [[i.edit.name, i.strength] for i in plan], "results": report})
    elif not quiet:
        for entry in report:
            quality = f" (inversion PSNR {entry['psnr']:.1f} dB)" if entry["psnr"] is not None else ""
            out().print(f"{entry['input']}{quality}: {', '.join(entry['files'])}")


OWN_FLAGS = PluginCommand(apply, dict).own_names()
apply_command = PluginCommand(apply, apply_params)
