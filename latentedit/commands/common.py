"""Options shared by commands, spelled once (Annotated types, as Typer's docs recommend)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.backend import DEFAULT_BACKEND

BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        "-b",
        envvar="LATENTEDIT_BACKEND",
        help="Generator: embedded, random[:RES], stylegan2:FILE or stylegan3:FILE (see `latentedit backends`).",
    ),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="Torch device: cpu (default) or cuda.")]
MAX_SEED = 2**63 - 1  # what every generator underneath takes (torch, numpy, the renderer)
SeedOpt = Annotated[
    int, typer.Option("--seed", min=0, max=MAX_SEED, help="Random seed; the same seed gives the same result.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or messages on stderr.")]
ForceOpt = Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing output files.")]
OptionsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--option", "-o", metavar="KEY=VALUE", help="Method option (repeatable); the `methods NAME` command lists them."
    ),
]
OutDirOpt = Annotated[Path | None, typer.Option("--out", help="Output folder.")]

DEFAULT_DEVICE = "cpu"
DEFAULT_SEED = 0
__all__ = ["DEFAULT_BACKEND"]
