"""Options of the commands that can run on an engine (`apply`, `invert`, `discover`), and the end
of a batch run: one line per failed input, then exit code 3."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from latentedit.engine import Engine
from latentedit.errors import LatentEditError, SomeInputsFailedError

if TYPE_CHECKING:
    from latentedit.engine.photo_stages import Failure

ENGINE = "Engine"

EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="local (this process) or ray (Ray Data workers, one backend each; pip install 'latentedit\\[ray]'; "
        "docs/scale.md). Both write the same bytes.",
        rich_help_panel=ENGINE,
    ),
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster to run on: auto (the one `ray start` runs here) or HOST:PORT; default: start one here.",
        rich_help_panel=ENGINE,
    ),
]
RayCpusOpt = Annotated[
    int | None,
    typer.Option(
        "--ray-cpus",
        min=1,
        help="CPUs of the Ray instance started here (one worker each); default: the cores this process may use.",
        rich_help_panel=ENGINE,
    ),
]

NOT_SETTINGS = ("inputs", "images", "quiet", "json_output", "force", "engine", "ray_address", "ray_cpus", "out_dir")
"""Parameters that do not change what an input's files hold: left out of the manifest's settings."""


def chosen_engine(name: str, address: str | None, cpus: int | None) -> Engine:
    """The engine the options ask for; one line (exit 2) where it is unknown or Ray is missing."""
    return Engine(name, address, cpus).check_installed()


def run_settings(**content: Any) -> dict[str, Any]:
    """What decides a batch run's files, for its manifest: the command's parameters as parsed (less
    `NOT_SETTINGS`) and `content` (the backend's fingerprint, hashes of the edit files, ...)."""
    from typer._click.globals import get_current_context  # the Click that Typer bundles

    context = get_current_context(silent=True)
    params = dict(context.params) if context is not None else {}
    return {key: value for key, value in params.items() if key not in NOT_SETTINGS} | content


RETRY = "run the same command again to retry only what is not done"


def fail_if_any(failures: list[Failure], total: int, manifest: Path, again: str = RETRY) -> None:
    """One stderr line per failed input (its error), then `SomeInputsFailedError` (exit 3) ending
    with how to go on (`again`)."""
    if not failures:
        return
    if total == 1:
        raise LatentEditError(failures[0].error)  # a single input: its error is the command's, as always
    from rich.markup import escape

    from latentedit.console import err

    for failure in failures:
        err().print(f"[red]Failed:[/red] {escape(failure.input)}: {escape(failure.error)}", highlight=False)
    raise SomeInputsFailedError(
        f"{len(failures)} of {total} inputs failed (listed above); the others are done. {manifest} records "
        f"them; {again}."
    )
