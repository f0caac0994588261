"""Options of the commands that take photos (`apply`, `invert`): how faces are found and aligned."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

PHOTOS = "Photos"

AlignOpt = Annotated[
    str,
    typer.Option(
        "--align",
        help="Align faces as the generator's training data was: auto (photos that are not already crops at "
        "the generator's size), yes, or none (centre-crop and resize).",
        rich_help_panel=PHOTOS,
    ),
]
LandmarksOpt = Annotated[
    Path | None,
    typer.Option(
        "--landmarks", help="JSON file with five points per face per photo (docs/faces.md).", rich_help_panel=PHOTOS
    ),
]
DetectorOpt = Annotated[
    str | None,
    typer.Option(
        "--detector", help="Face detector (a plugin's); default: the first installed.", rich_help_panel=PHOTOS
    ),
]
FaceOpt = Annotated[
    int | None,
    typer.Option(
        "--face", min=0, help="Only face N (0: the most confident); default: every face.", rich_help_panel=PHOTOS
    ),
]
TemplateOpt = Annotated[
    str | None,
    typer.Option(
        "--template",
        help="Face template: ffhq, embedded or a JSON file; default: the backend's (embedded world: embedded).",
        rich_help_panel=PHOTOS,
    ),
]
