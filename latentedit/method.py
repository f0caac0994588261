"""The contract every editing method (built-in or plugin) implements, and the cheap data it declares.

Registering a method means registering its class; the class attributes are plain data read by
`latentedit methods` and by the CLI to build `--help`, without importing torch. A method owns
its extras: the inputs it adds to `discover` and `apply` (`Param`) and the analyses it adds to
`evaluate` (`Analysis`). Heavy work happens only in `discover`/`apply`/an analysis' runner.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from latentedit.errors import LatentEditError, PluginError
from latentedit.progress import Progress, no_progress

if TYPE_CHECKING:
    import torch

    from latentedit.backend import Backend
    from latentedit.edits import Edit
    from latentedit.engine import Engine
    from latentedit.sampling import Samples

PARAM_KINDS = ("text", "int", "float", "path", "flag", "image", "edit")
"""What a `Param` hands the method: text/int/float/path/flag as typed values, ``image`` as the W+
codes of an image file or ``seed:N`` (photos inverted through the shared cache), ``edit`` as a
loaded `Edit` of the same backend."""


@dataclass(frozen=True)
class Param:
    """One command-line input a plugin adds: ``--NAME`` on `discover` or `apply`, or on `evaluate`
    for an `Analysis`. Several methods may declare the same name and kind; the flag is shared."""

    name: str
    help: str
    kind: str = "text"
    multiple: bool = False
    metavar: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, owner: str) -> None:
        """Refuse a malformed declaration when the plugin registers, not when a user runs it."""
        if not self.name.isidentifier() or self.name.startswith("_"):
            raise PluginError(f"{owner} declares an input with an invalid name {self.name!r}.")
        if self.kind not in PARAM_KINDS:
            raise PluginError(
                f"{owner} declares input {self.name!r} of unknown kind {self.kind!r}; "
                f"expected one of {', '.join(PARAM_KINDS)}."
            )
        if self.kind == "flag" and self.multiple:
            raise PluginError(f"{owner} declares flag {self.name!r} as repeatable; a flag is on or off.")


@dataclass(frozen=True)
class Analysis:
    """A measurement a method adds to `latentedit evaluate` as ``--NAME`` (e.g. locality).

    ``run`` is ``"module:function"`` (imported only when used) called as
    ``run(backend, edits, progress=..., samples=, strength=, seed=, force=, **params)`` (params not
    given on the command line are left out, so the function's own defaults apply) and returning a
    JSON-able report. ``table``, if given, is ``"module:function"`` turning that report into
    ``{"title", "columns", "rows", "caption"}`` (plain strings) for the terminal; without it the
    report is printed as JSON. Neither needs rich.
    """

    name: str
    help: str
    run: str
    params: tuple[Param, ...] = ()
    table: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass
class NoOptions:
    """For methods without options."""


@dataclass
class DiscoverRequest:
    """What a user asked `discover` for. The shared label sources are fields (a method lists the ones
    it reads in `Method.inputs`); a method's own `discover_params` arrive in `extras` by name."""

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
    extras: dict[str, Any] = field(default_factory=dict)
    engine: Engine | None = None
    """Where sampling runs (``--engine``); None: this process. Methods sample through `sample`."""

    def sample(
        self, backend: Backend, count: int, scorer: Any = None, progress: Progress = no_progress, keep: str = "w+"
    ) -> Samples:
        """`count` latents from the request's seed (scored by `scorer` if given), on the engine the
        user chose: ``latentedit.api.sample`` with the request's seed, wherever it runs."""
        from latentedit.engine import draw_samples

        return draw_samples(self.engine, backend, count, self.seed, scorer, progress, keep)

    def require(self, method: str, *names: str) -> None:
        """Fail with one line when an input the method needs is missing."""
        for name in names:
            if not getattr(self, name):
                flag = {"pairs": "--pair BEFORE AFTER or --pairs-dir"}.get(name, "--" + name.replace("_", "-"))
                raise LatentEditError(f"Method {method!r} needs {flag}.")


SHARED_INPUTS = tuple(
    f.name for f in dataclasses.fields(DiscoverRequest) if f.name not in ("name", "seed", "extras", "engine")
)
"""The `DiscoverRequest` fields a method may list in `inputs` (each is a `discover` flag)."""


class Method(abc.ABC):
    """Base class: subclasses set the class attributes and implement discover/apply."""

    name: ClassVar[str]
    summary: ClassVar[str]
    space: ClassVar[str]
    Options: ClassVar[type] = NoOptions
    inputs: ClassVar[tuple[str, ...]] = ()
    """Shared request fields the method reads (a subset of `SHARED_INPUTS`, e.g. ``("attr",)``)."""
    discover_params: ClassVar[tuple[Param, ...]] = ()
    """Inputs of the method's own that `discover` offers (values arrive in ``request.extras``)."""
    ApplyOptions: ClassVar[type | None] = None
    """Optional dataclass of `apply` settings; `latentedit apply -o KEY=VALUE` routes its keys here."""
    apply_params: ClassVar[tuple[Param, ...]] = ()
    """Inputs `apply` needs besides codes (e.g. a reference image); passed to `apply` as keywords."""
    analyses: ClassVar[tuple[Analysis, ...]] = ()
    """Measurements the method adds to `latentedit evaluate`."""
    default_strength: ClassVar[float] = 3.0
    """`apply` strength when the caller gives none (vector edits: three standard deviations)."""

    @abc.abstractmethod
    def discover(self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress) -> Edit:
        """Learn an edit from the backend and the request's inputs."""

    @abc.abstractmethod
    def apply(
        self, backend: Backend, codes: torch.Tensor, edit: Edit, strength: float, **inputs: Any
    ) -> torch.Tensor | list[torch.Tensor]:
        """Edited codes for `strength` calibrated units. `codes` are in the edit's space family: Z
        ``[N, z_dim]`` for Z edits, else W+ ``[N, num_ws, w_dim]`` (or S-space styles from an earlier
        S edit). Returns codes of the same kind, or S-space styles (a list with one ``[N, C]`` tensor
        per style layer) for methods that edit styles. The backend and strength are already checked."""

    @classmethod
    def apply_input_names(cls) -> set[str]:
        """Every keyword `apply` takes: its params and its `ApplyOptions` fields."""
        names = {param.name for param in cls.apply_params}
        if cls.ApplyOptions is not None:
            names |= {f.name for f in dataclasses.fields(cls.ApplyOptions)}
        return names


def check_method_class(cls: Any, plugin: str) -> str:
    """Validate a registered method class's cheap data; returns its name. Errors name the plugin."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str):
        raise PluginError(f"Plugin {plugin!r} registered {cls!r}, which has no string attribute 'name'.")
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise PluginError(f"Method {name!r} of plugin {plugin!r} does not subclass latentedit.api.Method.")
    owner = f"Method {name!r} of plugin {plugin!r}"
    unknown = [item for item in cls.inputs if item not in SHARED_INPUTS]
    if unknown:
        raise PluginError(
            f"{owner} lists unknown inputs {', '.join(unknown)}; shared inputs are {', '.join(SHARED_INPUTS)} "
            "(declare its own as discover_params)."
        )
    for param in (*cls.discover_params, *cls.apply_params, *(p for a in cls.analyses for p in a.params)):
        param.check(owner)
    return name
