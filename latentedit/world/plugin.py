"""Built-in plugin: the embedded world as the default backend."""

from __future__ import annotations

from collections.abc import Callable

from latentedit.backend import BackendSpec
from latentedit.hookspecs import hookimpl


@hookimpl
def register_backends(register: Callable[[BackendSpec], None]) -> None:
    register(
        BackendSpec(
            "embedded",
            "The embedded world: a small StyleGAN2 trained on procedural faces (the default).",
            "latentedit.world.backend:embedded_backend",
            "embedded",
        )
    )
