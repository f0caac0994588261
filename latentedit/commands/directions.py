"""`latentedit directions list|show|rm`: the store of learned edits."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from latentedit.commands.common import BackendOpt, JsonOpt
from latentedit.commands.interop import export_command, import_command
from latentedit.console import emit_json, out
from latentedit.edits import read_header
from latentedit.errors import EditFileError
from latentedit.store import home, list_edits, resolve_edit

app = typer.Typer(help="List, inspect and remove learned edits (directions).", no_args_is_help=True)


@app.command("list")
def list_command(
    backend: Annotated[str | None, typer.Option("--backend", "-b", help="Only edits of this backend.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """List stored edits (reads file headers only, so it is instant)."""
    rows = [
        {
            "name": item.name,
            "backend": item.backend_dir,
            "method": item.metadata.get("method", ""),
            "attribute": item.metadata.get("attribute", ""),
            "space": item.metadata.get("space", ""),
            "created": item.metadata.get("created", ""),
            "path": str(item.path),
            "error": item.metadata.get("error", ""),
        }
        for item in list_edits(backend)
    ]
    if json_output:
        emit_json(rows)
        return
    from rich.table import Table
    from rich.text import Text

    table = Table("name", "backend", "method", "attribute", "space", "created")
    for row in rows:  # cells as plain Text: names and metadata come from the files, never markup
        method = Text(row["error"], style="red") if row["error"] else Text(row["method"])
        cells = [Text(row[key]) for key in ("name", "backend", "attribute", "space", "created")]
        table.add_row(*cells[:2], method, *cells[2:])
    out().print(table if rows else "No stored edits yet. Make one with `latentedit discover`.")


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="Edit name or path to an edit file.")],
    backend: BackendOpt = "embedded",
    json_output: JsonOpt = False,
) -> None:
    """Show an edit's metadata, metrics and tensors (header only)."""
    path = resolve_edit(name, backend)
    metadata, tensors = read_header(path)
    document = {
        "path": str(path),
        "metadata": {key: _maybe_json(value) for key, value in metadata.items()},
        "tensors": {key: {"dtype": info["dtype"], "shape": info["shape"]} for key, info in tensors.items()},
    }
    if json_output:
        emit_json(document)
        return
    from rich.table import Table
    from rich.text import Text

    table = Table("field", "value", show_header=False)  # values as plain Text: they come from the file
    table.add_row("path", Text(str(path)))
    for key, value in metadata.items():
        table.add_row(Text(key), Text(value))
    for key, info in document["tensors"].items():
        table.add_row(Text(f"tensor {key}"), Text(f"{info['dtype']} {info['shape']}"))
    out().print(table)


@app.command("rm")
def rm_command(
    name: Annotated[str, typer.Argument(help="Edit name or path to an edit file.")],
    backend: BackendOpt = "embedded",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a stored edit (a corrupt one in the store too; outside it, only an edit file)."""
    path = resolve_edit(name, backend)
    problem = ""
    try:
        read_header(path)
    except EditFileError as exc:
        if not path.resolve().is_relative_to(home().resolve()):
            raise
        problem = f" ({exc})"
    if not yes and not typer.confirm(f"Delete {path}{problem}?"):
        raise typer.Exit(1)
    path.unlink()
    out().print(f"Removed {path}", markup=False)


def _maybe_json(value: str) -> object:
    try:
        return json.loads(value) if value[:1] in "{[" else value
    except json.JSONDecodeError:
        return value


app.command("import")(import_command)
app.command("export")(export_command)
