"""Read NVIDIA network pickles without running anything the file asks for.

A StyleGAN2-ADA pickle normally unpickles by executing Python source embedded in the
file (`torch_utils.persistence`). Here every global the pickle names is looked up in a
short allow-list of inert stand-ins; anything else is refused in `find_class`, i.e.
before the pickle could call it. Persistent networks come back as `PersistentRecord`s
(class name + pickled `__dict__`); their embedded source is kept as text, never run.
"""

from __future__ import annotations

import collections
import io
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentedit.errors import CheckpointError, UnsafePickleError


class _Malformed(ValueError):
    """A value in the pickle that is not what a network pickle holds there."""


class _Refused(Exception):
    """torch's weights-only loader refused a storage blob embedded in the pickle."""


@dataclass
class PersistentRecord:
    """What `torch_utils.persistence._reconstruct_persistent_obj` was asked to build."""

    class_name: str
    state: dict[str, Any] = field(repr=False)
    module_src: str = field(repr=False)


class _EasyDict(dict):
    """`dnnlib.util.EasyDict` as a plain dict (attribute access is not needed here)."""

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.update(state)


class _NumpyDType:
    """`numpy.dtype` reduced to its name and byte order, enough to decode a numeric scalar."""

    def __init__(self, name: Any, align: Any = False, copy: Any = False) -> None:
        if not isinstance(name, str):
            raise _Malformed(f"numpy dtype with a non-string name {name!r}")
        self.name = name
        self.byteorder = "="

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "=", "|"):
            self.byteorder = state[1]

    def to_numpy(self) -> np.dtype:
        try:
            dtype = np.dtype(self.name)
        except TypeError as exc:
            raise _Malformed(f"unknown numpy dtype {self.name!r}") from exc
        if dtype.kind not in "biufc":
            raise _Malformed(f"numpy scalar of non-numeric dtype {self.name!r}")
        return dtype.newbyteorder(self.byteorder) if self.byteorder != "|" else dtype


def _numpy_scalar(dtype: Any, data: Any = None) -> int | float | complex | bool:
    """A numeric numpy scalar (e.g. a pickled `weight_gain`) as a plain Python number."""
    if not isinstance(dtype, _NumpyDType) or not isinstance(data, bytes):
        raise _Malformed("malformed numpy scalar")
    np_dtype = dtype.to_numpy()
    if len(data) != np_dtype.itemsize:
        raise _Malformed("numpy scalar with the wrong byte count")
    return np.frombuffer(data, dtype=np_dtype)[0].item()


_NDARRAY_TYPE = object()


class _NDArray:
    """`numpy.core.multiarray._reconstruct` + BUILD, accepted for numeric arrays only.

    StyleGAN3 layers keep small numpy arrays as attributes; decoding them from raw bytes
    lets such pickles get as far as the clear "StyleGAN3 is not supported" error.
    """

    def __init__(self, subtype: Any, shape: Any = (0,), code: Any = b"b") -> None:
        if subtype is not _NDARRAY_TYPE:
            raise _Malformed("numpy array of an unsupported subtype")
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) != 5:
            raise _Malformed("malformed numpy array")
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, _NumpyDType) or not isinstance(raw, (bytes, bytearray)):
            raise _Malformed("numpy array that is not plain numeric data")
        flat = np.frombuffer(bytes(raw), dtype=dtype.to_numpy())
        self.array = flat.reshape(_int_tuple(shape, "numpy shape"), order="F" if fortran else "C")


def _load_storage(data: Any) -> torch.TypedStorage | torch.UntypedStorage:
    """`torch.storage._load_from_bytes`, but through torch's own weights-only loader."""
    if not isinstance(data, bytes):
        raise _Malformed("tensor storage that is not a byte string")
    try:
        storage = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" in str(exc):
            raise _Refused("a tensor storage holds more than tensor data") from exc
        raise
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise _Malformed("tensor storage that does not hold a storage")
    return storage


def _int_tuple(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, int) and v >= 0 for v in value):
        raise _Malformed(f"tensor with a malformed {what}")
    return tuple(value)


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, dtype: torch.dtype | None) -> torch.Tensor:
    if isinstance(storage, torch.TypedStorage):
        dtype = storage.dtype if dtype is None else dtype
        storage = storage._untyped_storage
    if not isinstance(storage, torch.UntypedStorage) or not isinstance(dtype, torch.dtype):
        raise _Malformed("tensor without a valid storage")
    if not isinstance(offset, int) or offset < 0:
        raise _Malformed("tensor with a malformed storage offset")
    tensor = torch.empty((0,), dtype=dtype)
    try:
        return tensor.set_(storage, offset, _int_tuple(size, "size"), _int_tuple(stride, "stride"))
    except RuntimeError as exc:
        raise _Malformed("tensor that does not fit its storage") from exc


def _rebuild_tensor_v2(
    storage: Any,
    offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any = False,
    hooks: Any = None,
    metadata: Any = None,
) -> torch.Tensor:
    return _rebuild_tensor(storage, offset, size, stride, None)


