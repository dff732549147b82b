"""Module, Sequential, ModuleList: the containers of parameters, buffers and submodules.

Naming, ordering and state_dict keys follow PyTorch, so a state dict moves
between a minigrad model and the same torch architecture unchanged.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from minigrad.autograd import is_grad_enabled, no_grad
from minigrad.nn.parameter import Buffer, Parameter, UninitializedTensorMixin
from minigrad.tensor import Tensor


class IncompatibleKeys(NamedTuple):
    """What load_state_dict(strict=False) could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class _IncompatibleKeys(IncompatibleKeys):
    """load_state_dict's result, named and shown as PyTorch's: a notebook that ends a cell with
    ``model.load_state_dict(...)`` shows ``<All keys matched successfully>`` when nothing is amiss."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """Returned by the register_*_hook methods; remove() unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict[int, Callable], extra_dict: dict[int, Any] | None = None) -> None:
        self._hooks = hooks
        self._extra = extra_dict  # e.g. the ids of the hooks called with kwargs, as PyTorch's extra_dict
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    _extra_dicts: tuple = ()  # further registries keyed by the id (always_call's)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)
        if self._extra is not None:
            self._extra.pop(self.id, None)
        for extra in self._extra_dicts:
            extra.pop(self.id, None)


_NONE: dict = {}  # no hook ids (a module pickled before the with_kwargs registries existed has none)


def _backward_pre_hooks(module: Module) -> OrderedDict:
    """module's full backward pre-hooks by id (empty for a module pickled before they existed)."""
    return module.__dict__.get("_backward_pre_hooks") or OrderedDict()


