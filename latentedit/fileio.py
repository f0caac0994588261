"""Atomic file writes: a crash or Ctrl-C never leaves a half-written file behind, and no file is
replaced unless the user said so.

A write goes to a hidden temporary beside the target (``.NAME.latentedit-tmp-PID-RANDOM``), then
is published in one step: without ``--force`` by a hard link, which fails if anything at all is
at the target, even a file that appeared after the check or a dangling symlink; with ``--force``
by a rename over a regular file (never over a folder, device, pipe or socket), keeping its mode.
Temporaries of killed runs are removed by the next write in their folder.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from latentedit.errors import FileExistsNoForceError, LatentEditError


def check_writable(path: str | os.PathLike[str], force: bool) -> Path:
    """Refuse to overwrite `path` unless `force` (and a folder, device, pipe or socket always), and a
    path that cannot be written (a file where a folder belongs, a folder not writable), before any
    work; return it.

    The decision holds for the write that follows: `atomic_write(path)` without its own `force`
    then never replaces a file that appears at `path` in between (two runs racing for one name).
    """
    target = Path(path)
    if target.is_dir():
        raise LatentEditError(f"{target} is a folder; give a file name.")
    folder = next(parent for parent in target.absolute().parents if parent.exists())
    if not folder.is_dir():
        raise LatentEditError(f"Cannot write {target}: {folder} is a file, not a folder.")
    if not os.access(folder, os.W_OK):
        raise LatentEditError(f"Cannot write {target}: folder {folder} is not writable.")
    _refuse_existing(target, force)
    _decided[os.path.abspath(target)] = force
    return target


_decided: dict[str, bool] = {}  # absolute path -> the `force` check_writable was given for it
TEMP_MARK = ".latentedit-tmp-"
_TEMP_NAME = re.compile(r"\..*\.latentedit-tmp-(\d+)-[0-9a-f]+", re.DOTALL)
STALE_TEMP_SECONDS = 3600
_cleaned: dict[str, float] = {}  # folder -> when its stale temporaries were last removed
_KINDS = {
    stat.S_IFDIR: "folder",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFIFO: "named pipe",
    stat.S_IFSOCK: "socket",
}


def _replaces(target: Path, force: bool | None) -> bool:
    """Whether the write may replace an existing file: `force`, else what check_writable was told."""
    return force if force is not None else _decided.get(os.path.abspath(target), True)


def _refuse_existing(target: Path, force: bool) -> int | None:
    """Refuse what a write must not replace; return the mode of the regular file `force` will replace."""
    try:
        found = os.stat(target)  # through a symlink: replacing a link to a device is refused too
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            raise
        mode = None  # nothing there, or a dangling or looping symlink
    else:
        if not stat.S_ISREG(found.st_mode):
            kind = _KINDS.get(stat.S_IFMT(found.st_mode), "special file")
            raise LatentEditError(
                f"{target} is a {kind}, not a regular file; give a file name (--force replaces files only)."
            )
        mode = stat.S_IMODE(found.st_mode)
    if not force and os.path.lexists(target):
        raise FileExistsNoForceError(f"{target} already exists; pass --force to overwrite it.")
    return mode


def _new_temp(target: Path) -> Path:
    """Create an empty hidden temporary ``.NAME.latentedit-tmp-PID-RANDOM`` beside `target`."""
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(folder)
    while True:
        tmp = _temp_name(target)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600))
        except FileExistsError:
            continue
        return tmp


def _temp_name(target: Path) -> Path:
    """A fresh temporary name beside `target`, within the 255-byte name limit however long NAME is."""
    tail = f"{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    name = os.fsencode(target.name)[: 255 - 1 - len(tail)]
    return target.parent / f".{os.fsdecode(name)}{tail}"


def _remove_stale_temps(folder: Path) -> None:
    """Remove the temporaries killed runs left in `folder`: their process is gone or they are over
    an hour old. Looks at a folder at most once a minute (a render writes thousands of files)."""
    key, now = os.path.abspath(folder), time.monotonic()
    if key in _cleaned and now - _cleaned[key] < 60:
        return
    _cleaned[key] = now
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            found = _TEMP_NAME.fullmatch(entry.name) if entry.name.startswith(".") else None
            if found and _stale(entry, int(found[1])):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _stale(entry: os.DirEntry[str], pid: int) -> bool:
    try:
        age = time.time() - entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return False
    return age > STALE_TEMP_SECONDS or (pid != os.getpid() and not _alive(pid))


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:  # someone else's process
        return True
    except (OSError, OverflowError):
        return False
    return True


def _publish(tmp: Path, target: Path, force: bool) -> None:
    """Make the finished `tmp` the file at `target` in one step (see the module docstring)."""
    if force:
        mode = _refuse_existing(target, force=True)
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
        return
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise FileExistsNoForceError(f"{target} already exists; pass --force to overwrite it.") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS):
            raise
        _claim_then_rename(tmp, target)  # a file system without hard links
    tmp.unlink(missing_ok=True)


def _claim_then_rename(tmp: Path, target: Path) -> None:
    """No-replace publish without hard links: create the name exclusively, then rename over our own claim."""
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
    except FileExistsError:
        raise FileExistsNoForceError(f"{target} already exists; pass --force to overwrite it.") from None
    os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], force: bool | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; publish it as `path` only if the block succeeds.

    `force`: replace an existing regular file; None means as `check_writable` was told for this
    path, and replace where it was not asked (caches, checkpoints and run files the code owns).
    """
    target = Path(path)
    replace = _replaces(target, force)
    _refuse_existing(target, replace)
    tmp = _new_temp(target)
    try:
        yield tmp
        _publish(tmp, target, replace)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    """The process umask (temporaries are created 0600; results should get the usual mode)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("Umask:")).split()[1], 8)
    current = os.umask(0)  # not thread-safe, hence /proc first
    os.umask(current)
    return current


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None], force: bool | None = None) -> Path:
    """Call `write(tmp_path)` and publish the result as `path` atomically (`force`: see atomic_path)."""
    with naming_path(path), atomic_path(path, force) as tmp:
        write(tmp)
    return Path(path)


def atomic_write_group(
    items: Sequence[tuple[str | os.PathLike[str], Callable[[Path], None]]], force: bool | None = None
) -> list[Path]:
    """Write several files as one unit (a sweep's strip and GIF): either all are published or none
    is changed. Every `write(tmp_path)` runs first; then the files are published in order, and if
    one cannot be (it appeared meanwhile, the disk is full), the ones already published by this
    call are taken back: removed, or under `force` the files they replaced are restored.
    """
    targets = [Path(path) for path, _ in items]
    if len({os.path.abspath(target) for target in targets}) != len(targets):
        raise ValueError(f"atomic_write_group: a path is given twice in {[str(t) for t in targets]}")
    replace = [_replaces(target, force) for target in targets]
    for target, replaces in zip(targets, replace, strict=True):
        _refuse_existing(target, replaces)
    temps: list[Path] = []
    backups: list[Path] = []
    published: list[tuple[Path, tuple[int, int], Path | None]] = []
    try:
        for target, (_, write) in zip(targets, items, strict=True):
            with naming_path(target):
                temps.append(_new_temp(target))
                write(temps[-1])
        for target, tmp, replaces in zip(targets, temps, replace, strict=True):
            with naming_path(target):
                backup = _backup(target) if replaces else None
                backups += [backup] if backup else []
                identity = _identity(tmp)
                _publish(tmp, target, replaces)
            published.append((target, identity, backup))
    except BaseException:
        for target, identity, backup in reversed(published):
            _take_back(target, identity, backup)
        raise
    finally:
        for leftover in temps + backups:
            leftover.unlink(missing_ok=True)
    return targets


def _identity(path: Path) -> tuple[int, int]:
    found = os.lstat(path)
    return found.st_dev, found.st_ino


def _backup(target: Path) -> Path | None:
    """A hard link to the file `target` holds now (to restore it), or None if there is none."""
    while True:
        backup = _temp_name(target)
        try:
            os.link(target, backup, follow_symlinks=False)
        except FileExistsError:
            if os.path.lexists(backup):
                continue
            return None
        except OSError:  # nothing there, or no hard links here: a replaced file cannot be restored
            return None
        return backup


def _take_back(target: Path, identity: tuple[int, int], backup: Path | None) -> None:
    """Undo one publish of a failed group: restore what it replaced, or remove what it created."""
    with contextlib.suppress(OSError):
        if backup is not None:
            os.replace(backup, target)
        elif _identity(target) == identity:
            os.unlink(target)


@contextlib.contextmanager
def naming_path(path: str | os.PathLike[str]) -> Iterator[None]:
    """Make I/O errors inside the block OSErrors that name `path`, the file the user asked for.

    A full disk raises from write() with no file name, a failed rename names the hidden temporary,
    and safetensors' writer reports its I/O errors as text ending in "(os error N)".
    """
    target = Path(path)
    try:
        yield
    except OSError as exc:
        if not isinstance(exc.filename, str) or Path(exc.filename).parent == target.parent:
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    except Exception as exc:
        code = re.search(r"\(os error (\d+)\)", str(exc)) if type(exc).__module__.startswith("safetensors") else None
        if code is None:
            raise
        raise OSError(int(code[1]), os.strerror(int(code[1])), str(target)) from exc


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, force: bool | None = None) -> Path:
    """Write `data` to `path` atomically (`force`: see atomic_path)."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), force)


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, streamed (checkpoints can be hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: str | os.PathLike[str], data: Any, force: bool | None = None) -> Path:
    """Atomically write `data` as indented JSON (run settings, held-out reports; `force`: see atomic_path)."""
    import json

    return atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode(), force)
