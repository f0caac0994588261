"""A name -> entry registry that knows which plugin registered what.

One class serves methods, backends and scorers: clashes name both plugins, unknown names
suggest the closest match (as timm does for models).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from latentedit.errors import PluginError, UnknownNameError

T = TypeVar("T")


@dataclass(frozen=True)
class Registered(Generic[T]):
    """One registration: the object and the plugin that made it."""

    name: str
    value: T
    plugin: str


class Registry(Generic[T]):
    """Entries by name; `kind` ("method", "backend", ...) words the error messages."""

    def __init__(self, kind: str, unknown_error: type[UnknownNameError] = UnknownNameError) -> None:
        self.kind = kind
        self._unknown_error = unknown_error
        self._entries: dict[str, Registered[T]] = {}

    def add(self, name: str, value: T, plugin: str) -> None:
        """Register `value` as `name`; a second registration of the name is an error."""
        if not name or not name.replace("-", "_").replace("_", "a").isalnum():
            raise PluginError(f"Plugin {plugin!r} registered a {self.kind} with an invalid name {name!r}.")
        if name in self._entries:
            first = self._entries[name].plugin
            raise PluginError(
                f"{self.kind.capitalize()} {name!r} is registered by both plugin {first!r} and plugin {plugin!r}."
            )
        self._entries[name] = Registered(name, value, plugin)

    def get(self, name: str) -> T:
        """The entry for `name`, or an error that lists what exists and suggests a fix."""
        return self.entry(name).value

    def entry(self, name: str) -> Registered[T]:
        try:
            return self._entries[name]
        except KeyError:
            names = sorted(self._entries)
            message = f"Unknown {self.kind} {name!r}. Available: {', '.join(names) or '(none)'}."
            close = difflib.get_close_matches(name, names, n=1)
            if close:
                message += f" Did you mean {close[0]!r}?"
            raise self._unknown_error(message) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Registered[T]]:
        return iter(sorted(self._entries.values(), key=lambda entry: entry.name))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)
