"""The stages of `apply DIR` and `invert DIR`, one chunk of inputs at a time:

```
 read (+ align) ──▶ invert (shared cache) ──▶ edit + paste back ──▶ write        (apply)
 read (+ align) ──▶ invert (shared cache), codes back to the driver              (invert)
```

Each input either moves on or becomes a `Failure` carrying its one-line error, which later stages
pass along untouched: one bad image never stops the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from latentedit.errors import LatentEditError

if TYPE_CHECKING:
    from latentedit.backend import Backend
    from latentedit.inputs import Input
    from latentedit.inversion import InversionOptions
    from latentedit.photos import EditUnit, FaceFinder

ITEM_ERRORS = (LatentEditError, OSError)
"""What fails one input (a broken file, no face, an output in the way); anything else is a bug."""


@dataclass
class Failure:
    """An input that could not be done, and why (one line)."""

    name: str
    input: str
    error: str


@dataclass
class Prepared:
    """An input read (and aligned): the pictures it makes (`EditUnit`s) and its file's identity."""

    name: str
    source: dict[str, Any]
    units: list[EditUnit]


@dataclass
class Finished:
    """An input done: its manifest record, and for `invert` its codes (`payload`)."""

    name: str
    source: dict[str, Any]
    record: dict[str, Any]
    payload: Any = None


@dataclass
class Rendered:
    """An input's pictures drawn: per unit, its description and the (path, writer) pairs to publish."""

    name: str
    source: dict[str, Any]
    units: list[tuple[dict[str, Any], list[tuple[Path, Callable[[Path], None]]]]] = field(default_factory=list)


def describe_input(item: Input) -> str:
    """How an input is shown in reports: its path, or ``seed:N``."""
    return str(item.path) if item.path is not None else f"seed:{item.seed}"


def shown(source: dict[str, Any]) -> str:
    """An input as reports show it, from its manifest identity (`source_of`)."""
    return str(source["path"]) if "path" in source else f"seed:{source['seed']}"


def source_of(item: Input) -> dict[str, Any]:
    """The input's identity in the manifest: path, size, modification time and SHA-256 (or its seed)."""
    from latentedit.fileio import sha256_file

    if item.path is None:
        return {"seed": item.seed}
    found = os.stat(item.path)
    return {
        "path": str(item.path),
        "size": found.st_size,
        "mtime_ns": found.st_mtime_ns,
        "sha256": sha256_file(item.path),
    }


def fail(name: str, label: str, error: BaseException) -> Failure:
    """A `Failure` with the error as one line (an OSError named by its file, as the CLI prints it)."""
    text = f"{error.filename}: {error.strerror}" if isinstance(error, OSError) and error.filename else str(error)
    return Failure(name, label, " ".join(text.split()) or type(error).__name__)


def each_input(items: list[Any], work: Callable[[Any], Any]) -> list[Any]:
    """`work(item)` for each item that has not failed; one whose work raises an input error
    (`ITEM_ERRORS`) becomes a `Failure`, and the others go on."""
    done = []
    for item in items:
        if isinstance(item, Failure):
            done.append(item)
            continue
        try:
            done.append(work(item))
        except ITEM_ERRORS as error:
            done.append(fail(item.name, shown(item.source), error))
    return done


@dataclass(frozen=True)
class ReadPhotos:
    """Read each input and align its faces as `apply`/`invert` do (`latentedit.photos.open_photo`)."""

    align: str
    finder: FaceFinder
    template: str
    face: int | None
    resolution: int
    crop_only: bool = False
    same_format: bool = False
    uses_backend: ClassVar[bool] = False

    def __call__(self, backend: Backend | None, items: list[Input]) -> list[Prepared | Failure]:
        from latentedit.photos import open_photo, plan_units

        prepared: list[Prepared | Failure] = []
        for item in items:
            try:
                source = source_of(item)
                photo = None
                if item.path is not None:
                    photo = open_photo(item.path, self.align, self.resolution, self.finder, self.template, self.face)
                units = plan_units([item], {item.name: photo}, self.crop_only, self.same_format)
                prepared.append(Prepared(item.name, source, units))
            except ITEM_ERRORS as error:
                prepared.append(fail(item.name, describe_input(item), error))
        return prepared


