"""torch.jit for minigrad, as course and deployment code uses it: minigrad has no TorchScript
compiler, so scripting and tracing keep running the Python code as it is (no speed-up; a warning
says so once per process), and everything that only prepares a model for deployment works.

- ``script(module)`` and ``trace(module, example_inputs)`` give a ``ScriptModule``: a shallow copy
  of the module (same parameters, buffers and submodules, like PyTorch's scripted module) whose
  class is the module's own with ``ScriptModule`` mixed in, so forward, state_dict, train/eval and
  isinstance checks work as before, and ``.save(path)`` as on a TorchScript module. A function or
  class is returned as it is (trace runs the function once on the example inputs, as PyTorch).
- ``save(module, path)`` / ``load(path)`` use minigrad's own serialization, **not TorchScript**: the
  file (safetensors, or PyTorch's zip layout for a ``.pt``-style name, through minigrad.save) holds
  the tensors and the module tree: each module's class by import path and its attributes (plain
  values, tensors, containers, dtypes, devices, importable functions). No code is stored, and none
  from the file runs: ``load`` imports the modules that define those classes (as ``torch.load`` of a
  pickled model does), so they must be importable where it runs (a class defined in a script's
  ``__main__`` only there). PyTorch cannot read these files, nor minigrad TorchScript archives.
- ``ignore``, ``unused``, ``export``, ``script_if_tracing`` return what they decorate;
  ``is_scripting()`` is False; ``is_tracing()`` is True while trace runs its example;
  ``Final`` is typing.Final; ``annotate(type, value)`` is value; ``fork(fn, *args)`` calls fn at
  once and ``wait(future)`` returns its result; ``freeze`` and ``optimize_for_inference`` return
  the module.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar

import numpy as np

import minigrad
from minigrad.backend import device as _device
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

__all__ = [
    "Final", "Future", "ScriptModule", "annotate", "export", "fork", "freeze", "ignore", "is_scripting",
    "is_tracing", "load", "optimize_for_inference", "save", "script", "script_if_tracing", "trace",
    "trace_module", "unused", "wait",
]

T = TypeVar("T")
FORMAT = "minigrad.jit"  # the marker of the files save writes
_warned = False
_tracing = threading.local()


def _warn_no_compiler() -> None:
    """Once per process: scripted and traced code runs as ordinary Python."""
    global _warned
    if not _warned:
        _warned = True
        warnings.warn("minigrad.jit does not compile TorchScript: scripted and traced modules and functions run as "
                      "ordinary Python (no speed-up), and jit.save writes minigrad's own format, which PyTorch "
                      "cannot load", UserWarning, stacklevel=3)


class ScriptModule(Module):
    """What script and trace make of a module (mixed into its own class; see the module docstring).
    Also torch.jit.RecursiveScriptModule's name, for isinstance checks."""

    def save(self, path: str, _extra_files: dict[str, str] | None = None) -> None:
        """jit.save(self, path): minigrad's format, not TorchScript."""
        save(self, path, _extra_files)

    @property
    def original_name(self) -> str:
        return _original_class(self).__name__

    @property
    def code(self) -> str:
        """There is no TorchScript code: a note saying so (PyTorch's property prints the compiled code)."""
        return f"# minigrad runs {self.original_name}.forward as Python; no TorchScript was compiled\n"


RecursiveScriptModule = ScriptModule
_script_classes: dict[type, type] = {}


def _original_class(module: Module) -> type:
    cls = type(module)
    return cls.__bases__[0] if cls in _script_classes.values() else cls


