"""`latentedit apply`: edit images (inverted) or generated samples with one or more edits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.commands.common import BackendOpt, DeviceOpt, ForceOpt, JsonOpt, OptionsOpt, QuietOpt
from latentedit.console import emit_json, out, progress_bar
from latentedit.errors import LatentEditError
from latentedit.options import finite_number


def parse_dir(text: str) -> tuple[str, float | None]:
    """``smile`` -> (smile, None: the default strength); ``smile=-2`` -> (smile, -2.0)."""
    name, sep, raw = text.rpartition("=")
    if not sep:
        return text, None
    return name, finite_number(raw, f"--dir {text!r} (NAME=STRENGTH): strength")


def apply_command(
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
    orthogonal_to: Annotated[
        list[str] | None, typer.Option("--orthogonal-to", help="Keep these edits' attributes unchanged (vector edits).")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Local-style edits: image or seed:N whose region style is copied.")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Local-style edits: region name, e.g. eyes.")] = None,
    attr: Annotated[
        list[str] | None,
        typer.Option("--attr", help="W* edits: attribute to move, NAME[:STRENGTH] (repeatable: composes in W*)."),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("edited"),
    options: OptionsOpt = None,
    backend: BackendOpt = "embedded",
    device: DeviceOpt = "cpu",
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Apply learned edits to photos (inverted first, cached) or to generated samples.

    Writes NAME_edited.png and NAME_compare.png (input | reconstruction | edit); with --sweep,
    NAME_sweep.png and NAME_sweep.gif. Options (-o) are inversion settings (e.g. steps=500) or
    the edit method's apply settings (local style: mode, epsilon, rho).
    """
    import math

    import numpy as np

    from latentedit.backend import load_backend
    from latentedit.editing import prepare_subjects, render
    from latentedit.edits import Edit, check_strength
    from latentedit.fileio import check_writable
    from latentedit.images import grid, save_gif, save_png
    from latentedit.inputs import parse_inputs, parse_strength_range
    from latentedit.inversion import InversionOptions
    from latentedit.options import parse_options, split_options
    from latentedit.plugins import get_plugins
    from latentedit.store import resolve_edit

    if strength is not None and not math.isfinite(strength):
        raise LatentEditError(f"--strength {strength} is not a finite number.")
    items = parse_inputs(inputs)
    chosen = [parse_dir(text) for text in directions]
    strengths = parse_strength_range(sweep) if sweep else None
    if strengths and len(chosen) != 1:
        raise LatentEditError("--sweep takes exactly one --dir.")
    model = load_backend(backend, device)
    methods = get_plugins().methods
    loaded = [Edit.load(resolve_edit(name, model.name)) for name, _ in chosen]
    classes = [methods.get(edit.method) for edit in loaded]
    edits = [
        (edit, value if value is not None else strength if strength is not None else cls.default_strength)
        for edit, cls, (_, value) in zip(loaded, classes, chosen, strict=True)
    ]
    for edit, value in edits:
        edit.check_backend(model)
        check_strength(value)
    for value in strengths or []:
        check_strength(value)
    apply_classes = list(dict.fromkeys(cls.ApplyOptions for cls in classes if cls.ApplyOptions is not None))
    inversion_pairs, *method_pairs = split_options(options, InversionOptions, *apply_classes)
    settings = parse_options(InversionOptions, inversion_pairs)
    inputs_for_methods: dict = {}
    for cls, pairs in zip(apply_classes, method_pairs, strict=True):
        inputs_for_methods.update(vars(parse_options(cls, pairs)) if pairs else {})
    inputs_for_methods["orthogonal_to"] = [Edit.load(resolve_edit(name, model.name)) for name in orthogonal_to or []]
    wanted = {name for cls in classes for name in cls.apply_inputs}
    for flag, value in (("reference", reference), ("region", region)):
        if value is not None and flag not in wanted:
            raise LatentEditError(f"--{flag} is for edits that transfer a region (local style); none of these does.")
    if region is not None:
        inputs_for_methods["region"] = region
    if attr:
        from latentedit.methods.wstar import parse_attr_option

        if not any(edit.method == "wstar" for edit in loaded):
            raise LatentEditError("--attr selects attributes of a W* edit (method wstar); none of these is one.")
        inputs_for_methods["attr"] = parse_attr_option(attr)
    suffixes = ("_sweep.png", "_sweep.gif") if strengths else ("_edited.png", "_compare.png")
    targets = {
        item.name: [check_writable(out_dir / f"{item.name}{suffix}", force) for suffix in suffixes] for item in items
    }
    if reference is not None:
        with progress_bar("inverting the reference", quiet or json_output) as progress:
            [source] = prepare_subjects(model, parse_inputs([reference])[:1], settings, progress)
        inputs_for_methods["reference"] = source.ws
    with progress_bar("inverting", quiet or json_output) as progress:
        subjects = prepare_subjects(model, items, settings, progress)
    report = []
    for subject in subjects:
        first, second = targets[subject.name]
        if strengths:
            frames = [render(model, subject, [(edits[0][0], value)], **inputs_for_methods) for value in strengths]
            files = [
                save_png(grid(np.stack(frames), columns=len(frames), pad=2), first, force),
                save_gif(frames, second, force),
            ]
        else:
            edited = render(model, subject, edits, **inputs_for_methods)
            panels = [panel for panel in (subject.source, render(model, subject, []), edited) if panel is not None]
            files = [
                save_png(edited, first, force),
                save_png(grid(np.stack(panels), columns=len(panels), pad=2), second, force),
            ]
        report.append({"input": subject.name, "psnr": subject.psnr, "files": [str(path) for path in files]})
    if json_output:
        emit_json({"backend": model.name, "edits": [[e.name, s] for e, s in edits], "results": report})
    elif not quiet:
        for entry in report:
            quality = f" (inversion PSNR {entry['psnr']:.1f} dB)" if entry["psnr"] is not None else ""
            out().print(f"{entry['input']}{quality}: {', '.join(entry['files'])}")
