"""Byte-reproducible output files: the same command with the same seed writes the same bytes.

safetensors keeps `__metadata__` in a hash map whose order changes from process to process,
so `save_safetensors` rewrites the header it wrote with sorted keys. Creation times come from
`created_timestamp`, which honours SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/).
docs/reliability.md states the promise.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from latentedit.errors import LatentEditError

if TYPE_CHECKING:
    import torch

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


def created_timestamp() -> str:
    """UTC time in ISO 8601 to the second: SOURCE_DATE_EPOCH's if that is set, else now."""
    value = os.environ.get(SOURCE_DATE_EPOCH, "")
    if not value:
        return datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        if not (value.isascii() and value.isdigit()):
            raise ValueError(value)
        return datetime.fromtimestamp(int(value), timezone.utc).isoformat(timespec="seconds")
    except (ValueError, OverflowError, OSError):
        raise LatentEditError(
            f"{SOURCE_DATE_EPOCH}={value[:40]!r} is not a time: expected whole seconds since 1970-01-01 UTC, "
            "as `date +%s` prints them (or unset it)."
        ) from None


def save_safetensors(
    tensors: Mapping[str, torch.Tensor], path: str | os.PathLike[str], metadata: Mapping[str, str] | None = None
) -> None:
    """`safetensors.torch.save_file`, then the header rewritten with sorted metadata keys.

    Tensor data stays where safetensors put it (its order is already deterministic); the
    header keeps its length, padded with spaces as safetensors pads it.
    """
    from safetensors.torch import save_file

    save_file(dict(tensors), str(path), metadata=dict(metadata) if metadata is not None else None)
    with open(path, "r+b") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
        written = header.pop("__metadata__", None)
        canonical = dict(sorted(header.items(), key=lambda item: item[1]["data_offsets"]))
        if written is not None:
            canonical = {"__metadata__": dict(sorted(written.items())), **canonical}
        raw = json.dumps(canonical, separators=(",", ":"), ensure_ascii=False).encode()
        if len(raw) > length:  # both escape only '"', '\\' and control characters, the same way
            raise RuntimeError(f"{path}: the sorted safetensors header came out longer than safetensors' own")
        handle.seek(8)
        handle.write(raw.ljust(length, b" "))
