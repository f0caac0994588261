"""Attribute records of the embedded world: what a face is, sampled with known correlations.

A record is a plain dict holding the semantic attributes (``ATTRIBUTES``) and the hidden
identity parameters (``NUISANCE``). The renderer is a pure function of the record, so a pair
"same face, only one attribute changed" is ``with_attribute(record, name, value)`` rendered again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np

Kind = Literal["binary", "continuous", "categorical", "integer"]
Record = dict[str, "float | int | str"]

PARTS = ("background", "skin", "hair", "eyes", "mouth", "nose", "glasses", "beard")
"""Part ids of the label maps the renderer draws (index = id)."""

HAIR_COLORS = ("black", "brown", "blond", "red", "gray")
HAIR_COLOR_PROBS = (0.25, 0.30, 0.17, 0.10, 0.18)
_HAIR_COLOR_CDF = tuple(accumulate(HAIR_COLOR_PROBS))[:-1]


@dataclass(frozen=True)
class AttributeSpec:
    """One row of a description table: how a field is encoded and what it means."""

    kind: Kind
    meaning: str
    low: float = 0.0
    high: float = 1.0
    categories: tuple[str, ...] = ()

    def validate(self, name: str, value: object) -> float | int | str:
        """Return ``value`` in the field's canonical Python type, or raise ``ValueError``."""
        if self.kind == "categorical":
            if value not in self.categories:
                raise ValueError(f"{name}={value!r} not in {self.categories}")
            return str(value)
        if isinstance(value, (str, bytes)):
            raise ValueError(f"{name}={value!r} is not a number")
        number = float(value)  # type: ignore[arg-type]
        if not self.low <= number <= self.high:
            raise ValueError(f"{name}={number} outside [{self.low}, {self.high}]")
        if self.kind in ("binary", "integer"):
            if number != int(number):
                raise ValueError(f"{name}={number} is not an integer")
            return int(number)
        return number


ATTRIBUTES: dict[str, AttributeSpec] = {
    "smile": AttributeSpec("continuous", "mouth curve: -1 frown, 0 neutral, +1 open grin", -1.0, 1.0),
    "eyes_open": AttributeSpec("continuous", "eye openness: 0 closed (a lid line) to 1 wide open"),
    "yaw": AttributeSpec(
        "continuous",
        "head turn: -1 facing image left, +1 image right; features shift, face narrows",
        -1.0,
        1.0,
    ),
    "glasses": AttributeSpec("binary", "thick-framed glasses over both eyes", 0, 1),
    "beard": AttributeSpec("binary", "full beard covering the lower face", 0, 1),
    "bangs": AttributeSpec("binary", "fringe of hair covering the forehead down to the brows", 0, 1),
    "long_hair": AttributeSpec("binary", "hair falling below the chin on both sides", 0, 1),
    "hair_color": AttributeSpec("categorical", "colour of hair, brows and beard", categories=HAIR_COLORS),
    "skin_tone": AttributeSpec("continuous", "skin colour: 0 darkest to 1 lightest"),
    "face_width": AttributeSpec("continuous", "width of the face oval: 0 narrow to 1 wide"),
    "background_hue": AttributeSpec("continuous", "hue of the flat background (HSV hue, cyclic)"),
}

NUISANCE: dict[str, AttributeSpec] = {
    "face_height": AttributeSpec("continuous", "height of the face oval"),
    "face_y": AttributeSpec("continuous", "vertical position of the head"),
    "eye_spacing": AttributeSpec("continuous", "distance between the eyes"),
    "eye_size": AttributeSpec("continuous", "size of the eyes at full openness"),
    "eye_color": AttributeSpec("integer", "iris colour index: brown, blue, green, dark", 0, 3),
    "brow_thickness": AttributeSpec("continuous", "thickness of the eyebrows"),
    "nose_size": AttributeSpec("continuous", "length and width of the nose"),
    "mouth_width": AttributeSpec("continuous", "width of the mouth"),
    "hair_shade": AttributeSpec("continuous", "brightness jitter of the hair colour, 0.5 neutral"),
    "hair_volume": AttributeSpec("continuous", "how far the hair stands above the head"),
    "beard_length": AttributeSpec("continuous", "how far a beard extends below the chin"),
    "glasses_style": AttributeSpec("integer", "frame shape: 0 round, 1 rectangular", 0, 1),
    "glasses_color": AttributeSpec("integer", "frame colour index in the contrast palette", 0, 2),
    "background_saturation": AttributeSpec("continuous", "saturation of the background"),
    "background_value": AttributeSpec("continuous", "brightness of the background"),
}

