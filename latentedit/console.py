"""Terminal output for the CLI: results on stdout, messages and progress bars on stderr.

Library code never imports this module (or rich); it reports through `progress` callbacks.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

from latentedit.errors import LatentEditError

if TYPE_CHECKING:
    from rich.console import Console

    from latentedit.progress import Progress


@cache
def _console(stream_name: str) -> Console:
    from rich.console import Console

    # No emoji codes: user text such as `random:abc:` must print as written.
    return Console(
        file=getattr(sys, stream_name), stderr=stream_name == "stderr", highlight=False, soft_wrap=True, emoji=False
    )


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
    """A transient rich progress bar on stderr, driven by ``progress(step, total, **metrics)``.

    When stderr is not a terminal (a log file, a pipe) the bar would show nothing, so plain lines
    are printed instead (see `progress_lines`).
    """
    if quiet:
        yield lambda step, total, **metrics: None
        return
    if not err().is_terminal or err().is_dumb_terminal:
        with progress_lines(description) as update:
            yield update
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


PROGRESS_INTERVAL_ENV = "LATENTEDIT_PROGRESS_INTERVAL"


@contextmanager
def progress_lines(description: str) -> Iterator[Progress]:
    """Progress for logs: a plain stderr line at most every LATENTEDIT_PROGRESS_INTERVAL seconds
    (default 10), and the final state if any line was printed. A job shorter than the interval
    prints nothing, so short commands keep a clean stderr."""
    import time

    text = os.environ.get(PROGRESS_INTERVAL_ENV, "").strip() or "10"
    try:
        interval = float(text)
    except ValueError:
        interval = -1.0
    if not interval >= 0:  # also NaN
        raise LatentEditError(f"{PROGRESS_INTERVAL_ENV}={text!r}: expected a number of seconds, e.g. 10.")
    started = last_line = time.monotonic()
    pending: tuple[int, int, dict[str, Any]] | None = None
    printed = False

    def write(step: int, total: int, metrics: dict[str, Any], now: float) -> None:
        nonlocal last_line, pending, printed
        done = f"{step}/{total} ({100 * step / total:.0f}%)" if total else f"step {step}"
        shown = "".join(f" {key}={short_metric(value)}" for key, value in metrics.items())
        elapsed = int(now - started)
        clock = f"{elapsed // 3600}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
        sys.stderr.write(f"{description}: {done}{shown} elapsed {clock}\n")
        sys.stderr.flush()
        last_line, pending, printed = now, None, True

    def update(step: int, total: int, **metrics: Any) -> None:
        nonlocal pending
        now = time.monotonic()
        if now - last_line >= interval:
            write(step, total, metrics, now)
        else:
            pending = (step, total, metrics)

    yield update
    if printed and pending is not None:
        write(*pending, time.monotonic())


def short_metric(value: object) -> str:
    """A metric as one short token: 4 significant digits; a long list by its length (--json has it all)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"[{len(value)} values]"
    return str(value)


@contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Print each `LatentEditWarning` the library raises as one "Warning: ..." line on stderr (never
    on stdout, so --json stays clean); other libraries' warnings stay silent unless LATENTEDIT_DEBUG."""
    import os
    import warnings

    from latentedit.errors import LatentEditWarning

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, LatentEditWarning):
            from rich.markup import escape

            err().print(f"[yellow]Warning:[/yellow] {escape(str(message))}", highlight=False)
        elif os.environ.get("LATENTEDIT_DEBUG", "") not in ("", "0"):
            original(message, category, *args, **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("always", LatentEditWarning)
        original = warnings.showwarning
        warnings.showwarning = show
        yield
