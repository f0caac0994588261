"""What the studio does, without a UI: offer this backend's edits, turn a photo or a seed into a
subject once (inversion through the cache the CLI shares), and render any slider state from it.

The page (app.py) only lays this out; the latency benchmark and the tests drive it directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from latentedit.errors import LatentEditError
from latentedit.progress import Progress, no_progress

if TYPE_CHECKING:
    import numpy as np

    from latentedit.backend import Backend
    from latentedit.editing import Subject
    from latentedit.edits import Edit
    from latentedit.inversion import InversionOptions

STRENGTH_RANGE = (-5.0, 5.0)
"""Slider range in calibrated units: standard deviations of sampled latents along the edit."""
LOCAL_RANGE = (0.0, 2.0)
"""Local-style slider range: 1 transfers the region's style fully (the method's default)."""


@dataclass(frozen=True)
class Skipped:
    """A stored edit the studio does not offer, and why (another backend, needs a reference...)."""

    name: str
    reason: str


@dataclass
class Studio:
    """One backend, its offered edits, and the inversion settings the CLI's `apply -o` would use."""

    backend: Backend
    options: InversionOptions
    edits: dict[str, Edit] = field(default_factory=dict)
    needs_reference: list[str] = field(default_factory=list)
    """Offered edits whose method takes an image at apply time (local style: reference + region)."""
    skipped: list[Skipped] = field(default_factory=list)

    @classmethod
    def open(cls, backend: Backend, options: InversionOptions | None = None) -> Studio:
        """Load every stored edit of `backend` whose fingerprint matches; list the others in
        `skipped` with the reason."""
        from latentedit.edits import Edit
        from latentedit.inversion import InversionOptions
        from latentedit.plugins import get_plugins
        from latentedit.store import list_edits

        studio = cls(backend, options or InversionOptions())
        methods = get_plugins().methods
        for stored in list_edits(backend.name):
            fingerprint = stored.metadata.get("backend")
            if "error" in stored.metadata:
                studio.skipped.append(Skipped(stored.name, stored.metadata["error"]))
                continue
            if fingerprint != backend.fingerprint:
                learned = stored.metadata.get("backend_name", "?")
                studio.skipped.append(Skipped(stored.name, f"learned on backend {learned} ({fingerprint})"))
                continue
            try:
                edit = Edit.load(stored.path)
                method = methods.get(edit.method)
            except LatentEditError as exc:
                studio.skipped.append(Skipped(stored.name, str(exc)))
                continue
            images = [param.name for param in method.apply_params if param.kind == "image"]
            if images and images != ["reference"]:
                studio.skipped.append(Skipped(stored.name, f"needs {', '.join(images)} (use `latentedit apply`)"))
                continue
            if images:
                studio.needs_reference.append(stored.name)
            studio.edits[stored.name] = edit
        return studio

    def regions(self) -> list[str]:
        """Named regions of the reference-taking edits' catalogs (``params["labels"]``), for the picker."""
        names = (name for edit in map(self.edits.get, self.needs_reference) for name in edit.params.get("labels") or {})
        return sorted(set(names))

    def conditionable(self) -> list[str]:
        """Edits that may serve as conditions ("conditioned on"): those of vector methods."""
        from latentedit.plugins import get_plugins

        methods = get_plugins().methods
        return [
            name
            for name, edit in self.edits.items()
            if "orthogonal_to" in methods.get(edit.method).apply_input_names() and edit.space != "s"
        ]

    def from_photo(self, path: str | Path, progress: Progress = no_progress) -> Subject:
        """The photo's subject: inverted once, through the same cache as `latentedit apply`."""
        return self._subject(str(path), progress)

    def from_seed(self, seed: int) -> Subject:
        """A generated sample's subject (its Z and W codes, no inversion)."""
        return self._subject(f"seed:{int(seed)}", no_progress)

    def _subject(self, text: str, progress: Progress) -> Subject:
        from latentedit.editing import prepare_subjects
        from latentedit.inputs import parse_inputs

        (subject,) = prepare_subjects(self.backend, parse_inputs([text]), self.options, progress)
        return subject

    def render(
        self,
        subject: Subject,
        strengths: Mapping[str, float],
        conditioned_on: Sequence[str] = (),
        reference: Subject | None = None,
        region: str | None = None,
    ) -> np.ndarray:
        """`subject` with every non-zero slider applied (composed as `apply_edits` orders them) as uint8
        ``[H, W, 3]``. `conditioned_on` names edits whose attributes the vector edits keep
        (InterFaceGAN's projection; an edit that is moved itself is no condition); `reference` and
        `region` go to the edits that take them (local style), as `apply --reference --region` does."""
        from latentedit.editing import plan_edits, render

        moved = {name: float(value) for name, value in strengths.items() if float(value) != 0.0}
        plan = plan_edits(self.backend, [(self._edit(name), value) for name, value in moved.items()])
        given = {
            "orthogonal_to": [self._edit(name) for name in conditioned_on if name not in moved] or None,
            "reference": reference.ws if reference is not None else None,
            "region": region or None,
        }
        accepted = set().union(*(type(item.method).apply_input_names() for item in plan)) if plan else set()
        inputs = {key: value for key, value in given.items() if key in accepted and value is not None}
        return render(self.backend, subject, plan, **inputs)

    def sweep(self, subject: Subject, name: str, text: str) -> list[np.ndarray]:
        """Frames of one edit over ``FROM:TO:COUNT`` strengths, as `apply --dir NAME --sweep` renders them."""
        from latentedit.editing import plan_edits, render
        from latentedit.inputs import parse_strength_range

        edit = self._edit(name)
        plans = [plan_edits(self.backend, [(edit, value)]) for value in parse_strength_range(text)]
        return [render(self.backend, subject, plan) for plan in plans]

    def _edit(self, name: str) -> Edit:
        if name not in self.edits:
            raise LatentEditError(f"Edit {name!r} is not offered here. Offered: {', '.join(self.edits) or 'none'}.")
        return self.edits[name]


def write_png(image: np.ndarray, path: Path) -> Path:
    """The result file, written exactly as `latentedit apply` writes NAME_edited.png."""
    from latentedit.fileio import atomic_write
    from latentedit.images import png_writer

    return atomic_write(path, png_writer(image))


def write_gif(frames: list[np.ndarray], path: Path) -> Path:
    """The sweep file, written exactly as `latentedit apply --sweep` writes NAME_sweep.gif."""
    from latentedit.fileio import atomic_write
    from latentedit.images import gif_writer

    return atomic_write(path, gif_writer(frames))
