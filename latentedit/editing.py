"""Applying edits to latent codes and rendering the results: shared by `apply`, `evaluate`, `demo`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from latentedit.errors import IncompatibleEditError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from latentedit.backend import Backend
    from latentedit.edits import Edit
    from latentedit.inputs import Input
    from latentedit.inversion import Inversion, InversionOptions
    from latentedit.methods.base import Progress


def apply_edits(
    backend: Backend,
    ws: torch.Tensor,
    edits: list[tuple[Edit, float]],
    z: torch.Tensor | None = None,
    **inputs: Any,
) -> torch.Tensor:
    """Compose edits: Z-space edits first (on `z`, then mapped), then W-family edits in order, then
    S-space edits (they return styles, which only other S-space edits take)."""
    from latentedit.edits import check_strength
    from latentedit.vectors import check_vector_edit, move

    in_z = [(edit, strength) for edit, strength in edits if edit.space == "z"]
    if in_z:
        if z is None:
            raise IncompatibleEditError(
                f"Edit {in_z[0][0].name!r} lives in Z: it applies to generated samples (seed:N) only."
            )
        for edit, strength in in_z:
            check_strength(strength)
            edit.check_backend(backend)
            check_vector_edit(edit, backend)
            z = move(z, edit, strength)
        ws = backend.mapping(z)
    for edit, strength in [pair for pair in edits if pair[0].space not in ("z", "s")] + [
        pair for pair in edits if pair[0].space == "s"
    ]:
        ws = edit.apply(backend, ws, strength, **inputs)
    return ws


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


def render(backend: Backend, subject: Subject, plan: list[tuple[Edit, float]], **inputs: Any) -> np.ndarray:
    """The subject edited by `plan` as one uint8 image ``[H, W, 3]`` (no plan: the reconstruction)."""
    import torch

    from latentedit.images import to_uint8
    from latentedit.inversion import synthesize

    with torch.inference_mode():
        ws = apply_edits(backend, subject.ws, plan, z=subject.z, **inputs) if plan else subject.ws
        return to_uint8(synthesize(backend, ws, subject.inversion.noises if subject.inversion else None))[0]
