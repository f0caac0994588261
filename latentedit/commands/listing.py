"""`latentedit plugins | methods [NAME] | backends`: what is installed. Never imports torch."""

from __future__ import annotations

from typing import Annotated

import typer

from latentedit.commands.common import JsonOpt
from latentedit.console import emit_json, out
from latentedit.options import describe_options
from latentedit.plugins import get_plugins


def plugins_command(json_output: JsonOpt = False) -> None:
    """List loaded plugins, the hooks they implement, and any that failed to load."""
    rows = [
        {"name": p.name, "source": p.source, "version": p.version, "hooks": p.hooks, "error": p.error}
        for p in get_plugins().info.values()
    ]
    if json_output:
        emit_json(rows)
        return
    from rich.table import Table

    table = Table("plugin", "source", "version", "hooks", "status")
    for row in rows:
        status = f"[red]broken: {row['error']}[/red]" if row["error"] else "[green]ok[/green]"
        table.add_row(row["name"], row["source"], row["version"], ", ".join(row["hooks"]), status)
    out().print(table)


def methods_command(
    name: Annotated[str | None, typer.Argument(help="Show one method's options in detail.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """List editing methods, or show one method's inputs and `-o` options."""
    registry = get_plugins().methods
    if name is not None:
        entry = registry.entry(name)
        cls = entry.value
        detail = {
            "name": cls.name,
            "summary": cls.summary,
            "space": cls.space,
            "inputs": list(cls.inputs),
            "plugin": entry.plugin,
            "options": describe_options(cls.Options),
            "apply_options": describe_options(cls.ApplyOptions) if cls.ApplyOptions is not None else [],
        }
        if json_output:
            emit_json(detail)
            return
        from rich.table import Table

        console = out()
        console.print(f"[bold]{cls.name}[/bold] ({cls.space}, from {entry.plugin}): {cls.summary}")
        if cls.inputs:
            console.print("Inputs: " + ", ".join("--" + item.replace("_", "-") for item in cls.inputs))
        for key, heading in (("options", "discover"), ("apply_options", "apply")):
            if not detail[key]:
                continue
            table = Table(f"{heading} option (-o KEY=VALUE)", "type", "default", "meaning")
            for row in detail[key]:
                table.add_row(row["name"], row["type"], row["default"], row["help"])
            console.print(table)
        return
    rows = [
        {
            "name": e.name,
            "space": e.value.space,
            "summary": e.value.summary,
            "plugin": e.plugin,
            "inputs": list(e.value.inputs),
        }
        for e in registry
    ]
    if json_output:
        emit_json(rows)
        return
    from rich.table import Table

    table = Table("method", "space", "plugin", "summary")
    for row in rows:
        table.add_row(row["name"], row["space"], row["plugin"], row["summary"])
    out().print(table)


def backends_command(json_output: JsonOpt = False) -> None:
    """List backend schemes usable with --backend."""
    rows = [
        {"scheme": e.name, "example": e.value.example, "summary": e.value.summary, "plugin": e.plugin}
        for e in get_plugins().backends
    ]
    if json_output:
        emit_json(rows)
        return
    from rich.table import Table

    table = Table("scheme", "example", "plugin", "summary")
    for row in rows:
        table.add_row(row["scheme"], row["example"], row["plugin"], row["summary"])
    out().print(table)