@dataclass(frozen=True)
class InvertUnits:
    """Invert the chunk's faces and photos together (batches as the local `invert_units` makes
    them), through the inversion cache every worker shares on the file system."""

    settings: InversionOptions
    use_cache: bool = True
    uses_backend: ClassVar[bool] = True

    def __call__(self, backend: Backend | None, items: list[Prepared | Failure]) -> list[Prepared | Failure]:
        from latentedit.photos import invert_units
        from latentedit.progress import no_progress

        ready = [item for item in items if isinstance(item, Prepared)]
        try:
            invert_units(
                backend, [unit for item in ready for unit in item.units], self.settings, no_progress, self.use_cache
            )  # type: ignore[arg-type]
        except ITEM_ERRORS as error:
            failed = {item.name: fail(item.name, shown(item.source), error) for item in ready}
            return [failed.get(item.name, item) for item in items]
        return items


@dataclass(frozen=True)
class RenderUnits:
    """Edit, synthesise and paste back each unit: `make_writers(backend, unit)` is the command's own
    drawing (edited picture and comparison, or a sweep's strip and GIF), named as it names them."""

    make_writers: Callable[[Any, EditUnit], list[Callable[[Path], None]]]
    out_dir: Path
    suffixes: tuple[str | None, ...]
    uses_backend: ClassVar[bool] = True

    def __call__(self, backend: Backend | None, items: list[Prepared | Failure]) -> list[Rendered | Failure]:
        def render(item: Prepared) -> Rendered:
            done = Rendered(item.name, item.source)
            for unit in item.units:
                targets = [self.out_dir / f"{unit.name}{suffix or unit.edited_suffix}" for suffix in self.suffixes]
                done.units.append((unit.describe(), list(zip(targets, self.make_writers(backend, unit), strict=True))))
            return done

        return each_input(items, render)


@dataclass(frozen=True)
class WriteOutputs:
    """Publish each unit's files atomically, both or neither (`atomic_write_group`), and record
    their hashes."""

    force: bool
    uses_backend: ClassVar[bool] = False

    def __call__(self, backend: Backend | None, items: list[Rendered | Failure]) -> list[Finished | Failure]:
        from latentedit.fileio import atomic_write_group, sha256_file

        def write(item: Rendered) -> Finished:
            results, outputs = [], {}
            for described, writes in item.units:
                files = atomic_write_group(writes, self.force)
                results.append(described | {"files": [str(path) for path in files]})
                outputs.update(
                    {str(path): {"sha256": sha256_file(path), "size": path.stat().st_size} for path in files}
                )
            return Finished(item.name, item.source, {"results": results, "outputs": outputs})

        return each_input(items, write)


@dataclass(frozen=True)
class InvertCodes:
    """`invert`'s stage: the chunk's crops (each face of each photo; a photo used as it is, resized)
    inverted together through the shared cache; each input's face records and `Inversion`s."""

    settings: InversionOptions
    use_cache: bool = True
    uses_backend: ClassVar[bool] = True

    def __call__(self, backend: Backend | None, items: list[Prepared | Failure]) -> list[Finished | Failure]:
        from latentedit.images import load_image
        from latentedit.inversion import invert_arrays
        from latentedit.photos import describe_faces
        from latentedit.progress import no_progress

        ready = [item for item in items if isinstance(item, Prepared)]
        records: dict[str, list[dict[str, Any]]] = {}
        arrays = []
        for item in ready:
            photo = item.units[0].photo
            if photo is None:
                records[item.name] = [{"file": item.source["path"], "face": None}]
                arrays.append(load_image(item.source["path"], backend.resolution))  # type: ignore[union-attr]
            else:
                records[item.name] = [{"file": item.source["path"]} | record for record in describe_faces(photo)]
                arrays.extend(face.aligned.crop for face in photo.faces)
        try:
            inversions = iter(invert_arrays(backend, arrays, self.settings, no_progress, self.use_cache))  # type: ignore[arg-type]
        except ITEM_ERRORS as error:
            return [item if isinstance(item, Failure) else fail(item.name, shown(item.source), error) for item in items]
        finished: list[Finished | Failure] = []
        for item in items:
            if isinstance(item, Failure):
                finished.append(item)
                continue
            codes = [next(inversions) for _ in records[item.name]]
            finished.append(Finished(item.name, item.source, {"codes": records[item.name]}, codes))
        return finished
