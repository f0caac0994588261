"""Read NVIDIA network pickles without running anything the file asks for.

A StyleGAN2-ADA pickle normally unpickles by executing Python source embedded in the
file (`torch_utils.persistence`). Here every global the pickle names is looked up in a
short allow-list of inert stand-ins; anything else is refused in `find_class`, i.e.
before the pickle could call it. Persistent networks come back as `PersistentRecord`s
(class name + pickled `__dict__`); their embedded source is kept as text, never run.

Reading is bounded as well as code-free: the opcodes are counted (and memo indices checked)
before anything is built, every tensor view must lie inside the bytes of its storage, and
the loaded structure may not contain cycles, nest deeper than `MAX_NESTING` or reach more
than `MAX_EXPANDED` objects when shared references are counted each time they occur (a
"billion laughs" list of lists). docs/checkpoints.md lists the limits and real pickles' needs.
"""

from __future__ import annotations

import collections
import io
import itertools
import os
import pickle
import pickletools
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentedit.allowlist_unpickling import AllowListUnpickling
from latentedit.errors import CheckpointError, UnsafePickleError


class _Malformed(ValueError):
    """A value in the pickle that is not what a network pickle holds there."""


class _Refused(Exception):
    """torch's weights-only loader refused a storage blob embedded in the pickle."""


class _TooBig(Exception):
    """The pickle exceeds one of the limits below; the message says which."""


MAX_OPCODES = 2_000_000
"""Pickle opcodes a file may hold (an official-layout 1024 px snapshot with G, G_ema and D: ~32,000)."""
MAX_NESTING = 64
"""Containers inside containers, counted from the top (that snapshot: 17)."""
MAX_EXPANDED = 1_000_000
"""Objects reached when every reference is followed, shared ones each time (that snapshot: ~11,400)."""
MAX_TENSOR_DIMS = 16
"""Dimensions of one tensor (network weights have at most 4)."""
_MEMO_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}
_END = object()


@dataclass
class PersistentRecord:
    """What `torch_utils.persistence._reconstruct_persistent_obj` was asked to build."""

    class_name: str
    state: dict[str, Any] = field(repr=False)
    module_src: str = field(repr=False)

    def __setstate__(self, state: Any) -> None:
        raise _Malformed("an attempt to modify a persistent object after it was built")


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

    StyleGAN3 layers keep small numpy arrays (sizes) as attributes; they are decoded from raw
    bytes, never through numpy's own unpickling.
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


def _refuse_build(state: Any) -> None:
    raise _Malformed("an attempt to modify a tensor after it was built")


