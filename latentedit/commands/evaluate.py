"""`latentedit evaluate`: how well edits work, measured by the backend's scorer."""

from __future__ import annotations

from typing import Annotated

import typer

from latentedit.commands.common import BackendOpt, DeviceOpt, JsonOpt, QuietOpt
from latentedit.console import emit_json, out, progress_bar
from latentedit.evaluate import EVALUATION_SEED


def evaluate_command(
    directions: Annotated[list[str], typer.Option("--dir", "-d", help="Edit name or file (repeatable).")],
    samples: Annotated[int, typer.Option("--samples", min=10, help="Generated samples to edit and re-score.")] = 2000,
    strength: Annotated[float, typer.Option("--strength", "-s", help="Strength in standard deviations.")] = 3.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the evaluation samples.")] = EVALUATION_SEED,
    backend: BackendOpt = "embedded",
    device: DeviceOpt = "cpu",
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Re-scoring matrix: the mean change of every attribute (column) under each edit (row).

    Changes are fractions of each attribute's range (binary: probability). Also reports
    identity: pixel MSE and how much of the part map changes outside the edited attribute's parts.
    """
    from latentedit.backend import load_backend
    from latentedit.edits import Edit, check_strength
    from latentedit.evaluate import rescore
    from latentedit.labels import scorer_for
    from latentedit.store import resolve_edit

    check_strength(strength)
    model = load_backend(backend, device)
    edits = [Edit.load(resolve_edit(name, model.name)) for name in directions]
    for edit in edits:
        edit.check_backend(model)
    scorer = scorer_for(model)
    segmenter = scorer_for(model, kind="segmenter", required=False)
    with progress_bar("evaluating", quiet or json_output) as progress:
        report = rescore(model, edits, scorer, segmenter, samples, strength, seed, progress=progress)
    if json_output:
        emit_json(report)
        return
    from rich.table import Table

    columns = list(scorer.columns)
    table = Table("edit", *columns, "pixel MSE", title=f"Re-scoring at strength {strength} ({samples} samples)")
    for name, cells in report["rescoring"].items():
        target = next((e.attribute for e in edits if e.name == name), "")
        shown = [f"[bold]{cells[c]:+.3f}[/bold]" if c == target else f"{cells[c]:+.3f}" for c in columns]
        table.add_row(name, *shown, f"{report['identity'][name]['pixel_mse']:.4f}")
    out().print(table)
    out().print(report["units"])
