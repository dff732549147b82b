"""minigrad.save / minigrad.load: checkpoints in the safetensors format, never pickle.

File layout
-----------
A plain state dict (``{name: Tensor}``, e.g. ``model.state_dict()``) is written
as an ordinary safetensors file: one entry per key, same names as PyTorch, so
``safetensors.torch.load_file`` reads it into the same torch architecture. The
safetensors format sorts its entries, so the keys' order goes into the header
metadata entry ``minigrad.order`` (a JSON list), and load gives them back in it.
A module's state_dict carries ``_metadata`` (each module's version, which
load_state_dict reads): it goes into ``minigrad.state_dict_metadata`` (JSON), and
load gives the dict back as an OrderedDict with it, as torch.load does.

Anything else (nested dicts/lists, e.g. ``{"model": model.state_dict(),
"optimizer": opt.state_dict(), "epoch": 3}``, a list or tuple, a lone tensor) is flattened:

- every tensor leaf is stored under the "/"-joined path of its keys, e.g.
  ``model/conv1.weight`` or ``optimizer/state/0/exp_avg`` (a lone tensor: the empty name);
- the structure and the non-tensor leaves (int, float incl. inf/nan, str, bool,
  None) go into the header metadata entry ``minigrad.tree`` as JSON, where a dict
  is ``{"dict": [[key, value], ...]}`` (int keys stay ints), a list
  ``{"list": [...]}``, a tuple ``{"tuple": [...]}`` and a tensor ``{"tensor": "<entry name>"}``
  (a state_dict's ``_metadata`` as the dict's ``"metadata"`` entry).

Every file minigrad writes also carries ``minigrad.sha256``, a digest of every
entry's name, dtype, shape and bytes, checked on load so flipped bits are an
error rather than silently wrong weights. Caller metadata (str -> str) is stored
beside them; keys starting with ``minigrad.`` are reserved.

Writes are atomic: the bytes go to a temporary file in the target's directory,
are fsync'ed, and replace the target with ``os.replace``; a crash mid-save leaves
the previous file untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import zipfile
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np
import safetensors.numpy

from minigrad import _torch_format

TREE_KEY = "minigrad.tree"
ORDER_KEY = "minigrad.order"
STATE_METADATA_KEY = "minigrad.state_dict_metadata"
DIGEST_KEY = "minigrad.sha256"
_RESERVED_PREFIX = "minigrad."
_HEADER_LIMIT = 100 * 1024 * 1024  # the safetensors library's own header-size limit
# Names save writes in PyTorch's format: what PyTorch code calls its checkpoints (the ImageNet
# example's checkpoint.pth.tar, Lightning's .ckpt, pytorch_model.bin, model.pkl), so that
# torch.load reads what a ported script writes. .safetensors and any other name: safetensors.
TORCH_SUFFIXES = (".pt", ".pth", ".tar", ".ckpt", ".bin", ".pkl")


class CheckpointError(ValueError):
    """A file that is not a readable, intact safetensors checkpoint."""


def _is_tensor(value: Any) -> bool:
    from minigrad.tensor import Tensor

    return isinstance(value, (Tensor, np.ndarray))


def _to_numpy(value: Any) -> np.ndarray:
    """Host copy-free view of a Tensor's or array's data, C-contiguous. Arrays that load could
    not turn back into Tensors (complex, object, uint64 past int64) are refused here, before
    anything is written."""
    from minigrad.tensor import Tensor, _check_int64_range

    if isinstance(value, Tensor):
        value = value._host()
    value = np.asarray(value)
    if value.dtype.kind not in "biuf":
        raise TypeError(f"minigrad.save: cannot store an array of dtype {value.dtype}")
    _check_int64_range(value)
    # not np.ascontiguousarray: it turns 0-d arrays (num_batches_tracked) into 1-d
    return value if value.flags.c_contiguous else value.copy(order="C")


def _digest(arrays: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = _to_numpy(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _encode(value: Any, path: list[str], arrays: dict[str, np.ndarray]) -> Any:
    """JSON form of value; tensor leaves are moved into arrays under their path."""
    if _is_tensor(value):
        name = "/".join(path)
        if name in arrays:
            raise ValueError(f"minigrad.save: two tensors flatten to the same key {name!r}")
        arrays[name] = _to_numpy(value)
        return {"tensor": name}
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"minigrad.save: dict keys must be str or int, got {key!r}")
            items.append([key, _encode(item, [*path, str(key)], arrays)])
        metadata = getattr(value, "_metadata", None)  # a state_dict's module versions
        return {"dict": items} if metadata is None else {"dict": items, "metadata": metadata}
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return {kind: [_encode(item, [*path, str(i)], arrays) for i, item in enumerate(value)]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(
        f"minigrad.save: cannot store {type(value).__name__} at {'/'.join(path) or '<root>'}; "
        "only tensors, dicts, lists, tuples, numbers, strings and None"
    )


def _decode(node: Any, tensors: Mapping[str, Any]) -> Any:
    if not isinstance(node, dict):
        return node
    if "tensor" in node:
        return tensors[node["tensor"]]
    if "dict" in node:
        return _torch_format.with_metadata({key: _decode(item, tensors) for key, item in node["dict"]},
                                           node.get("metadata"))
    if "list" in node:
        return [_decode(item, tensors) for item in node["list"]]
    return tuple(_decode(item, tensors) for item in node["tuple"])


def _is_flat_state_dict(obj: Mapping) -> bool:
    return all(isinstance(k, str) and _is_tensor(v) for k, v in obj.items())


def save(
    obj: Any, path: str | os.PathLike | BinaryIO, metadata: Mapping[str, str] | None = None
) -> None:
    """Write obj (a state dict, nested dicts/lists/tuples of tensors and plain values, or a tensor)
    to path.

    metadata: extra str -> str entries for the file header (readable with load_metadata).
    The write is atomic: on any failure the previous file at path is left as it was.
    A name PyTorch code gives its checkpoints (.pt, .pth, .pth.tar, .tar, .ckpt, .bin, .pkl) gets
    PyTorch's zip format (torch.load reads it), other names (.safetensors) safetensors.
    path may also be a writable binary file object (``io.BytesIO``, an open file), as with
    torch.save: it gets PyTorch's zip format too, written at its current position in one write
    (nothing is written when obj cannot be stored); metadata is then an error, as for .pt.
    """
    if not (isinstance(obj, (Mapping, list, tuple)) or _is_tensor(obj)):
        hint = (" (save a module's state_dict(), and load it back with model.load_state_dict(minigrad.load(path)))"
                if hasattr(obj, "state_dict") else "")
        raise TypeError(f"minigrad.save: expected a tensor, or a dict, list or tuple of them, got "
                        f"{type(obj).__name__}{hint}")
    if _is_file_object(path, "write"):
        if metadata:
            raise ValueError("minigrad.save: a file object gets PyTorch's .pt format, which has no header for "
                             "metadata; save to a .safetensors name")
        _encode(obj, [], {})  # the same checks of what can be stored
        path.write(_torch_format.write(obj, lambda v: _to_numpy(v) if _is_tensor(v) else None))
        return
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"minigrad.save: path must be a str, an os.PathLike or a writable binary file object, "
                        f"got {type(path).__name__}")
    if os.fspath(path).lower().endswith(TORCH_SUFFIXES):
        _save_torch(obj, os.fspath(path), metadata)
        return
    header: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"minigrad.save: metadata must map str to str, got {key!r}: {value!r}")
        if key.startswith(_RESERVED_PREFIX):
            raise ValueError(f"minigrad.save: metadata key {key!r} is reserved")
        header[key] = value

    if isinstance(obj, Mapping) and _is_flat_state_dict(obj):
        arrays = {key: _to_numpy(value) for key, value in obj.items()}
        header[ORDER_KEY] = json.dumps(list(arrays))  # safetensors sorts the entries
        if getattr(obj, "_metadata", None) is not None:  # a state_dict's module versions
            header[STATE_METADATA_KEY] = json.dumps(obj._metadata)
    else:
        arrays = {}
        header[TREE_KEY] = json.dumps(_encode(obj, [], arrays))
    header[DIGEST_KEY] = _digest(arrays)
    data = safetensors.numpy.save(arrays, metadata=header)
    _atomic_write(os.fspath(path), data)


def _save_torch(obj: Mapping[str, Any], path: str, metadata: Mapping[str, str] | None) -> None:
    """A PyTorch-style name gets PyTorch's own format, which torch.load reads (weights_only too)."""
    if metadata:
        raise ValueError(f"minigrad.save: {path}: PyTorch's format (written for {', '.join(TORCH_SUFFIXES)} "
                         "names) has no header for metadata; use a .safetensors name")
    _encode(obj, [], {})  # the same checks of what can be stored
    _atomic_write(path, _torch_format.write(obj, lambda v: _to_numpy(v) if _is_tensor(v) else None))


