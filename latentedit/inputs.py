"""What `apply` and `invert` accept: image files, folders of images, or ``seed:N`` samples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from latentedit.errors import BadImageError, LatentEditError
from latentedit.images import list_images


@dataclass(frozen=True)
class Input:
    """One thing to edit: an image file or a generated sample's seed; `name` names its outputs."""

    name: str
    path: Path | None = None
    seed: int | None = None


def parse_inputs(items: list[str]) -> list[Input]:
    """Expand folders, parse ``seed:N`` / ``seed:A-B``; fail on anything missing or empty."""
    inputs: list[Input] = []
    for item in items:
        if item.startswith("seed:"):
            inputs.extend(Input(f"seed{seed:04d}", seed=seed) for seed in parse_seeds(item[5:]))
            continue
        path = Path(item)
        if path.is_dir():
            inputs.extend(Input(p.stem, path=p) for p in list_images(path))
        elif path.is_file():
            inputs.append(Input(path.stem, path=path))
        else:
            raise BadImageError(f"Input {item} not found (give image files, folders, or seed:N).")
    if not inputs:
        raise LatentEditError("No inputs given.")
    names = [entry.name for entry in inputs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise LatentEditError(f"Two inputs would write the same output name: {duplicates[0]}. Rename one.")
    return inputs


def parse_seeds(text: str, limit: int = 100_000) -> list[int]:
    """'0-7' | '1,3,5' | '0-3,10' -> list of seeds, in order, checked."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            start, _, end = part.strip().partition("-")
            first, last = int(start), int(end or start)
            if last < first:
                raise ValueError(f"{part} runs backwards")
            seeds.extend(range(first, last + 1))
    except ValueError as exc:
        raise LatentEditError(f"--seeds {text!r}: expected e.g. '0-7' or '1,3,5' ({exc}).") from None
    if not seeds or len(seeds) > limit or min(seeds) < 0 or max(seeds) >= 2**32:
        raise LatentEditError(f"--seeds {text!r}: give 1..{limit} seeds between 0 and 2^32-1.")
    return seeds


def parse_strength_range(text: str) -> list[float]:
    """``-3:3:7`` -> seven strengths from -3 to 3."""
    import math

    try:
        low, high, count = text.split(":")
        values = float(low), float(high)
        steps = int(count)
    except ValueError:
        raise LatentEditError(f"--sweep {text!r}: expected FROM:TO:COUNT, e.g. -3:3:7.") from None
    if not all(math.isfinite(v) for v in values) or not 2 <= steps <= 64:
        raise LatentEditError(f"--sweep {text!r}: needs finite ends and 2..64 steps.")
    return [values[0] + (values[1] - values[0]) * index / (steps - 1) for index in range(steps)]
