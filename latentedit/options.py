"""Method options: ``-o KEY=VALUE`` strings validated against a method's Options dataclass."""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from typing import Any

from latentedit.errors import LatentEditError, OptionError

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def option(default: Any, help: str) -> Any:
    """A dataclass field with a help text (shown by `latentedit methods NAME`)."""
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})


def _field_types(options_cls: type) -> dict[str, Any]:
    return typing.get_type_hints(options_cls)


def _coerce(key: str, raw: str, kind: Any) -> Any:
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and type(None) in args:
        if raw.lower() in {"", "none"}:
            return None
        kind = next(arg for arg in args if arg is not type(None))
        origin, args = typing.get_origin(kind), typing.get_args(kind)
    try:
        if kind is bool:
            lowered = raw.lower()
            if lowered in TRUE:
                return True
            if lowered in FALSE:
                return False
            raise ValueError("expected true or false")
        if kind is int:
            return int(raw)
        if kind is float:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError("NaN and infinity are not allowed")
            return value
        if origin in (list, tuple):
            item = args[0] if args else str
            items = [_coerce(key, part.strip(), item) for part in raw.split(",") if part.strip()]
            return tuple(items) if origin is tuple else items
        return raw
    except (ValueError, TypeError) as exc:
        name = getattr(kind, "__name__", str(kind))
        raise OptionError(f"Option {key}={raw!r}: expected {name} ({exc}).") from None


def parse_options(options_cls: type, pairs: list[str] | None = None, **overrides: Any) -> Any:
    """Build an Options instance from ``["key=value", ...]``; unknown keys list the valid ones."""
    fields = {f.name: f for f in dataclasses.fields(options_cls)}
    types = _field_types(options_cls)
    values: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise OptionError(f"Option {pair!r} must be written KEY=VALUE.")
        if key not in fields:
            valid = ", ".join(sorted(fields)) or "(this method has no options)"
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise OptionError(f"Unknown option {key!r}. Valid options: {valid}.{hint}")
        values[key] = _coerce(key, raw.strip(), types[key])
    values.update({key: value for key, value in overrides.items() if value is not None})
    instance = options_cls(**values)
    validate = getattr(instance, "validate", None)
    if callable(validate):
        validate()
    return instance


def describe_options(options_cls: type) -> list[dict[str, str]]:
    """Rows (name, type, default, help) for `latentedit methods NAME` and its --json."""
    types = _field_types(options_cls)
    rows = []
    for f in dataclasses.fields(options_cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        if isinstance(default, (list, tuple)):
            default = ",".join(str(item) for item in default)
        kind = types[f.name]
        rows.append(
            {
                "name": f.name,
                "type": getattr(kind, "__name__", str(kind).replace("typing.", "")),
                "default": str(default),
                "help": f.metadata.get("help", ""),
            }
        )
    return rows


def options_dict(options: Any) -> dict[str, Any]:
    """JSON-able dict of an Options instance (recorded in each edit's ``params``)."""
    return dataclasses.asdict(options)


def split_options(pairs: list[str] | None, *options_classes: type) -> list[list[str]]:
    """Route ``KEY=VALUE`` pairs to the first Options class that has the key (e.g. inversion
    settings vs a method's apply settings); an unknown key lists every valid one."""
    routed: list[list[str]] = [[] for _ in options_classes]
    fields = [{f.name for f in dataclasses.fields(cls)} for cls in options_classes]
    for pair in pairs or []:
        key = pair.partition("=")[0].strip().replace("-", "_")
        for index, names in enumerate(fields):
            if key in names:
                routed[index].append(pair)
                break
        else:
            valid = sorted(set().union(*fields))
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise OptionError(f"Unknown option {key!r}. Valid options: {', '.join(valid)}.{hint}")
    return routed


def finite_number(raw: str, what: str) -> float:
    """`raw` as a finite float, or an error that quotes it after `what` (e.g. "line 3: score")."""
    try:
        value = float(raw)
    except ValueError:
        raise LatentEditError(f"{what} {raw.strip()!r} is not a number.") from None
    if not math.isfinite(value):
        raise LatentEditError(f"{what} {raw.strip()!r} is not a finite number.")
    return value
