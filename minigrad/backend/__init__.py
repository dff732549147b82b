"""Backends: one module per device, each implementing the same op set.

`Backend` below is the op set, declared once. A backend's arrays are its own
type (numpy ndarrays on the CPU); functional/ and tensor.py only ever touch
them through these methods, so a new device implements this class and nothing
else. Backward kernels return fresh gradients; optimizer steps work in place.

The compiled kernels are not restated here: `KERNEL_OPS` names them, and each
is forwarded by name, with the caller's arguments, to the backend's `kernels`
module (`_C` on the CPU, `_C.cuda` on CUDA), whose bindings
(csrc/bindings/) hold the one signature, tabulated in docs/architecture.md
(`_C` kernel API). A backend defines a method only where it does something
else (numpy on the CPU, a composition where the device lacks a kernel).
"""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np

Array = Any  # a backend's array type (numpy.ndarray on the CPU)

# The kernels forwarded by name to `Backend.kernels`: name -> how many leading positional
# arguments are read-only inputs, which a backend may pass as C-contiguous copies
# (`Backend.kernel_inputs`); None: every positional argument. The other arguments reach the
# kernel exactly as given: the buffers it updates in place (optimizer state and parameters,
# batch norm's running statistics, gemm's out) must stay the caller's arrays, so that a
# non-contiguous one raises in the binding instead of being updated in a silent copy.
KERNEL_OPS: dict[str, int | None] = {
    # elementwise, numpy semantics (the CPU backend calls numpy)
    **dict.fromkeys(("neg", "exp", "log", "log1p", "sqrt", "abs", "sign", "clamp", "all_finite")),
    **dict.fromkeys(("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "expm1", "log2", "log10", "erf")),
    # activations: fused kernels, backward from the forward output y
    **dict.fromkeys(("relu", "relu_backward", "sigmoid", "sigmoid_backward", "tanh", "tanh_backward")),
    **dict.fromkeys(("hardtanh", "hardtanh_backward")),  # clamp to [low, high]; backward from the input x
    **dict.fromkeys(("leaky_relu", "leaky_relu_backward")),  # backward from the input x
    **dict.fromkeys(("gelu", "gelu_backward")),  # x Phi(x), exact or approximate="tanh"; backward from the input x
    "add_scaled": None,  # a + alpha * b of one float dtype and shape, rounded once (fma)
    "lstm_cell": None,  # one LSTM step after its matmuls -> (h, c_next, acts, tanh_c)
    "lstm_cell_backward": None,  # -> (dgates, dc)
    "lstm_sequence": 0,  # a layer's steps; its gates are written in place
    "lstm_sequence_backward": 0,  # their backward; grad_hs is written in place
    "gru_sequence": None,  # a GRU layer's steps -> (hs, acts, h_projs)
    "gru_sequence_backward": 0,  # their backward; grad_hs is written in place
    "bias_add": None,  # x (N, C, ...) + bias (C,) along axis 1
    "bias_grad": None,  # sum of dy over every axis but 1 -> (C,)
    "cumsum": None,  # running sums along dim, in order into a double (reverse=True: from the end)
    # reductions (the CPU backend calls numpy)
    **dict.fromkeys(("max", "min", "argmax", "argmin")),
    # neural-network kernels
    "gemm": 0,
    **dict.fromkeys(("conv2d_forward", "conv2d_backward"), 3),  # (x, weight, bias) / (dy, x, weight), then sizes
    **dict.fromkeys(("max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward")),
    **dict.fromkeys(("softmax", "log_softmax", "softmax_backward", "log_softmax_backward")),
    **dict.fromkeys(("cross_entropy_forward", "cross_entropy_backward")),
    "batch_norm_forward": 1,
    "batch_norm_backward": None,
    **dict.fromkeys(("layer_norm_forward", "layer_norm_backward")),
    # optimizer updates, in place on param and its state
    **dict.fromkeys(("sgd_step", "adam_step", "rmsprop_step", "adagrad_step", "adadelta_step"), 0),
}


def _kernel_op(name: str, inputs: int | None) -> Callable[..., Any]:
    """The Backend method that runs kernels.<name> (see KERNEL_OPS)."""

    def op(self: Backend, *args: Any, **kwargs: Any) -> Any:
        if inputs is None:
            args = self.kernel_inputs(args)
        elif inputs:
            args = (*self.kernel_inputs(args[:inputs]), *args[inputs:])
        return getattr(self.kernels, name)(*args, **kwargs)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"kernels.{name}(...): arguments and result as the `_C` kernel API (docs/architecture.md)."
    return op


class Backend(ABC):
    """The op set every device implements: the abstract methods below and KERNEL_OPS."""

    device: str
    kernels: Any  # the module KERNEL_OPS are forwarded to: minigrad._C or minigrad._C.cuda

    def kernel_inputs(self, args: tuple) -> tuple:
        """The input arguments of a kernel as the kernels take them: as given here (a
        device whose arrays are always C-contiguous); the CPU backend copies the rest."""
        return args

    # --- memory -------------------------------------------------------------
    @abstractmethod
    def from_numpy(self, a: Any) -> Array:
        """Host numpy array -> device array (no copy where the device is the host)."""

    @abstractmethod
    def to_numpy(self, a: Array) -> Any:
        """Device array -> host numpy array (no copy where the device is the host)."""

    @abstractmethod
    def empty(self, shape: tuple, dtype: Any) -> Array: ...

    @abstractmethod
    def full(self, shape: tuple, value: float, dtype: Any) -> Array: ...

    @abstractmethod
    def arange(self, start: float, stop: float, step: float, dtype: Any) -> Array: ...

    @abstractmethod
    def copy(self, a: Array) -> Array:
        """A C-contiguous copy."""

    @abstractmethod
    def astype(self, a: Array, dtype: Any) -> Array:
        """A C-contiguous copy converted to dtype."""

    @abstractmethod
    def contiguous(self, a: Array) -> Array:
        """a itself when C-contiguous, else a C-contiguous copy."""

    @abstractmethod
    def is_contiguous(self, a: Array) -> bool:
        """Whether a is C-contiguous."""

    @abstractmethod
    def accumulate(self, dst: Array, src: Array) -> None:
        """dst += src, in place (gradient accumulation; same shape and dtype)."""

    @abstractmethod
    def assign(self, dst: Array, index: Any, value: Any) -> None:
        """dst[index] = value, in place."""

    @abstractmethod
    def view_source(self, out: Array, arrays: list) -> int:
        """Index of the array in arrays (None entries allowed) whose memory out shares (out
        itself, a view of it, or both views of one base), or -1. Autograd finds views and the
        inputs a node saved with it, for every op, so it is kept cheap."""

    # --- random: drawn on the host from minigrad.random's numpy Generator, so one seed gives the
    # same numbers on every device; then moved to the device ----------------------------------
    def uniform(self, gen: Any, shape: tuple, low: float, high: float, dtype: Any) -> Array:
        """U(low, high) samples of shape."""
        return self.from_numpy(gen.uniform(low, high, shape).astype(dtype, copy=False))

    def normal(self, gen: Any, shape: tuple, mean: float, std: float, dtype: Any) -> Array:
        """N(mean, std**2) samples of shape."""
        return self.from_numpy(gen.normal(mean, std, shape).astype(dtype, copy=False))

    def randint(self, gen: Any, low: int, high: int, shape: tuple) -> Array:
        """int64 samples of shape from [low, high)."""
        return self.from_numpy(gen.integers(low, high, shape, dtype=np.int64))

    def dropout_mask(self, gen: Any, shape: tuple, p: float, dtype: Any) -> Array:
        """Inverted-dropout mask: 0 with probability p, else 1 / (1 - p)."""
        keep = gen.random(shape, dtype=np.float64 if dtype == np.float64 else np.float32) >= p
        return self.from_numpy(keep.astype(dtype) * np.dtype(dtype).type(1.0 / (1.0 - p)))

    def expand(self, a: Array, shape: tuple) -> Array:
        """a broadcast to shape: a view where the device has them (then not writable), else a copy."""
        return self.broadcast_to(a, shape)

    def writable(self, a: Array) -> bool:
        """False for a view that several elements share memory through (expand)."""
        return True

    def diagonal(self, a: Array, offset: int, axis1: int, axis2: int) -> Array:
        """The offset-th diagonal of a's matrices in axis1 (rows) and axis2, as the last axis (the
        layout of numpy.diagonal and torch.diagonal): a writable view where the device has strided
        views (so writes to it reach a), else a copy. Here a copy, through the host."""
        return self.from_numpy(np.ascontiguousarray(np.diagonal(self.to_numpy(a), offset, axis1, axis2)))

    def argsort(self, a: Array, axis: int, descending: bool) -> Array:
        """Indices (int64) sorting a along axis, stably (equal elements keep their order, in both
        directions); NaN sorts as the largest value (last ascending, first descending), as in
        PyTorch. Descending: the ascending order of the reversed array, reversed and mapped back
        (no negation, so ints and bools too). On the host: sorting is rare in training."""
        host = self.to_numpy(a)
        if not descending:
            order = np.argsort(host, axis=axis, kind="stable")
        else:
            order = host.shape[axis] - 1 - np.flip(np.argsort(np.flip(host, axis), axis=axis, kind="stable"), axis)
        return self.from_numpy(np.ascontiguousarray(order, dtype=np.int64))

    # --- elementwise with broadcasting (a scalar operand allowed) ----------------
    @abstractmethod
    def add(self, a: Array, b: Array) -> Array: ...
    @abstractmethod
    def sub(self, a: Array, b: Array) -> Array: ...
    @abstractmethod
    def mul(self, a: Array, b: Array) -> Array: ...
    @abstractmethod
    def div(self, a: Array, b: Array) -> Array: ...
    @abstractmethod
    def pow(self, a: Array, b: Array) -> Array: ...
    @abstractmethod
    def maximum(self, a: Array, b: Array) -> Array: ...
    @abstractmethod
    def where(self, cond: Array, a: Array, b: Array) -> Array: ...
    @abstractmethod
    def compare(self, op: str, a: Array, b: Array) -> Array:
        """Boolean array of a <op> b, op one of eq ne lt le gt ge."""

    def logical(self, op: str, a: Array, b: Array | None) -> Array:
        """Boolean array of a <op> b for op logical_and / logical_or / logical_xor (b None for
        logical_not), non-zero as true, broadcasting; a or b may be a Python bool. Generic: the
        truth values counted in int64 (a device may hold no other integer type)."""

        def count(x: Any) -> Array:
            if isinstance(x, bool):
                return self.full((), int(x), np.int64)
            return self.astype(self.compare("ne", x, 0), np.int64)

        if b is None:
            return self.compare("eq", count(a), 0)
        test = {"logical_and": ("eq", 2), "logical_or": ("gt", 0), "logical_xor": ("eq", 1)}[op]
        return self.compare(test[0], self.add(count(a), count(b)), test[1])

    @abstractmethod
    def sum(self, a: Array, axis: int | tuple | None, keepdims: bool) -> Array:
        """Sum over axis (bools summed as int64, as numpy)."""

    # --- shape and indexing (views where possible) -------------------------------
    @abstractmethod
    def reshape(self, a: Array, shape: tuple) -> Array: ...
    @abstractmethod
    def permute(self, a: Array, axes: tuple) -> Array: ...
    @abstractmethod
    def broadcast_to(self, a: Array, shape: tuple) -> Array:
        """a broadcast to shape (a view or a copy)."""

    @abstractmethod
    def getitem(self, a: Array, index: Any) -> Array: ...
    @abstractmethod
    def index_add(self, shape: tuple, dtype: Any, index: Any, values: Array) -> Array:
        """zeros(shape) with values added at index (repeated indices accumulate)."""

    @abstractmethod
    def concatenate(self, arrays: list, axis: int) -> Array: ...

    @abstractmethod
    def matmul(self, a: Array, b: Array, alpha: float = 1.0) -> Array:
        """alpha * (a @ b) for arrays of rank >= 2, batch dimensions broadcast; alpha (float products
        only) scales the products as the GEMM writes them."""

    @abstractmethod
    def linear(self, x: Array, weight: Array, bias: Array | None) -> Array:
        """x (N, in) @ weight (out, in)^T + bias (out,) (none when None): Linear's forward, one GEMM
        that adds the bias as it writes its output."""


for _name, _inputs in KERNEL_OPS.items():
    setattr(Backend, _name, _kernel_op(_name, _inputs))


_backends: dict[str, Backend] = {}
_auto_notice_shown = False


def register_backend(backend: Backend) -> None:
    """Make backend the one used for tensors on backend.device; TypeError when one of
    KERNEL_OPS is neither a method of its own nor in its kernels module."""
    missing = [
        name
        for name in KERNEL_OPS
        if getattr(type(backend), name) is getattr(Backend, name) and not hasattr(backend.kernels, name)
    ]
    if missing:
        raise TypeError(f"backend {backend.device!r}: no kernel or method for {', '.join(missing)}")
    _backends[backend.device] = backend


def cuda_unavailable_reason() -> str:
    """Why device "cuda" cannot be used, or "" when it can."""
    from minigrad import _C

    if not hasattr(_C, "cuda"):
        return _C.cuda_status() or "minigrad was built without CUDA"
    return "" if _C.cuda.is_available() else _C.cuda_status() or "no usable CUDA device"


class device(str):  # noqa: N801 (PyTorch's name)
    """A device, as torch.device: ``device("cuda")``, ``device("cuda", 0)``, ``device("cpu")``.

    It is the device's name as a str ("cpu", "cuda", "cuda:0"), so it compares equal to that
    name and goes wherever a name does (``tensor.to(device)``); ``.type`` and ``.index`` as in
    PyTorch. Tensors report their device as one of these."""

    def __new__(cls, type: str, index: int | None = None) -> device:  # noqa: A002
        if not isinstance(type, str):
            raise TypeError(f"device: expected a str such as 'cpu' or 'cuda', got {type.__class__.__name__}")
        if index is not None:
            if ":" in type:
                raise ValueError(f"device: type {type!r} already has an index")
            type = f"{type}:{int(index)}"
        return super().__new__(cls, type)

    @property
    def type(self) -> str:
        return str(self.partition(":")[0])  # a plain str ("cpu"), not this device itself

    @property
    def index(self) -> int | None:
        _, _, index = self.partition(":")
        return int(index) if index else None

    def __repr__(self) -> str:
        index = self.index
        return f"device(type='{self.type}'" + ("" if index is None else f", index={index}") + ")"


_CPU, _CUDA = device("cpu"), device("cuda")
_default_device = [_CPU]  # one mutable cell: set_default_device


def set_default_device(device: str | None) -> None:
    """The device minigrad's factories (tensor, zeros, rand, arange, ..., and the nn layers'
    parameters) create tensors on when not given device=, as torch.set_default_device: "cpu"
    (None too), or "cuda" / "auto" where usable (a RuntimeError saying why where CUDA is not, at
    once rather than at the first factory). Tensors made from existing ones (zeros_like, ops,
    from_numpy) stay on those ones' device, as in PyTorch."""
    try:
        _default_device[0] = _CPU if device is None else resolve_device(device)
    except ValueError as error:  # an unknown name: PyTorch's RuntimeError
        raise RuntimeError(str(error)) from None


def get_default_device() -> device:
    """The device set_default_device chose (``device(type='cpu')`` by default)."""
    return _default_device[0]


def resolve_device(device: str | None, notice: bool = True) -> str:
    """The device (a `device`) a tensor lives on for a requested name: "cpu", "cuda" ("cuda:0"), or "auto".

    "auto" picks "cuda" when usable, else "cpu" (a RuntimeError instead when the environment
    sets MINIGRAD_REQUIRE_CUDA=1). The CPU fallback prints one line on stderr, once per process,
    when notice is true: a user who asked for "auto" hears why the GPU is not used. Commands pass
    notice=False when "auto" is only their default, so CPU-only machines run them silently.
    Asking for "cuda" where it is not usable is a RuntimeError saying why.
    """
    global _auto_notice_shown
    if device is None:  # the factories' default: set_default_device's
        return _default_device[0]
    if device in _backends:  # "cpu", a registered device, "cuda" once in use
        return device if type(device) is not str else _named(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be a str such as 'cpu', 'cuda' or 'auto', got {type(device).__name__}")
    if device == "auto":
        reason = cuda_unavailable_reason()
        if not reason:
            return _CUDA
        if os.environ.get("MINIGRAD_REQUIRE_CUDA") == "1":
            raise RuntimeError(f"device 'auto': MINIGRAD_REQUIRE_CUDA=1 but CUDA is not usable: {reason}")
        if notice and not _auto_notice_shown:
            _auto_notice_shown = True
            print(f"minigrad: CUDA not usable ({reason}); device 'auto' runs on the CPU", file=sys.stderr)
        return _CPU
    if device in ("cuda", "cuda:0"):
        reason = cuda_unavailable_reason()
        if reason:
            raise RuntimeError(f"device 'cuda' is not available: {reason}")
        return _CUDA
    if device.startswith("cuda:"):
        raise RuntimeError(f"device {device!r} is not available: minigrad uses CUDA device 0 only ('cuda')")
    raise ValueError(f"unknown device {device!r} (expected 'cpu', 'cuda' or 'auto')")


def _named(name: str) -> device:
    return _CPU if name == "cpu" else _CUDA if name == "cuda" else device(name)


def get_backend(device: str) -> Backend:
    """The backend for device ("cpu", "cuda"; None: set_default_device's); RuntimeError naming the
    device (and why) when there is none."""
    if device is None:  # the factories' default, without a KeyError's cost
        device = _default_device[0]
    try:
        return _backends[device]
    except KeyError:
        pass
    device = resolve_device(device)  # raises, saying why, when the device is not usable
    if device == "cuda" and "cuda" not in _backends:
        from minigrad.backend.cuda import CUDABackend

        register_backend(CUDABackend())
    return _backends[device]


def _register_builtin() -> None:
    from minigrad.backend.cpu import CPUBackend

    register_backend(CPUBackend())


_register_builtin()
