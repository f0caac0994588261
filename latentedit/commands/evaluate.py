"""`latentedit evaluate`: how well edits work, measured by the backend's scorer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from latentedit.commands.common import BackendOpt, DeviceOpt, ForceOpt, JsonOpt, QuietOpt
from latentedit.console import emit_json, out, progress_bar
from latentedit.errors import LatentEditError
from latentedit.evaluate import EVALUATION_SEED


def evaluate_command(
    directions: Annotated[list[str], typer.Option("--dir", "-d", help="Edit name or file (repeatable).")],
    samples: Annotated[int, typer.Option("--samples", min=10, help="Generated samples to edit and re-score.")] = 2000,
    strength: Annotated[float, typer.Option("--strength", "-s", help="Strength in standard deviations.")] = 3.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the evaluation samples.")] = EVALUATION_SEED,
    locality: Annotated[
        bool, typer.Option("--locality", help="Local-style catalogs: In/Out-MSE over a λ and ε sweep (paper Fig. 7b).")
    ] = False,
    region: Annotated[str | None, typer.Option("--region", help="With --locality: the region to transfer.")] = None,
    pairs: Annotated[int, typer.Option("--pairs", min=1, help="With --locality: target/reference pairs.")] = 100,
    plot: Annotated[Path | None, typer.Option("--plot", help="With --locality: write the curves as a PNG.")] = None,
    heatmap: Annotated[
        Path | None, typer.Option("--heatmap", help="With --locality: mean CIELAB error map PNG.")
    ] = None,
    layer_response: Annotated[
        bool, typer.Option("--layer-response", help="Per-layer response r_fc of each edit (FEditNet, paper Table 3).")
    ] = False,
    separability: Annotated[
        bool, typer.Option("--separability", help="Linear SVM accuracy and DCI per attribute (W* paper, Table 1).")
    ] = False,
    space: Annotated[str, typer.Option("--space", help="With --separability: w+, wstar or both.")] = "both",
    force: ForceOpt = False,
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
    if locality:
        _locality(model, edits, region, pairs, plot, heatmap, force, json_output, quiet)
        return
    scorer = scorer_for(model)
    if layer_response:
        _layer_response(model, edits, scorer, samples, strength, seed, json_output, quiet)
        return
    if separability:
        _separability(model, edits, scorer, space, samples, json_output, quiet)
        return
    segmenter = scorer_for(model, kind="segmenter", required=False)
    with progress_bar("evaluating", quiet or json_output) as progress:
        report = rescore(model, edits, scorer, segmenter, samples, strength, seed, progress=progress)
    if json_output:
        emit_json(report)
        return
    targets = {edit.name: edit.attribute for edit in edits}
    out().print(rescoring_table(report, list(scorer.columns), targets, out().width))
    out().print(report["units"])


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


def _locality(model, edits, region, pairs, plot, heatmap, force, json_output, quiet) -> None:
    """`--locality`: the In/Out-MSE curves of one local-style catalog."""
    from latentedit.methods.localstyle_locality import locality

    if len(edits) != 1 or edits[0].method != "localstyle" or region is None:
        raise LatentEditError("--locality takes one local-style catalog (--dir) and a --region.")
    with progress_bar("locality", quiet or json_output) as progress:
        report = locality(
            model, edits[0], region, pairs=pairs, plot=plot, heatmap=heatmap, force=force, progress=progress
        )
    if json_output:
        emit_json(report)
        return
    from rich.table import Table

    table = Table("mode", "setting", "In-MSE", "Out-MSE", title=f"Locality of {edits[0].name}, region {region}")
    for mode, key in (("simultaneous", "lambda"), ("sequential", "epsilon")):
        for point in report[mode]:
            table.add_row(mode, f"{key} {point[key]:g}", f"{point['in_mse']:.2f}", f"{point['out_mse']:.2f}")
    out().print(table)
    defaults = report["defaults"]
    out().print(f"Defaults (sequential): Out/In = {defaults['out_in']}; units: {report['units']}")


def _layer_response(model, edits, scorer, samples, strength, seed, json_output, quiet) -> None:
    """`--layer-response`: r_fc per generator layer (feature contrastive loss near / far from the boundary)."""
    from latentedit.methods.feditnet_analysis import layer_response

    with progress_bar("layer response", quiet or json_output) as progress:
        ratios = {
            edit.name: layer_response(
                model, edit, scorer, samples=samples, strength=strength, seed=seed, progress=progress
            )
            for edit in edits
        }
    if json_output:
        emit_json({"layer_response": ratios, "samples": samples, "strength": strength})
        return
    from rich.table import Table

    layers = list(next(iter(ratios.values())))
    table = Table("layer", *ratios, title="r_fc: feature contrastive loss near the boundary / far from it")
    for layer in layers:
        table.add_row(layer, *(f"{ratios[name][layer]:.3f}" for name in ratios))
    out().print(table)


def _separability(model, edits, scorer, space, samples, json_output, quiet) -> None:
    """`--separability`: per-attribute SVM accuracy and DCI, in W+ and/or the W* of one edit."""
    from latentedit.methods.wstar_metrics import separability

    if len(edits) > 1 or (space != "w+" and (not edits or edits[0].method != "wstar")):
        raise LatentEditError("--separability takes at most one --dir, a W* edit (needed unless --space w+).")
    with progress_bar("separability", quiet or json_output) as progress:
        report = separability(model, edits[0] if edits else None, scorer, space, samples=samples, progress=progress)
    if json_output:
        emit_json(report)
        return
    out().print_json(data=report)