def _check_view(offset: int, size: tuple[int, ...], stride: tuple[int, ...], elements: int) -> None:
    """Refuse a view that reads past its storage (torch would grow the storage with stale memory)."""
    if len(size) != len(stride) or len(size) > MAX_TENSOR_DIMS:
        raise _Malformed("tensor with a malformed size or stride")
    numel = 1
    for extent in size:
        numel *= extent
    if numel == 0:
        return
    last = offset + sum((extent - 1) * step for extent, step in zip(size, stride, strict=True))
    if numel > elements or last >= elements:
        raise _Malformed(
            f"tensor view (offset {offset}, size {list(size)}, stride {list(stride)}) "
            f"reaches beyond its storage of {elements} elements"
        )


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, dtype: torch.dtype | None) -> torch.Tensor:
    if isinstance(storage, torch.TypedStorage):
        dtype = storage.dtype if dtype is None else dtype
        storage = storage._untyped_storage
    if not isinstance(storage, torch.UntypedStorage) or not isinstance(dtype, torch.dtype):
        raise _Malformed("tensor without a valid storage")
    if dtype not in _DTYPES:
        raise _Malformed(f"tensor of unsupported dtype {dtype}")
    if not isinstance(offset, int) or offset < 0:
        raise _Malformed("tensor with a malformed storage offset")
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    _check_view(offset, size, stride, storage.nbytes() // dtype.itemsize)
    tensor = torch.empty((0,), dtype=dtype)
    try:
        tensor.set_(storage, offset, size, stride)
    except RuntimeError as exc:
        raise _Malformed("tensor that does not fit its storage") from exc
    # BUILD on a tensor would call Tensor.__setstate__, i.e. set_() without the check above
    tensor.__dict__["__setstate__"] = _refuse_build
    return tensor


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
_DTYPES = frozenset(getattr(torch, name) for name in _DTYPE_NAMES)

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


class _RestrictedUnpickler(AllowListUnpickling, pickle.Unpickler):
    allowed = ALLOWED
    outside = "which is not on latentedit's allow-list of inert network-pickle globals"

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == TENSORFLOW_NETWORK:
            raise CheckpointError(
                f"{self._source} is a TensorFlow StyleGAN2 pickle; TensorFlow pickles are not supported; "
                "convert it with the official stylegan2-ada-pytorch legacy.py first."
            )
        return super().find_class(module, name)


class _CappedReader:
    """A file as pickletools sees it, where no read asks for more bytes than the file has left."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._size = os.fstat(handle.fileno()).st_size

    def read(self, n: int = -1) -> bytes:
        left = self._size - self._handle.tell()
        return self._handle.read(left if n < 0 else min(n, left))

    def readline(self) -> bytes:
        return self._handle.readline()

    def tell(self) -> int:
        return self._handle.tell()


def _scan(handle: Any) -> int:
    """Count the opcodes before any is run, and refuse memo indices that would make the unpickler
    allocate a memo table of that size (9 bytes of pickle can otherwise cost gigabytes)."""
    count = 0
    for opcode, arg, _ in pickletools.genops(_CappedReader(handle)):
        count += 1
        if count > MAX_OPCODES:
            raise _TooBig(f"it holds more than {MAX_OPCODES:,} pickle opcodes (a 1024 px network snapshot: ~32,000)")
        if opcode.name in _MEMO_PUTS and isinstance(arg, int) and not 0 <= arg <= MAX_OPCODES:
            raise _TooBig(f"it stores to memo slot {arg}, beyond its {MAX_OPCODES:,}-opcode limit (a memory bomb)")
    handle.seek(0)
    return count


def _children(value: Any) -> Iterable[Any] | None:
    """What a container holds (dict keys and values); None for a leaf."""
    if isinstance(value, dict):
        return itertools.chain.from_iterable(value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return value
    if isinstance(value, PersistentRecord):
        return (value.state,)
    return None


def _check_structure(root: Any) -> tuple[int, int]:
    """Refuse cycles, nesting beyond MAX_NESTING, and more than MAX_EXPANDED objects per reference;
    return (objects when expanded, nesting depth) of `root`.

    One depth-first pass over distinct containers (sizes and heights of shared ones are
    remembered), so what it costs is bounded by the opcode count, however much a shared
    reference multiplies. Every later walk over the result is then bounded by these limits.
    It also unseals the tensors (see `_rebuild_tensor`): no BUILD can reach them any more.
    """
    measured: dict[int, tuple[int, int]] = {}  # id -> (objects when expanded, height)
    too_deep = f"it nests containers more than {MAX_NESTING} deep (a network snapshot: 17)"
    path: set[int] = set()
    stack: list[tuple[Any, Iterator[Any], list[int]]] = []

    def enter(value: Any) -> tuple[int, int] | None:
        """(size, height) of a leaf or an already measured container, else push it and return None."""
        if isinstance(value, torch.Tensor):
            value.__dict__.pop("__setstate__", None)
        children = _children(value)
        if children is None:
            return 1, 0
        key = id(value)
        if key in measured:
            return measured[key]
        if key in path:
            raise _TooBig("it contains a reference cycle (an object, e.g. a module, that contains itself)")
        if len(stack) >= MAX_NESTING:
            raise _TooBig(too_deep)
        path.add(key)
        stack.append((value, iter(children), [1, 0]))
        return None

    def add(totals: list[int], size: int, height: int) -> None:
        totals[0] += size
        totals[1] = max(totals[1], height + 1)
        if totals[0] > MAX_EXPANDED:
            raise _TooBig(
                f"it refers to more than {MAX_EXPANDED:,} objects when shared references are followed "
                "(a 'billion laughs' structure; a 1024 px network snapshot: ~11,000)"
            )
        if len(stack) + totals[1] > MAX_NESTING:
            raise _TooBig(too_deep)

    first = enter(root)
    while stack:
        value, children, totals = stack[-1]
        child = next(children, _END)
        if child is _END:
            stack.pop()
            path.discard(id(value))
            measured[id(value)] = (totals[0], totals[1])
            if stack:
                add(stack[-1][2], totals[0], totals[1])
            continue
        result = enter(child)
        if result is not None:
            add(totals, *result)
    return first or measured[id(root)]


def load_restricted(path: str | Path) -> Any:
    """Unpickle `path` with the allow-list and the limits; bad data becomes a one-line CheckpointError."""
    source = Path(path)
    try:
        with open(source, "rb") as handle, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*TypedStorage is deprecated.*")
            _scan(handle)
            data = _RestrictedUnpickler(handle, source).load()
        _check_structure(data)
        return data
    except CheckpointError:
        raise
    except _Refused as exc:
        raise UnsafePickleError(f"{source}: refusing to unpickle: {exc} (torch weights-only loader).") from exc
    except _TooBig as exc:
        raise UnsafePickleError(f"{source}: refusing to unpickle: {exc}; nothing from the file was run.") from exc
    except OSError as exc:
        raise CheckpointError(f"{source}: cannot read it ({exc.strerror or exc}).") from exc
    except Exception as exc:  # a damaged pickle can fail in any of the unpickler's opcodes
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{source}: corrupt or truncated pickle ({reason}).") from exc