def _as_script_module(module: Module) -> ScriptModule:
    if isinstance(module, ScriptModule):
        return module
    cls = type(module)
    if cls not in _script_classes:
        _script_classes[cls] = type(cls.__name__, (cls, ScriptModule),
                                    {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
    scripted = copy.copy(module)  # the same parameters and submodules; the original keeps its class
    scripted.__class__ = _script_classes[cls]
    return scripted


def _arguments(example_inputs: Any) -> tuple:
    """trace's example inputs as arguments: a tuple is the arguments, anything else the one argument."""
    if example_inputs is None:
        return ()
    return example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)


@contextlib.contextmanager
def _running_examples() -> Iterator[None]:
    """Where trace runs its examples: is_tracing() True, no gradients recorded."""
    _tracing.active = True
    try:
        with minigrad.no_grad():
            yield
    finally:
        _tracing.active = False


def script(obj: Any, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:
    """torch.jit.script: a module as a ScriptModule; a function or class unchanged (nothing is compiled)."""
    _warn_no_compiler()
    return _as_script_module(obj) if isinstance(obj, Module) else obj


def trace(func: Any, example_inputs: Any = None, optimize: Any = None, check_trace: bool = True,
          check_inputs: Any = None, check_tolerance: float = 1e-5, strict: bool = True,
          _force_outplace: bool = False, _module_class: Any = None, _compilation_unit: Any = None,
          example_kwarg_inputs: dict[str, Any] | None = None, _store_inputs: bool = True) -> Any:
    """torch.jit.trace: runs func once on example_inputs (a tensor or a tuple of arguments;
    example_kwarg_inputs as keywords), with is_tracing() True and without recording gradients,
    then returns a module as a ScriptModule and a function unchanged. The other arguments are
    accepted for PyTorch's signature."""
    _warn_no_compiler()
    with _running_examples():
        func(*_arguments(example_inputs), **(example_kwarg_inputs or {}))
    return _as_script_module(func) if isinstance(func, Module) else func


def trace_module(mod: Module, inputs: dict[str, Any], **options: Any) -> ScriptModule:
    """torch.jit.trace_module: trace's run of each named method on its example inputs."""
    _warn_no_compiler()
    with _running_examples():
        for method, example in inputs.items():
            getattr(mod, method)(*_arguments(example))
    return _as_script_module(mod)


def is_scripting() -> bool:
    """False: minigrad never runs code as TorchScript."""
    return False


def is_tracing() -> bool:
    """Whether trace is running its example in this thread."""
    return getattr(_tracing, "active", False)


def ignore(fn: Callable | None = None, **options: Any) -> Any:
    """torch.jit.ignore (also unused, export, script_if_tracing): the function unchanged, nothing
    being compiled; ``@ignore`` and ``@ignore(drop=True)`` alike."""
    return (lambda f: f) if fn is None else fn


unused = export = script_if_tracing = ignore


def annotate(the_type: Any, the_value: T) -> T:
    """torch.jit.annotate: the value."""
    return the_value


class Future:
    """The result of fork: already computed (fork runs the call at once)."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def wait(self) -> Any:
        return self._value


def fork(func: Callable, *args: Any, **kwargs: Any) -> Future:
    """torch.jit.fork: calls func(*args, **kwargs) now; wait() gives its result."""
    return Future(func(*args, **kwargs))


def wait(future: Future) -> Any:
    """torch.jit.wait: the result of a fork."""
    return future.wait()


def freeze(mod: Module, preserved_attrs: Any = None, optimize_numerics: bool = True) -> Module:
    """torch.jit.freeze: the module as it is (there is no graph to fold constants into)."""
    _warn_no_compiler()
    return mod


def optimize_for_inference(mod: Module, other_methods: Any = None) -> Module:
    """torch.jit.optimize_for_inference: the module as it is."""
    _warn_no_compiler()
    return mod


# --- save / load -----------------------------------------------------------------------------------
# The tree minigrad.save stores holds tensors, plain values, lists, tuples and str-keyed dicts; every
# other value becomes a one-key dict naming what it was ({"module": ..., "state": ...}, {"dict": pairs}).

def _import_path(obj: Any) -> str | None:
    """"module:qualname" of a class or function that importing finds again, else None."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        return None
    try:
        found = _resolve(f"{module}:{qualname}")
    except (ImportError, AttributeError):
        return None
    return f"{module}:{qualname}" if found is obj else None


def _resolve(path: str) -> Any:
    module, _, qualname = path.partition(":")
    return functools.reduce(getattr, qualname.split("."), importlib.import_module(module))


def _encode(value: Any, where: str, memo: dict[int, int]) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (Tensor, Module)):
        if id(value) in memo:  # tied weights and shared submodules stay shared
            return {"same": memo[id(value)]}
        memo[id(value)] = number = len(memo)
        if isinstance(value, Tensor):
            return {"tensor": value.detach(), "parameter": isinstance(value, Parameter),
                    "requires_grad": value.requires_grad, "id": number}
        cls = _original_class(value)
        path = _import_path(cls)
        if path is None:
            raise TypeError(f"minigrad.jit.save: {where} is a {cls.__qualname__}, a class that cannot be imported "
                            "by its name (defined inside a function?); minigrad stores classes by import path")
        state = {"dict": [[name, _encode(v, f"{where}.{name}", memo)] for name, v in value.__dict__.items()]}
        return {"module": path, "state": state, "id": number}
    if isinstance(value, (list, tuple, set, frozenset)):
        kind = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}.get(type(value))
        if kind is not None:
            return {kind: [_encode(v, f"{where}[{i}]", memo) for i, v in enumerate(value)]}
    if type(value) in (dict, OrderedDict):
        pairs = [[_encode(k, where, memo), _encode(v, f"{where}[{k!r}]", memo)] for k, v in value.items()]
        return {"odict" if isinstance(value, OrderedDict) else "dict": pairs}
    if isinstance(value, np.dtype):
        return {"dtype": value.str}
    if isinstance(value, _device):
        return {"device": str(value)}
    path = _import_path(value) if callable(value) else None
    if path is None:
        raise TypeError(f"minigrad.jit.save: cannot store {where}, a {type(value).__name__} (minigrad stores "
                        "tensors, modules, plain values, containers of them, and importable functions and classes)")
    return {"ref": path}


