"""`latentedit evaluate`: how well edits work, measured by the backend's scorer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from latentedit.commands.common import MAX_SEED, BackendOpt, DeviceOpt, ForceOpt, JsonOpt, QuietOpt
from latentedit.commands.plugin_params import Declared, PluginCommand, flags_given, merge, refuse_unused
from latentedit.console import emit_json, out, progress_bar
from latentedit.errors import LatentEditError
from latentedit.evaluate import EVALUATION_SEED

if TYPE_CHECKING:
    from latentedit.method import Analysis


def registered_analyses() -> dict[str, Analysis]:
    """Every analysis the registered methods add, by name (the first registration of a name wins)."""
    from latentedit.plugins import get_plugins

    found: dict[str, Analysis] = {}
    for entry in get_plugins().methods:
        for analysis in entry.value.analyses:
            found.setdefault(analysis.name, analysis)
    return found


def analysis_params() -> dict[str, Declared]:
    """Each analysis as a flag (``--locality``) plus the flags it takes, in one "Analyses" panel."""
    from latentedit.method import Param
    from latentedit.plugins import get_plugins

    rows = []
    for entry in get_plugins().methods:
        for analysis in entry.value.analyses:
            rows.append((entry.plugin, entry.name, "Analyses", Param(analysis.name, analysis.help, kind="flag")))
            rows.extend((entry.plugin, analysis.flag, "Analyses", param) for param in analysis.params)
    return merge(rows, OWN_FLAGS)


def evaluate(
    directions: Annotated[list[str], typer.Option("--dir", "-d", help="Edit name or file (repeatable).")],
    samples: Annotated[int, typer.Option("--samples", min=10, help="Generated samples to edit and re-score.")] = 2000,
    strength: Annotated[float, typer.Option("--strength", "-s", help="Strength in standard deviations.")] = 3.0,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=MAX_SEED, help="Seed of the evaluation samples.")
    ] = EVALUATION_SEED,
    force: ForceOpt = False,
    backend: BackendOpt = "embedded",
    device: DeviceOpt = "cpu",
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    extras: dict | None = None,
) -> None:
    """Re-scoring matrix: the mean change of every attribute (column) under each edit (row).

    Changes are fractions of each attribute's range (binary: probability). Also reports
    identity: pixel MSE and how much of the part map changes outside the edited attribute's parts.
    Methods add analyses of their own (listed under "Analyses"); one runs instead of the matrix.
    """
    from latentedit.editing import plan_edits
    from latentedit.edits import Edit
    from latentedit.evaluate import rescore
    from latentedit.labels import scorer_for
    from latentedit.loaders import load_backend
    from latentedit.store import resolve_edit

    declared = analysis_params()
    wanted = flags_given(extras or {})
    analyses = registered_analyses()
    chosen = [analyses[name] for name in wanted if name in analyses]
    if len(chosen) > 1:
        raise LatentEditError(f"Choose one analysis at a time, not {' and '.join(a.flag for a in chosen)}.")
    usable = {chosen[0].name, *(param.name for param in chosen[0].params)} if chosen else set()
    refuse_unused(wanted, declared, usable, "give that analysis too" if not chosen else f"not of {chosen[0].flag}")
    model = load_backend(backend, device)
    edits = [Edit.load(resolve_edit(name, model.name)) for name in directions]
    plan_edits(model, [(edit, strength) for edit in edits])
    if chosen:
        _run_analysis(chosen[0], model, edits, wanted, samples, strength, seed, force, json_output, quiet)
        return
    scorer = scorer_for(model)
    segmenter = scorer_for(model, kind="segmenter", required=False)
    with progress_bar("evaluating", quiet or json_output) as progress:
        report = rescore(model, edits, scorer, segmenter, samples, strength, seed, progress=progress)
    if json_output:
        emit_json(report)
        return
    targets = {edit.name: edit.attribute for edit in edits}
    out().print(rescoring_table(report, list(scorer.columns), targets, out().width))
    out().print(report["units"])


def _run_analysis(
    analysis: Analysis,
    model: Any,
    edits: list,
    wanted: dict[str, Any],
    samples: int,
    strength: float,
    seed: int,
    force: bool,
    json_output: bool,
    quiet: bool,
) -> None:
    """Run a method's analysis and show its report: JSON, or its table where it has one."""
    from latentedit.lazy import resolve

    params = {name: value for name, value in wanted.items() if name != analysis.name}
    with progress_bar(analysis.name.replace("_", " "), quiet or json_output) as progress:
        report = resolve(analysis.run)(
            model, edits, progress=progress, samples=samples, strength=strength, seed=seed, force=force, **params
        )
    if json_output:
        emit_json(report)
        return
    if not analysis.table:
        out().print_json(data=report)
        return
    from rich.table import Table

    layout = resolve(analysis.table)(report)
    table = Table(*layout["columns"], title=layout.get("title"), caption=layout.get("caption"))
    for row in layout["rows"]:
        table.add_row(*(str(cell) for cell in row))
    out().print(table)


def rescoring_table(report: dict, columns: list[str], targets: dict[str, str], width: int) -> Any:
    """Edits as rows and attributes as columns, as the papers print it; transposed when that
    does not fit the terminal (15 attributes need ~150 columns), so every number stays readable."""
    from rich.table import Table

    names = list(report["rescoring"])
    title = f"Re-scoring at strength {report['strength']} ({report['samples']} samples)"
    identity_rows = sorted({key for metrics in report["identity"].values() for key in metrics})

    def cell(name: str, column: str) -> str:
        value = f"{report['rescoring'][name][column]:+.3f}"
        return f"[bold]{value}[/bold]" if targets.get(name) == column else value

    def identity_cell(name: str, key: str) -> str:
        return f"{report['identity'][name].get(key, float('nan')):.4f}"

    wide_width = max(len(n) for n in names) + sum(max(len(c), 6) + 3 for c in [*columns, *identity_rows]) + 4
    if wide_width <= width:
        table = Table("edit", *columns, *identity_rows, title=title)
        for name in names:
            table.add_row(name, *(cell(name, c) for c in columns), *(identity_cell(name, k) for k in identity_rows))
        return table
    table = Table("attribute", *names, title=title, caption="(attributes as rows to fit the terminal)")
    for column in columns:
        table.add_row(column, *(cell(name, column) for name in names))
    table.add_section()
    for key in identity_rows:
        table.add_row(key, *(identity_cell(name, key) for name in names))
    return table


OWN_FLAGS = PluginCommand(evaluate, dict).own_names()
evaluate_command = PluginCommand(evaluate, analysis_params)
