"""The StyleGAN3 input-transform flags `generate` and `apply` share (see latentedit/input_transform.py)."""

from __future__ import annotations

from typing import Annotated

import typer

TRANSFORM = "StyleGAN3 input transform"

TranslateOpt = Annotated[
    str | None,
    typer.Option(
        "--translate",
        metavar="X,Y",
        help="StyleGAN3 only: move the picture by X,Y image widths (x right, y down; e.g. 0.25,0).",
        rich_help_panel=TRANSFORM,
    ),
]
RotateOpt = Annotated[
    float | None,
    typer.Option(
        "--rotate",
        metavar="DEG",
        help="StyleGAN3 only: rotate the picture by DEG degrees about its centre (positive: counter-clockwise).",
        rich_help_panel=TRANSFORM,
    ),
]
SweepTranslateOpt = Annotated[
    str | None,
    typer.Option(
        "--sweep-translate",
        metavar="X,Y",
        help="StyleGAN3 only, with --sweep: the translation the last frame reaches, moving from --translate "
        "(default 0,0) in step with the strength.",
        rich_help_panel=TRANSFORM,
    ),
]
SweepRotateOpt = Annotated[
    float | None,
    typer.Option(
        "--sweep-rotate",
        metavar="DEG",
        help="StyleGAN3 only, with --sweep: the angle the last frame reaches, turning from --rotate (default 0) "
        "in step with the strength (--sweep 0:0:24 --sweep-rotate 360: a full turn, no edit).",
        rich_help_panel=TRANSFORM,
    ),
]


def given(**flags: object) -> list[str]:
    """The flag names (``--sweep-rotate``) of the keyword arguments that were given (not None)."""
    return [f"--{name.replace('_', '-')}" for name, value in flags.items() if value is not None]
