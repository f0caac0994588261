"""The direction file layouts latentedit reads and writes, and detecting which one a file has.

Entries are plain data with ``"module:function"`` targets, so listing them (``--help``) imports
neither numpy nor torch. Detection opens the file's container code-free (`containers`) and asks
each layout of that container whether the content has its structure; the first that does wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import DirectionFileError
from latentedit.registry import Registry

if TYPE_CHECKING:
    from latentedit.interop.containers import Container

AUTO = "auto"


@dataclass(frozen=True)
class DirectionFormat:
    """One layout: its container, where such files come from, and its reader (or writer)."""

    name: str
    container: str
    summary: str
    module: str
    read: str = ""
    matches: str = ""
    write: str = ""
    reads_as: str = ""
    """For an export layout: the import layout that reads it back."""

    def function(self, role: str) -> Callable[..., Any]:
        """Its reader, matcher or writer (`role`: "read", "matches" or "write"), imported now."""
        from latentedit.lazy import resolve

        return resolve(f"{self.module}:{getattr(self, role)}")


_IMPORTS = (
    DirectionFormat(
        "interfacegan-npy", "npy", "InterFaceGAN boundary: (1, d) float64, unit norm; Z or W (name `_w_`).",
        "latentedit.interop.interfacegan", "read", "matches",
    ),
    DirectionFormat(
        "wplus-npy", "npy", "W+ direction set: (num_ws, d), one row per layer (stylegan2directions).",
        "latentedit.interop.wplus", "read", "matches",
    ),
    DirectionFormat(
        "e4e-pt", "torch", "e4e/PTI/HyperStyle interfacegan_directions: tensor (1, d) or (1, num_ws, d) in W.",
        "latentedit.interop.e4e", "read", "matches",
    ),
    DirectionFormat(
        "ganspace-pt", "torch", "GANSpace PCA as e4e/HyperStyle ship it (ffhq_pca.pt): mean, comp (K, 1, d), std.",
        "latentedit.interop.ganspace", "read_pt", "matches_pt",
    ),
    DirectionFormat(
        "rosinality-factor", "torch", "rosinality closed_form_factorization.py output: ckpt, eigvec (d, d) in W.",
        "latentedit.interop.rosinality", "read", "matches",
    ),
    DirectionFormat(
        "ganspace-npz", "npz", "GANSpace cache (lat_comp (K, 1, d), lat_mean, lat_stdev, ...) or latentedit's npz.",
        "latentedit.interop.ganspace", "read_npz", "matches_npz",
    ),
    DirectionFormat(
        "ganspace-pkl", "pickle", "GANSpace's exported named direction: a pickled dict of numpy arrays and numbers.",
        "latentedit.interop.ganspace", "read_pkl", "matches_pkl",
    ),
)

_EXPORTS = (
    DirectionFormat(
        "interfacegan-npy", "npy", "(1, d) float64 unit norm (W+ edits: one flattened row); for InterFaceGAN.",
        "latentedit.interop.interfacegan", write="write", reads_as="interfacegan-npy",
    ),
    DirectionFormat(
        "e4e-pt", "torch", "torch tensor (1, d), W+ edits (1, num_ws, d); for e4e, PTI and HyperStyle.",
        "latentedit.interop.e4e", write="write", reads_as="e4e-pt",
    ),
    DirectionFormat(
        "npz", "npz", "GANSpace's latent keys: lat_comp (1, 1, d), lat_stdev (the strength unit), space.",
        "latentedit.interop.ganspace", write="write_npz", reads_as="ganspace-npz",
    ),
)


def _registry(kind: str, formats: tuple[DirectionFormat, ...]) -> Registry[DirectionFormat]:
    registry: Registry[DirectionFormat] = Registry(kind)
    for entry in formats:
        registry.add(entry.name, entry, "builtin")
    return registry


IMPORT_FORMATS = _registry("direction format", _IMPORTS)
EXPORT_FORMATS = _registry("export format", _EXPORTS)


def detect(container: Container, source: Path, name: str = AUTO) -> DirectionFormat:
    """The layout of `container`: `name` checked against the container, or the first that matches."""
    if name != AUTO:
        chosen = IMPORT_FORMATS.get(name)
        if chosen.container != container.kind:
            raise DirectionFileError(
                f"{source} is a {container.kind} file; --format {name} reads {chosen.container} files."
            )
        return chosen
    for entry in (item.value for item in IMPORT_FORMATS):
        if entry.container == container.kind and entry.function("matches")(container.content):
            return entry
    candidates = ", ".join(item.name for item in IMPORT_FORMATS if item.value.container == container.kind)
    raise DirectionFileError(
        f"{source} is a {container.kind} file holding {container.describe()}, which matches none of the layouts "
        f"latentedit reads from {container.kind} files ({candidates}); see docs/interop.md."
    )
