"""`latentedit plugins | methods [NAME] | backends`: what is installed. Never imports torch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from latentedit.commands.common import JsonOpt
from latentedit.console import emit_json, out
from latentedit.options import describe_options
from latentedit.plugins import get_plugins

if TYPE_CHECKING:
    from rich.table import Table

    from latentedit.method import Param


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
    inversion: Annotated[
        bool,
        typer.Option(
            "--inversion", help="Show the inversion's -o options (apply, invert), pivotal tuning's (pti_*) included."
        ),
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """List editing methods, or show one method's inputs and `-o` options (--inversion: the inversion's)."""
    if inversion:
        _inversion_options(json_output)
        return
    registry = get_plugins().methods
    if name is not None:
        entry = registry.entry(name)
        cls = entry.value
        detail = {
            "name": cls.name,
            "summary": cls.summary,
            "space": cls.space,
            "inputs": list(cls.inputs),
            "discover_inputs": [_param_row(param) for param in cls.discover_params],
            "apply_inputs": [_param_row(param) for param in cls.apply_params],
            "analyses": [
                {"flag": a.flag, "help": a.help, "inputs": [_param_row(param) for param in a.params]}
                for a in cls.analyses
            ],
            "default_strength": cls.default_strength,
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
        shared = [{"pairs": "--pair/--pairs-dir"}.get(item, "--" + item.replace("_", "-")) for item in cls.inputs]
        own = [row["flag"] for row in detail["discover_inputs"]]
        if shared or own:
            console.print("discover inputs: " + ", ".join([*shared, *own]))
        for key, heading in (("apply_inputs", "apply inputs"), ("analyses", "evaluate analyses")):
            if detail[key]:
                console.print(f"{heading}: " + "; ".join(f"{row['flag']} ({row['help']})" for row in detail[key]))
        console.print(f"default apply strength: {cls.default_strength:g}")
        for key, heading in (("options", "discover"), ("apply_options", "apply")):
            if not detail[key]:
                continue
            console.print(_options_table(heading, detail[key]))
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


def _inversion_options(json_output: bool) -> None:
    from latentedit.inversion import InversionOptions

    rows = describe_options(InversionOptions)
    if json_output:
        emit_json(rows)
        return
    out().print(_options_table("inversion", rows))


def _options_table(heading: str, rows: list[dict[str, str]]) -> Table:
    """The `-o KEY=VALUE` options table of `describe_options` rows."""
    from rich.table import Table

    table = Table(f"{heading} option (-o KEY=VALUE)", "type", "default", "meaning")
    for row in rows:
        table.add_row(row["name"], row["type"], row["default"], row["help"])
    return table


def _param_row(param: Param) -> dict[str, str]:
    return {"flag": param.flag, "kind": param.kind, "help": param.help, "repeatable": str(param.multiple).lower()}
