"""Where labels come from: the backend's registered scorer, or a CSV the user brings.

A CSV has a header and two columns, ``key,score``: the key is a seed (an integer, for
generated samples) or an image path (inverted on the way); the score is a number.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import LatentEditError

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


def read_label_csv(path: Path) -> tuple[list[int], list[Path], dict[str, float]]:
    """(seeds, image paths, key -> score) from a ``key,score`` CSV; one clear error per bad row."""
    if not path.is_file():
        raise LatentEditError(f"Labels file {path} not found.")
    seeds: list[int] = []
    images: list[Path] = []
    scores: dict[str, float] = {}
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if len(rows) < 2:
        raise LatentEditError(f"{path}: expected a header and at least one 'key,score' row.")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) < 2:
            raise LatentEditError(f"{path}, line {number}: expected 'key,score'.")
        key, raw = row[0].strip(), row[1].strip()
        try:
            score = float(raw)
        except ValueError:
            raise LatentEditError(f"{path}, line {number}: score {raw!r} is not a number.") from None
        if not math.isfinite(score):
            raise LatentEditError(f"{path}, line {number}: score {raw!r} is not finite.")
        if key.isdigit():
            seeds.append(int(key))
        else:
            image = Path(key) if Path(key).is_absolute() else path.parent / key
            images.append(image)
            key = str(image)
        scores[key] = score
    return seeds, images, scores
