"""No silent overwrite: the existence check and the write are one step, --force replaces regular
files only (keeping their mode), temporaries of killed runs are cleaned up, and a group of files
is published as one unit."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from latentedit import fileio
from latentedit.errors import FileExistsNoForceError, LatentEditError
from latentedit.fileio import atomic_write, atomic_write_bytes, atomic_write_group, check_writable
from tests.test_edits import make_edit


def temporaries(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if fileio.TEMP_MARK in name)


def race(writers: list[Callable[[], object]]) -> tuple[list[object], list[BaseException]]:
    """Run the writers in threads at once; return what they returned and what they raised."""
    results: list[object] = []
    errors: list[BaseException] = []

    def run(writer: Callable[[], object]) -> None:
        try:
            results.append(writer())
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(writer,)) for writer in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.fixture
def publish_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold every writer just before it publishes until both got there: both passed the check."""
    barrier = threading.Barrier(2, timeout=30)
    publish = fileio._publish

    def held(tmp: Path, target: Path, force: bool) -> None:
        barrier.wait()
        publish(tmp, target, force)

    monkeypatch.setattr(fileio, "_publish", held)


@pytest.mark.usefixtures("publish_together")
def test_two_runs_saving_one_edit_name_at_once_one_wins_the_other_gets_one_line(tmp_path: Path) -> None:
    target = tmp_path / "race.safetensors"
    edits = [make_edit(name="first"), make_edit(name="second")]
    results, errors = race([lambda edit=edit: edit.save(target) for edit in edits])
    assert len(results) == 1 and len(errors) == 1, errors
    assert isinstance(errors[0], FileExistsNoForceError)
    assert str(errors[0]) == f"{target} already exists; pass --force to overwrite it."
    from latentedit.edits import Edit

    winner = edits[0] if edits[0].path == target else edits[1]
    assert Edit.load(target).name == winner.name  # the loser replaced nothing
    assert os.listdir(tmp_path) == ["race.safetensors"]


@pytest.mark.usefixtures("publish_together")
def test_two_writers_without_force_one_wins(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    results, errors = race([lambda data=data: atomic_write_bytes(target, data, force=False) for data in (b"A", b"B")])
    assert len(results) == 1 and [type(exc) for exc in errors] == [FileExistsNoForceError]
    assert target.read_bytes() in (b"A", b"B") and temporaries(tmp_path) == []


@pytest.mark.usefixtures("publish_together")
def test_two_writers_with_force_both_succeed(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    results, errors = race([lambda data=data: atomic_write_bytes(target, data, force=True) for data in (b"A", b"B")])
    assert len(results) == 2 and errors == []
    assert target.read_bytes() in (b"A", b"B")


def test_force_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "edit.safetensors"
    atomic_write_bytes(target, b"old")
    target.chmod(0o640)
    check_writable(target, force=True)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o640


def test_new_files_get_the_usual_mode_not_the_temporarys(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = atomic_write_bytes(tmp_path / "new.png", b"x", force=False)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_dangling_symlink_counts_as_existing(tmp_path: Path) -> None:
    link, pointee = tmp_path / "out.png", tmp_path / "elsewhere.png"
    link.symlink_to(pointee)
    with pytest.raises(FileExistsNoForceError):
        check_writable(link, force=False)
    with pytest.raises(FileExistsNoForceError):
        atomic_write_bytes(link, b"x", force=False)
    assert link.is_symlink() and not pointee.exists()
    atomic_write_bytes(link, b"x", force=True)  # --force replaces the link itself, never writes through it
    assert not link.is_symlink() and link.read_bytes() == b"x" and not pointee.exists()


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()


def _device(path: Path) -> None:
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a /dev/null
    except PermissionError:
        pytest.skip("creating a device node needs root")


def _link_to_fifo(path: Path) -> None:
    os.mkfifo(path.with_name("fifo"))
    path.symlink_to(path.with_name("fifo"))


@pytest.mark.parametrize(
    ("make", "kind"),
    [(_fifo, "named pipe"), (_socket, "socket"), (_device, "character device"), (_link_to_fifo, "named pipe")],
)
@pytest.mark.parametrize("force", [False, True])
def test_special_files_are_never_replaced(tmp_path: Path, make: Callable[[Path], None], kind: str, force: bool) -> None:
    target = tmp_path / "out.safetensors"
    make(target)
    before = os.lstat(target)
    for attempt in (lambda: check_writable(target, force), lambda: atomic_write_bytes(target, b"x", force=force)):
        with pytest.raises(LatentEditError) as caught:
            attempt()
        assert str(caught.value) == (
            f"{target} is a {kind}, not a regular file; give a file name (--force replaces files only)."
        )
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert temporaries(tmp_path) == []


def test_a_folder_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(LatentEditError, match="folder"):
        check_writable(tmp_path / "out", force=True)
    with pytest.raises(LatentEditError, match="folder"):
        atomic_write_bytes(tmp_path / "out", b"x", force=True)
    assert (tmp_path / "out").is_dir()


def test_the_temporary_of_a_killed_run_is_removed_by_the_next_write(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from latentedit.fileio import atomic_write\n"
        "def write(tmp):\n"
        "    tmp.write_bytes(b'half')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(120)\n"
        "atomic_write(sys.argv[1], write)\n"
    )
    run = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "edit.safetensors")], stdout=subprocess.PIPE)
    assert run.stdout is not None and run.stdout.readline() == b"writing\n"
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    left = temporaries(tmp_path)
    assert left == [left[0]] and left[0].startswith(f".edit.safetensors{fileio.TEMP_MARK}{run.pid}-")
    assert not (tmp_path / "edit.safetensors").exists()
    atomic_write_bytes(tmp_path / "other.png", b"x")
    assert sorted(os.listdir(tmp_path)) == ["other.png"]


