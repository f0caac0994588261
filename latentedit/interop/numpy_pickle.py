"""Unpickle files that hold only numpy arrays, numbers, strings and plain containers.

GANSpace saves a named direction as a pickled dict of numpy arrays and numbers. A normal
unpickler imports and calls whatever globals the file names. This one answers `find_class`
only with sealed wrappers around numpy's own reconstructors (arrays, dtypes and scalars of
numeric types); any other global is refused before it could be imported, so nothing the file
asks for runs. What comes back is checked once more: numeric arrays and scalars only.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.allowlist_unpickling import AllowListUnpickling
from latentedit.errors import DirectionFileError, UnsafePickleError

if TYPE_CHECKING:
    import numpy as np

NUMERIC_KINDS = "biufc"
MAX_DEPTH = 32


class _Malformed(ValueError):
    """A value that numpy's pickles never hold there."""


class _Sealed:
    """An allowed global as the pickle sees it: callable, but BUILD cannot change it."""

    __slots__ = ("_name", "_function")

    def __init__(self, name: str, function: Any) -> None:
        self._name = name
        self._function = function

    def __call__(self, *args: Any) -> Any:
        if self._function is None:
            raise _Malformed(f"{self._name} called directly")
        return self._function(*args)

    def __setstate__(self, state: Any) -> None:
        raise _Malformed(f"an attempt to modify {self._name}")


_NDARRAY = _Sealed("numpy.ndarray", None)


def _numeric(dtype: Any) -> np.dtype:
    import numpy as np

    if not isinstance(dtype, np.dtype) or dtype.kind not in NUMERIC_KINDS or dtype.fields or dtype.subdtype:
        raise _Malformed(f"a non-numeric dtype ({dtype!r})")
    return dtype


def _dtype(name: Any, align: Any = False, copy: Any = True) -> np.dtype:
    """`numpy.dtype(name, align, copy)` for numeric type codes; always a fresh copy, so the BUILD
    that follows cannot alter numpy's shared dtype instances."""
    import numpy as np

    if not isinstance(name, str):
        raise _Malformed("a dtype without a type code")
    try:
        dtype = np.dtype(name, align=bool(align), copy=True)
    except TypeError as exc:
        raise _Malformed(f"unknown dtype {name!r}") from exc
    return _numeric(dtype)


def _reconstruct(subtype: Any, shape: Any, code: Any) -> np.ndarray:
    """`numpy.core.multiarray._reconstruct`: an empty ndarray that the next BUILD fills in."""
    import numpy as np

    if subtype is not _NDARRAY:
        raise _Malformed("an array of a subclass other than numpy.ndarray")
    return np.empty((0,), dtype=np.int8)


def _scalar(dtype: Any, data: Any = None) -> np.generic:
    """`numpy.core.multiarray.scalar`: one numeric value from its raw bytes."""
    import numpy as np

    dtype = _numeric(dtype)
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise _Malformed("a numpy scalar with the wrong bytes")
    return np.frombuffer(data, dtype=dtype)[0]


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """`numpy.core.numeric._frombuffer`, which pickle protocol 5 uses for arrays."""
    import numpy as np

    if isinstance(buffer, pickle.PickleBuffer):
        buffer = bytes(buffer.raw())
    if not isinstance(buffer, (bytes, bytearray)) or order not in ("C", "F"):
        raise _Malformed("an array buffer that is not plain bytes")
    if not isinstance(shape, tuple) or not all(isinstance(size, int) and size >= 0 for size in shape):
        raise _Malformed("an array with a malformed shape")
    return np.frombuffer(bytes(buffer), dtype=_numeric(dtype)).reshape(shape, order=order).copy()


def _latin1(text: Any, encoding: Any = "utf-8") -> bytes:
    """`_codecs.encode(text, "latin1")`: how pickle protocol 2 spells a byte string."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Malformed("_codecs.encode used for something other than a latin-1 byte string")
    return text.encode("latin1")


ALLOWED: dict[tuple[str, str], _Sealed] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _Sealed("numpy.dtype", _dtype),
    ("_codecs", "encode"): _Sealed("_codecs.encode", _latin1),
    **{
        (f"numpy.{core}.multiarray", name): _Sealed(f"numpy.{core}.multiarray.{name}", function)
        for core in ("core", "_core")
        for name, function in (("_reconstruct", _reconstruct), ("scalar", _scalar))
    },
    **{
        (f"numpy.{core}.numeric", "_frombuffer"): _Sealed(f"numpy.{core}.numeric._frombuffer", _frombuffer)
        for core in ("core", "_core")
    },
}
"""Every global a numpy-only pickle may name (numpy 1.x spells ``numpy.core``, 2.x ``numpy._core``)."""


class _NumpyOnlyUnpickler(AllowListUnpickling, pickle.Unpickler):
    allowed = ALLOWED
    outside = "which is not one of numpy's array globals"


def _check_values(value: Any, source: Path, depth: int = 0) -> None:
    """Only numeric arrays and scalars, str/bytes/numbers/None and dicts, lists, tuples of them."""
    import numpy as np

    if depth > MAX_DEPTH:
        raise DirectionFileError(f"{source}: the pickle nests containers more than {MAX_DEPTH} deep.")
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.kind not in NUMERIC_KINDS or value.dtype.fields:
            raise DirectionFileError(f"{source}: the pickle holds a numpy value of non-numeric dtype {value.dtype}.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_values(key, source, depth + 1)
            _check_values(item, source, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _check_values(item, source, depth + 1)
    elif not isinstance(value, (str, bytes, bytearray, int, float, complex, type(None))):
        raise DirectionFileError(f"{source}: the pickle holds a {type(value).__name__}, not plain data.")


def load_numpy_pickle(path: str | Path) -> Any:
    """Unpickle `path` allowing numpy's array globals only; errors are one line."""
    source = Path(path)
    try:
        with open(source, "rb") as handle:
            value = _NumpyOnlyUnpickler(handle, source).load()
    except UnsafePickleError:
        raise
    except OSError as exc:
        raise DirectionFileError(f"{source}: cannot read it ({exc.strerror or exc}).") from None
    except Exception as exc:  # a damaged pickle can fail in any opcode
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DirectionFileError(f"{source}: corrupt or truncated pickle ({reason}).") from None
    _check_values(value, source)
    return value
