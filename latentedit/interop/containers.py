"""Open another tool's direction file without running code.

The container is told from the first bytes, never from the suffix: ``.npy`` and ``.npz`` go
through numpy with ``allow_pickle=False``, torch files (zip or legacy) through torch's
weights-only loader mapped to the CPU (many published files were saved on a GPU), and bare
pickles through the numpy-only unpickler.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentedit.errors import DirectionFileError, UnsafePickleError

CONTAINERS = ("npy", "npz", "torch", "pickle")
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
LEGACY_TORCH = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
"""The start of a pre-1.6 (non-zip) ``torch.save`` file: its pickled magic number."""


@dataclass
class Container:
    """A file's kind (one of `CONTAINERS`) and what it holds: an ndarray (npy), a dict of ndarrays
    (npz), whatever torch's weights-only loader returned (torch), or plain data (pickle)."""

    kind: str
    content: Any

    def describe(self) -> str:
        """A few words on the content, for errors: "a dict with keys comp, mean, std"."""
        return describe(self.content)


def describe(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(sorted(str(key) for key in value)[:12])
        return f"a dict with keys {keys}" if keys else "an empty dict"
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"an array of shape {tuple(shape)}"
    return f"a {type(value).__name__}"


def sniff(path: Path) -> str:
    """The container kind from the file's first bytes (and a zip's member names)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(LEGACY_TORCH))
    except FileNotFoundError:
        raise DirectionFileError(f"Direction file {path} not found.") from None
    except OSError as exc:
        raise DirectionFileError(f"{path}: cannot read it ({exc.strerror or exc}).") from None
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile as exc:
            raise DirectionFileError(f"{path}: damaged zip archive ({exc}).") from None
        if any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
            return "torch"
        if names and all(name.endswith(".npy") for name in names):
            return "npz"
        raise DirectionFileError(f"{path} is a zip archive but neither an .npz nor a torch file.")
    if head.startswith(LEGACY_TORCH):
        return "torch"
    if head[:1] == b"\x80":
        return "pickle"
    raise DirectionFileError(
        f"{path} is not a direction file latentedit reads: expected .npy, .npz, a torch .pt or a pickle."
    )


def open_container(path: str | Path) -> Container:
    """Read `path` with the code-free loader of its container."""
    source = Path(path)
    if source.is_dir():
        raise DirectionFileError(f"{source} is a folder; give one direction file.")
    kind = sniff(source)
    reader = {"npy": _npy, "npz": _npz, "torch": _torch, "pickle": _pickle}[kind]
    return Container(kind, reader(source))


def _npy(source: Path) -> Any:
    import numpy as np

    try:
        return np.load(source, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise UnsafePickleError(f"{source}: refusing to load an object array (it would unpickle code).") from None
        raise DirectionFileError(f"{source}: damaged .npy file ({_first_line(exc)}).") from None


def _npz(source: Path) -> dict[str, Any]:
    import numpy as np

    try:
        with np.load(source, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise UnsafePickleError(
                f"{source}: refusing to load an object array from the archive (it would unpickle code)."
            ) from None
        raise DirectionFileError(f"{source}: damaged .npz archive ({_first_line(exc)}).") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DirectionFileError(f"{source}: damaged .npz archive ({_first_line(exc)}).") from None


def _torch(source: Path) -> Any:
    import pickle
    import warnings

    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(source, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" in str(exc):
            found = re.search(r"GLOBAL ([\w.]+)", str(exc))
            what = f" (it asks for {found.group(1)})" if found else ""
            raise UnsafePickleError(
                f"{source}: refusing to load: the file holds more than tensors and plain data{what}; "
                "torch's weights-only loader ran nothing from it."
            ) from None
        raise DirectionFileError(f"{source}: damaged torch file ({_first_line(exc)}).") from None
    except Exception as exc:  # torch raises RuntimeError, EOFError, ... for damaged archives
        raise DirectionFileError(f"{source}: damaged torch file ({_first_line(exc)}).") from None


def _pickle(source: Path) -> Any:
    from latentedit.interop.numpy_pickle import load_numpy_pickle

    return load_numpy_pickle(source)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
