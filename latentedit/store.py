"""Named edits: ``--dir smile`` -> a path if one exists, else <home>/<backend>/smile.safetensors."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from latentedit.errors import EditFileError, LatentEditError

SUFFIX = ".safetensors"
MAX_NAME = 200


def home() -> Path:
    """``$LATENTEDIT_HOME``, else ``~/.latentedit``: a folder, or not yet made."""
    folder = Path(os.environ.get("LATENTEDIT_HOME") or Path.home() / ".latentedit")
    if folder.exists() and not folder.is_dir():
        raise LatentEditError(f"The latentedit home {folder} is a file; point LATENTEDIT_HOME at a folder.")
    return folder


def backend_dirname(backend_name: str) -> str:
    """A folder name for a backend: ``stylegan2:/x/ffhq.safetensors`` -> ``stylegan2-ffhq``."""
    scheme, _, arg = backend_name.partition(":")
    if arg:
        stem = Path(arg).name.removesuffix(SUFFIX)
        scheme = f"{scheme}-{stem}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", scheme).strip("-") or "default"


def check_name(name: str) -> str:
    """Edit names become file names: letters, digits, '.', '_' and '-' only, short enough for every
    file system (names are at most 255 bytes, and the temporary file adds about 30)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise EditFileError(f"Edit name {name!r} is not valid: use letters, digits, '.', '_' and '-'.")
    if len(name) > MAX_NAME:
        raise EditFileError(f"Edit name {name[:20]}... has {len(name)} characters; use at most {MAX_NAME}.")
    return name


def edit_path(name: str, backend_name: str) -> Path:
    """Where a named edit for this backend lives in the store."""
    return home() / backend_dirname(backend_name) / f"{check_name(name)}{SUFFIX}"


def looks_like_path(text: str) -> bool:
    return text.endswith(SUFFIX) or os.sep in text or "/" in text


def resolve_edit(name_or_path: str, backend_name: str) -> Path:
    """A path that exists wins; then the store of this backend; else a helpful error."""
    direct = Path(name_or_path)
    if direct.is_file():
        return direct
    if looks_like_path(name_or_path):
        raise EditFileError(f"Edit file {name_or_path} not found.")
    stored = edit_path(name_or_path, backend_name)
    if stored.is_file():
        return stored
    available = [entry.name for entry in list_edits(backend_name)]
    hint = (
        f" Stored for {backend_name}: {', '.join(available)}."
        if available
        else " None are stored for this backend yet."
    )
    raise EditFileError(f"No edit named {name_or_path!r} for backend {backend_name}.{hint}")


@dataclass(frozen=True)
class StoredEdit:
    """One row of `directions list`: read from the header only."""

    name: str
    path: Path
    backend_dir: str
    metadata: dict[str, str]


def list_edits(backend_name: str | None = None) -> list[StoredEdit]:
    """Stored edits (all backends, or one), reading safetensors headers only."""
    from latentedit.edits import read_header

    root = home()
    folders = (
        [root / backend_dirname(backend_name)] if backend_name else sorted(p for p in root.glob("*") if p.is_dir())
    )
    found: list[StoredEdit] = []
    for folder in folders:
        for path in sorted(folder.glob(f"*{SUFFIX}")):
            try:
                metadata, _ = read_header(path)
            except EditFileError as exc:
                metadata = {"error": str(exc)}
            found.append(StoredEdit(path.name.removesuffix(SUFFIX), path, folder.name, metadata))
    return found
