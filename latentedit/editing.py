"""The one path by which edits change latent codes (`apply_edits`), and rendering the results.

Every caller (the CLI's `apply`, `evaluate`, `demo`, the library, other front ends) goes through
`plan_edits` + `apply_edits`: the method comes from the registry, the default strength from the
method, strength and backend are checked once, and every space (Z included) goes through the
edit's method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from latentedit.errors import IncompatibleEditError, LatentEditError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from latentedit.backend import Backend
    from latentedit.edits import Edit
    from latentedit.inputs import Input
    from latentedit.inversion import Inversion, InversionOptions
    from latentedit.method import Method
    from latentedit.progress import Progress


@dataclass(frozen=True)
class PlannedEdit:
    """An edit checked against a backend, with its method and its strength resolved."""

    edit: Edit
    strength: float
    method: Method


EditLike = Union["Edit", "tuple[Edit, float | None]", PlannedEdit]
"""An edit (default strength), ``(edit, strength or None)``, or an already planned edit."""


def plan_edits(backend: Backend, edits: Sequence[EditLike]) -> list[PlannedEdit]:
    """Resolve each edit's method and strength and check both, once, before any work is done."""
    from latentedit.edits import Edit, check_strength
    from latentedit.plugins import get_plugins

    methods = get_plugins().methods
    planned = []
    for item in edits:
        if isinstance(item, PlannedEdit):
            planned.append(item)
            continue
        edit, strength = (item, None) if isinstance(item, Edit) else item
        method_cls = methods.get(edit.method)
        strength = method_cls.default_strength if strength is None else float(strength)
        check_strength(strength)
        edit.check_backend(backend)
        planned.append(PlannedEdit(edit, strength, method_cls()))
    return planned


def apply_edits(
    backend: Backend,
    ws: torch.Tensor,
    edits: Sequence[EditLike],
    z: torch.Tensor | None = None,
    **inputs: Any,
) -> torch.Tensor | list[torch.Tensor]:
    """Compose edits on W+ codes ``[N, num_ws, w_dim]``: Z-space edits first (on `z`, then mapped),
    then W-family edits in order, then S-space edits (they return styles, which only other S-space
    edits take). Keyword `inputs` (e.g. ``reference=``, ``region=``) go to the methods that declare
    them; one that no edit's method takes is an error. Each method's result must be finite."""
    plan = plan_edits(backend, edits)
    given = {key: value for key, value in inputs.items() if value is not None}
    accepted = set().union(*(type(item.method).apply_input_names() for item in plan)) if plan else set()
    unused = sorted(set(given) - accepted)
    if unused:
        raise LatentEditError(f"None of these edits takes {', '.join(unused)}.")
    in_z = [item for item in plan if item.edit.space == "z"]
    if in_z:
        if z is None:
            raise IncompatibleEditError(
                f"Edit {in_z[0].edit.name!r} lives in Z: it applies to generated samples (seed:N) only."
            )
        for item in in_z:
            z = _apply_one(backend, z, item, given)
        ws = backend.mapping(z)
    ordered = [item for item in plan if item.edit.space not in ("z", "s")] + [
        item for item in plan if item.edit.space == "s"
    ]
    for item in ordered:
        ws = _apply_one(backend, ws, item, given)
    return ws


def apply_edit(
    backend: Backend, ws: torch.Tensor, edit: Edit, strength: float | None = None, **inputs: Any
) -> torch.Tensor | list[torch.Tensor]:
    """One edit: ``apply_edits(backend, ws, [(edit, strength)], **inputs)`` (strength None: the method's default)."""
    return apply_edits(backend, ws, [(edit, strength)], **inputs)


def _apply_one(backend: Backend, codes: Any, item: PlannedEdit, given: dict[str, Any]) -> Any:
    import torch

    names = type(item.method).apply_input_names()
    result = item.method.apply(
        backend, codes, item.edit, item.strength, **{key: value for key, value in given.items() if key in names}
    )
    tensors = result if isinstance(result, list) else [result]
    if not all(bool(torch.isfinite(tensor).all()) for tensor in tensors):
        raise IncompatibleEditError(
            f"Edit {item.edit.name!r} at strength {item.strength:g} gives non-finite codes; the edit file is broken."
        )
    return result


@dataclass
class Subject:
    """One thing being edited: its codes, and for photos the inversion and the source pixels."""

    name: str
    ws: torch.Tensor
    z: torch.Tensor | None = None
    inversion: Inversion | None = None
    source: np.ndarray | None = None

    @property
    def psnr(self) -> float | None:
        return self.inversion.psnr[0] if self.inversion is not None else None

    @property
    def disc(self) -> float | None:
        """The discriminator's logit on the reconstruction (None: not inverted, or no discriminator)."""
        return self.inversion.disc[0] if self.inversion is not None and self.inversion.disc else None


def prepare_subjects(
    backend: Backend, items: list[Input], options: InversionOptions, progress: Progress
) -> list[Subject]:
    """Codes for every input: seeds through the mapping, photos through (cached) inversion."""
    import torch

    from latentedit.images import load_image
    from latentedit.inversion import invert_files

    photos = [item for item in items if item.path is not None]
    inversions = dict(
        zip((p.name for p in photos), invert_files(backend, [p.path for p in photos], options, progress), strict=True)
    )
    subjects = []
    for item in items:
        if item.path is None:
            with torch.inference_mode():
                z = backend.z_for_seeds([item.seed])
                subjects.append(Subject(item.name, backend.mapping(z), z=z))
        else:
            inversion = inversions[item.name]
            source = load_image(item.path, backend.resolution)
            subjects.append(Subject(item.name, inversion.ws.to(backend.device), inversion=inversion, source=source))
    return subjects


def render(backend: Backend, subject: Subject, plan: Sequence[EditLike], **inputs: Any) -> np.ndarray:
    """The subject edited by `plan` as one uint8 image ``[H, W, 3]`` (no plan: the reconstruction),
    drawn by the generator pivotal tuning made for it where its inversion was tuned."""
    import torch

    from latentedit.images import to_uint8
    from latentedit.inversion import synthesize
    from latentedit.pti import tuned_weights

    inversion = subject.inversion
    with torch.inference_mode(), tuned_weights(backend, inversion.tuned if inversion else None):
        ws = apply_edits(backend, subject.ws, plan, z=subject.z, **inputs) if plan else subject.ws
        return to_uint8(synthesize(backend, ws, inversion.noises if inversion else None))[0]
