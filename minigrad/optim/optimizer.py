"""Optimizer base class: param groups, per-parameter state, state_dict in PyTorch's layout.

Subclasses implement ``_update(group, param, state)``: one fused in-place kernel
call on the parameter's backend (``get_backend(p.device).<name>_step``), or, for
the optimizers without a kernel (adam_variants.py), in-place tensor ops.
"""

from __future__ import annotations

import copy
import functools
import math
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from minigrad import autograd
from minigrad.autograd import enable_grad, no_grad
from minigrad.backend import get_backend
from minigrad.profiler import record_function
from minigrad.tensor import Tensor, get_default_dtype


def _tracked_step(step: Callable[..., Any]) -> Callable[..., Any]:
    """step, noting on the optimizer that it was called (``_opt_called``, PyTorch's flag), for the
    LR schedulers' warning about scheduler.step() before optimizer.step(), and, while a profiler
    records, inside PyTorch's range "Optimizer.step#SGD.step"."""

    @functools.wraps(step)
    def wrapper(self: Optimizer, *args: Any, **kwargs: Any) -> Any:
        self._opt_called = True
        if self._has_step_hooks:  # register_step_pre_hook / register_step_post_hook (a class-level False otherwise)
            return self._step_with_hooks(step, args, kwargs)
        if autograd._tracing:  # a profiler records through autograd.trace: only then the range costs
            with record_function(f"Optimizer.step#{type(self).__name__}.step"):
                return step(self, *args, **kwargs)
        return step(self, *args, **kwargs)

    return wrapper


