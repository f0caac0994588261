"""Terminal output for the CLI: results on stdout, messages and progress bars on stderr.

Library code never imports this module (or rich); it reports through `progress` callbacks.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from latentedit.progress import Progress


@cache
def _console(stream_name: str) -> Console:
    from rich.console import Console

    return Console(file=getattr(sys, stream_name), stderr=stream_name == "stderr", highlight=False, soft_wrap=True)


def out() -> Console:
    return _console("stdout")


def err() -> Console:
    return _console("stderr")


def reset_consoles() -> None:
    """Forget cached consoles (CliRunner swaps sys.stdout between invocations)."""
    _console.cache_clear()


def emit_json(document: Any) -> None:
    """Print one JSON document and nothing else (``--json``)."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


def note(message: str, quiet: bool = False) -> None:
    """A human message on stderr (never mixed into --json output)."""
    if not quiet:
        err().print(message)


@contextmanager
def progress_bar(description: str, quiet: bool = False) -> Iterator[Progress]:
    """A transient rich progress bar on stderr, driven by ``progress(step, total, **metrics)``."""
    if quiet:
        yield lambda step, total, **metrics: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[metrics]}"),
    )
    with Progress(*columns, console=err(), transient=True, refresh_per_second=4) as bar:
        task = bar.add_task(description, total=None, metrics="")

        def update(step: int, total: int, **metrics: Any) -> None:
            shown = " ".join(f"{key}={short_metric(value)}" for key, value in metrics.items())
            bar.update(task, completed=step, total=total, metrics=shown)

        yield update


def short_metric(value: object) -> str:
    """A metric as one short token: 4 significant digits; a long list by its length (--json has it all)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"[{len(value)} values]"
    return str(value)
