"""Turn another tool's direction into a latentedit vector edit for one backend.

A reader (`registry`) hands over the direction as the file stores it; `place` fits it to the
backend (space, dimensions, W+ layers) with one-line errors where it cannot fit, and the
edit is calibrated on the backend like every other vector edit, so ``--strength 3`` is three
standard deviations of sampled latents along it whatever scale the file used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import DirectionFileError, OptionError
from latentedit.options import option
from latentedit.progress import Progress, no_progress

if TYPE_CHECKING:
    import numpy as np

    from latentedit.backend import Backend
    from latentedit.edits import Edit
    from latentedit.interop.source import SourceDirection

IMPORTED = "imported"
"""The method name of imported edits (a built-in vector method that applies them)."""


@dataclass
class ImportOptions:
    """``-o KEY=VALUE`` of `latentedit directions import`."""

    space: str | None = option(
        None, "Latent space of the direction: z, w or w+ (default: what the file or its name says)."
    )
    layers: str | None = option(
        None, "W+ layers the edit moves: 'all', '0-7' or '0,2,5' (default: the file's own range, else all)."
    )
    component: int | None = option(
        None, "Which direction of a file holding several (PCA components, eigenvectors); 0 is the first."
    )
    samples: int = option(10_000, "Sampled latents that calibrate --strength on the backend.")

    def validate(self) -> None:
        if self.space not in (None, "z", "w", "w+"):
            raise OptionError(f"Option space={self.space!r}: expected z, w or w+.")
        if self.component is not None and self.component < 0:
            raise OptionError(f"Option component={self.component}: must be 0 or more.")
        if self.samples < 2:
            raise OptionError(f"Option samples={self.samples}: need at least 2 to calibrate strength.")


@dataclass
class Placement:
    """A direction fitted to a backend: ``(z_dim,)``/``(w_dim,)`` for Z/W, ``(num_ws, w_dim)`` for W+;
    `layers` are the W+ codes it moves."""

    space: str
    direction: np.ndarray
    layers: list[int]


def place(found: SourceDirection, backend: Backend, options: ImportOptions, source: Path) -> Placement:
    """Space, shape and layers of `found` on `backend`."""
    import numpy as np

    vector, space = found.vector, options.space or found.space
    if not np.any(vector):
        raise DirectionFileError(f"{source.name}: the direction is zero; there is nothing to move along.")
    if vector.ndim == 1:
        space, vector = _place_vector(vector, space, backend, source)
    else:
        space, vector = _place_rows(vector, options.space, backend, source)
    return _restrict(space, vector, _layers(found, backend, options, source), backend, source)


def _dimension_error(source: Path, size: int, backend: Backend, expected: int) -> DirectionFileError:
    return DirectionFileError(
        f"{source.name}: this direction has {size} dimensions, backend {backend.name} has {expected}; "
        "it was made for another generator."
    )


def _place_vector(
    vector: np.ndarray, space: str | None, backend: Backend, source: Path
) -> tuple[str, np.ndarray]:
    size, flat = vector.size, backend.num_ws * backend.w_dim
    if space in (None, "w+") and size == flat and size not in (backend.w_dim, backend.z_dim):
        return "w+", vector.reshape(backend.num_ws, backend.w_dim)  # a boundary trained on flattened W+ codes
    if space == "w+":
        space = "w"  # one vector for every layer
    if space is None:
        raise DirectionFileError(
            f"{source.name}: the file does not say whether this direction lives in Z or W; "
            "pass -o space=z or -o space=w."
        )
    expected = backend.z_dim if space == "z" else backend.w_dim
    if size != expected:
        raise _dimension_error(source, size, backend, expected)
    return space, vector


def _place_rows(rows: np.ndarray, asked: str | None, backend: Backend, source: Path) -> tuple[str, np.ndarray]:
    """One row per W+ layer: identical rows are one W direction (unless ``-o space=w+``)."""
    import numpy as np

    if asked == "z":
        raise DirectionFileError(f"{source.name}: a direction with one row per W+ layer cannot live in Z.")
    if rows.shape[1] != backend.w_dim:
        raise _dimension_error(source, rows.shape[1], backend, backend.w_dim)
    if asked != "w+" and np.allclose(rows, rows[0], rtol=1e-6, atol=1e-9 * float(np.abs(rows).max())):
        return "w", rows[0]
    if rows.shape[0] != backend.num_ws:
        raise DirectionFileError(
            f"{source.name}: this direction has {rows.shape[0]} layers (W+ rows), backend {backend.name} has "
            f"{backend.num_ws}; it was made for another generator."
        )
    return "w+", rows


def _layers(found: SourceDirection, backend: Backend, options: ImportOptions, source: Path) -> list[int]:
    from latentedit.layers import describe_layers, parse_layers

    if options.layers is not None:
        return parse_layers(options.layers, backend.num_ws)
    if found.layers is None:
        return list(range(backend.num_ws))
    if max(found.layers) >= backend.num_ws:
        raise DirectionFileError(
            f"{source.name}: the file edits layers {describe_layers(found.layers, max(found.layers) + 1)}, backend "
            f"{backend.name} has layers 0-{backend.num_ws - 1}; choose others with -o layers=a-b."
        )
    return list(found.layers)


def _restrict(space: str, vector: np.ndarray, layers: list[int], backend: Backend, source: Path) -> Placement:
    """Zero every W+ layer outside `layers` (a W direction becomes a W+ one when some are left out)."""
    import numpy as np

    if layers == list(range(backend.num_ws)):
        moved = [index for index in layers if space != "w+" or np.any(vector[index])]
        return Placement(space, vector, moved)
    if space == "z":
        raise DirectionFileError(
            f"{source.name}: a Z direction moves every layer (through the mapping network); layers apply to W "
            "directions only."
        )
    rows = np.broadcast_to(vector, (backend.num_ws, backend.w_dim)) if space == "w" else vector
    kept = np.zeros_like(rows)
    kept[layers] = rows[layers]
    moved = [index for index in layers if np.any(kept[index])]
    if not moved:
        raise DirectionFileError(f"{source.name}: the direction is zero on the chosen layers; nothing would move.")
    return Placement("w+", kept, moved)


def default_name(source: Path, found: SourceDirection) -> str:
    """An edit name from the file name (``ffhq_pca.pt`` component 3 -> ``ffhq_pca-c3``)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", source.stem).strip("-._") or IMPORTED
    return f"{stem}-c{found.component}" if found.component is not None else stem


