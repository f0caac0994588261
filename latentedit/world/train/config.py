"""A recipe's config.json: its settings, with file paths relative to the file's own folder.

A run folder, or a recipe folder under `training/`, is copied and moved as a whole, so a path
inside its config (the guide scorer of a guided GAN run) is written relative to the config's
folder and read back against it, whatever the working directory. Paths given with `-o` on the
command line are relative to the working directory, as any command-line path is.
A setting is a path when its dataclass field says so: ``field(default="", metadata=PATH)``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from latentedit.errors import LatentEditError
from latentedit.fileio import write_json

PATH = {"path": True}
"""Field metadata that marks a recipe setting as a file path."""


def path_fields(config_cls: type) -> tuple[str, ...]:
    """Names of the settings of `config_cls` that hold file paths."""
    return tuple(field.name for field in dataclasses.fields(config_cls) if field.metadata.get("path"))


def read_config(path: Path, config_cls: type) -> dict[str, Any]:
    """The settings in `path`, its relative paths resolved against its folder."""
    try:
        settings = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise LatentEditError(f"{path} cannot be read ({exc}); fix or delete it.") from None
    if not isinstance(settings, dict):
        raise LatentEditError(f'{path} holds no settings object; expected {{"name": value, ...}}.')
    for name in path_fields(config_cls):
        value = settings.get(name)
        if value and not os.path.isabs(value):
            settings[name] = os.path.normpath(Path(path).parent / value)
    return settings


def write_config(path: Path, config: Any) -> Path:
    """Write `config` (a recipe dataclass) to `path`, its paths relative to `path`'s folder."""
    settings = dataclasses.asdict(config)
    folder = Path(path).parent.absolute()
    for name in path_fields(type(config)):
        if settings[name]:
            settings[name] = Path(os.path.relpath(Path(settings[name]).absolute(), folder)).as_posix()
    return write_json(Path(path), settings)
