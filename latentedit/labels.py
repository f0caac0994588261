"""Where labels come from: the backend's registered scorer, or a CSV the user brings.

A CSV has a header and a key column, then one score column (``key,score``) or one per
attribute (``key,smile,glasses``): the key is a seed (an integer, for generated samples) or
an image path relative to the CSV (inverted on the way); scores are finite numbers.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import LatentEditError
from latentedit.options import finite_number

if TYPE_CHECKING:
    from latentedit.backend import Backend


def scorer_for(backend: Backend, kind: str = "attributes", required: bool = True) -> Any:
    """The scorer (or segmenter) registered for this backend, loaded on its device.

    Without one: an error, or None when not `required`.
    """
    from latentedit.lazy import resolve
    from latentedit.plugins import get_plugins

    scheme = backend.name.partition(":")[0]
    for entry in get_plugins().scorers:
        if entry.value.backend == scheme and entry.value.kind == kind:
            return resolve(entry.value.factory)(device=backend.device)
    if not required:
        return None
    what = "attribute scorer" if kind == "attributes" else "part segmenter"
    raise LatentEditError(f"Backend {backend.name} has no {what}; give labels with --labels FILE.csv.")


def check_attribute(scorer: Any, attribute: str) -> None:
    """An attribute or score column (e.g. ``hair_color=gray``) the scorer produces."""
    known = list(dict.fromkeys([*scorer.attributes, *getattr(scorer, "columns", ())]))
    if attribute not in known:
        raise LatentEditError(f"Unknown attribute {attribute!r}. The scorer knows: {', '.join(known)}.")


@dataclass
class LabelTable:
    """The rows of a labels CSV, seeds and images apart: seeds are sampled, images inverted."""

    path: Path
    columns: list[str]
    seeds: list[int] = field(default_factory=list)
    seed_rows: list[list[float]] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    image_rows: list[list[float]] = field(default_factory=list)

    def column_for(self, attribute: str) -> str:
        """The column holding `attribute`: its own, or the ``score`` column of a ``key,score`` file
        (never a column named after something else: that would learn the wrong attribute)."""
        for column in (attribute, "score"):
            if column in self.columns:
                return column
        raise LatentEditError(
            f"{self.path} has no column {attribute!r} (or 'score'); it has: {', '.join(self.columns)}."
        )

    def scores(self, column: str) -> tuple[list[float], list[float]]:
        """(scores of the seed rows, scores of the image rows) in one column."""
        index = self.columns.index(column)
        return [row[index] for row in self.seed_rows], [row[index] for row in self.image_rows]

    def provenance(self) -> dict[str, Any]:
        from latentedit.fileio import sha256_file

        rows = len(self.seeds) + len(self.images)
        return {"labels": str(self.path), "labels_sha256": sha256_file(self.path), "rows": rows}


def read_label_table(path: Path) -> LabelTable:
    """A ``key,score`` or ``key,attr1,attr2,...`` CSV with a header; one clear error per bad row."""
    if not path.is_file():
        raise LatentEditError(f"Labels file {path} not found.")
    with open(path, newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if len(rows) < 2 or len(rows[0]) < 2:
        raise LatentEditError(f"{path}: expected a header 'key,score' (or 'key,attr1,attr2,...') and at least one row.")
    table = LabelTable(path, [name.strip() for name in rows[0][1:]])
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(rows[0]):
            raise LatentEditError(f"{path}, line {number}: expected {len(rows[0])} columns, found {len(row)}.")
        key = row[0].strip()
        scores = [finite_number(raw, f"{path}, line {number}: score") for raw in row[1:]]
        if key.isdigit():
            table.seeds.append(int(key))
            table.seed_rows.append(scores)
        else:
            table.images.append(Path(key) if Path(key).is_absolute() else path.parent / key)
            table.image_rows.append(scores)
    return table
