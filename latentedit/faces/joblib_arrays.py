"""Read the numpy arrays of a joblib file (optionally LZ4-compressed) without running anything in it.

joblib writes a pickle in which each array is a ``NumpyArrayWrapper`` (dtype, shape, order)
followed, outside the pickle's frames, by a padding length byte, that many padding bytes and the
array's raw bytes. Here the pickle is read with an allow-list of three inert names (the wrapper, as
a plain record; ``numpy.dtype``; ``numpy.ndarray`` as a marker); any other global is refused before
it could be called, and each array is built from its raw bytes with ``numpy.frombuffer``.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

# Imported lazily (by the MTCNN detector), never at start-up.
import numpy as np  # noqa: TID253

from latentedit.allowlist_unpickling import AllowListUnpickling
from latentedit.errors import CheckpointError, UnsafePickleError

MAX_BYTES = 64 * 1024 * 1024
"""Largest decompressed file read (MTCNN's three networks: 2 MB)."""


class _ArrayRecord:
    """What a ``NumpyArrayWrapper`` holds: its state dict (dtype, shape, order, ...)."""

    state: dict[str, Any]

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.state = state


class _NdarrayMarker:
    """Stands in for ``numpy.ndarray``, which the wrapper names as its subclass and nothing calls."""


_ALLOWED: dict[tuple[str, str], Any] = {
    ("joblib.numpy_pickle", "NumpyArrayWrapper"): _ArrayRecord,
    ("numpy", "ndarray"): _NdarrayMarker,
    ("numpy", "dtype"): np.dtype,
}


class _ArrayUnpickler(AllowListUnpickling, pickle._Unpickler):  # pure Python: it reads the bytes between frames
    dispatch = dict(pickle._Unpickler.dispatch)
    allowed = _ALLOWED
    refusal = "refusing to read it"
    outside = "which a joblib file of arrays does not need"

    def _build_array(self) -> None:
        pickle._Unpickler.load_build(self)
        record = self.stack[-1]
        if not isinstance(record, _ArrayRecord):
            return
        state = record.state
        dtype, shape, order = state["dtype"], tuple(int(n) for n in state["shape"]), state.get("order", "C")
        if not isinstance(dtype, np.dtype) or dtype.hasobject or order not in ("C", "F"):
            raise ValueError(f"an array of {dtype!r} in order {order!r}")
        padding = self.read(1)
        self.read(padding[0] if padding else 0)
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        data = self.read(size)
        if len(data) != size:
            raise ValueError("an array's bytes end early")
        self.stack[-1] = np.frombuffer(data, dtype).reshape(shape, order=order).copy()

    dispatch[pickle.BUILD[0]] = _build_array


def read_joblib_arrays(path: str | Path) -> Any:
    """The arrays (in the lists, tuples and dicts that hold them) of the joblib file ``path``; an
    ``.lz4`` file is decompressed first. A damaged or unexpected file is one `CheckpointError` line."""
    source = Path(path)
    try:
        data = source.read_bytes()
        if source.suffix == ".lz4":
            import lz4.frame

            data = lz4.frame.decompress(data, return_bytearray=False)
        if len(data) > MAX_BYTES:
            raise ValueError(f"{len(data)} bytes, more than the {MAX_BYTES} read")
        return _ArrayUnpickler(io.BytesIO(data), source).load()
    except UnsafePickleError:
        raise
    except OSError as exc:
        raise CheckpointError(f"{source}: cannot read it ({exc.strerror or exc}).") from exc
    except Exception as exc:  # a damaged file can fail in any opcode or in the decompressor
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{source}: not a readable joblib file of arrays ({reason}).") from exc
