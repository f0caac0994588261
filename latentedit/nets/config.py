"""Init kwargs as plain JSON data, so a network's layout can be stored next to its safetensors."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any


def jsonable(value: Any) -> Any:
    """A deep copy of `value` made of dict/list/str/int/float/bool/None only.

    Official checkpoints carry `EasyDict`s, tuples and numpy scalars in their kwargs; these
    become dicts, lists and Python numbers. Anything else is a TypeError naming it.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if hasattr(value, "tolist"):  # numpy / torch scalars and small arrays
        return jsonable(value.tolist())
    raise TypeError(f"init kwarg value {value!r} of type {type(value).__name__} is not JSON data")
