"""Mixed precision under PyTorch's names (torch.amp): autocast and GradScaler, for code written for them.

minigrad computes in float32 and float64 only: it has no float16 or bfloat16. ``autocast`` is
therefore a no-op: the region runs in its tensors' own dtypes, whatever dtype is asked for. It
keeps PyTorch's signature and checks and says what PyTorch says where PyTorch turns autocast off
(device_type "cuda" without a usable CUDA device; a dtype other than float16/bfloat16); a float16
or bfloat16 region (the default dtype) warns once per process that it runs in full precision.
minigrad.float16 (half) and minigrad.bfloat16 exist as names for this (every tensor of either is
refused); is_autocast_enabled and get_autocast_dtype report the regions a thread is in.

``GradScaler`` is PyTorch's, enabled semantics included (the loss scaled, the gradients unscaled
in place and checked for inf/NaN, steps with such gradients skipped, the scale grown and backed
off), so a training loop written for it computes what PyTorch computes (in float32 a power-of-two
scale changes no gradient, barring overflow, but an inf/NaN still skips the step). As PyTorch's, a
scaler for device "cuda" (the default) made where CUDA is not usable warns and disables itself:
scale() returns its argument, step() calls optimizer.step(), get_scale() is 1.0, state_dict() is {}.

PyTorch's deprecated CUDA forms, torch.cuda.amp.autocast and torch.cuda.amp.GradScaler, are
minigrad.cuda.amp's (minigrad/_cuda_amp.py).
"""

from __future__ import annotations

import functools
import math
import threading
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from minigrad.autograd import no_grad
from minigrad.backend import cuda_unavailable_reason
from minigrad.functional import isfinite
from minigrad.tensor import Tensor, bfloat16, float16

__all__ = ["GradScaler", "OptState", "autocast", "custom_bwd", "custom_fwd", "get_autocast_dtype",
           "is_autocast_available", "is_autocast_enabled"]