FIELDS: dict[str, AttributeSpec] = {**ATTRIBUTES, **NUISANCE}


def _bernoulli(rng: np.random.Generator, p: float) -> int:
    return int(rng.random() < p)


def sample_attributes(seed: int) -> Record:
    """Sample the full record of face ``seed``.

    One ``default_rng(seed)`` per face keeps a face independent of batch composition.
    The dependencies mimic real face data on purpose (gray hair -> glasses, short hair ->
    beard, long hair -> bangs, smiling -> narrowed eyes), moderate enough that every attribute
    stays separately learnable; docs/world.md lists the measured correlations.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    u = float(rng.random())
    hair_color = HAIR_COLORS[sum(u >= edge for edge in _HAIR_COLOR_CDF)]
    gray = hair_color == "gray"
    long_hair = _bernoulli(rng, 0.22 if gray else 0.5)
    bangs = _bernoulli(rng, 0.55 if long_hair else 0.18)
    beard = _bernoulli(rng, (0.1 if long_hair else 0.52) + (0.12 if hair_color in ("black", "gray") else 0.0))
    glasses = _bernoulli(rng, 0.72 if gray else 0.24)
    smile = float(rng.uniform(-1.0, 1.0))
    eyes_open = min(1.0, max(0.0, 0.6 - 0.19 * smile + float(rng.normal(0.0, 0.22))))
    light_hair = hair_color in ("blond", "red")
    record: Record = {
        "seed": int(seed),
        "smile": smile,
        "eyes_open": eyes_open,
        "yaw": float(rng.uniform(-1.0, 1.0)),
        "glasses": glasses,
        "beard": beard,
        "bangs": bangs,
        "long_hair": long_hair,
        "hair_color": hair_color,
        "skin_tone": float(rng.uniform(0.45, 1.0) if light_hair else rng.uniform(0.0, 1.0)),
        "face_width": float(rng.uniform()),
        "background_hue": float(rng.uniform()),
    }
    for (name, spec), u in zip(NUISANCE.items(), rng.random(len(NUISANCE)).tolist(), strict=True):
        if spec.kind == "integer":
            record[name] = int(spec.low + u * (spec.high - spec.low + 1))
        else:
            record[name] = spec.low + u * (spec.high - spec.low)
    return record


def with_attribute(attributes: Mapping[str, float | int | str], name: str, value: float | int | str) -> Record:
    """Copy of ``attributes`` with one field set: an intervention, correlated fields stay put."""
    if name not in FIELDS:
        raise KeyError(f"unknown attribute {name!r}; known: {sorted(FIELDS)}")
    record = dict(attributes)
    record[name] = FIELDS[name].validate(name, value)
    return record


def numeric_columns() -> list[str]:
    """Column names of ``numeric_matrix``: attributes as numbers, hair colour one-hot."""
    columns: list[str] = []
    for name, spec in ATTRIBUTES.items():
        if spec.kind == "categorical":
            columns.extend(f"{name}={category}" for category in spec.categories)
        else:
            columns.append(name)
    return columns


def numeric_matrix(records: Sequence[Mapping[str, float | int | str]]) -> np.ndarray:
    """Encode records as a float matrix [N, len(numeric_columns())] for statistics and filters."""
    import numpy as np

    rows = []
    for record in records:
        row: list[float] = []
        for name, spec in ATTRIBUTES.items():
            if spec.kind == "categorical":
                row.extend(float(record[name] == category) for category in spec.categories)
            else:
                row.append(float(record[name]))
        rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(numeric_columns()))


ATTRIBUTE_PARTS: dict[str, tuple[str, ...]] = {
    "smile": ("mouth", "beard", "eyes"),
    "eyes_open": ("eyes", "glasses"),
    "glasses": ("glasses", "eyes"),
    "beard": ("beard", "mouth", "skin"),
    "bangs": ("hair", "skin", "eyes"),
    "long_hair": ("hair", "background"),
    "hair_color": ("hair", "beard"),
}
"""Parts an edit of each attribute may legitimately change (for locality of `evaluate`).

Attributes that move the whole head (yaw, face_width) or recolour it (skin_tone,
background_hue) are not listed: every part may change with them.
"""
