"""The manifest of a batch run: a JSON file in the output folder recording each input (path, size,
modification time, SHA-256), what it produced (paths and hashes) or why it failed, and the settings
of the run. Started again with the same settings, a run skips the inputs the manifest shows done
whose files are still there; other settings (or ``--force``) start a fresh manifest.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from latentedit.engine.photo_stages import Failure, Finished
    from latentedit.inputs import Input

MANIFEST_NAME = "latentedit-manifest.json"
FORMAT = 1
SAVE_INTERVAL_S = 1.0
"""A long run rewrites its manifest at most this often (and always at the end, or when stopped)."""


class Manifest:
    """Inputs by name: ``{"input", "source", "status": "done" | "failed", ...record or "error"}``."""

    def __init__(self, path: Path, command: str, settings: dict[str, Any], entries: dict[str, dict[str, Any]]):
        self.path = path
        self.command = command
        self.settings = settings
        self.entries = entries
        self._saved = 0.0

    @classmethod
    def open(cls, path: Path, command: str, settings: dict[str, Any], fresh: bool = False) -> Manifest:
        """The manifest at `path` if it was made by the same command with the same settings (and not
        `fresh`), else an empty one; nothing is written until `save`."""
        settings = json.loads(json.dumps(settings, sort_keys=True, default=str))
        entries: dict[str, dict[str, Any]] = {}
        if path.is_file() and not fresh:
            try:
                found = json.loads(path.read_text())
            except (OSError, ValueError):
                found = {}
            same = isinstance(found, dict) and found.get("format") == FORMAT and found.get("command") == command
            if same and found.get("settings") == settings and isinstance(found.get("inputs"), dict):
                entries = found["inputs"]
        return cls(path, command, settings, entries)

    def done(self, item: Input) -> bool:
        """Whether `item` was done by an earlier run: recorded done, the input file unchanged (size and
        modification time), and every output it wrote still there at its recorded size."""
        entry = self.entries.get(item.name)
        if not entry or entry.get("status") != "done":
            return False
        source = entry.get("source", {})
        if item.path is not None:
            try:
                found = os.stat(item.path)
            except OSError:
                return False
            if (source.get("size"), source.get("mtime_ns")) != (found.st_size, found.st_mtime_ns):
                return False
        elif source.get("seed") != item.seed:
            return False
        for path, output in entry.get("outputs", {}).items():
            try:
                if os.stat(path).st_size != output.get("size"):
                    return False
            except OSError:
                return False
        return True

    def finish(self, shown: str, result: Finished) -> None:
        self.entries[result.name] = {"input": shown, "source": result.source, "status": "done"} | result.record

    def fail(self, failure: Failure) -> None:
        self.entries[failure.name] = {"input": failure.input, "status": "failed", "error": failure.error}

    def failures(self) -> list[dict[str, Any]]:
        return [entry for entry in self.entries.values() if entry.get("status") == "failed"]

    def save(self, order: list[str], now: bool = True) -> None:
        """Write the manifest atomically, entries in input order (`now=False`: unless written in the
        last `SAVE_INTERVAL_S`). A run that has written nothing leaves no manifest (nor a folder)."""
        from latentedit.fileio import write_json

        if not now and time.monotonic() - self._saved < SAVE_INTERVAL_S:
            return
        entries = {name: self.entries[name] for name in order if name in self.entries}
        statuses = [entry["status"] for entry in entries.values()]
        if "done" not in statuses and not self.path.exists():
            return
        write_json(
            self.path,
            {
                "format": FORMAT,
                "command": self.command,
                "settings": self.settings,
                "summary": {"inputs": len(order), "done": statuses.count("done"), "failed": statuses.count("failed")},
                "inputs": entries,
            },
            force=True,
        )
        self._saved = time.monotonic()
