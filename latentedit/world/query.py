"""Selecting and pairing renderer faces: ``--where 'glasses=1,smile>0.5'`` and ``--pairs ATTR``."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from latentedit.errors import LatentEditError
from latentedit.world.attributes import ATTRIBUTES, Record, sample_attributes, with_attribute

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    "=": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}
_CLAUSE = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|!=|=|>|<)\s*([^,]+?)\s*$")

Condition = Callable[[Mapping[str, Any]], bool]


def parse_where(text: str) -> Condition:
    """``'glasses=1,smile>0.5,hair_color=gray'`` -> a predicate on attribute records (AND)."""
    clauses = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        match = _CLAUSE.match(part)
        if not match:
            raise LatentEditError(f"--where clause {part!r}: expected NAME OP VALUE with OP one of = != < <= > >=.")
        name, op, raw = match.groups()
        if name not in ATTRIBUTES:
            raise LatentEditError(f"--where: unknown attribute {name!r}. Known: {', '.join(ATTRIBUTES)}.")
        spec = ATTRIBUTES[name]
        if spec.kind == "categorical":
            if op not in ("=", "!=") or raw not in spec.categories:
                raise LatentEditError(
                    f"--where {part!r}: {name} takes = or != with one of {', '.join(spec.categories)}."
                )
            value: Any = raw
        else:
            try:
                value = float(raw)
            except ValueError:
                raise LatentEditError(f"--where {part!r}: {raw!r} is not a number.") from None
        clauses.append((name, _OPERATORS[op], value))
    return lambda record: all(compare(record[name], value) for name, compare, value in clauses)


def faces(start_seed: int, where: Condition, limit: int, max_tries: int = 1000) -> Iterator[Record]:
    """Records from consecutive seeds that satisfy `where`; gives up on conditions too rare."""
    found, seed = 0, start_seed
    while found < limit:
        if seed - start_seed > max_tries * max(limit, 1):
            raise LatentEditError(f"--where matched {found} of {seed - start_seed} faces; the condition is too rare.")
        record = sample_attributes(seed)
        seed += 1
        if where(record):
            found += 1
            yield record


def pair_for(record: Record, name: str) -> Record | None:
    """The same face with more of `name`, or None when this face cannot be its "before".

    Binary: 0 -> 1 (faces that have it already are skipped). Continuous: values in the lower
    half of the range are raised by half the range (faces in the upper half are skipped), so
    every pair points the same way, as pair-direction needs.
    """
    spec = ATTRIBUTES.get(name)
    if spec is None or spec.kind == "categorical":
        usable = ", ".join(key for key, value in ATTRIBUTES.items() if value.kind != "categorical")
        raise LatentEditError(f"--pairs {name!r}: choose a binary or continuous attribute: {usable}.")
    value = float(record[name])
    if spec.kind == "binary":
        return with_attribute(record, name, 1) if value == 0 else None
    middle = (spec.low + spec.high) / 2
    if value >= middle:
        return None
    return with_attribute(record, name, value + (spec.high - spec.low) / 2)
