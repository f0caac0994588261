"""The contract every editing method (built-in or plugin) implements.

Registering a method means registering its class; the class attributes are cheap data read
by `latentedit methods` without importing torch. Heavy work happens in `discover`/`apply`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from latentedit.errors import LatentEditError

if TYPE_CHECKING:
    import torch

    from latentedit.backend import Backend
    from latentedit.edits import Edit

Progress = Callable[..., None]
"""``progress(step, total, **metrics)``: library loops report here; the CLI draws the bar."""


def no_progress(step: int, total: int, **metrics: Any) -> None:
    """The default progress callback: silent."""


@dataclass
class NoOptions:
    """For methods without options."""


@dataclass
class DiscoverRequest:
    """What a user asked `discover` for; each method reads the fields it needs (`inputs`)."""

    name: str
    attr: str = ""
    attrs: list[str] = field(default_factory=list)
    samples: int | None = None
    seed: int = 0
    labels: Path | None = None
    positives: Path | None = None
    negatives: Path | None = None
    pairs: list[tuple[Path, Path]] = field(default_factory=list)
    orthogonal_to: list[Edit] = field(default_factory=list)

    def require(self, method: str, *names: str) -> None:
        """Fail with one line when an input the method needs is missing."""
        for name in names:
            if not getattr(self, name):
                flag = "--" + name.replace("_", "-")
                raise LatentEditError(f"Method {method!r} needs {flag}.")


class Method(abc.ABC):
    """Base class: subclasses set the class attributes and implement discover/apply."""

    name: ClassVar[str]
    summary: ClassVar[str]
    space: ClassVar[str]
    Options: ClassVar[type] = NoOptions
    inputs: ClassVar[tuple[str, ...]] = ()
    """Request fields the method uses (e.g. ``("attr",)``), shown by `latentedit methods`."""
    ApplyOptions: ClassVar[type | None] = None
    """Optional dataclass of `apply` settings; `latentedit apply -o KEY=VALUE` routes its keys here."""
    apply_inputs: ClassVar[tuple[str, ...]] = ()
    """Inputs `apply` needs besides codes (e.g. ``("reference", "region")``)."""
    default_strength: ClassVar[float] = 3.0
    """`apply` strength when the user gives none (vector edits: three standard deviations)."""

    @abc.abstractmethod
    def discover(self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress) -> Edit:
        """Learn an edit from the backend and the request's inputs."""

    @abc.abstractmethod
    def apply(
        self, backend: Backend, ws: torch.Tensor, edit: Edit, strength: float, **inputs: Any
    ) -> torch.Tensor | list[torch.Tensor]:
        """Edited codes for `strength` calibrated units: W+ ``[N, num_ws, w_dim]``, or S-space
        styles (a list with one ``[N, C]`` tensor per style layer) for methods that edit styles."""