# PyTorch's default autocast dtypes (torch.get_autocast_dtype): names only, minigrad has neither
_DEFAULT_AUTOCAST_DTYPES = {"cpu": bfloat16, "cuda": float16}
# the autocast regions this thread is in, innermost last: (device_type, enabled, dtype)
_regions = threading.local()
_HALF_PRECISION = ("float16", "half", "bfloat16")
_warned_half_precision = [False]  # one mutable cell: the full-precision warning is given once per process


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast accepts device_type ("cpu" and "cuda", minigrad's devices), as
    torch.amp.is_autocast_available."""
    return device_type in _DEFAULT_AUTOCAST_DTYPES


def _innermost(device_type: str) -> tuple | None:
    return next((r for r in reversed(getattr(_regions, "stack", ())) if r[0] == device_type), None)


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether this thread runs in an enabled autocast region for device_type (None: "cuda", as
    PyTorch's deprecated form), as torch.is_autocast_enabled; minigrad's regions cast nothing."""
    region = _innermost("cuda" if device_type is None else device_type)
    return region is not None and region[1]


def get_autocast_dtype(device_type: str) -> Any:
    """The dtype of this thread's innermost autocast region for device_type, else PyTorch's default
    for it (minigrad.bfloat16 on the CPU, minigrad.float16 on CUDA), as torch.get_autocast_dtype."""
    _check_device_type(device_type)
    if not is_autocast_available(device_type):
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
    region = _innermost(device_type)
    return _DEFAULT_AUTOCAST_DTYPES[device_type] if region is None else region[2]


def _check_device_type(device_type: object) -> None:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")


def _is_half_precision(dtype: Any) -> bool:
    """Whether dtype names float16 or bfloat16: a name ("float16", "half", "bfloat16"), numpy's
    float16, or another library's dtype object printed as one (torch.bfloat16)."""
    name = getattr(dtype, "__name__", None) or str(dtype)
    return name.rpartition(".")[2] in _HALF_PRECISION


class autocast:  # noqa: N801 (PyTorch's name)
    """torch.autocast as a context manager or decorator, a no-op in minigrad (see the module
    docstring): ``with minigrad.autocast(device_type="cuda"):`` runs its region unchanged.

    device_type must be "cpu" or "cuda" (a non-str is a ValueError, another name a RuntimeError);
    dtype None means PyTorch's default for the device (float16 on CUDA, bfloat16 on the CPU).
    Turned off, as PyTorch turns it off, with its warning: device_type "cuda" without a usable
    CUDA device, or a dtype other than float16/bfloat16; otherwise a one-time warning says the
    region runs in its tensors' own dtypes. cache_enabled is accepted (there is no cast cache)."""

    def __init__(
        self,
        device_type: str,
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        _check_device_type(device_type)
        if not is_autocast_available(device_type):
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self.device = device_type
        self.fast_dtype = _DEFAULT_AUTOCAST_DTYPES[device_type] if dtype is None else dtype
        if enabled:
            if device_type == "cuda" and cuda_unavailable_reason():
                warnings.warn("CUDA is not available. Disabling autocast.", stacklevel=2)
                enabled = False
            elif not _is_half_precision(self.fast_dtype):
                name = device_type.upper()
                warnings.warn(f"In {name} autocast, but the target dtype is not supported. Disabling autocast.\n"
                              f"{name} Autocast only supports dtypes of bfloat16, float16 currently.", stacklevel=2)
                enabled = False
            elif not _warned_half_precision[0]:
                _warned_half_precision[0] = True
                warnings.warn("minigrad has no float16 or bfloat16: autocast regions run in their tensors' own "
                              "dtypes (float32/float64), as without autocast", stacklevel=2)
        self._enabled = enabled

    def __enter__(self) -> autocast:
        if not hasattr(_regions, "stack"):
            _regions.stack = []
        _regions.stack.append((self.device, self._enabled, self.fast_dtype))
        return self

    def __exit__(self, *exc: object) -> bool:
        _regions.stack.pop()
        return False

    def __call__(self, func: Callable) -> Callable:
        """The decorator form: func run inside this region (is_autocast_enabled is True there)."""
        if not callable(func):
            raise TypeError(f"autocast()(func) requires a callable, but got {type(func).__name__}. Did you mean to "
                            "use autocast as a context manager? For example:\n"
                            "    with minigrad.autocast(device_type=...):\n"
                            "        output = model(input)")

        @functools.wraps(func)
        def in_region(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return in_region


def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs: Any = None) -> Callable:
    """torch.amp.custom_fwd, for a custom Function's forward: forward itself, since no autocast
    region casts (cast_inputs would cast only inside one). Without fwd, the decorator."""
    _check_device_type(device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    return fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Callable:
    """torch.amp.custom_bwd, for a custom Function's backward: backward itself (it would run
    under forward's autocast state, which casts nothing here). Without bwd, the decorator."""
    _check_device_type(device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd


# --- GradScaler ------------------------------------------------------------------------------


class OptState(Enum):
    """Where an optimizer is in a GradScaler iteration, as torch.amp.grad_scaler.OptState."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


@dataclass
class _OptimizerState:
    """One optimizer's part of the current iteration: its stage, and whether unscale_ found an inf
    or NaN among its gradients (None while none was checked)."""

    stage: OptState = OptState.READY
    found_inf: bool | None = None


def _float32(value: float) -> float:
    """value rounded to float32, in which PyTorch keeps the scale (inf beyond its range)."""
    with np.errstate(over="ignore"):
        return float(np.float32(value))


class GradScaler:
    """torch.amp.GradScaler: ``scaler.scale(loss).backward()``, optionally ``scaler.unscale_(opt)``
    (to clip the true gradients), ``scaler.step(opt)``, ``scaler.update()``.

    scale() multiplies by the scale (init_scale at first); unscale_ multiplies every gradient of
    the optimizer by 1/scale (PyTorch's float64 reciprocal rounded to float32) and records whether
    any was inf or NaN; step() unscales if that has not been done, then runs optimizer.step()
    unless an inf/NaN was found; update() multiplies the scale by backoff_factor after such a
    step, or by growth_factor after growth_interval steps without one. The scale is kept in
    float32, as PyTorch's. Misuse raises PyTorch's errors: RuntimeError for unscale_ or step
    twice in one iteration and for step(closure=...); AssertionError for step/unscale_/update
    before any scale(), update() with no gradient checked, growth_factor <= 1 or
    backoff_factor >= 1 (when enabled).

    Disabled (enabled=False, or device "cuda" without a usable CUDA device, which warns): scale()
    returns its argument, step() is optimizer.step(), unscale_/update/load_state_dict do nothing,
    get_scale() is 1.0 and state_dict() {}. Unlike PyTorch's, a disabled scaler keeps its
    settings, so get_growth_factor() and the like answer instead of raising AttributeError."""

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        self._device = device
        self._enabled = enabled
        if device == "cuda" and enabled and cuda_unavailable_reason():
            warnings.warn("GradScaler is enabled, but CUDA is not available.  Disabling.", stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
        self._init_scale = init_scale
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._init_growth_tracker = 0
        # the scale and the count of consecutive unskipped steps, set by the first scale()
        self._scale: float | None = None
        self._growth_tracker = 0
        self._per_optimizer_states: defaultdict[int, _OptimizerState] = defaultdict(_OptimizerState)

    def _require_scale(self, funcname: str) -> None:
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  This may indicate your script did not "
                                 "use scaler.scale(loss or outputs) earlier in the iteration.")

    def scale(self, outputs: Tensor | Iterable[Tensor]) -> Tensor | Iterable[Tensor]:
        """outputs (a tensor, or an iterable of them, nested) times the scale: a list or tuple
        comes back as one, another iterable as an iterator; ValueError for anything else. When
        disabled, outputs as they are."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._scale, self._growth_tracker = _float32(self._init_scale), self._init_growth_tracker
            return outputs * self._scale
        if isinstance(outputs, Iterable):
            scaled = map(self.scale, outputs)
            return type(outputs)(scaled) if isinstance(outputs, (list, tuple)) else scaled
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def unscale_(self, optimizer: Any) -> None:
        """Divide the optimizer's gradients by the scale, in place, and record whether any is inf
        or NaN; at most once per optimizer between update()s, and not after its step()."""
        if not self._enabled:
            return
        self._require_scale("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state.stage is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state.stage is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        grads = []
        for group in optimizer.param_groups:
            for param in group["params"]:
                if not isinstance(param, Tensor):
                    raise AssertionError(f"expected param to be minigrad.Tensor, got {type(param).__name__}")
                if param.grad is not None:
                    grads.append(param.grad)
        inv_scale = _float32(1.0 / self._scale)
        with no_grad():
            nonfinite = [not isfinite(g).all().item() for g in grads]
            for g in grads:  # unscaled whether finite or not, as PyTorch's
                g.mul_(inv_scale)
        state.found_inf = any(nonfinite) if grads else None
        state.stage = OptState.UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """optimizer.step(*args, **kwargs) after unscale_ (unless already called), skipped (None
        returned) when a gradient was inf or NaN; its return value otherwise. A closure keyword
        is refused while enabled, as PyTorch refuses it."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._require_scale("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state.stage is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state.stage is OptState.READY:
            self.unscale_(optimizer)
        if state.found_inf is None:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        result = None if state.found_inf else optimizer.step(*args, **kwargs)
        state.stage = OptState.STEPPED
        return result

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """End the iteration: the scale becomes new_scale when given (a float, or a one-element
        tensor on the scaler's device that requires no grad; else AssertionError), otherwise it
        backs off if any optimizer's gradients had an inf/NaN and grows after growth_interval
        clean steps in a row (kept if growing would overflow float32)."""
        if not self._enabled:
            return
        self._require_scale("update")
        if new_scale is not None:
            if not isinstance(new_scale, float) and not (
                isinstance(new_scale, Tensor) and new_scale.device.type == self._device
                and new_scale.numel() == 1 and not new_scale.requires_grad):  # fmt: skip
                raise AssertionError("new_scale should be a float or a 1-element minigrad.Tensor with "
                                     "requires_grad=False.")
            self._scale = _float32(float(new_scale))
        else:
            found_infs = [s.found_inf for s in self._per_optimizer_states.values() if s.found_inf is not None]
            if not found_infs:
                raise AssertionError("No inf checks were recorded prior to update.")
            self._update_scale(any(found_infs))
        self._per_optimizer_states = defaultdict(_OptimizerState)

    def _update_scale(self, found_inf: bool) -> None:
        """ATen's _amp_update_scale_: back off and restart the count after an inf/NaN; otherwise
        count the step and grow the scale (when finite) every growth_interval steps."""
        if found_inf:
            self._scale, self._growth_tracker = _float32(self._scale * self._backoff_factor), 0
            return
        successful = self._growth_tracker + 1
        if successful == self._growth_interval:
            grown = _float32(self._scale * self._growth_factor)
            if math.isfinite(grown):
                self._scale = grown
            successful = 0
        self._growth_tracker = successful

    def get_scale(self) -> float:
        """The current scale (init_scale before the first scale()), or 1.0 when disabled."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale

    def get_growth_factor(self) -> float:
        """The factor the scale grows by."""
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        """Set the factor the scale grows by."""
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        """The factor the scale backs off by."""
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        """Set the factor the scale backs off by."""
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        """The number of clean steps in a row after which the scale grows."""
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        """Set the number of clean steps in a row after which the scale grows."""
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._scale is None else self._growth_tracker

    def is_enabled(self) -> bool:
        """Whether the scaler scales (False after enabled=False or without CUDA for device "cuda")."""
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """{"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"},
        as PyTorch's (call it after update()); {} when disabled."""
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._get_growth_tracker(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what state_dict() returned (PyTorch's too); RuntimeError for an empty one (a
        disabled scaler's). Does nothing when disabled."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._scale is not None:
            self._scale, self._growth_tracker = _float32(self._init_scale), self._init_growth_tracker