_KINDS = ("same", "tensor", "module", "list", "tuple", "set", "frozenset", "dict", "odict", "dtype", "device", "ref")


def _decode(node: Any, memo: dict[int, Any]) -> Any:
    if not isinstance(node, dict):
        return node
    kind = next(k for k in _KINDS if k in node)
    content = node[kind]
    if kind == "same":
        return memo[content]
    if kind == "tensor":
        tensor = Parameter(content, node["requires_grad"]) if node["parameter"] else content.requires_grad_(
            node["requires_grad"])
        memo[node["id"]] = tensor
        return tensor
    if kind == "module":
        cls = _resolve(content)
        if not (isinstance(cls, type) and issubclass(cls, Module)):
            raise TypeError(f"minigrad.jit.load: {content} is not a module class")
        module = memo[node["id"]] = cls.__new__(cls)
        module.__dict__.update(_decode(node["state"], memo))
        return module
    if kind in ("list", "tuple", "set", "frozenset"):
        return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[kind](
            _decode(v, memo) for v in content)
    if kind in ("dict", "odict"):
        return (OrderedDict if kind == "odict" else dict)((_decode(k, memo), _decode(v, memo)) for k, v in content)
    if kind == "dtype":
        return np.dtype(content)
    if kind == "device":
        return _device(content)
    return _resolve(content)  # "ref"


def save(m: Any, f: Any, _extra_files: dict[str, str] | None = None) -> None:
    """torch.jit.save, in minigrad's format (not TorchScript; see the module docstring): m (a
    module, scripted or not) to the path or binary file f; _extra_files' strings are stored beside it."""
    tree = {"format": FORMAT, "version": 1, "object": _encode(m, type(m).__name__, {}),
            "extra_files": {str(k): str(v) for k, v in (_extra_files or {}).items()}}
    minigrad.save(tree, f)


def load(f: Any, map_location: Any = None, _extra_files: dict[str, Any] | None = None) -> Any:
    """torch.jit.load of a file jit.save wrote: the module (as a ScriptModule, in eval or train mode
    as it was saved), its tensors on map_location (as minigrad.load's). _extra_files, a dict of the
    names wanted, gets their stored strings. TorchScript archives cannot be read (minigrad runs
    no TorchScript)."""
    from minigrad.serialization import CheckpointError

    try:
        tree = minigrad.load(f, map_location=map_location)
    except CheckpointError as error:
        raise CheckpointError(f"minigrad.jit.load: not a file minigrad.jit.save wrote ({error}); minigrad cannot "
                              "read TorchScript archives: load the weights with minigrad.load instead") from None
    if not (isinstance(tree, dict) and tree.get("format") == FORMAT):
        raise CheckpointError("minigrad.jit.load: not a file minigrad.jit.save wrote (a checkpoint? read it with "
                              "minigrad.load)")
    if _extra_files is not None:
        for name in _extra_files:
            _extra_files[name] = tree["extra_files"].get(name, "")
    obj = _decode(tree["object"], {})
    return _as_script_module(obj) if isinstance(obj, Module) else obj
