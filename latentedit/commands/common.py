"""Options shared by commands, spelled once (Annotated types, as Typer's docs recommend)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.backend import DEFAULT_BACKEND
from latentedit.errors import LatentEditError

BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        "-b",
        envvar="LATENTEDIT_BACKEND",
        help="Generator: embedded, random[:RES] or stylegan2:FILE.safetensors (see `latentedit backends`).",
    ),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="Torch device: cpu (default) or cuda.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same result.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or messages on stderr.")]
ForceOpt = Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing output files.")]
OptionsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--option", "-o", metavar="KEY=VALUE", help="Method option (repeatable); `latentedit methods NAME` lists them."
    ),
]
OutDirOpt = Annotated[Path | None, typer.Option("--out", help="Output folder.")]

DEFAULT_DEVICE = "cpu"
DEFAULT_SEED = 0
__all__ = ["DEFAULT_BACKEND"]


def parse_seeds(text: str, limit: int = 100_000) -> list[int]:
    """'0-7' | '1,3,5' | '0-3,10' -> list of seeds, in order, checked."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            start, _, end = part.strip().partition("-")
            first, last = int(start), int(end or start)
            if last < first:
                raise ValueError(f"{part} runs backwards")
            seeds.extend(range(first, last + 1))
    except ValueError as exc:
        raise LatentEditError(f"--seeds {text!r}: expected e.g. '0-7' or '1,3,5' ({exc}).") from None
    if not seeds or len(seeds) > limit or min(seeds) < 0 or max(seeds) >= 2**32:
        raise LatentEditError(f"--seeds {text!r}: give 1..{limit} seeds between 0 and 2^32-1.")
    return seeds
