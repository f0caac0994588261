"""Flags that plugins declare (`Param`), added to a command from the registry each time it is built.

`discover`, `apply` and `evaluate` each have their own flags plus those the registered methods
declare (a method's discover inputs, apply inputs, evaluate analyses). `PluginCommand` wraps the
command function so Typer sees both in one signature: `--help` lists a method's flags in its own
panel, and the function receives the plugin values as one ``extras`` dict. Declarations are read
when the command is built, so plugins registered later (tests, applications) show up too.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from latentedit.errors import LatentEditError

if TYPE_CHECKING:
    from latentedit.backend import Backend
    from latentedit.method import Param
    from latentedit.progress import Progress

KIND_TYPES: dict[str, type] = {
    "text": str,
    "int": int,
    "float": float,
    "path": Path,
    "flag": bool,
    "image": str,
    "edit": str,
}


@dataclass(frozen=True)
class Declared:
    """One plugin flag of a command: the declaration, who uses it, and the help panel it shows in."""

    param: Param
    users: tuple[str, ...]
    panel: str


def merge(declarations: Iterable[tuple[str, str, str, Param]], reserved: Iterable[str]) -> dict[str, Declared]:
    """``(plugin, user, panel, param)`` rows -> one `Declared` per flag name.

    The same name declared twice with the same kind and repetition is one shared flag; a name that
    clashes with the command's own flags or with a different declaration is left out and the
    plugin is marked broken (`latentedit plugins` shows why), so one bad plugin cannot break the CLI.
    """
    from latentedit.plugins import get_plugins

    taken = set(reserved)
    merged: dict[str, Declared] = {}
    for plugin, user, panel, param in declarations:
        first = merged.get(param.name)
        problem = ""
        if param.name in taken:
            problem = f"input {param.flag} of {user} clashes with the command's own {param.flag}"
        elif first is not None and (first.param.kind, first.param.multiple) != (param.kind, param.multiple):
            problem = f"input {param.flag} of {user} is declared differently by {', '.join(first.users)}"
        if problem:
            info = get_plugins().info.get(plugin)
            if info is not None and not info.error:
                info.error = problem
            continue
        if first is None:
            merged[param.name] = Declared(param, (user,), panel)
        else:
            merged[param.name] = Declared(first.param, (*first.users, user), first.panel)
    return merged


def _option(declared: Declared) -> inspect.Parameter:
    param = declared.param
    kind = KIND_TYPES[param.kind]
    if param.kind == "flag":
        annotation: Any = bool
        default: Any = False
    elif param.multiple:
        annotation, default = list[kind] | None, None  # type: ignore[valid-type]
    else:
        annotation, default = kind | None, None
    users = ", ".join(declared.users)
    info = typer.Option(
        param.flag,
        help=f"{param.help} (used by: {users})",
        metavar=param.metavar or None,
        rich_help_panel=declared.panel,
    )
    keyword = inspect.Parameter.KEYWORD_ONLY
    return inspect.Parameter(param.name, keyword, default=default, annotation=Annotated[annotation, info])


class PluginCommand:
    """A Typer callback: `function`'s own parameters plus the plugin flags `declared()` returns.

    `function` takes an ``extras`` keyword: the plugin flags' values by name (None / False / [] when
    not given).
    """

    def __init__(self, function: Callable[..., Any], declared: Callable[[], dict[str, Declared]]) -> None:
        functools.update_wrapper(self, function)
        self._function = function
        self._declared = declared

    def own_names(self) -> set[str]:
        return set(inspect.signature(self._function).parameters) - {"extras"}

    @property
    def __signature__(self) -> inspect.Signature:
        base = inspect.signature(self._function, eval_str=True)
        own = [parameter for name, parameter in base.parameters.items() if name != "extras"]
        return base.replace(parameters=[*own, *(_option(item) for item in self._declared().values())])

    def __call__(self, **kwargs: Any) -> Any:
        own = self.own_names()
        extras = {name: value for name, value in kwargs.items() if name not in own}
        return self._function(**{name: value for name, value in kwargs.items() if name in own}, extras=extras)


def flags_given(extras: dict[str, Any]) -> dict[str, Any]:
    """The plugin flags the user actually gave."""
    return {name: value for name, value in extras.items() if value not in (None, False, [])}


def refuse_unused(given_values: dict[str, Any], declared: dict[str, Declared], usable: set[str], why: str) -> None:
    """One line for a flag that belongs to a method the user did not choose, e.g.
    "--reference is an input of localstyle; none of these edits was made by it."."""
    for name in given_values:
        if name not in usable:
            item = declared[name]
            raise LatentEditError(f"{item.param.flag} is an input of {', '.join(item.users)}; {why}.")


def resolve_values(
    values: dict[str, Any],
    declared: dict[str, Declared],
    backend: Backend,
    invert: Callable[[list[str], Progress], list[Any]] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Turn flag text into what methods take: ``edit`` -> loaded `Edit`, ``image`` -> W+ codes."""
    from latentedit.edits import Edit
    from latentedit.progress import no_progress
    from latentedit.store import resolve_edit

    resolved = {}
    for name, value in values.items():
        kind = declared[name].param.kind
        items = value if isinstance(value, list) else [value]
        if kind == "edit":
            items = [Edit.load(resolve_edit(text, backend.name)) for text in items]
        elif kind == "image":
            if invert is None:
                raise LatentEditError(f"{declared[name].param.flag} takes an image, which this command cannot read.")
            items = invert(items, progress or no_progress)
        resolved[name] = items if isinstance(value, list) else items[0]
    return resolved
