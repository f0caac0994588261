"""Edit files: what a method learned, as safetensors tensors plus string metadata.

An Edit is self-contained: `apply` needs only the file and a backend whose fingerprint
matches. Files are written atomically; loading validates the format version, the metadata,
tensor dtypes and shapes and finiteness, and fails with one line naming the problem.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import EditFileError, IncompatibleEditError, LatentEditError
from latentedit.reproducible import created_timestamp

if TYPE_CHECKING:
    import torch

    from latentedit.backend import Backend

FORMAT_VERSION = 1
SPACES = ("z", "w", "w+", "s", "w*")
REQUIRED_METADATA = ("latentedit.format", "method", "name", "space", "backend", "backend_name", "created")
JSON_METADATA = ("params", "metrics", "provenance")
MAX_HEADER_BYTES = 64 * 1024 * 1024
MAX_STRENGTH = 100.0
# Latents spread at most ~2.7 (W) and ~10 (W+, one direction on all layers) along any unit
# direction on the shipped and random generators (top principal std of 4000 samples); 10x that
# is the largest calibrated unit an edit may carry, so MAX_STRENGTH of them stays finite.
MAX_STRENGTH_UNIT = 100.0


@dataclass
class Edit:
    """Named tensors plus the metadata DESIGN.md lists; `strength` is in calibrated units."""

    method: str
    name: str
    space: str
    tensors: dict[str, torch.Tensor]
    backend: str
    backend_name: str
    attribute: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=created_timestamp)  # SOURCE_DATE_EPOCH if set: docs/reliability.md
    path: Path | None = None

    def metadata(self) -> dict[str, str]:
        """The safetensors ``__metadata__`` (str -> str)."""
        return {
            "latentedit.format": str(FORMAT_VERSION),
            "method": self.method,
            "name": self.name,
            "attribute": self.attribute,
            "space": self.space,
            "backend": self.backend,
            "backend_name": self.backend_name,
            "created": self.created,
            "params": json.dumps(self.params, sort_keys=True, default=str),
            "metrics": json.dumps(self.metrics, sort_keys=True, default=float),
            "provenance": json.dumps(self.provenance, sort_keys=True, default=str),
        }

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write atomically, byte-reproducibly (sorted header); refuse to overwrite without `force`."""
        from latentedit.fileio import atomic_write, check_writable

        target = check_writable(path, force)
        atomic_write(target, self.writer(str(target)))
        self.path = target
        return target

    def writer(self, where: str = "edit") -> Callable[[Path], None]:
        """A function writing this edit's bytes to the path it is given (for writes of several files
        as one unit); the tensors are checked now, where names the edit in errors."""
        from latentedit.reproducible import save_safetensors

        _check_tensors(self.tensors, where)
        tensors = {key: value.detach().to("cpu").contiguous() for key, value in self.tensors.items()}
        metadata = self.metadata()
        return lambda tmp: save_safetensors(tensors, tmp, metadata)

    @classmethod
    def load(cls, path: str | Path) -> Edit:
        """Read and validate an edit file."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        source = Path(path)
        metadata, _ = read_header(source)
        try:
            tensors = load_file(str(source))
        except (SafetensorError, OSError, ValueError) as exc:
            raise EditFileError(f"{source}: cannot read tensors ({exc}).") from None
        _check_tensors(tensors, str(source))
        edit = cls(
            method=metadata["method"],
            name=metadata["name"],
            space=metadata["space"],
            tensors=tensors,
            backend=metadata["backend"],
            backend_name=metadata["backend_name"],
            attribute=metadata.get("attribute", ""),
            created=metadata["created"],
            path=source,
            **{key: _json_field(metadata, key, source) for key in JSON_METADATA},
        )
        return edit

    def check_backend(self, backend: Backend) -> None:
        """Refuse a backend other than the one this edit was learned for."""
        if backend.fingerprint != self.backend:
            raise IncompatibleEditError(
                f"Edit {self.name!r} was learned for backend {self.backend_name} ({self.backend}); "
                f"this backend is {backend.name} ({backend.fingerprint})."
            )


def check_strength(strength: float) -> None:
    """Strengths are in standard deviations: NaN, inf, or beyond ±100 are mistakes."""
    if not math.isfinite(strength):
        raise LatentEditError(f"Strength {strength} is not a finite number.")
    if abs(strength) > MAX_STRENGTH:
        raise LatentEditError(
            f"Strength {strength} is absurd: strengths are in standard deviations of the latents; "
            f"use a value within ±{MAX_STRENGTH:g} (typically ±3)."
        )


def read_header(path: str | Path) -> tuple[dict[str, str], dict[str, Any]]:
    """Metadata and tensor descriptors from the safetensors header only (no tensor data read)."""
    source = Path(path)
    if not source.is_file():
        raise EditFileError(f"Edit file {source} not found.")
    try:
        with open(source, "rb") as handle:
            raw_length = handle.read(8)
            if len(raw_length) != 8:
                raise ValueError("file too short")
            (length,) = struct.unpack("<Q", raw_length)
            if length > MAX_HEADER_BYTES:
                raise ValueError("header length is implausible")
            header = json.loads(handle.read(length))
    except RecursionError:
        raise EditFileError(f"{source} is not a safetensors edit file (its header nests too deeply).") from None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise EditFileError(f"{source} is not a safetensors edit file ({exc}).") from None
    if not isinstance(header, dict):
        raise EditFileError(f"{source} is not a safetensors edit file (header is not a table).")
    metadata = header.pop("__metadata__", None) or {}
    _check_metadata(metadata, source)
    for key, info in header.items():
        if not _is_tensor_info(info):
            raise EditFileError(f"{source}: tensor {key!r} is not described by a dtype and a shape of sizes.")
    return metadata, header


def _is_tensor_info(info: Any) -> bool:
    """A safetensors tensor entry: ``{"dtype": str, "shape": [int, ...], "data_offsets": [int, int]}``."""
    if not isinstance(info, dict) or not isinstance(info.get("dtype"), str):
        return False
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not isinstance(shape, list) or not isinstance(offsets, list) or len(offsets) != 2:
        return False
    return all(type(size) is int and size >= 0 for size in [*shape, *offsets])


def _check_metadata(metadata: dict[str, str], source: Path) -> None:
    if not isinstance(metadata, dict) or not all(isinstance(value, str) for value in metadata.values()):
        raise EditFileError(f"{source}: metadata must map names to strings.")
    version = metadata.get("latentedit.format")
    if version is None:
        raise EditFileError(f"{source} is a safetensors file but not a latentedit edit (no 'latentedit.format').")
    if not re.fullmatch(r"[0-9]{1,9}", version):
        raise EditFileError(f"{source}: format version {version[:20]!r} is not an integer.")
    if int(version) > FORMAT_VERSION:
        raise EditFileError(
            f"{source} has format version {version}; this latentedit reads up to {FORMAT_VERSION}. Upgrade latentedit."
        )
    missing = [key for key in REQUIRED_METADATA if not metadata.get(key)]
    if missing:
        raise EditFileError(f"{source}: metadata is missing {', '.join(missing)}.")
    if metadata["space"] not in SPACES:
        raise EditFileError(
            f"{source}: unknown latent space {metadata['space']!r}; expected one of {', '.join(SPACES)}."
        )
    for key in JSON_METADATA:
        _json_field(metadata, key, source)


def _json_field(metadata: dict[str, str], key: str, source: Path) -> dict[str, Any]:
    try:
        value = json.loads(metadata.get(key) or "{}")
    except (json.JSONDecodeError, RecursionError):
        raise EditFileError(f"{source}: metadata field {key!r} is not valid JSON (or nests too deeply).") from None
    if not isinstance(value, dict):
        raise EditFileError(f"{source}: metadata field {key!r} must be a JSON object.")
    return value


def _check_tensors(tensors: dict[str, torch.Tensor], where: str) -> None:
    """Dtypes and finiteness of every tensor, and the shapes and sizes of the ones with a shared
    meaning: a ``direction`` (also ``direction.NAME``) is one vector or one per layer, and a
    ``strength_unit`` is one positive number no larger than MAX_STRENGTH_UNIT."""
    import torch

    if not tensors:
        raise EditFileError(f"{where}: an edit needs at least one tensor.")
    for key, value in tensors.items():
        if not value.dtype.is_floating_point and value.dtype not in (torch.int64, torch.int32, torch.bool):
            raise EditFileError(f"{where}: tensor {key!r} has unsupported dtype {value.dtype}.")
        if value.dtype.is_floating_point and not bool(torch.isfinite(value).all()):
            raise EditFileError(f"{where}: tensor {key!r} contains NaN or infinite values.")
        kind = key.partition(".")[0]
        if kind == "direction" and value.dim() not in (1, 2):
            raise EditFileError(f"{where}: tensor {key!r} has shape {tuple(value.shape)}; a direction is 1-D or 2-D.")
        if kind == "strength_unit":
            if value.dim() != 0 or not value.dtype.is_floating_point:
                raise EditFileError(f"{where}: tensor {key!r} has shape {tuple(value.shape)}; it must be one number.")
            if not 0 < float(value) <= MAX_STRENGTH_UNIT:
                raise EditFileError(
                    f"{where}: strength unit {float(value):g} is outside (0, {MAX_STRENGTH_UNIT:g}]: "
                    "real latents spread at most about 10 along any direction."
                )
