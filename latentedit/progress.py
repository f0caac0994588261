"""The progress callback every long loop in the library reports to.

Library code never draws bars: it calls ``progress(step, total, **metrics)`` and the CLI (or
any other front end) decides how to show it, as diffusers' callbacks do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Progress = Callable[..., None]
"""``progress(step, total, **metrics)``: library loops report here; the CLI draws the bar."""


def no_progress(step: int, total: int, **metrics: Any) -> None:
    """The default progress callback: silent."""
