"""Built-in plugin: the editing methods that ship with latentedit.

Registered through the same `register_methods` hook third-party plugins use. Method modules
import torch only inside their functions, so registering them is cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from latentedit.api import hookimpl

if TYPE_CHECKING:
    import typer

BUILTIN_METHODS: tuple[str, ...] = (
    "latentedit.methods.interfacegan:InterFaceGAN",
    "latentedit.methods.pair:PairDirection",
    "latentedit.methods.localstyle:LocalStyle",
    "latentedit.methods.feditnet:FEditNet",
    "latentedit.methods.wstar:WStar",
    "latentedit.methods.imported:Imported",
)
"""``"module:Class"`` of each built-in method, in the order `latentedit methods` lists them."""


@hookimpl
def register_methods(register: Callable[[type], None]) -> None:
    for target in BUILTIN_METHODS:
        module_name, _, class_name = target.partition(":")
        register(getattr(importlib.import_module(module_name), class_name))


@hookimpl
def register_commands(directions: typer.Typer) -> None:
    from latentedit.methods.localstyle_cli import label_command

    directions.command("label")(label_command)