class Optimizer:
    """Base class of every optimizer.

    params: an iterable of Tensors, or of dicts (param groups) with a "params"
    entry and per-group overrides of defaults.
    """

    # the per-parameter state entries that are scalars (scalar_state), not tensors like the parameter
    _scalar_state: tuple[str, ...] = ("step",)
    _has_step_hooks = False  # True on an instance once a step pre- or post-hook is registered

    def register_step_pre_hook(self, hook: Callable[..., Any]) -> Any:
        """hook(optimizer, args, kwargs) runs before each step(); it returns None or a pair
        (new_args, new_kwargs) for step, as PyTorch's. Returns a handle whose remove() drops it."""
        return self._add_step_hook("_optimizer_step_pre_hooks", hook)

    def register_step_post_hook(self, hook: Callable[..., Any]) -> Any:
        """hook(optimizer, args, kwargs) runs after each step(), as PyTorch's (its result is ignored).
        Returns a handle whose remove() drops it."""
        return self._add_step_hook("_optimizer_step_post_hooks", hook)

    def _add_step_hook(self, registry: str, hook: Callable[..., Any]) -> Any:
        from minigrad.nn.module import RemovableHandle

        hooks = self.__dict__.setdefault(registry, OrderedDict())
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        self._has_step_hooks = True
        return handle

    def _step_with_hooks(self, step: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        """step(self, *args, **kwargs) between the step pre-hooks and post-hooks, which see the
        arguments with the optimizer first, as PyTorch's (a pre-hook's new args include it too).
        A step() that calls its base class's step() runs the hooks once."""
        if self.__dict__.get("_in_hooked_step"):
            return step(self, *args, **kwargs)
        args = (self, *args)
        for hook in list(self.__dict__.get("_optimizer_step_pre_hooks", {}).values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{step.__qualname__} must return None or a tuple of (new_args, new_kwargs), "
                                       f"but got {result}.")
                args, kwargs = result
        self._in_hooked_step = True
        try:
            if autograd._tracing:
                with record_function(f"Optimizer.step#{type(self).__name__}.step"):
                    out = step(*args, **kwargs)
            else:
                out = step(*args, **kwargs)
        finally:
            self._in_hooked_step = False
        for hook in list(self.__dict__.get("_optimizer_step_post_hooks", {}).values()):
            hook(self, args, kwargs)
        return out

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's own step() (LBFGS's, a user's optimizer) also notes that it was called."""
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if callable(step):
            cls.step = _tracked_step(step)

    def __init__(
        self, params: Iterable[Tensor] | Iterable[dict[str, Any]], defaults: dict[str, Any]
    ) -> None:
        self.defaults = defaults
        # Keyed by the parameter itself (identity hash, as torch's tensors); a defaultdict, as
        # PyTorch's, so a custom optimizer's step() may start with ``state = self.state[p]``.
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                "but got a Tensor"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (missing ones from defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            # A frozen parameter (requires_grad False) is accepted, as PyTorch: it never gets a
            # gradient, so step() leaves it alone until it is unfrozen.
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = {**param_group, "params": params}
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        check_implementation_options(type(self).__name__, group)
        for name, value in group.items():  # each optimizer's range checks (lr < 0, ...) let NaN through
            values = value if isinstance(value, tuple) else (value,)
            if any(isinstance(v, float) and math.isnan(v) for v in values):
                raise ValueError(f"{type(self).__name__}: invalid {name} {value}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter group contains the same parameter twice")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter (to None by default, as torch)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    @_tracked_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns closure() if given.

        closure re-evaluates the model and returns the loss (it runs with grad enabled).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state.setdefault(p, {})
                    for key, value in state.items():  # follow a parameter moved since (Module.to)
                        # (but the step count, which stays on the CPU, as PyTorch's)
                        if isinstance(value, Tensor) and value.device != p.device and key != "step":
                            state[key] = value.detach().to(p.device)
                    self._update(group, p, state)
                    p._version_counter.value += 1  # updated in place: a tape that saved p's values is now stale
        return loss

    def _update(self, group: dict[str, Any], param: Tensor, state: dict[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def _kernels(param: Tensor) -> Any:
        return get_backend(param.device)

    # ---- saving and resuming ----

    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]} as torch.

        Parameters are numbered in the order of the groups; state tensors are
        references (save them, or deep-copy, before training on).
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state_dict() (from this optimizer class, same parameter layout).

        State tensors are copied, cast to each parameter's dtype and device.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"the optimizer has {len(self.param_groups)}"
            )
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict's parameter group {i} has {len(saved['params'])} "
                    "parameters, "
                    f"the optimizer's has {len(group['params'])}"
                )
        by_index = {
            saved_index: p
            for saved, group in zip(saved_groups, self.param_groups, strict=True)
            for saved_index, p in zip(saved["params"], group["params"], strict=True)
        }
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, values in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(
                    f"loaded state dict has state for parameter {key}, which no group holds"
                )
            new_state[p] = {name: _state_value_like(p, f"state {key} {name!r}", name in self._scalar_state, v)
                            for name, v in values.items()}
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            restored = copy.deepcopy({k: v for k, v in saved.items() if k != "params"})
            for name, default in self.defaults.items():  # keys an older state_dict lacks, as PyTorch's __setstate__
                restored.setdefault(name, default)
            check_implementation_options(type(self).__name__, restored)
            restored["params"] = group["params"]
            new_groups.append(restored)
        self.state = new_state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)


def scalar_state(value: float) -> Tensor:
    """A scalar state entry (the step count, ASGD's eta and mu) as PyTorch keeps it: a 0-d CPU
    tensor of the default dtype, so that ``state['step']`` prints as ``tensor(3.)``."""
    return Tensor._wrap(np.array(value, get_default_dtype()))


def count_step(state: dict[str, Any]) -> int:
    """Add one to state["step"] (a scalar_state) in place, and return the new count."""
    step = state["step"]
    step._data += 1  # its host array directly: this runs once per parameter per step
    return int(step._data)


def state_buffer(param: Tensor, value: float = 0.0) -> Tensor:
    """A new state tensor like param (shape, dtype, device) filled with value."""
    data = get_backend(param.device).full(tuple(param.shape), value, param.dtype)
    return Tensor._wrap(data, device=param.device)


