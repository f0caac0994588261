"""What the studio does, without a UI: offer this backend's edits, turn a photo or a seed into an
`EditUnit` once, exactly as `latentedit apply` does (alignment, inversion through the cache the CLI
shares), and render any slider state from it (faces pasted back into a photo).

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
    from latentedit.inputs import Input
    from latentedit.inversion import InversionOptions
    from latentedit.photos import AlignedPhoto, EditUnit

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

    def from_photo(
        self,
        path: str | Path,
        progress: Progress = no_progress,
        align: str = "auto",
        landmarks: str | Path | None = None,
        face: int | None = None,
    ) -> EditUnit:
        """The photo as `latentedit apply --align ALIGN [--landmarks FILE] [--face N]` takes it: a crop
        at the generator's size as it is; a larger photo with its faces found (the landmarks file, else
        the installed detector; neither: one-line error), aligned, each inverted once through the cache
        the CLI shares, and pasted back when rendered (only face `face`, when given)."""
        from latentedit.inputs import parse_inputs
        from latentedit.photos import FaceFinder, open_photo, template_for

        (item,) = parse_inputs([str(path)])
        finder = FaceFinder(Path(landmarks) if landmarks else None, backend=self.backend.name)
        template = template_for(self.backend)
        photo = open_photo(item.path, align, self.backend.resolution, finder, template, face)
        return self._unit(item, photo, progress)

    @property
    def renders_faces(self) -> bool:
        """Whether the embedded world's renderer draws what this generator draws (the rendered-face picker)."""
        from latentedit.photos import template_for

        return template_for(self.backend) == "embedded"

    def rendered_faces(self, first: int, count: int, folder: Path) -> list[Path]:
        """Renderer faces of seeds ``first``… at the generator's size, written as ``folder/SEED.png``
        (the files `latentedit world render --seed FIRST --n COUNT` writes at 64 px): photos the
        generator never saw (seeds from `HELDOUT_SEED`), to pick and invert like an upload."""
        from latentedit.fileio import atomic_write
        from latentedit.images import png_writer
        from latentedit.world.attributes import sample_attributes
        from latentedit.world.render import render

        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for seed in range(int(first), int(first) + count):
            path = folder / f"{seed}.png"
            if not path.is_file():
                image, _ = render(sample_attributes(seed), self.backend.resolution)
                atomic_write(path, png_writer(image))
            paths.append(path)
        return paths

    def from_seed(self, seed: int) -> EditUnit:
        """A generated sample (its Z and W codes, no inversion)."""
        from latentedit.inputs import parse_inputs

        (item,) = parse_inputs([f"seed:{int(seed)}"])
        return self._unit(item, None, no_progress)

    def reference(self, text: str, progress: Progress = no_progress) -> Subject:
        """A local-style reference (an image file or ``seed:N``) as `apply --reference` reads it."""
        from latentedit.editing import prepare_subjects
        from latentedit.inputs import parse_inputs

        (subject,) = prepare_subjects(self.backend, parse_inputs([text]), self.options, progress)
        return subject

    def _unit(self, item: Input, photo: AlignedPhoto | None, progress: Progress) -> EditUnit:
        from latentedit.photos import invert_units, plan_units

        (unit,) = plan_units([item], {item.name: photo}, crop_only=False, same_format=False)
        invert_units(self.backend, [unit], self.options, progress)
        return unit

    def render(
        self,
        unit: EditUnit,
        strengths: Mapping[str, float],
        conditioned_on: Sequence[str] = (),
        reference: Subject | None = None,
        region: str | None = None,
    ) -> np.ndarray:
        """`unit` with every non-zero slider applied (composed as `apply_edits` orders them; faces
        pasted back into a photo) as uint8 ``[H, W, 3]``. `conditioned_on` names edits whose
        attributes the vector edits keep (InterFaceGAN's projection; an edit that is moved itself is
        no condition); `reference` and `region` go to the edits that take them (local style), as
        `apply --reference --region` does."""
        from latentedit.editing import plan_edits

        moved = {name: float(value) for name, value in strengths.items() if float(value) != 0.0}
        plan = plan_edits(self.backend, [(self._edit(name), value) for name, value in moved.items()])
        given = {
            "orthogonal_to": [self._edit(name) for name in conditioned_on if name not in moved] or None,
            "reference": reference.ws if reference is not None else None,
            "region": region or None,
        }
        accepted = set().union(*(type(item.method).apply_input_names() for item in plan)) if plan else set()
        inputs = {key: value for key, value in given.items() if key in accepted and value is not None}
        return unit.draw(self.backend, plan, inputs)

    def sweep(self, unit: EditUnit, name: str, text: str) -> list[np.ndarray]:
        """Frames of one edit over ``FROM:TO:COUNT`` strengths, as `apply --dir NAME --sweep` renders them."""
        from latentedit.editing import plan_edits
        from latentedit.inputs import parse_strength_range

        edit = self._edit(name)
        plans = [plan_edits(self.backend, [(edit, value)]) for value in parse_strength_range(text)]
        return [unit.draw(self.backend, plan, {}) for plan in plans]

    def _edit(self, name: str) -> Edit:
        if name not in self.edits:
            raise LatentEditError(f"Edit {name!r} is not offered here. Offered: {', '.join(self.edits) or 'none'}.")
        return self.edits[name]


def write_result(unit: EditUnit, image: np.ndarray, folder: Path) -> Path:
    """The result file, written exactly as `latentedit apply` writes NAME_edited.png: a whole photo
    keeps its EXIF and colour profile, a crop or a sample is a plain PNG."""
    from latentedit.fileio import atomic_write
    from latentedit.images import photo_writer, png_writer

    whole = unit.photo is not None and unit.face is None
    writer = photo_writer(image, unit.photo.photo, False) if whole else png_writer(image)  # type: ignore[union-attr]
    return atomic_write(folder / f"{unit.name}{unit.edited_suffix}", writer)


def write_gif(frames: list[np.ndarray], path: Path) -> Path:
    """The sweep file, written exactly as `latentedit apply --sweep` writes NAME_sweep.gif."""
    from latentedit.fileio import atomic_write
    from latentedit.images import gif_writer

    return atomic_write(path, gif_writer(frames))