def _load_torch(path: str, data: bytes) -> Any:
    """A torch.save archive's object with its tensors as Tensors (no code from the file runs)."""
    from minigrad.tensor import Tensor

    try:
        obj = _torch_format.read(data)
    except (pickle.UnpicklingError, zipfile.BadZipFile, KeyError, ValueError, EOFError, TypeError) as exc:
        raise CheckpointError(f"{path}: a zip archive but not a readable torch.save file ({exc})") from exc

    def tensors(value: Any) -> Any:
        if isinstance(value, dict):
            return _torch_format.with_metadata({key: tensors(item) for key, item in value.items()},
                                               getattr(value, "_metadata", None))
        if isinstance(value, (list, tuple)):
            return type(value)(tensors(item) for item in value)
        if isinstance(value, np.ndarray):
            try:
                return Tensor._wrap(value)
            except (TypeError, OverflowError) as exc:
                raise CheckpointError(f"{path}: a tensor of dtype {value.dtype} cannot be loaded ({exc})") from exc
        return value

    return tensors(obj)


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def _atomic_write(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        # mkstemp creates the file 0600; give it the mode open() would have (0666 less the umask)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    # Make the rename itself durable; not every platform can open a directory.
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _not_safetensors(path: str, data: bytes, reason: str) -> CheckpointError:
    """The error for bytes that are not a safetensors file, naming the format they look like.
    Sniffed only after the safetensors header failed to parse: byte 0 of a valid file is
    the low byte of its header length and can be anything, 0x80 (pickle) or "PK" included."""
    if data[:2] == b"PK":
        return CheckpointError(f"{path}: a zip archive, not safetensors")
    if data[:1] == b"\x80":
        return CheckpointError(f"{path}: a pickle, not safetensors; minigrad never unpickles")
    return CheckpointError(f"{path}: {reason}")


def _read_checked(path: str, data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Arrays and header metadata of a safetensors file, or CheckpointError naming the file."""
    if len(data) < 8:
        raise _not_safetensors(path, data, f"truncated ({len(data)} bytes), not a safetensors file")
    header_len = int.from_bytes(data[:8], "little")
    if header_len > _HEADER_LIMIT or 8 + header_len > len(data):
        raise _not_safetensors(
            path, data, f"not a safetensors file or truncated (header of {header_len} bytes, file of {len(data)})"
        )
    try:
        header = json.loads(data[8 : 8 + header_len])
    except (ValueError, RecursionError) as exc:
        raise _not_safetensors(path, data, f"not a valid safetensors file (header: {exc})") from exc
    try:
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
        metadata = header.get("__metadata__") or {}
        arrays = safetensors.numpy.load(data)
    except Exception as exc:  # the library raises its own error types
        raise CheckpointError(f"{path}: not a valid safetensors file ({exc})") from exc
    expected = metadata.get(DIGEST_KEY)
    if expected is not None and _digest(arrays) != expected:
        raise CheckpointError(f"{path}: checksum mismatch, the file is corrupted")
    return arrays, metadata


def load(path: str | os.PathLike | BinaryIO, map_location: Any = None, weights_only: bool = True) -> Any:
    """Read a file written by save (any safetensors file, or a torch.save .pt archive) back as Tensors.

    A flat file gives {name: Tensor}; a flattened nested object comes back with
    its original structure. A torch.save archive is read without running code from it:
    tensors and plain values only (what torch.load(weights_only=True) accepts of them), so
    weights_only is accepted for PyTorch's signature and changes nothing. path may also be a
    readable binary file object (``io.BytesIO``, an open file), read from its current position.

    map_location is where the tensors are put, one device for all of them:

    - None (the CPU), a device or its name ("cpu", "cuda", "cuda:0");
    - a callable, as PyTorch's ``lambda storage, loc: storage``: it is called once, with an empty
      CPU Tensor and the location "cpu"; when it returns a minigrad Tensor the tensors go to that
      Tensor's device (``lambda s, loc: s.cuda()``: the GPU), otherwise to the CPU;
    - a dict from saved locations to devices, as ``{"cuda:0": "cpu"}``. minigrad files record no
      per-tensor location (and minigrad reads every torch.save archive onto the host), so the
      dict is applied to the whole file: the value of its first "cuda"/"cuda:N" key when it has
      one (the usual GPU-to-CPU remapping), else its "cpu" key's value, else the CPU.

    Raises CheckpointError (a ValueError) naming the file when it is truncated,
    corrupted, a pickle, or none of these formats; TypeError for another kind of path or
    map_location.
    """
    device = _map_location_device(map_location)
    obj = _load(path)
    return obj if device == "cpu" else _to_device(obj, device)


def _map_location_device(map_location: Any) -> str:
    """The one device load puts tensors on for a map_location (see load)."""
    from minigrad.tensor import Tensor

    if map_location is None:
        return "cpu"
    if isinstance(map_location, str):  # a minigrad device is a str too
        return map_location
    if isinstance(map_location, Mapping):
        for key, value in map_location.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"load: a map_location dict must map location names to device names, got "
                                f"{key!r}: {value!r}")
        cuda = [value for key, value in map_location.items() if key == "cuda" or key.startswith("cuda:")]
        if cuda:
            return cuda[0]
        return map_location.get("cpu", "cpu")
    if callable(map_location):
        import minigrad

        moved = map_location(minigrad.empty(0), "cpu")
        return str(moved.device) if isinstance(moved, Tensor) else "cpu"
    raise TypeError(f"load: map_location must be a device or its name, a dict of them, or a callable, got "
                    f"{type(map_location).__name__}")


def _is_file_object(path: Any, method: str) -> bool:
    return not isinstance(path, (str, bytes, os.PathLike)) and callable(getattr(path, method, None))


def _to_device(obj: Any, device: str) -> Any:
    """obj with every Tensor in its dicts, lists and tuples moved to device."""
    from minigrad.tensor import Tensor

    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return _torch_format.with_metadata(type(obj)((k, _to_device(v, device)) for k, v in obj.items()),
                                           getattr(obj, "_metadata", None))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


def _load(path: str | os.PathLike) -> Any:
    from minigrad.tensor import Tensor

    if _is_file_object(path, "read"):
        data = path.read()
        if not isinstance(data, bytes):
            raise TypeError(f"minigrad.load: the file object must be opened in binary mode (read() gave "
                            f"{type(data).__name__})")
        name = getattr(path, "name", None)
        path = name if isinstance(name, str) else f"<{type(path).__name__}>"
    elif isinstance(path, (str, bytes, os.PathLike)):
        path = os.fspath(path)
        with open(path, "rb") as f:
            data = f.read()
    else:
        raise TypeError(f"minigrad.load: path must be a str, an os.PathLike or a readable binary file object, "
                        f"got {type(path).__name__}")
    try:
        arrays, metadata = _read_checked(path, data)
    except CheckpointError:
        if data[:2] != b"PK":
            raise
        return _load_torch(path, data)
    tensors = {}
    for name, a in arrays.items():
        try:
            tensors[name] = Tensor._wrap(np.array(a))
        except (TypeError, OverflowError) as exc:
            raise CheckpointError(f"{path}: entry {name!r} cannot be loaded ({exc})") from exc
    tree = metadata.get(TREE_KEY)
    if tree is None:
        state_metadata = metadata.get(STATE_METADATA_KEY)
        return _torch_format.with_metadata(_in_saved_order(path, tensors, metadata.get(ORDER_KEY)),
                                           None if state_metadata is None else json.loads(state_metadata))
    try:
        return _decode(json.loads(tree), tensors)
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise CheckpointError(f"{path}: damaged {TREE_KEY} entry ({exc})") from exc


def _in_saved_order(path: str, tensors: dict[str, Any], order: str | None) -> dict[str, Any]:
    """A flat file's tensors in the order save was given them (its ORDER_KEY entry); a file
    without one (another writer's), in the order the safetensors library lists them."""
    if order is None:
        return tensors
    try:
        names = json.loads(order)
        intact = isinstance(names, list) and len(names) == len(tensors) and set(names) == tensors.keys()
    except (ValueError, TypeError):  # not JSON, or unhashable names
        intact = False
    if not intact:
        raise CheckpointError(f"{path}: damaged {ORDER_KEY} entry (it does not list the file's tensors)")
    return {name: tensors[name] for name in names}


def load_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The caller metadata stored in a file's header (minigrad's reserved keys left out)."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        _, metadata = _read_checked(path, f.read())
    return {k: v for k, v in metadata.items() if not k.startswith(_RESERVED_PREFIX)}
