"""The plugin manager: built-in plugins plus entry points of the group ``latentedit``.

Built-ins are registered exactly like external plugins (as pytest registers its own modules).
Entry points load one at a time; one that fails to import, or whose hook raises, is recorded
in `broken` and shown by `latentedit plugins` instead of taking the CLI down.
``LATENTEDIT_LOAD_PLUGINS`` (comma list; empty = none) limits which external plugins load.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from latentedit import hookspecs
from latentedit.errors import LatentEditError, PluginError, UnknownBackendError, UnknownMethodError
from latentedit.method import check_method_class
from latentedit.registry import Registry

if TYPE_CHECKING:
    from latentedit.backend import BackendSpec
    from latentedit.faces.detectors import FaceDetectorSpec
    from latentedit.method import Method
    from latentedit.scorers import ScorerSpec

ENTRY_POINT_GROUP = "latentedit"
BUILTIN_PLUGINS = ("latentedit.methods", "latentedit.backends", "latentedit.world.plugin", "latentedit.faces.plugin")


@dataclass
class PluginInfo:
    """What `latentedit plugins` shows for one plugin."""

    name: str
    source: str  # "builtin" or the distribution that provides the entry point
    version: str = ""
    hooks: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class Plugins:
    """Everything the loaded plugins registered."""

    manager: pluggy.PluginManager
    info: dict[str, PluginInfo]
    methods: Registry[type[Method]]
    backends: Registry[BackendSpec]
    scorers: Registry[ScorerSpec]
    face_detectors: Registry[FaceDetectorSpec] = field(default_factory=lambda: Registry("face detector"))

    @property
    def broken(self) -> list[PluginInfo]:
        return [plugin for plugin in self.info.values() if plugin.error]


_loaded: Plugins | None = None
_extra: dict[str, object] = {}


def get_plugins() -> Plugins:
    """Load plugins once per process and return their registrations."""
    global _loaded
    if _loaded is None:
        _loaded = _load()
    return _loaded


def reset_plugins() -> None:
    """Forget loaded plugins (tests register and unregister plugins between cases)."""
    global _loaded
    _loaded = None


def register_plugin(name: str, plugin: object) -> None:
    """Add a plugin object in-process (an application embedding latentedit, or a test)."""
    _extra[name] = plugin
    reset_plugins()


def unregister_plugin(name: str) -> None:
    """Remove a plugin added with `register_plugin`."""
    _extra.pop(name, None)
    reset_plugins()


def _allowed_external() -> set[str] | None:
    raw = os.environ.get("LATENTEDIT_LOAD_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _load() -> Plugins:
    manager = pluggy.PluginManager("latentedit")
    manager.add_hookspecs(hookspecs)
    info: dict[str, PluginInfo] = {}
    for module_name in BUILTIN_PLUGINS:
        manager.register(importlib.import_module(module_name), name=module_name)
        info[module_name] = PluginInfo(module_name, "builtin")
    for name, plugin in _extra.items():
        manager.register(plugin, name=name)
        info[name] = PluginInfo(name, "in-process")
    allowed = _allowed_external()
    for entry_point in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        if allowed is not None and entry_point.name not in allowed:
            continue
        dist = entry_point.dist
        plugin = PluginInfo(
            entry_point.name,
            dist.metadata["Name"] if dist else "?",
            dist.version if dist else "",
        )
        info[entry_point.name] = plugin
        try:
            manager.register(entry_point.load(), name=entry_point.name)
        except Exception as exc:  # a broken plugin is reported, not fatal
            plugin.error = f"failed to load: {type(exc).__name__}: {exc}"
    for name, plugin in info.items():
        module = manager.get_plugin(name)
        if module is not None:
            plugin.hooks = sorted(hook.name for hook in manager.get_hookcallers(module) or [])
    plugins = Plugins(
        manager,
        info,
        Registry("method", UnknownMethodError),
        Registry("backend", UnknownBackendError),
        Registry("scorer"),
    )
    _collect(
        plugins,
        "register_methods",
        lambda plugin: lambda cls: plugins.methods.add(check_method_class(cls, plugin), cls, plugin),
    )
    _collect(plugins, "register_backends", lambda plugin: lambda spec: plugins.backends.add(spec.scheme, spec, plugin))
    _collect(plugins, "register_scorers", lambda plugin: lambda spec: plugins.scorers.add(spec.name, spec, plugin))
    _collect(
        plugins,
        "register_face_detectors",
        lambda plugin: lambda spec: plugins.face_detectors.add(spec.name, spec, plugin),
    )
    return plugins


def _collect(plugins: Plugins, hook_name: str, make_register: Callable[[str], Callable[[Any], None]]) -> None:
    """Call one hook plugin by plugin, so each registration is attributed and checked."""
    for impl in getattr(plugins.manager.hook, hook_name).get_hookimpls():
        try:
            impl.function(register=make_register(impl.plugin_name))
        except Exception as exc:
            plugin = plugins.info.get(impl.plugin_name)
            if plugin is None or plugin.source == "builtin":
                raise
            reason = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
            plugin.error = f"{hook_name} failed: {reason}"


def add_plugin_commands(app: Any, directions: Any) -> None:
    """Let plugins add Typer commands; a failing plugin is recorded, not fatal."""
    plugins = get_plugins()
    for impl in plugins.manager.hook.register_commands.get_hookimpls():
        arguments = {"app": app, "directions": directions}
        try:
            impl.function(**{name: arguments[name] for name in impl.argnames})
        except LatentEditError:
            raise
        except Exception as exc:
            plugins.info[impl.plugin_name].error = f"register_commands failed: {type(exc).__name__}: {exc}"
