"""`import-checkpoint`: recognise a foreign checkpoint by its first bytes and convert it to our layout."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from latentedit.checkpoints.build import ImportedNetworks
from latentedit.errors import CheckpointError
from latentedit.fileio import check_writable, sha256_file

_ZIP_MAGIC = b"PK\x03\x04"
# torch.save's pre-1.6 format starts by pickling the long 0x1950a86a20f9469cfc6c
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"


@dataclass(frozen=True)
class ImportReport:
    """What an import produced, for the CLI to print and scripts to check."""

    format: str
    resolution: int
    num_ws: int
    has_discriminator: bool
    fingerprint: str
    out: Path
    source_sha256: str
    notes: tuple[str, ...] = field(default=())
    architecture: str = "stylegan2"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (for `--json`)."""
        return {**asdict(self), "out": str(self.out), "notes": list(self.notes)}

    def summary(self) -> str:
        """One line: what was written and how to recognise it later."""
        nets = "G + D" if self.has_discriminator else "G only"
        shape = f"{self.resolution}px num_ws={self.num_ws}"
        return f"{self.out}: {self.format} {self.architecture} {shape}, {nets}, fingerprint {self.fingerprint}"


def detect_format(path: str | os.PathLike[str]) -> str:
    """`nvidia-pickle`, `rosinality` (a torch.save file) or `latentedit` (safetensors), from the header."""
    source = Path(path)
    if not source.is_file():
        raise CheckpointError(f"{source}: no such file.")
    with open(source, "rb") as handle:
        head = handle.read(16)
    if head.startswith(_ZIP_MAGIC) or head.startswith(_LEGACY_TORCH_MAGIC):
        return "rosinality"
    if len(head) > 8 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 100_000_000:
        return "latentedit"
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "nvidia-pickle"
    raise CheckpointError(
        f"{source}: not a checkpoint latentedit knows (expected a StyleGAN2 or StyleGAN3 network .pkl, "
        "a rosinality .pt or a latentedit .safetensors)."
    )


def _read(fmt: str, source: Path) -> ImportedNetworks:
    if fmt == "nvidia-pickle":
        from latentedit.checkpoints.nvidia import read_nvidia_pickle

        return read_nvidia_pickle(source)
    if fmt == "rosinality":
        from latentedit.checkpoints.rosinality import read_rosinality

        return read_rosinality(source)
    from latentedit.checkpoints.layout import load_networks

    loaded = load_networks(source)
    return ImportedNetworks(loaded.G, loaded.D)


def import_checkpoint(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Convert `src` (any supported format) to a latentedit safetensors file at `out`.

    Refuses an existing `out` before reading anything, and writes nothing unless the
    whole conversion succeeded.
    """
    from latentedit.checkpoints.build import architecture_of
    from latentedit.checkpoints.layout import fingerprint, save_networks

    report = progress or (lambda message: None)
    source = Path(src)
    target = check_writable(out, force)
    fmt = detect_format(source)
    report(f"reading {source} ({fmt})")
    source_sha256 = sha256_file(source)
    G, D, notes = _read(fmt, source)
    report(f"writing {target}")
    save_networks(target, G, D, source_format=fmt, source_sha256=source_sha256, source_name=source.name, force=force)
    return ImportReport(
        format=fmt,
        resolution=int(G.img_resolution),
        num_ws=int(G.num_ws),
        has_discriminator=D is not None,
        fingerprint=fingerprint(G),
        out=target,
        source_sha256=source_sha256,
        notes=notes,
        architecture=architecture_of(G),
    )
