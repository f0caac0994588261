"""Where labels come from, for every method: the backend's registered scorer, a CSV the user
brings, folders of images (positives, negatives) and image pairs.

A CSV has a header and a key column, then one score column (``key,score``) or one per
attribute (``key,smile,glasses``): the key is a seed (an integer, for generated samples) or
an image path relative to the CSV (inverted on the way); scores are finite numbers.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import LatentEditError
from latentedit.options import finite_number

if TYPE_CHECKING:
    import torch

    from latentedit.backend import Backend
    from latentedit.inversion import InversionOptions
    from latentedit.progress import Progress


def scorer_for(backend: Backend, kind: str = "attributes", required: bool = True, fix: str = "") -> Any:
    """The scorer (or segmenter) registered for this backend, loaded on its device.

    Without one: an error ending with `fix` (what the caller's user can do instead; by default,
    how to bring a scorer), or None when not `required`.
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
    fix = fix or "a plugin can register one with the register_scorers hook (docs/plugins.md)"
    raise LatentEditError(f"Backend {backend.name} has no {what}; {fix}.")


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


# Byte-order marks, longest first (UTF-32's LE mark begins with UTF-16's).
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
SEPARATORS = (",", ";", "\t")


def _label_text(path: Path) -> str:
    """The text of a labels file as spreadsheets save it: UTF-8, with or without a byte-order mark,
    or UTF-16/32 with one (Excel's "Unicode text"). Anything else, e.g. an image, is refused."""
    data = path.read_bytes()
    encoding = next((name for mark, name in BYTE_ORDER_MARKS if data.startswith(mark)), "utf-8")
    if encoding == "utf-8" and b"\x00" in data:
        raise LatentEditError(f"{path} is a binary file (an image?), not a CSV of 'key,score' rows.")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise LatentEditError(f"{path} is not UTF-8 or UTF-16 text; save it as 'CSV UTF-8'.") from None


def _label_separator(header: str) -> str:
    """The column separator, read from the header: the comma, or what spreadsheets write instead
    (';' where the decimal mark is a comma, a tab in "Unicode text")."""
    counts = {separator: header.count(separator) for separator in SEPARATORS}
    best = max(counts, key=lambda separator: counts[separator])
    return best if counts[best] else ","


def read_label_table(path: Path) -> LabelTable:
    """A ``key,score`` or ``key,attr1,attr2,...`` CSV with a header; one clear error per bad row.

    Separated by commas, semicolons or tabs; with ';' or tabs a decimal comma (``0,75``) is read too.
    """
    if not path.is_file():
        raise LatentEditError(f"Labels file {path} not found.")
    text = _label_text(path)
    separator = _label_separator(text.lstrip().partition("\n")[0])
    rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator) if row]
    if len(rows) < 2 or len(rows[0]) < 2:
        raise LatentEditError(f"{path}: expected a header 'key,score' (or 'key,attr1,attr2,...') and at least one row.")
    table = LabelTable(path, [name.strip() for name in rows[0][1:]])
    decimal_comma = separator != ","
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(rows[0]):
            raise LatentEditError(f"{path}, line {number}: expected {len(rows[0])} columns, found {len(row)}.")
        key = row[0].strip()
        scores = [
            finite_number(raw.replace(",", ".") if decimal_comma else raw, f"{path}, line {number}: score")
            for raw in row[1:]
        ]
        if key.isdigit():
            table.seeds.append(int(key))
            table.seed_rows.append(scores)
        else:
            table.images.append(Path(key) if Path(key).is_absolute() else path.parent / key)
            table.image_rows.append(scores)
    return table


def labelled_codes(
    backend: Backend,
    table: LabelTable,
    columns: list[str],
    space: str,
    progress: Progress,
    inversion: InversionOptions | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Codes for every row of a label table in `space`, and each column's scores in the same order.

    Seed rows go through the mapping (Z: the seed's z itself); image rows are inverted (through the
    shared cache) into W+, and averaged over layers for ``w``. Images have no Z code.
    """
    import torch

    from latentedit.inversion import invert_files

    parts = []
    if table.seeds:
        with torch.inference_mode():
            z = backend.z_for_seeds(table.seeds)
            codes = z if space == "z" else backend.mapping(z)
        parts.append((codes[:, 0] if space == "w" else codes).cpu())
    if table.images:
        if space == "z":
            raise LatentEditError(
                f"{table.path} labels images, which have no Z code (inversion gives W+); use -o space=w or w+."
            )
        inversions = invert_files(backend, table.images, inversion, progress)
        ws = torch.cat([item.ws.cpu() for item in inversions])
        parts.append(ws.mean(dim=1) if space == "w" else ws)
    rows = torch.tensor(table.seed_rows + table.image_rows, dtype=torch.float32)
    return torch.cat(parts), {column: rows[:, table.columns.index(column)] for column in columns}


def folder_codes(
    backend: Backend,
    folder: Path,
    space: str,
    progress: Progress,
    what: str,
    inversion: InversionOptions | None = None,
) -> torch.Tensor:
    """The images of a folder inverted (through the shared cache) into W+, or averaged into W."""
    import torch

    from latentedit.images import list_images
    from latentedit.inversion import invert_files

    if space == "z":
        raise LatentEditError(f"{what} {folder}: images have no Z code (inversion gives W+); use -o space=w or w+.")
    inversions = invert_files(backend, list_images(folder, what), inversion, progress)
    ws = torch.cat([item.ws.cpu() for item in inversions])
    return ws.mean(dim=1) if space == "w" else ws


def pairs_from_folder(folder: Path) -> list[tuple[Path, Path]]:
    """Pairs from ``folder/original/NAME`` and ``folder/modified/NAME`` with the same names."""
    from latentedit.images import list_images

    before, after = folder / "original", folder / "modified"
    if not before.is_dir() or not after.is_dir():
        raise LatentEditError(f"{folder} needs the subfolders original/ and modified/ with images of the same names.")
    names = [path.name for path in list_images(before)]
    missing = [name for name in names if not (after / name).is_file()]
    if missing:
        raise LatentEditError(f"{after} lacks {len(missing)} image(s) of original/, e.g. {missing[0]}.")
    return [(before / name, after / name) for name in names]
