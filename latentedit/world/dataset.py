"""Writing renderer faces to disk: PNGs, part masks and a labels.csv, or before/after pairs."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from latentedit.fileio import atomic_write_bytes
from latentedit.progress import Progress, no_progress
from latentedit.world.attributes import ATTRIBUTES, Record
from latentedit.world.query import faces, pair_for, parse_where


def _png(array: Any) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_face(folder: Path, masks: Path, record: Record) -> str:
    from latentedit.world.render import render

    image, parts = render(record)
    name = f"{record['seed']}.png"
    atomic_write_bytes(folder / name, _png(image))
    atomic_write_bytes(masks / name, _png(parts))
    return name


def write_faces(
    out_dir: Path, *, n: int, seed: int, where: str = "", pairs: str = "", progress: Progress = no_progress
) -> dict[str, Any]:
    """Render `n` faces (or `n` pairs when `pairs` names an attribute) from `seed` on.

    Masks are 8-bit PNGs of part ids (see `latentedit.world.render.PARTS`). labels.csv has one
    row per face (per pair: the original's attributes plus ``<ATTR>_modified``).
    """
    condition = parse_where(where)
    columns = ["file", "seed", *ATTRIBUTES]
    rows: list[dict[str, Any]] = []
    if pairs:
        columns.append(f"{pairs}_modified")
        accept = lambda record: condition(record) and pair_for(record, pairs) is not None  # noqa: E731
    else:
        accept = condition
    for index, record in enumerate(faces(seed, accept, n)):
        row = {key: record[key] for key in columns if key in record}
        if pairs:
            modified = pair_for(record, pairs)
            row["file"] = _write_face(out_dir / "original", out_dir / "masks" / "original", record)
            _write_face(out_dir / "modified", out_dir / "masks" / "modified", modified)
            row[f"{pairs}_modified"] = modified[pairs]
        else:
            row["file"] = _write_face(out_dir, out_dir / "masks", record)
        rows.append(row)
        progress(index + 1, n)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    labels = atomic_write_bytes(out_dir / "labels.csv", buffer.getvalue().encode())
    return {"count": len(rows), "labels": str(labels), "first_seed": seed, "pairs": pairs or None, "where": where}