class FusedArrays:
    """``with FusedArrays(param, *state) as arrays``: the arrays a fused `_C` step kernel takes,
    (param, its grad, *state), None staying None, all C-contiguous as the kernels require. A
    non-contiguous one (a Parameter wrapping a transposed view, a grad or a state tensor set by
    hand) is passed as a contiguous copy, and the copies of param and state are written back into
    their own memory when the block ends without an error: the step lands in place, as PyTorch's
    (the Parameter stays the same object, and tensors sharing its memory see the update). The grad
    is only read. A class rather than a generator context manager: this runs once per parameter
    per step (an SGD step on a 10-element parameter: 6.6 us with the generator, 6.0 now)."""

    __slots__ = ("_be", "_arrays", "_work", "_grad")

    def __init__(self, param: Tensor, *state: Tensor | None) -> None:
        be = self._be = get_backend(param.device)
        arrays = self._arrays = (param._data, *(None if t is None else t._data for t in state))
        self._work = tuple(a if a is None or be.is_contiguous(a) else be.copy(a) for a in arrays)
        self._grad = be.contiguous(param.grad._data)

    def __enter__(self) -> tuple[Any, ...]:
        return (self._work[0], self._grad, *self._work[1:])

    def __exit__(self, error: Any, *details: Any) -> None:
        if error is not None:
            return
        for array, stepped in zip(self._arrays, self._work, strict=True):
            if stepped is not array:
                self._be.assign(array, Ellipsis, stepped)


def check_implementation_options(optimizer: str, group: dict[str, Any]) -> None:
    """PyTorch's implementation switches in a param group, checked. foreach and fused pick
    PyTorch's multi-tensor or fused kernels, which make the same updates as minigrad's
    per-parameter kernels, so any value is accepted but both True (PyTorch's RuntimeError).
    capturable (CUDA-graph capture) and differentiable (a step autograd differentiates through)
    must stay False: minigrad has neither (NotImplementedError rather than a silent ignore)."""
    if group.get("foreach") and group.get("fused"):
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    for name, meaning in (("capturable", "CUDA-graph capture"), ("differentiable", "differentiating through step()")):
        if group.get(name):
            raise NotImplementedError(f"{optimizer}: {name}=True ({meaning}) is not supported by minigrad; "
                                      f"leave {name}=False")


def check_adam_arguments(
    optimizer: str, lr: float, betas: tuple[float, float], eps: float, weight_decay: float
) -> None:
    """The range checks of the Adam family's shared hyper-parameters, as PyTorch's: ValueError
    when lr, eps or weight_decay is negative or a beta lies outside [0, 1)."""
    if lr < 0.0:
        raise ValueError(f"{optimizer}: invalid learning rate {lr}")
    if eps < 0.0:
        raise ValueError(f"{optimizer}: invalid epsilon {eps}")
    if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
        raise ValueError(f"{optimizer}: invalid betas {betas}")
    if weight_decay < 0.0:
        raise ValueError(f"{optimizer}: invalid weight_decay {weight_decay}")


def _state_value_like(param: Tensor, where: str, scalar: bool, value: Any) -> Any:
    """A private copy of a saved state entry: a scalar one (see Optimizer._scalar_state) as a
    scalar_state; tensors take param's dtype and device, and must have its shape and a
    floating-point dtype (ValueError naming the entry)."""
    if isinstance(value, np.ndarray):
        value = Tensor._wrap(value)
    if scalar:  # saved as a 0-d tensor (PyTorch, minigrad) or a number (older minigrad)
        return scalar_state(float(value))
    if not isinstance(value, Tensor):
        return copy.deepcopy(value)
    if tuple(value.shape) != tuple(param.shape) or value.dtype.kind != "f":
        raise ValueError(
            f"loaded optimizer {where}: a {value.dtype.name} tensor of shape {tuple(value.shape)}, "
            f"the parameter is {param.dtype.name} {tuple(param.shape)}"
        )
    moved = value.detach().to(param.device, param.dtype)
    return Tensor._wrap(get_backend(moved.device).copy(moved._data), device=moved.device)