def _rebuild_tensor_v3(
    storage: Any,
    offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any,
    hooks: Any,
    dtype: Any,
    metadata: Any = None,
) -> torch.Tensor:
    return _rebuild_tensor(storage, offset, size, stride, dtype)


def _rebuild_parameter(data: Any, requires_grad: Any = False, hooks: Any = None, state: Any = None) -> torch.Tensor:
    """A parameter is just its tensor here: the networks are rebuilt from state dicts."""
    if not isinstance(data, torch.Tensor):
        raise _Malformed("parameter without tensor data")
    return data


class _Sealed:
    """An allow-listed function as the pickle sees it: callable, but BUILD cannot modify it.

    (A bare Python function would accept BUILD's attribute writes, e.g. to `__defaults__`.)
    """

    __slots__ = ("_function",)

    def __init__(self, function: Any) -> None:
        self._function = function

    def __call__(self, *args: Any) -> Any:
        return self._function(*args)

    def __setstate__(self, state: Any) -> None:
        raise _Malformed("an attempt to modify an allow-listed global")


_TENSOR_TYPE = object()
_TENSOR_BUILDERS = {
    name: _Sealed(function)
    for name, function in [
        ("_rebuild_tensor_v2", _rebuild_tensor_v2),
        ("_rebuild_tensor_v3", _rebuild_tensor_v3),
        ("_rebuild_parameter", _rebuild_parameter),
        ("_rebuild_parameter_with_state", _rebuild_parameter),
    ]
}


def _rebuild_from_type(func: Any, new_type: Any, args: Any, state: Any) -> torch.Tensor:
    """`torch._tensor._rebuild_from_type_v2`, limited to plain tensors and parameters."""
    if func not in _TENSOR_BUILDERS.values() or new_type is not _TENSOR_TYPE or not isinstance(args, tuple):
        raise _Malformed("tensor of an unsupported type")
    return func(*args)


def _record_persistent(meta: Any) -> PersistentRecord:
    """Stand-in for `_reconstruct_persistent_obj`: remember the object, never exec its source."""
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise _Malformed("persistent object of an unknown kind")
    class_name, state, module_src = meta.get("class_name"), meta.get("state"), meta.get("module_src", "")
    if not isinstance(class_name, str) or not isinstance(state, dict) or not isinstance(module_src, str):
        raise _Malformed("malformed persistent object")
    return PersistentRecord(class_name, dict(state), module_src)


_DTYPE_NAMES = ("float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool")

ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _Sealed(_record_persistent),
    ("dnnlib.util", "EasyDict"): _EasyDict,
    ("dnnlib", "EasyDict"): _EasyDict,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("torch.storage", "_load_from_bytes"): _Sealed(_load_storage),
    **{("torch._utils", name): builder for name, builder in _TENSOR_BUILDERS.items()},
    ("torch._tensor", "_rebuild_from_type_v2"): _Sealed(_rebuild_from_type),
    ("torch", "Tensor"): _TENSOR_TYPE,
    ("torch._tensor", "Tensor"): _TENSOR_TYPE,
    ("torch.nn.parameter", "Parameter"): _TENSOR_TYPE,
    ("numpy", "dtype"): _NumpyDType,
    ("numpy.core.multiarray", "scalar"): _Sealed(_numpy_scalar),
    ("numpy._core.multiarray", "scalar"): _Sealed(_numpy_scalar),
    ("numpy.core.multiarray", "_reconstruct"): _NDArray,
    ("numpy._core.multiarray", "_reconstruct"): _NDArray,
    ("numpy", "ndarray"): _NDARRAY_TYPE,
    **{("torch", name): getattr(torch, name) for name in _DTYPE_NAMES},
}

TENSORFLOW_NETWORK = ("dnnlib.tflib.network", "Network")


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, source: Path) -> None:
        super().__init__(file)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == TENSORFLOW_NETWORK:
            raise CheckpointError(
                f"{self._source} is a TensorFlow StyleGAN2 pickle; TensorFlow pickles are not supported; "
                "convert it with the official stylegan2-ada-pytorch legacy.py first."
            )
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self._source}: refusing to unpickle: it asks for {module}.{name}, which is not on "
                "latentedit's allow-list of inert network-pickle globals; nothing from the file was run."
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._source}: refusing to unpickle: it uses persistent ids; nothing was run.")


def load_restricted(path: str | Path) -> Any:
    """Unpickle `path` with the allow-list; corrupt data becomes a one-line CheckpointError."""
    source = Path(path)
    try:
        with open(source, "rb") as handle, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*TypedStorage is deprecated.*")
            return _RestrictedUnpickler(handle, source).load()
    except CheckpointError:
        raise
    except _Refused as exc:
        raise UnsafePickleError(f"{source}: refusing to unpickle: {exc} (torch weights-only loader).") from exc
    except OSError as exc:
        raise CheckpointError(f"{source}: cannot read it ({exc.strerror or exc}).") from exc
    except Exception as exc:  # a damaged pickle can fail in any of the unpickler's opcodes
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{source}: corrupt or truncated pickle ({reason}).") from exc
