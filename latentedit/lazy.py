"""Resolve "module:attribute" strings, so registrations stay cheap until used."""

from __future__ import annotations

import importlib
from typing import Any


def resolve(target: str | Any) -> Any:
    """Import and return ``module:attr`` (dots allowed in attr); non-strings pass through."""
    if not isinstance(target, str):
        return target
    module_name, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj
