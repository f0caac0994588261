"""`latentedit directions import|export`: other tools' direction files in and out (latentedit.interop)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.commands.common import BackendOpt, DeviceOpt, ForceOpt, JsonOpt, QuietOpt, SeedOpt
from latentedit.console import emit_json, out, progress_bar
from latentedit.interop.registry import AUTO, EXPORT_FORMATS, IMPORT_FORMATS

ImportOptionsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--option",
        "-o",
        metavar="KEY=VALUE",
        help="space=z|w|w+, layers=a-b, component=i, samples=N (repeatable); see docs/interop.md.",
    ),
]


def import_command(
    file: Annotated[Path, typer.Argument(help="A direction file from another tool: .npy, .npz, .pt or .pkl.")],
    backend: BackendOpt = "embedded",
    name: Annotated[
        str | None, typer.Option("--name", help="Store the edit under this name (default: from the file name).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help=f"Layout of FILE: {AUTO} (detect) or {', '.join(IMPORT_FORMATS.names())}.")
    ] = AUTO,
    options: ImportOptionsOpt = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="Write the edit here instead of the store.")] = None,
    device: DeviceOpt = "cpu",
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Import another tool's direction (InterFaceGAN, e4e, GANSpace, SeFa, ...) as a calibrated edit.

    Reads FILE without running code, checks it against the backend and measures its strength unit there.
    """
    from latentedit.fileio import check_writable
    from latentedit.interop import ImportOptions, import_direction
    from latentedit.loaders import load_backend
    from latentedit.options import parse_options
    from latentedit.store import edit_path

    parsed = parse_options(ImportOptions, options)
    model = load_backend(backend, device)
    if out_path is not None:
        check_writable(out_path, force)
    elif name is not None:
        check_writable(edit_path(name, model.name), force)
    with progress_bar("import: calibrating strength", quiet or json_output) as progress:
        edit = import_direction(file, model, fmt=fmt, name=name, options=parsed, seed=seed, progress=progress)
    path = edit.save(out_path or edit_path(edit.name, model.name), force=force)
    if json_output:
        emit_json({"name": edit.name, "path": str(path), "metadata": edit.metadata()})
    elif not quiet:
        source = edit.provenance
        out().print(
            f"Imported {file} ({source['source_format']}, {edit.space}, layers {source['layers']}) as edit "
            f"[bold]{edit.name}[/bold] to {path}\nstrength_unit={edit.metrics['strength_unit']:.4g} "
            f"sha256={source['source_sha256'][:16]}…",
            highlight=False,
        )


def export_command(
    name: Annotated[str, typer.Argument(help="Edit name or path to an edit file.")],
    fmt: Annotated[str, typer.Option("--format", help=f"Layout to write: {', '.join(EXPORT_FORMATS.names())}.")],
    out_file: Annotated[Path, typer.Option("--out", help="The file to write.")],
    backend: BackendOpt = "embedded",
    force: ForceOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Write a vector edit in another tool's layout (InterFaceGAN .npy, e4e .pt, GANSpace-style .npz)."""
    from latentedit.edits import Edit
    from latentedit.interop import export_direction, import_command
    from latentedit.store import resolve_edit

    edit = Edit.load(resolve_edit(name, backend))
    path = export_direction(edit, fmt, out_file, force=force)
    again = import_command(edit, fmt, path)
    if json_output:
        emit_json({"name": edit.name, "path": str(path), "format": fmt, "space": edit.space, "import_command": again})
        return
    out().print(f"Wrote {edit.name} ({edit.method}, {edit.space}) as {fmt} to {path}", highlight=False)
    out().print(f"Re-import: {again}", highlight=False, soft_wrap=True)