def import_direction(
    path: str | Path,
    backend: Backend,
    *,
    fmt: str = "auto",
    name: str | None = None,
    options: ImportOptions | None = None,
    seed: int = 0,
    progress: Progress = no_progress,
) -> Edit:
    """Read `path` code-free, fit it to `backend` and calibrate it: an unsaved ``imported`` edit whose
    provenance names the source format, file and SHA-256, the space and the layers."""
    import torch

    from latentedit.fileio import sha256_file
    from latentedit.interop.containers import open_container
    from latentedit.interop.registry import detect
    from latentedit.layers import describe_layers
    from latentedit.options import options_dict
    from latentedit.sampling import sample
    from latentedit.store import check_name
    from latentedit.vectors import vector_edit

    source = Path(path)
    options = options or ImportOptions()
    container = open_container(source)
    layout = detect(container, source, fmt)
    found = layout.function("read")(container.content, source, options.component)
    placed = place(found, backend, options, source)
    edit_name = check_name(name or default_name(source, found))
    latents = sample(backend, options.samples, seed, progress=progress).latents(placed.space)
    provenance: dict[str, Any] = {
        "source_format": layout.name,
        "source_file": str(source.resolve()),
        "source_sha256": sha256_file(source),
        "space": placed.space,
        "layers": describe_layers(placed.layers, backend.num_ws),
        "calibration": {"samples": options.samples, "seed": seed},
        **found.details,
    }
    return vector_edit(
        method=IMPORTED,
        name=edit_name,
        space=placed.space,
        direction=torch.from_numpy(placed.direction.copy()),
        backend=backend,
        calibration_latents=latents,
        params={**options_dict(options), "format": layout.name},
        metrics={"source_norm": float((found.vector**2).sum() ** 0.5)},
        provenance=provenance,
    )
