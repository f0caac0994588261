"""The whole plugin API of latentedit: five hooks, each taking a `register` callback.

A plugin is a module (or object) with functions marked `@hookimpl`. Built-in methods and
backends are registered through these same hooks, so they prove the API. Third-party
packages declare an entry point in the group ``latentedit``::

    [project.entry-points.latentedit]
    sefa = "latentedit_sefa"

Hooks receive a callback rather than returning values (as in simonw/llm): the core checks each
registration as it happens, knows which plugin made it, and can add keyword arguments later
without breaking plugins. Keep plugin modules cheap to import: no torch at module level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer

    from latentedit.backend import BackendSpec
    from latentedit.faces.detectors import FaceDetectorSpec
    from latentedit.method import Method
    from latentedit.scorers import ScorerSpec

hookspec = pluggy.HookspecMarker("latentedit")
hookimpl = pluggy.HookimplMarker("latentedit")


@hookspec
def register_methods(register: Callable[[type[Method]], None]) -> None:
    """Register editing methods: call ``register(MethodClass)`` once per method.

    The class carries cheap data (``name``, ``summary``, ``space``, ``Options`` dataclass,
    ``inputs``); it is instantiated only when a user runs it. See `latentedit.method.Method`.
    """


@hookspec
def register_backends(register: Callable[[BackendSpec], None]) -> None:
    """Register backend factories by scheme: ``register(BackendSpec(scheme, summary, factory))``.

    ``--backend SCHEME:ARG`` calls ``factory(ARG, device=...)``; the factory is a
    ``"module:function"`` string so nothing heavy is imported until a backend is loaded.
    """


@hookspec
def register_scorers(register: Callable[[ScorerSpec], None]) -> None:
    """Register attribute scorers (images -> scores) and part segmenters for a backend.

    ``register(ScorerSpec(name, backend, attributes, factory))``; the factory is a
    ``"module:function"`` string returning an object with ``score(images) -> dict``.
    """


@hookspec
def register_face_detectors(register: Callable[[FaceDetectorSpec], None]) -> None:
    """Register face detectors: ``register(FaceDetectorSpec(name, summary, factory, backends=...))``.

    The factory is a ``"module:function"`` string returning a callable photo -> ``[(score, five
    points), ...]`` (eye centres, nose tip, mouth corners; see `latentedit.faces`).
    """


@hookspec
def register_commands(app: typer.Typer, directions: typer.Typer) -> None:
    """Add CLI commands: ``app.command()(fn)`` or ``app.add_typer(sub_app, name=...)`` on the root;
    ``directions`` is the `latentedit directions` group, for commands that manage stored edits
    (local style adds ``directions label``). Implementations may take only the arguments they use."""