def _user_stacklevel() -> int:
    """The stacklevel of the first caller outside minigrad, for a warning given by the caller of
    this function (backward runs hooks deep inside the engine; PyTorch's warning names the user's line)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


class _BackwardHookCall:
    """One call of a module with full backward hooks or backward pre-hooks. The tensor input that
    requires grad enters forward through a view of its own (full backward hooks only), so its
    gradient hook sees this call's gradient alone (not other uses of the tensor); hooks on the
    tensor outputs collect grad_output first (backward reaches them before the input), running
    the pre-hooks (which may replace grad_output), and the input's hook then runs the module's
    full backward hooks. With no input that requires grad, the first output gradient runs them,
    grad_input all None."""

    def __init__(self, module: Module, args: tuple) -> None:
        self.module = module
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        wanting = [i for i in positions if args[i].requires_grad] if module._backward_hooks else []
        if len(wanting) > 1:
            raise NotImplementedError(f"{type(module).__name__}: full backward hooks support modules called with "
                                      f"one tensor that requires grad, got {len(wanting)}")
        self.input_count = len(positions)
        self.slot = positions.index(wanting[0]) if wanting else None
        # no tensor input requires grad: the hooks fire from the outputs' gradients (PyTorch warns then)
        self.from_outputs = not any(args[i].requires_grad for i in positions)
        self.grad_output: list = []
        self.ran = False
        self.inputs = args
        if wanting:
            i = wanting[0]
            own = args[i].view(args[i].shape)
            own.register_hook(self._input_grad)
            self.inputs = (*args[:i], own, *args[i + 1 :])

    def watch(self, result: Any) -> None:
        outputs = [o for o in (result if isinstance(result, tuple) else (result,)) if isinstance(o, Tensor)]
        self.grad_output = [None] * len(outputs)
        wanting = [k for k, out in enumerate(outputs) if out.requires_grad]
        if len(wanting) > 1 and _backward_pre_hooks(self.module):
            raise NotImplementedError(f"{type(self.module).__name__}: full backward pre-hooks support modules whose "
                                      f"forward returns one tensor that requires grad, got {len(wanting)}")
        for k in wanting:
            outputs[k].register_hook(lambda grad, k=k: self._output_grad(k, grad))

    def _output_grad(self, k: int, grad: Tensor) -> Tensor:
        self.grad_output[k] = grad
        if self.from_outputs and not self.ran:
            warnings.warn(
                "Full backward hook is firing when gradients are computed with respect to module outputs since no "
                "inputs require gradients. See https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                "#torch.nn.Module.register_full_backward_hook for more details.",
                UserWarning,
                stacklevel=_user_stacklevel(),
            )
        for hook in list(_backward_pre_hooks(self.module).values()):
            changed = hook(self.module, tuple(self.grad_output))
            if changed is None:
                continue
            if not isinstance(changed, (tuple, list)):
                raise RuntimeError("backward pre hook must return None or a tuple of grad_output, "
                                   f"got {type(changed).__name__}")
            if len(changed) != len(self.grad_output):
                raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got "
                                   f"{len(changed)}, but expected {len(self.grad_output)}")
            self.grad_output = list(changed)
        if self.slot is None and not self.ran:
            self._run([None] * self.input_count)
        replaced = self.grad_output[k]
        return grad.new_zeros(grad.shape) if replaced is None else replaced  # None: no gradient flows on (zeros here)

    def _input_grad(self, grad: Tensor) -> Tensor:
        grad_input = [None] * self.input_count
        grad_input[self.slot] = grad
        return self._run(grad_input)[self.slot]

    def _run(self, grad_input: list) -> list:
        self.ran = True
        for hook in list(self.module._backward_hooks.values()):
            changed = hook(self.module, tuple(grad_input), tuple(self.grad_output))
            if changed is not None:
                changed = list(changed) if isinstance(changed, (tuple, list)) else [changed]
                if len(changed) != len(grad_input):
                    raise RuntimeError(f"backward hook returned an invalid number of grad_input, got "
                                       f"{len(changed)}, but expected {len(grad_input)}")
                grad_input = changed
        return grad_input


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])


def _shape_str(shape: tuple[int, ...]) -> str:
    return f"({', '.join(str(d) for d in shape)}{',' if len(shape) == 1 else ''})"


class Module:
    """Base class of every layer and model. Subclasses define forward()."""

    training: bool
    _version = 1  # saved in state_dict()._metadata, as PyTorch's
    _defaulted_buffers: tuple[str, ...] = ()  # buffers added in _version, which older checkpoints lack
    # the ids of the forward (pre-)hooks called with kwargs: each instance's own (made in __init__,
    # or by _add_hook); these empty defaults serve a module pickled before they existed
    _forward_pre_hooks_with_kwargs: Mapping[int, bool] = _NONE
    _forward_hooks_with_kwargs: Mapping[int, bool] = _NONE

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ needs these dicts to exist
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        # the full backward hooks by id
        # hook id -> hook, as PyTorch's (pruning code reads module._forward_pre_hooks.values()); the ids of
        # the hooks registered with_kwargs in _forward_pre_hooks_with_kwargs / _forward_hooks_with_kwargs
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks_with_kwargs", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks_with_kwargs", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            if self._forward_pre_hooks:
                with_kwargs = self._forward_pre_hooks_with_kwargs
                for key, hook in list(self._forward_pre_hooks.items()):
                    if with_kwargs and key in with_kwargs:
                        changed = hook(self, args, kwargs)
                        if changed is not None:
                            if not (isinstance(changed, tuple) and len(changed) == 2):
                                raise RuntimeError("forward pre-hook must return None or a tuple of "
                                                   f"(new_args, new_kwargs), but got {changed}.")
                            args, kwargs = changed
                    else:
                        changed = hook(self, args)
                        if changed is not None:
                            args = changed if isinstance(changed, tuple) else (changed,)
            hooked = self._backward_hooks or _backward_pre_hooks(self)
            backward = _BackwardHookCall(self, args) if hooked and is_grad_enabled() else None
            if backward is not None:
                args = backward.inputs
            result = self.forward(*args, **kwargs)
            if self._forward_hooks:
                with_kwargs = self._forward_hooks_with_kwargs
                always = self.__dict__.get("_forward_hooks_always_called")
                ran = set()
                if always:
                    self.__dict__["_always_called_ran"] = ran
                for key, hook in list(self._forward_hooks.items()):
                    ran.add(key)  # before the call, as PyTorch's: a hook that raises is not called again
                    if with_kwargs and key in with_kwargs:
                        replaced = hook(self, args, kwargs, result)
                    else:
                        replaced = hook(self, args, result)
                    if replaced is not None:
                        result = replaced
                if always:
                    self.__dict__.pop("_always_called_ran", None)
            if backward is not None:
                backward.watch(result)
            return result
        except Exception:
            if self._forward_hooks and self.__dict__.get("_forward_hooks_always_called"):
                self._run_always_called_hooks(args, kwargs)
            raise

    def _run_always_called_hooks(self, args: tuple, kwargs: dict) -> None:
        """After an exception in the call: the forward hooks registered with always_call=True that
        did not run yet, with output None, as PyTorch's (their own errors become warnings)."""
        always = self.__dict__["_forward_hooks_always_called"]
        ran = self.__dict__.pop("_always_called_ran", set())
        with_kwargs = self._forward_hooks_with_kwargs
        for key, hook in list(self._forward_hooks.items()):
            if key not in always or key in ran:
                continue
            try:
                if with_kwargs and key in with_kwargs:
                    hook(self, args, kwargs, None)
                else:
                    hook(self, args, None)
            except Exception as e:  # noqa: BLE001 (PyTorch silences it with a warning)
                warnings.warn("forward hook with ``always_call=True`` raised an exception that was silenced as "
                              f"another error was raised in forward: {e}", stacklevel=3)

    def _add_hook(self, registry: OrderedDict, entry: Any, prepend: bool,
                  with_kwargs: str | None = None) -> RemovableHandle:
        """Register entry under a new id; with_kwargs: the name of the side registry that marks it as
        called with the keyword arguments (dropped with it by the handle)."""
        extra = self.__dict__.setdefault(with_kwargs, OrderedDict()) if with_kwargs else None
        handle = RemovableHandle(registry, extra)
        registry[handle.id] = entry
        if extra is not None:
            extra[handle.id] = True
        if prepend:
            registry.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """hook(module, args) runs before forward; a non-None return replaces args (a single value
        is wrapped in a tuple). with_kwargs: hook(module, args, kwargs) returns None or (args, kwargs).
        prepend runs it before the hooks already registered."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend,
                              "_forward_pre_hooks_with_kwargs" if with_kwargs else None)

    def register_forward_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                              with_kwargs: bool = False, always_call: bool = False) -> RemovableHandle:
        """hook(module, args, output) runs after forward (with_kwargs: hook(module, args, kwargs,
        output)); a non-None return replaces output. prepend runs it before the hooks already there.
        always_call: it also runs (with output None) when the call raises, as PyTorch's."""
        handle = self._add_hook(self._forward_hooks, hook, prepend,
                                "_forward_hooks_with_kwargs" if with_kwargs else None)
        if always_call:
            always = self.__dict__.setdefault("_forward_hooks_always_called", OrderedDict())
            always[handle.id] = True
            handle._extra_dicts = (always,)
        return handle

    def register_full_backward_hook(self, hook: Callable[[Module, tuple, tuple], Any],
                                    prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_input, grad_output) runs in backward once the gradient with respect to
        the module's tensor inputs is computed, as PyTorch's: grad_input holds one entry per tensor
        argument (None for those that need no gradient), grad_output one per tensor output. A
        returned tuple replaces grad_input. Modules called with more than one tensor that requires
        grad are not supported (NotImplementedError at the call)."""
        return self._add_hook(self._backward_hooks, hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable[[Module, tuple], tuple | None],
                                        prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_output) runs in backward once the gradient with respect to the module's
        output is computed, before the gradients with respect to its inputs, as PyTorch's:
        grad_output holds one entry per tensor output, and a returned tuple of as many entries
        replaces it (for the rest of backward, and for the full backward hooks; a None entry
        stops that gradient, as zeros). prepend runs it before the pre-hooks already registered.
        Modules whose forward returns more than one tensor that requires grad are not supported
        (NotImplementedError at the call)."""
        return self._add_hook(self.__dict__.setdefault("_backward_pre_hooks", OrderedDict()), hook, prepend)

    # ---- registration ----

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path target ("" is this module), as PyTorch's."""
        module = self
        for item in target.split(".") if target else []:
            if not hasattr(module, item):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put module at the dotted path target, as PyTorch's: the parent must exist; what it
        replaces must be a module; strict: the attribute must exist already."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{type(parent).__name__} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def _attribute_at(self, target: str) -> tuple[Module, str]:
        """(the submodule, the attribute name) of a dotted path "a.b.name" that must exist."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        return module, name

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path target ("layer.0.weight")."""
        module, name = self._attribute_at(target)
        param = getattr(module, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path target ("bn.running_mean")."""
        module, name = self._attribute_at(target)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return module._buffers[name]

    def _check_registrable(self, name: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                "cannot assign parameters, buffers or modules before Module.__init__() call"
            )
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(
                f"invalid attribute name {name!r}: must be a non-empty string without '.'"
            )

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder, e.g. bias=False) under name."""
        self._check_registrable(name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign {type(param).__name__} as parameter {name!r} "
                "(Parameter or None required)"
            )
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute {name!r} already exists")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add non-learnable state (BatchNorm's running_mean); in state_dict if persistent."""
        self._check_registrable(name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign {type(tensor).__name__} as buffer {name!r} "
                "(Tensor or None required)"
            )
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute {name!r} already exists")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under name."""
        self._check_registrable(name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute {name!r} already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            if name not in params:  # a replaced parameter keeps its place in the order, as PyTorch
                self._forget(name)
            self.register_parameter(name, value)
        elif isinstance(value, Buffer):
            if params is None:
                raise AttributeError("cannot assign buffers before Module.__init__() call")
            if name not in self._buffers:
                self._forget(name)
            self.register_buffer(name, value.detach().requires_grad_(value.requires_grad), value.persistent)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} "
                    "(Parameter or None required)"
                )
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign a module before Module.__init__() call")
            if name not in self._modules:  # a replaced module keeps its place, as PyTorch
                self._forget(name)
            self._modules[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module {name!r} "
                    "(Module or None required)"
                )
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} as buffer {name!r} "
                    "(Tensor or None required)"
                )
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        """Drop name from every registry and the instance dict (it is being re-registered)."""
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )

    # ---- traversal ----

    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for self and every descendant, each module once (with
        remove_duplicate=False, a shared module under each of its names), as PyTorch's."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse
                   else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter), shared parameters once (with remove_duplicate=False, under
        each of their names), as torch."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer), shared buffers once unless remove_duplicate is False, as torch."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call fn on every descendant (children first) and then on self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients ----

    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout active, BatchNorm uses batch stats) here and below."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient (to None by default, as torch)."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.zero_()

    # ---- devices and dtypes ----

    def to(self, device: str | None = None, dtype: Any = None, non_blocking: bool = False, *,
           memory_format: Any = None) -> Module:
        """Move parameters and buffers (and gradients) to device and/or cast the floating ones
        to dtype. In place: the Parameter objects stay the same, so optimizers keep them.

        to("cuda"), to(np.float64), to(device="cpu", dtype="float64"). memory_format=
        (minigrad.channels_last, channels_last_3d) lays out the 4-D / 5-D parameters and buffers
        so, as PyTorch's (see minigrad._memory_format); non_blocking is accepted and ignored.
        """
        if dtype is None and device is not None and _is_dtype(device):
            device, dtype = None, device
        if memory_format is not None:
            from minigrad._memory_format import check_memory_format

            check_memory_format("to", memory_format)

        def moved(t: Tensor) -> Tensor:
            t = t.detach()
            if dtype is not None and t.dtype.kind == "f":
                t = t.to(np.dtype(dtype))
            t = t.to(device) if device is not None else t
            if memory_format is not None and t.ndim in (4, 5):
                t = t.to(memory_format=memory_format)  # a rank the format does not fit: RuntimeError
            return t

        with no_grad():
            for module in self.modules():
                for t in [*module._parameters.values(), *module._buffers.values()]:
                    if t is None:
                        continue
                    if isinstance(t, UninitializedTensorMixin):  # nothing to move yet: where it will be
                        t._retarget(device, dtype if dtype is not None and t.dtype.kind == "f" else None)
                        continue
                    for target in (t, t.grad):
                        if target is not None:
                            new = moved(target)
                            target.device = new.device  # first: .data refuses a device change
                            target.data = new.data
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def share_memory(self) -> Module:
        """share_memory_() on every parameter and buffer (for torch.multiprocessing's Hogwild
        training, say); returns self, as PyTorch's."""
        for t in [*self.parameters(), *self.buffers()]:
            t.share_memory_()
        return self

    def cuda(self) -> Module:
        return self.to("cuda")

    def double(self) -> Module:
        return self.to(dtype=np.float64)

    def float(self) -> Module:
        return self.to(dtype=np.float32)

    def half(self) -> Module:
        """Not available: minigrad has no float16 (a clear TypeError where PyTorch converts)."""
        raise TypeError("half(): minigrad has no float16 dtype; its floating-point dtypes are float32 and float64")

    def bfloat16(self) -> Module:
        """Not available: minigrad has no bfloat16 (a clear TypeError where PyTorch converts)."""
        raise TypeError("bfloat16(): minigrad has no bfloat16 dtype; its floating-point dtypes are float32 and "
                        "float64")

    # ---- state dict ----

    def state_dict(
        self, *, destination: OrderedDict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name, in torch's order.

        A module reachable twice is listed under both names, as torch. Tensors share
        data with the module (detached unless keep_vars).
        """
        out: OrderedDict[str, Tensor] = OrderedDict() if destination is None else destination
        if destination is None:
            out._metadata = OrderedDict()  # each module's version, as PyTorch's (see _defaulted_keys)
        if hasattr(out, "_metadata"):
            out._metadata[prefix[:-1]] = {"version": self._version}
        for name, param in self._parameters.items():  # a lazy layer's uninitialised ones as they are
            if param is not None:
                keep = keep_vars or isinstance(param, UninitializedTensorMixin)
                out[prefix + name] = param if keep else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers:
                keep = keep_vars or isinstance(buf, UninitializedTensorMixin)
                out[prefix + name] = buf if keep else buf.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination=out, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
        return out

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Copy values (Tensors or arrays) into the parameters and buffers, in place; assign: put
        the state dict's tensors in their place instead (their dtype and device kept; a parameter
        becomes a Parameter sharing the value's memory, with the old one's requires_grad), as
        PyTorch's (for a model built on the meta device or in another dtype).

        Values may also be torch tensors (a torch model's state_dict(); torch is not
        imported: anything with detach/cpu/numpy is read through them) or anything else
        numpy.asarray takes. strict: missing or unexpected keys are an error (RuntimeError
        naming them). Shape mismatches are always an error, and so is a float value for an
        integer buffer (it would be truncated); other values are cast to their target's
        dtype (float64 -> float32, integers or bools into a float parameter), as PyTorch.
        """
        if not isinstance(state_dict, Mapping):  # a list of (name, tensor) pairs would read as unexpected keys
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        for prefix, module in self.named_modules():  # lazy layers materialize from the checkpoint's shapes
            lazy_load = getattr(module, "_lazy_load", None)
            if lazy_load is not None:
                lazy_load(state_dict, f"{prefix}." if prefix else "")
        own = self.state_dict(keep_vars=True)
        params = {name for name, _ in self.named_parameters()}
        defaulted = self._defaulted_keys(state_dict)
        missing = [k for k in own if k not in state_dict and k not in defaulted]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        # PyTorch's order and wording, trailing space included: missing keys first
        for what, keys in (("Missing", missing), ("Unexpected", unexpected)):
            if strict and keys:
                errors.append(f"{what} key(s) in state_dict: " + ", ".join(f'"{k}"' for k in keys) + ". ")
        sources = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = _as_loadable(state_dict[key])
            if not isinstance(value, (Tensor, np.ndarray)):
                errors.append(
                    f'While copying the parameter named "{key}", expected a Tensor or array, '
                    f"got {type(value).__name__}."
                )
                continue
            shape = tuple(value.shape)
            if shape != tuple(target.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {_shape_str(shape)} from "
                    f"checkpoint, the shape in current model is {_shape_str(tuple(target.shape))}."
                )
                continue
            if _dtype_kind(value) == "f" and _dtype_kind(target) != "f":
                errors.append(
                    f"dtype mismatch for {key}: copying a {np.dtype(value.dtype).name} value from checkpoint "
                    f"into a {np.dtype(target.dtype).name} {'parameter' if key in params else 'buffer'}."
                )
                continue
            sources[key] = value
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        with no_grad():
            for key, value in sources.items():
                target = own[key]
                source = value if isinstance(value, Tensor) else Tensor._wrap(np.asarray(value))
                if assign:
                    module, name = self._attribute_at(key)
                    if key in params:
                        module.register_parameter(name, Parameter(source.detach(), target.requires_grad))
                    else:
                        module._buffers[name] = source.detach() if source.requires_grad else source
                    continue
                target.copy_(source.detach().to(target.device))
        return _IncompatibleKeys(missing, unexpected)

    def _defaulted_keys(self, state_dict: Mapping[str, Any]) -> set[str]:
        """The keys a checkpoint may lack, keeping their current values, as PyTorch: the buffers a
        module class lists in _defaulted_buffers (BatchNorm's num_batches_tracked), unless the
        state dict's metadata says it was saved by the module version that has them (a dict
        without metadata, say one built by hand, counts as older)."""
        metadata = getattr(state_dict, "_metadata", None) or {}
        keys = set()
        for prefix, module in self.named_modules():
            if (metadata.get(prefix) or {}).get("version", 0) >= module._version:
                continue
            for name in module._defaulted_buffers:
                if module._buffers.get(name) is not None:
                    keys.add(f"{prefix}.{name}" if prefix else name)
        return keys

    # ---- printing ----

    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (its settings)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        children = [f"({name}): {_addindent(repr(m), 2)}" for name, m in self._modules.items()]
        lines = (extra.split("\n") if extra else []) + children
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not children:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _as_loadable(value: Any) -> Any:
    """A state_dict value as load_state_dict copies it: a minigrad Tensor or numpy array as given,
    a torch tensor (detach, cpu and numpy; torch is not imported) as its numpy array, anything else
    with __array__ through numpy.asarray; other values unchanged (load_state_dict refuses them)."""
    if isinstance(value, (Tensor, np.ndarray)):
        return value
    if all(hasattr(value, name) for name in ("detach", "cpu", "numpy")):
        return value.detach().cpu().numpy()
    return np.asarray(value) if hasattr(value, "__array__") else value


def _dtype_kind(value: Any) -> str:
    """'f' for floating point, 'i' for integers and bool (what load_state_dict may convert between)."""
    return "f" if np.dtype(value.dtype).kind == "f" else "i"


def _is_dtype(obj: Any) -> bool:
    if isinstance(obj, str):
        return obj not in ("cpu", "cuda") and not obj.startswith("cuda:")
    try:
        np.dtype(obj)
    except TypeError:
        return False
    return True


def _number_children(parent: Module, modules: list[Module]) -> None:
    """parent's children replaced by modules, named "0", "1", ... in order."""
    parent._modules.clear()
    for i, module in enumerate(modules):
        parent.add_module(str(i), module)


class Sequential(Module):
    """Children called in order: Sequential(a, b, c) or Sequential(OrderedDict(name=module))."""

    def __init__(self, *args: Module | OrderedDict) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(args):
                self.add_module(str(index), module)

    def __getitem__(self, index: int | slice) -> Module:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_normalize_index(index, len(items), "Sequential")][1]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(list(self._modules)[_normalize_index(index, len(self), "Sequential")], module)

    def __delitem__(self, index: int | slice) -> None:
        """Removes the indexed children; the rest are numbered "0", "1", ... again, as PyTorch's."""
        keys = list(self._modules)
        doomed = keys[index] if isinstance(index, slice) else [keys[_normalize_index(index, len(keys), "Sequential")]]
        for key in doomed:
            del self._modules[key]
        _number_children(self, list(self._modules.values()))

    def __add__(self, other: Sequential) -> Sequential:
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
        return Sequential(*self, *other)

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, sequential: Iterable[Module]) -> Sequential:
        for module in sequential:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """module placed before position index (-len .. len), the children numbered again."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.insert: module should be of type Module, got {type(module).__name__}")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for {n} modules")
        values = list(self._modules.values())
        values.insert(index if index >= 0 else index + n, module)
        _number_children(self, values)
        return self

    def pop(self, index: int | slice) -> Module:
        """The indexed child, removed (as del self[index])."""
        popped = self[index]
        del self[index]
        return popped

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x


class ModuleList(Module):
    """A list of submodules, registered under "0", "1", ..."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        values = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(values[index])
        return values[_normalize_index(index, len(values), "ModuleList")]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(_normalize_index(index, len(self), "ModuleList")), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        values = list(self._modules.values())
        values.insert(index, module)
        _number_children(self, values)

    def __repr__(self) -> str:
        # As PyTorch's: a run of submodules with the same repr prints once, "(0-5): 6 x Layer(...)",
        # so a stack of copies (TransformerEncoder's layers, say) reads as PyTorch prints it.
        runs: list[tuple[int, int, str]] = []  # (first index, last index, repr)
        for i, module in enumerate(self):
            text = repr(module)
            if runs and runs[-1][2] == text:
                runs[-1] = (runs[-1][0], i, text)
            else:
                runs.append((i, i, text))
        if not runs:
            return f"{type(self).__name__}()"
        lines = [_addindent(f"({first}): {text}" if first == last else f"({first}-{last}): {last - first + 1} x {text}",
                            2) for first, last, text in runs]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """Submodules by name, in insertion order, as torch.nn.ModuleDict."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def pop(self, key: str) -> Module:
        return self._modules.pop(key)

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self.add_module(key, module)


def _normalize_index(index: int, length: int, what: str) -> int:
    if not -length <= index < length:
        raise IndexError(f"{what} index {index} is out of range for length {length}")
    return index % length
