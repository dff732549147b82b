"""PyTorch's own checkpoint format (the zip archive torch.save writes, read by
torch.load(weights_only=True)), without PyTorch and without unpickling code.

Writing: the objects minigrad.save takes (dicts, lists, tuples, numbers, strings, None and
tensors) go into ``archive/data.pkl`` (pickle protocol 2); each tensor becomes the call
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())``
with its bytes in ``archive/data/<key>``, as torch.save lays them out.

Reading: the same layout, through an unpickler that knows only those calls
(``_rebuild_tensor_v2``, ``_rebuild_parameter``, the typed storages, OrderedDict) and plain
Python values; anything else in the pickle is refused, so no code from the file runs.
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
from typing import Any

import numpy as np

# torch's storage class name for each dtype minigrad can hold (and some it converts on load)
_STORAGES = {
    np.dtype(np.float32): "FloatStorage",
    np.dtype(np.float64): "DoubleStorage",
    np.dtype(np.int64): "LongStorage",
    np.dtype(np.int32): "IntStorage",
    np.dtype(np.int16): "ShortStorage",
    np.dtype(np.int8): "CharStorage",
    np.dtype(np.uint8): "ByteStorage",
    np.dtype(np.bool_): "BoolStorage",
}
_STORAGE_DTYPES = {name: dtype for dtype, name in _STORAGES.items()} | {"HalfStorage": np.dtype(np.float16)}


class _Global:
    """A name pickled as a reference to torch's object of that name (never imported here)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> None:  # the pickler wants the function of a call to be callable
        raise TypeError(f"{self.module}.{self.name} is only a name in a pickle")


_REBUILD = _Global("torch._utils", "_rebuild_tensor_v2")
_NO_HOOKS = object()  # the empty OrderedDict of backward hooks each tensor call takes


class _Storage:
    def __init__(self, key: str, array: np.ndarray) -> None:
        self.key, self.array = key, array


class _Pickler(pickle._Pickler):  # the Python pickler, whose save can write other modules' names
    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=2)
        self.storages: list[_Storage] = []

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _Storage):
            return ("storage", _Global("torch", _STORAGES[obj.array.dtype]), obj.key, "cpu", obj.array.size)
        return None

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, np.ndarray):
            return NotImplemented
        array = np.array(obj, order="C", copy=None)  # not ascontiguousarray: it makes 0-d arrays 1-d
        if array.dtype not in _STORAGES:
            raise TypeError(f"minigrad.save: a .pt file cannot hold dtype {array.dtype}")
        storage = _Storage(str(len(self.storages)), array)
        self.storages.append(storage)
        strides = tuple(s // array.itemsize for s in array.strides) if array.size else (1,) * array.ndim
        return _REBUILD, (storage, 0, array.shape, strides, False, _NO_HOOKS)

    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        elif obj is _NO_HOOKS:
            self.write(pickle.GLOBAL + b"collections\nOrderedDict\n" + pickle.EMPTY_TUPLE + pickle.REDUCE)
        else:
            super().save(obj, save_persistent_id)


def with_metadata(items: dict, metadata: Any) -> dict:
    """items, or, when metadata is not None, items as an OrderedDict carrying it as ``_metadata``:
    how a module's state_dict holds each module's version, which torch.save keeps and
    load_state_dict reads."""
    if metadata is None:
        return items
    out = collections.OrderedDict(items)
    out._metadata = metadata
    return out


def _plain(obj: Any, to_numpy: Any) -> Any:
    """obj with every tensor as a numpy array and every dict as a plain dict (a state_dict's
    ``_metadata`` kept)."""
    if isinstance(obj, dict):
        items = {key: _plain(value, to_numpy) for key, value in obj.items()}
        return with_metadata(items, getattr(obj, "_metadata", None))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(value, to_numpy) for value in obj)
    array = to_numpy(obj)
    return obj if array is None else array


def write(obj: Any, to_numpy: Any) -> bytes:
    """The bytes of a torch.save file holding obj; to_numpy(value) gives a tensor's array, else None."""
    data = io.BytesIO()
    pickler = _Pickler(data)
    pickler.dump(_plain(obj, to_numpy))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", data.getvalue())
        archive.writestr("archive/byteorder", "little")
        for storage in pickler.storages:
            little = storage.array.astype(storage.array.dtype.newbyteorder("<"), copy=False)
            archive.writestr(f"archive/data/{storage.key}", little.tobytes())
        archive.writestr("archive/version", "3\n")
    return out.getvalue()


class _Unpickler(pickle.Unpickler):
    """Rebuilds tensors as numpy arrays from the archive's storages; refuses every other global."""

    def __init__(self, file: io.BytesIO, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(file)
        self.archive, self.prefix = archive, prefix
        self.loaded: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return lambda data, requires_grad, hooks: data
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(
            f"{module}.{name} is not a tensor or a plain value; minigrad runs no code from files"
        )

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], np.dtype)):
            raise pickle.UnpicklingError(f"unknown storage reference {pid!r}")
        _, dtype, key, _, numel = pid
        if key not in self.loaded:
            raw = self.archive.read(f"{self.prefix}data/{key}")
            if len(raw) != numel * dtype.itemsize:
                raise pickle.UnpicklingError(f"storage {key}: {len(raw)} bytes for {numel} elements of {dtype}")
            self.loaded[key] = np.frombuffer(raw, dtype.newbyteorder("<")).astype(dtype)
        return self.loaded[key]


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple, stride: tuple, *_: Any) -> np.ndarray:
    """The tensor of size and stride (in elements) that starts at offset of storage, as a copy."""
    if any(n < 0 for n in size) or any(s < 0 for s in stride) or offset < 0:
        raise pickle.UnpicklingError("a tensor with a negative size, stride or offset")
    needed = offset + (sum((n - 1) * s for n, s in zip(size, stride, strict=True)) + 1 if all(size) else 0)
    if needed > storage.size:
        raise pickle.UnpicklingError(f"a tensor reaching element {needed} of a storage of {storage.size}")
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * storage.itemsize for s in stride)
    )
    return np.array(view)


def read(data: bytes) -> Any:
    """The object in a torch.save zip archive, with tensors as numpy arrays."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise pickle.UnpicklingError("not a torch.save archive (no single data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        return _Unpickler(io.BytesIO(archive.read(pickles[0])), archive, prefix).load()
