"""`latentedit directions label`: local style's own command, added through `register_commands`."""

from __future__ import annotations

from typing import Annotated

import typer

from latentedit.api import BackendOpt, JsonOpt, emit_json, out, resolve_edit


def label_command(
    name: Annotated[str, typer.Argument(help="A catalog edit (localstyle) by name or path.")],
    labels: Annotated[list[str], typer.Argument(help="NAME=IDS pairs, e.g. eyes=2,5 mouth=3 (empty IDS removes).")],
    backend: BackendOpt = "embedded",
    json_output: JsonOpt = False,
) -> None:
    """Name a catalog's clusters so `apply --region NAME` can use them."""
    from latentedit.methods.localstyle_labels import label_clusters, parse_label

    path = resolve_edit(name, backend)
    current = label_clusters(path, dict(parse_label(text) for text in labels))
    if json_output:
        emit_json(current)
        return
    out().print(", ".join(f"{region}: {'+'.join(map(str, ids))}" for region, ids in current.items()) or "No labels.")