def test_only_stale_temporaries_are_removed(tmp_path: Path) -> None:
    alive = os.getppid()
    names = {
        "dead": f".a.png{fileio.TEMP_MARK}{2**22 + 12345}-0a1b2c3d",  # above Linux's pid_max
        "alive": f".b.png{fileio.TEMP_MARK}{alive}-0a1b2c3d",
        "alive_but_old": f".c.png{fileio.TEMP_MARK}{alive}-0a1b2c3d",
        "not_ours": ".d.png.x8k2j1.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"")
    two_hours_ago = time.time() - 7200
    os.utime(tmp_path / names["alive_but_old"], (two_hours_ago, two_hours_ago))
    atomic_write_bytes(tmp_path / "new.png", b"x")
    assert sorted(os.listdir(tmp_path)) == sorted([names["alive"], names["not_ours"], "new.png"])


def test_a_temporary_fits_beside_a_long_name(tmp_path: Path) -> None:
    name = "x" * 250 + ".png"
    atomic_write_bytes(tmp_path / name, b"x")
    assert os.listdir(tmp_path) == [name]


def _writer(data: bytes) -> Callable[[Path], None]:
    return lambda tmp: tmp.write_bytes(data)


def test_a_group_publishes_every_file(tmp_path: Path) -> None:
    strip, gif = tmp_path / "a_sweep.png", tmp_path / "a_sweep.gif"
    assert atomic_write_group([(strip, _writer(b"S")), (gif, _writer(b"G"))], force=False) == [strip, gif]
    assert (strip.read_bytes(), gif.read_bytes()) == (b"S", b"G") and temporaries(tmp_path) == []


def test_a_group_whose_last_write_fails_publishes_nothing(tmp_path: Path) -> None:
    def fail(tmp: Path) -> None:
        raise RuntimeError("encoder crashed")

    with pytest.raises(RuntimeError):
        atomic_write_group([(tmp_path / "a.png", _writer(b"S")), (tmp_path / "a.gif", fail)], force=False)
    assert os.listdir(tmp_path) == []


def test_a_group_takes_back_what_it_published_when_a_later_file_appears_meanwhile(tmp_path: Path) -> None:
    strip, gif = tmp_path / "a.png", tmp_path / "a.gif"

    def strip_while_another_run_writes_the_gif(tmp: Path) -> None:
        tmp.write_bytes(b"S")
        gif.write_bytes(b"theirs")

    with pytest.raises(FileExistsNoForceError, match="a.gif already exists"):
        atomic_write_group([(strip, strip_while_another_run_writes_the_gif), (gif, _writer(b"G"))], force=False)
    assert sorted(os.listdir(tmp_path)) == ["a.gif"] and gif.read_bytes() == b"theirs"


def test_a_forced_group_that_fails_restores_the_files_it_replaced(tmp_path: Path) -> None:
    strip, gif = tmp_path / "a.png", tmp_path / "a.gif"
    strip.write_bytes(b"old strip")
    gif.write_bytes(b"old gif")

    def gif_turns_into_a_folder(tmp: Path) -> None:
        tmp.write_bytes(b"G")
        gif.unlink()
        gif.mkdir()

    with pytest.raises(LatentEditError, match="folder"):
        atomic_write_group([(strip, _writer(b"S")), (gif, gif_turns_into_a_folder)], force=True)
    assert strip.read_bytes() == b"old strip" and gif.is_dir()
    assert sorted(os.listdir(tmp_path)) == ["a.gif", "a.png"]


def test_atomic_write_keeps_its_old_call(tmp_path: Path) -> None:
    """Callers that write files the code owns (caches, checkpoints) still replace them."""
    path = atomic_write(tmp_path / "cache.safetensors", _writer(b"1"))
    atomic_write(path, _writer(b"2"))
    assert path.read_bytes() == b"2"
