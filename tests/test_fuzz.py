"""Fuzzing of the crash-proof boundary: every `_C` binding and the main public
functional ops get random and hostile arguments from a seeded generator for a
bounded time. The only acceptable outcomes are a result or a Python exception
(TypeError, ValueError, MemoryError, RuntimeError); a crash takes pytest down.

Each case starts from a valid call (so the kernels run deep) and then, most of
the time, replaces one or two arguments by a hostile value: wrongly typed,
non-contiguous, empty, misshapen or aliased arrays, lists, None, NaN/inf,
negative, zero and huge sizes, out-of-range labels, window geometries with
empty outputs. MINIGRAD_FUZZ_SECONDS (default 10) sets the time,
MINIGRAD_FUZZ_SEED (default 0) the seed, MINIGRAD_FUZZ_VERBOSE=1 prints every
case before running it (to find the one that crashed).
"""

from __future__ import annotations

import os
import time
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad import _C

SECONDS = float(os.environ.get("MINIGRAD_FUZZ_SECONDS", "10"))
SEED = int(os.environ.get("MINIGRAD_FUZZ_SEED", "0"))
VERBOSE = os.environ.get("MINIGRAD_FUZZ_VERBOSE") == "1"
ALLOWED = (TypeError, ValueError, MemoryError, RuntimeError)

Case = tuple[Callable[..., Any], dict[str, Any]]


# ---------------------------------------------------------------- valid calls


def _floats(rng: np.random.Generator, shape: tuple, dtype: Any) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


def _dtype(rng: np.random.Generator) -> Any:
    return np.float32 if rng.random() < 0.5 else np.float64


def _size(rng: np.random.Generator, high: int = 5) -> int:
    return int(rng.integers(1, high + 1))


def _window(rng: np.random.Generator) -> Any:
    """A window hyper-parameter: usually small (0 included, which is invalid for
    kernel/stride/dilation), sometimes an (h, w) pair."""
    if rng.random() < 0.3:
        return (int(rng.integers(0, 5)), int(rng.integers(0, 5)))
    return int(rng.integers(0, 5))


def _nchw(rng: np.random.Generator, dtype: Any, channels: int | None = None) -> np.ndarray:
    c = channels if channels is not None else _size(rng, 4)
    return _floats(rng, (_size(rng, 3), c, _size(rng, 7), _size(rng, 7)), dtype)


def gemm_case(rng: np.random.Generator) -> Case:
    dt = _dtype(rng)
    m, n, k = _size(rng, 9), _size(rng, 9), _size(rng, 9)
    ta, tb = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    # Sometimes a batch of matrices: both operands, or one of them (the other shared).
    count = _size(rng, 4) if rng.random() < 0.3 else 0
    batch_a, batch_b = ((count,) if count and rng.random() < 0.7 else () for _ in range(2))
    a = _floats(rng, (*batch_a, *((k, m) if ta else (m, k))), dt)
    b = _floats(rng, (*batch_b, *((n, k) if tb else (k, n))), dt)
    kw: dict[str, Any] = {"a": a, "b": b, "trans_a": ta, "trans_b": tb, "alpha": float(rng.standard_normal())}
    if rng.random() < 0.5:
        kw.update(beta=float(rng.standard_normal()), out=_floats(rng, (*(batch_a or batch_b), m, n), dt))
    return _C.gemm, kw


def _conv_args(rng: np.random.Generator) -> dict[str, Any]:
    dt = _dtype(rng)
    groups = int(rng.choice([1, 1, 2]))
    x = _nchw(rng, dt, channels=groups * _size(rng, 2))
    weight = _floats(rng, (groups * _size(rng, 2), x.shape[1] // groups, _size(rng, 4), _size(rng, 4)), dt)
    return {"x": x, "weight": weight, "stride": _window(rng), "padding": _window(rng),
            "dilation": _window(rng), "groups": groups}


def conv2d_forward_case(rng: np.random.Generator) -> Case:
    kw = _conv_args(rng)
    if rng.random() < 0.5:
        kw["bias"] = _floats(rng, (kw["weight"].shape[0],), kw["x"].dtype)
    return _C.conv2d_forward, kw


def conv2d_backward_case(rng: np.random.Generator) -> Case:
    kw = _conv_args(rng)
    try:
        shape = _C.conv2d_forward(**kw).shape
    except ValueError:  # a geometry with no output: the backward must refuse it too
        shape = (1, kw["weight"].shape[0], 1, 1)
    kw["dy"] = _floats(rng, shape, kw["x"].dtype)
    for need in ("need_input_grad", "need_weight_grad", "need_bias_grad"):
        kw[need] = bool(rng.random() < 0.7)
    return _C.conv2d_backward, kw


def _pool_args(rng: np.random.Generator) -> dict[str, Any]:
    kw = {"x": _nchw(rng, _dtype(rng)), "kernel_size": _window(rng), "padding": _window(rng),
          "ceil_mode": bool(rng.random() < 0.5)}
    if rng.random() < 0.6:
        kw["stride"] = _window(rng)
    return kw


def max_pool2d_forward_case(rng: np.random.Generator) -> Case:
    kw = _pool_args(rng)
    kw["dilation"] = _window(rng)
    return _C.max_pool2d_forward, kw


def max_pool2d_backward_case(rng: np.random.Generator) -> Case:
    kw = _pool_args(rng)
    x = kw.pop("x")
    try:
        y, indices = _C.max_pool2d_forward(x, **kw)
    except ValueError:
        y = x[:, :, :1, :1].copy()
        indices = rng.integers(-2, x.shape[2] * x.shape[3] + 2, size=y.shape)
    return _C.max_pool2d_backward, {"dy": _floats(rng, y.shape, x.dtype), "indices": indices,
                                    "input_shape": x.shape}


def avg_pool2d_forward_case(rng: np.random.Generator) -> Case:
    kw = _pool_args(rng)
    kw["count_include_pad"] = bool(rng.random() < 0.5)
    return _C.avg_pool2d_forward, kw


def avg_pool2d_backward_case(rng: np.random.Generator) -> Case:
    kw = _pool_args(rng)
    kw["count_include_pad"] = bool(rng.random() < 0.5)
    x = kw.pop("x")
    try:
        shape = _C.avg_pool2d_forward(x, **kw).shape
    except ValueError:
        shape = (x.shape[0], x.shape[1], 1, 1)
    return _C.avg_pool2d_backward, {"dy": _floats(rng, shape, x.dtype), "input_shape": x.shape, **kw}


def _rows(rng: np.random.Generator) -> np.ndarray:
    shape = tuple(_size(rng, 6) for _ in range(int(rng.integers(1, 4))))
    return _floats(rng, shape, _dtype(rng))


def _unary(fn: Callable) -> Callable[[np.random.Generator], Case]:
    return lambda rng: (fn, {"x": _rows(rng)})


def _from_output(fn: Callable) -> Callable[[np.random.Generator], Case]:
    def case(rng: np.random.Generator) -> Case:
        y = _rows(rng)
        return fn, {"dy": _floats(rng, y.shape, y.dtype), "y": y}

    return case


def hardtanh_case(rng: np.random.Generator) -> Case:
    return _C.hardtanh, {"x": _rows(rng), "low": float(rng.normal()), "high": float(rng.normal()) + 1.0}


def hardtanh_backward_case(rng: np.random.Generator) -> Case:
    x = _rows(rng)
    return _C.hardtanh_backward, {"dy": _floats(rng, x.shape, x.dtype), "x": x, "low": -1.0, "high": 1.0}


def add_scaled_case(rng: np.random.Generator) -> Case:
    a = _rows(rng)
    return _C.add_scaled, {"a": a, "b": _floats(rng, a.shape, a.dtype), "alpha": float(rng.normal())}


def leaky_relu_case(rng: np.random.Generator) -> Case:
    return _C.leaky_relu, {"x": _rows(rng), "negative_slope": float(rng.normal())}


def leaky_relu_backward_case(rng: np.random.Generator) -> Case:
    x = _rows(rng)
    return _C.leaky_relu_backward, {"dy": _floats(rng, x.shape, x.dtype), "x": x, "negative_slope": 0.01}


def gelu_case(rng: np.random.Generator) -> Case:
    return _C.gelu, {"x": _rows(rng), "approximate": str(rng.choice(["none", "tanh"]))}


def gelu_backward_case(rng: np.random.Generator) -> Case:
    x = _rows(rng)
    return _C.gelu_backward, {"dy": _floats(rng, x.shape, x.dtype), "x": x,
                              "approximate": str(rng.choice(["none", "tanh"]))}


def cumsum_case(rng: np.random.Generator) -> Case:
    x = _rows(rng)
    return _C.cumsum, {"x": x, "dim": int(rng.integers(-x.ndim, x.ndim)), "reverse": bool(rng.random() < 0.5)}


def sum_case(rng: np.random.Generator) -> Case:
    x = _rows(rng)
    first = int(rng.integers(0, x.ndim))
    axis = None if rng.random() < 0.2 else tuple(range(first, int(rng.integers(first, x.ndim)) + 1))
    return _C.sum, {"x": x, "axis": axis, "keepdims": bool(rng.random() < 0.5)}


def _cross_entropy_args(rng: np.random.Generator) -> dict[str, Any]:
    n, c = _size(rng, 6), _size(rng, 6)
    target = rng.integers(0, c, size=n)
    if rng.random() < 0.3:
        target[rng.integers(0, n)] = -100
    return {"target": target, "reduction": str(rng.choice(["mean", "sum", "none"])),
            "label_smoothing": float(rng.choice([0.0, 0.1])), "ignore_index": -100, "_shape": (n, c)}


def cross_entropy_forward_case(rng: np.random.Generator) -> Case:
    kw = _cross_entropy_args(rng)
    kw["logits"] = _floats(rng, kw.pop("_shape"), _dtype(rng))
    return _C.cross_entropy_forward, kw


def cross_entropy_backward_case(rng: np.random.Generator) -> Case:
    kw = _cross_entropy_args(rng)
    shape = kw.pop("_shape")
    log_probs = _C.log_softmax(_floats(rng, shape, _dtype(rng)))
    grad_shape = (shape[0],) if kw["reduction"] == "none" else ()
    return _C.cross_entropy_backward, {"log_probs": log_probs, "grad_loss": _floats(rng, grad_shape, log_probs.dtype),
                                       **kw}


def bias_add_case(rng: np.random.Generator) -> Case:
    x = _nchw(rng, _dtype(rng))
    return _C.bias_add, {"x": x, "bias": _floats(rng, (x.shape[1],), x.dtype)}


def bias_grad_case(rng: np.random.Generator) -> Case:
    return _C.bias_grad, {"dy": _nchw(rng, _dtype(rng))}


def lstm_cell_case(rng: np.random.Generator) -> Case:
    dtype, n, h = _dtype(rng), _size(rng), _size(rng)
    return _C.lstm_cell, {"gates": _floats(rng, (n, 4 * h), dtype), "c": _floats(rng, (n, h), dtype)}


def lstm_cell_backward_case(rng: np.random.Generator) -> Case:
    dtype, n, h = _dtype(rng), _size(rng), _size(rng)
    _, _, acts, tanh_c = _C.lstm_cell(_floats(rng, (n, 4 * h), dtype), c := _floats(rng, (n, h), dtype))
    return _C.lstm_cell_backward, {"dh": _floats(rng, (n, h), dtype), "dc_next": _floats(rng, (n, h), dtype),
                                   "acts": acts, "c": c, "tanh_c": tanh_c}


def lstm_sequence_case(rng: np.random.Generator) -> Case:
    dtype, length, n, h = _dtype(rng), _size(rng, 3), _size(rng), _size(rng)
    return _C.lstm_sequence, {"gates": _floats(rng, (length, n, 4 * h), dtype), "w_t": _floats(rng, (h, 4 * h), dtype),
                              "h0": _floats(rng, (n, h), dtype), "c0": _floats(rng, (n, h), dtype),
                              "reverse": bool(rng.random() < 0.5)}


def lstm_sequence_backward_case(rng: np.random.Generator) -> Case:
    kw = lstm_sequence_case(rng)[1]
    hs, cs, acts, tanh_cs = _C.lstm_sequence(**kw)
    n, h = kw["h0"].shape
    state = lambda: _floats(rng, (n, h), hs.dtype)  # noqa: E731
    return _C.lstm_sequence_backward, {
        "dh": state(), "dc": state(), "grad_hs": _floats(rng, hs.shape, hs.dtype), "acts": acts, "cs": cs,
        "tanh_cs": tanh_cs, "c0": kw["c0"], "w_hh": np.ascontiguousarray(kw["w_t"].T), "reverse": kw["reverse"]}


def gru_sequence_case(rng: np.random.Generator) -> Case:
    dtype, length, n, h = _dtype(rng), _size(rng, 3), _size(rng), _size(rng)
    return _C.gru_sequence, {"x_proj": _floats(rng, (length, n, 3 * h), dtype),
                             "w_t": _floats(rng, (h, 3 * h), dtype),
                             "b_hh": _floats(rng, (3 * h,), dtype) if rng.random() < 0.7 else None,
                             "h0": _floats(rng, (n, h), dtype), "reverse": bool(rng.random() < 0.5)}


def gru_sequence_backward_case(rng: np.random.Generator) -> Case:
    kw = gru_sequence_case(rng)[1]
    hs, acts, h_projs = _C.gru_sequence(**kw)
    return _C.gru_sequence_backward, {
        "dh": _floats(rng, kw["h0"].shape, hs.dtype), "grad_hs": _floats(rng, hs.shape, hs.dtype), "acts": acts,
        "h_projs": h_projs, "hs": hs, "h0": kw["h0"], "w_hh": np.ascontiguousarray(kw["w_t"].T),
        "reverse": kw["reverse"]}


def gru_cell_case(rng: np.random.Generator) -> Case:
    dtype, n, h = _dtype(rng), _size(rng), _size(rng)
    return _C.gru_cell, {"x_proj": _floats(rng, (n, 3 * h), dtype), "h_proj": _floats(rng, (n, 3 * h), dtype),
                         "h": _floats(rng, (n, h), dtype)}


def gru_cell_backward_case(rng: np.random.Generator) -> Case:
    kw = gru_cell_case(rng)[1]
    h_next, acts = _C.gru_cell(**kw)
    return _C.gru_cell_backward, {"dh": _floats(rng, h_next.shape, h_next.dtype), "acts": acts,
                                  "h_proj": kw["h_proj"], "h": kw["h"]}


def batch_norm_forward_case(rng: np.random.Generator) -> Case:
    x = _nchw(rng, _dtype(rng))
    c = (x.shape[1],)
    kw: dict[str, Any] = {"x": x, "training": bool(rng.random() < 0.5), "momentum": 0.1, "eps": 1e-5}
    for name, fill in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
        kw[name] = np.full(c, fill, x.dtype) + (0.1 * _floats(rng, c, x.dtype) if fill else 0)
    return _C.batch_norm_forward, kw


def batch_norm_backward_case(rng: np.random.Generator) -> Case:
    x = _nchw(rng, _dtype(rng))
    c = (x.shape[1],)
    return _C.batch_norm_backward, {
        "dy": _floats(rng, x.shape, x.dtype), "x": x, "weight": _floats(rng, c, x.dtype),
        "save_mean": _floats(rng, c, x.dtype), "save_invstd": np.abs(_floats(rng, c, x.dtype)) + 0.5,
        "training": bool(rng.random() < 0.5)}


def _layer_norm_input(rng: np.random.Generator) -> tuple[np.ndarray, int, tuple]:
    """x of 1 to 4 dimensions, how many trailing ones are normalised, and their shape."""
    x = _floats(rng, tuple(_size(rng) for _ in range(_size(rng, 4))), _dtype(rng))
    k = int(rng.integers(1, x.ndim + 1))
    return x, k, x.shape[x.ndim - k :]


def layer_norm_forward_case(rng: np.random.Generator) -> Case:
    x, k, shape = _layer_norm_input(rng)
    return _C.layer_norm_forward, {"x": x, "weight": _floats(rng, shape, x.dtype), "bias": _floats(rng, shape, x.dtype),
                                   "normalized_ndim": k, "eps": 1e-5}


def layer_norm_backward_case(rng: np.random.Generator) -> Case:
    x, k, shape = _layer_norm_input(rng)
    stats = x.shape[: x.ndim - k]
    return _C.layer_norm_backward, {
        "dy": _floats(rng, x.shape, x.dtype), "x": x, "weight": _floats(rng, shape, x.dtype),
        "save_mean": _floats(rng, stats, x.dtype), "save_invstd": np.abs(_floats(rng, stats, x.dtype)) + 0.5,
        "normalized_ndim": k, "param_grads": bool(rng.random() < 0.5)}


def _param_and_grad(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, Callable[[], np.ndarray]]:
    p = _rows(rng)
    return p, _floats(rng, p.shape, p.dtype), lambda: np.abs(_floats(rng, p.shape, p.dtype))


def sgd_step_case(rng: np.random.Generator) -> Case:
    p, g, buf = _param_and_grad(rng)
    return _C.sgd_step, {"param": p, "grad": g, "momentum_buffer": buf(), "lr": 0.1, "momentum": 0.9,
                         "nesterov": bool(rng.random() < 0.5), "first_step": bool(rng.random() < 0.5)}


def adam_step_case(rng: np.random.Generator) -> Case:
    p, g, buf = _param_and_grad(rng)
    kw = {"param": p, "grad": g, "exp_avg": buf(), "exp_avg_sq": buf(), "step": int(rng.integers(1, 5)), "lr": 1e-3}
    if rng.random() < 0.5:
        kw["max_exp_avg_sq"] = buf()
    return _C.adam_step, kw


def rmsprop_step_case(rng: np.random.Generator) -> Case:
    p, g, buf = _param_and_grad(rng)
    return _C.rmsprop_step, {"param": p, "grad": g, "square_avg": buf(), "lr": 1e-2, "momentum": 0.9,
                             "momentum_buffer": buf(), "grad_avg": buf()}


def adagrad_step_case(rng: np.random.Generator) -> Case:
    p, g, buf = _param_and_grad(rng)
    return _C.adagrad_step, {"param": p, "grad": g, "state_sum": buf(), "step": int(rng.integers(1, 5)), "lr": 1e-2}


def adadelta_step_case(rng: np.random.Generator) -> Case:
    p, g, buf = _param_and_grad(rng)
    return _C.adadelta_step, {"param": p, "grad": g, "square_avg": buf(), "acc_delta": buf()}


def set_num_threads_case(rng: np.random.Generator) -> Case:
    return _C.set_num_threads, {"n": int(rng.integers(1, 3))}


def fma_peak_gflops_case(rng: np.random.Generator) -> Case:
    return _C.fma_peak_gflops, {"threads": int(rng.integers(1, 3)), "seconds": 1e-4}


def _no_args(fn: Callable) -> Callable[[np.random.Generator], Case]:
    return lambda rng: (fn, {})


BINDINGS: dict[str, Callable[[np.random.Generator], Case]] = {
    "gemm": gemm_case,
    "conv2d_forward": conv2d_forward_case,
    "conv2d_backward": conv2d_backward_case,
    "max_pool2d_forward": max_pool2d_forward_case,
    "max_pool2d_backward": max_pool2d_backward_case,
    "avg_pool2d_forward": avg_pool2d_forward_case,
    "avg_pool2d_backward": avg_pool2d_backward_case,
    "softmax": _unary(_C.softmax),
    "log_softmax": _unary(_C.log_softmax),
    "softmax_backward": _from_output(_C.softmax_backward),
    "log_softmax_backward": _from_output(_C.log_softmax_backward),
    "cross_entropy_forward": cross_entropy_forward_case,
    "cross_entropy_backward": cross_entropy_backward_case,
    "relu": _unary(_C.relu),
    "hardtanh": hardtanh_case,
    "hardtanh_backward": hardtanh_backward_case,
    "sigmoid": _unary(_C.sigmoid),
    "tanh": _unary(_C.tanh),
    "erf": _unary(_C.erf),
    "log1p": _unary(_C.log1p),
    "expm1": _unary(_C.expm1),
    "leaky_relu": leaky_relu_case,
    "leaky_relu_backward": leaky_relu_backward_case,
    "add_scaled": add_scaled_case,
    "gelu": gelu_case,
    "gelu_backward": gelu_backward_case,
    "cumsum": cumsum_case,
    "sum": sum_case,
    "relu_backward": _from_output(_C.relu_backward),
    "sigmoid_backward": _from_output(_C.sigmoid_backward),
    "tanh_backward": _from_output(_C.tanh_backward),
    "lstm_cell": lstm_cell_case,
    "lstm_cell_backward": lstm_cell_backward_case,
    "lstm_sequence": lstm_sequence_case,
    "gru_cell": gru_cell_case,
    "gru_sequence": gru_sequence_case,
    "gru_sequence_backward": gru_sequence_backward_case,
    "gru_cell_backward": gru_cell_backward_case,
    "lstm_sequence_backward": lstm_sequence_backward_case,
    "bias_add": bias_add_case,
    "bias_grad": bias_grad_case,
    "batch_norm_forward": batch_norm_forward_case,
    "batch_norm_backward": batch_norm_backward_case,
    "layer_norm_forward": layer_norm_forward_case,
    "layer_norm_backward": layer_norm_backward_case,
    "sgd_step": sgd_step_case,
    "adam_step": adam_step_case,
    "rmsprop_step": rmsprop_step_case,
    "adagrad_step": adagrad_step_case,
    "adadelta_step": adadelta_step_case,
    "set_num_threads": set_num_threads_case,
    "fma_peak_gflops": fma_peak_gflops_case,
    "get_num_threads": _no_args(_C.get_num_threads),
    "build_info": _no_args(_C.build_info),
    "cuda_device_count": _no_args(_C.cuda_device_count),
    "cuda_status": _no_args(_C.cuda_status),
}


# Public functional ops: the same generators, arrays wrapped as tensors.
def _functional(fn: Callable, binding: str, rename: dict[str, str | None]) -> Callable[[np.random.Generator], Case]:
    def case(rng: np.random.Generator) -> Case:
        _, kw = BINDINGS[binding](rng)
        out = {}
        for name, value in kw.items():
            new = rename.get(name, name)
            if new is not None:
                out[new] = minigrad.from_numpy(value) if isinstance(value, np.ndarray) else value
        return fn, out

    return case


def _layer_norm_of_trailing(input: Any, normalized_ndim: Any, **kw: Any) -> Any:
    """F.layer_norm over input's trailing normalized_ndim dimensions (the binding's argument)."""
    shape = getattr(input, "shape", None)
    if shape is not None and isinstance(normalized_ndim, int) and 0 < normalized_ndim <= len(shape):
        normalized_ndim = shape[len(shape) - normalized_ndim :]
    return F.layer_norm(input, normalized_ndim, **kw)


FUNCTIONAL: dict[str, Callable[[np.random.Generator], Case]] = {
    "F.conv2d": _functional(F.conv2d, "conv2d_forward", {"x": "input"}),
    "F.max_pool2d": _functional(F.max_pool2d, "max_pool2d_forward", {"x": "input"}),
    "F.avg_pool2d": _functional(F.avg_pool2d, "avg_pool2d_forward", {"x": "input"}),
    "F.linear": _functional(F.linear, "gemm", {"a": "input", "b": "weight", "trans_a": None, "trans_b": None,
                                               "alpha": None, "beta": None, "out": None}),
    "F.matmul": _functional(F.matmul, "gemm", {"a": "input", "b": "other", "trans_a": None, "trans_b": None,
                                               "alpha": None, "beta": None, "out": None}),
    "F.softmax": _functional(F.softmax, "softmax", {"x": "input"}),
    "F.log_softmax": _functional(F.log_softmax, "log_softmax", {"x": "input"}),
    "F.relu": _functional(F.relu, "relu", {"x": "input"}),
    "F.hardtanh": _functional(minigrad.nn.functional.hardtanh, "hardtanh",
                              {"x": "input", "low": "min_val", "high": "max_val"}),
    "F.sigmoid": _functional(F.sigmoid, "sigmoid", {"x": "input"}),
    "F.tanh": _functional(F.tanh, "tanh", {"x": "input"}),
    "F.cross_entropy": _functional(F.cross_entropy, "cross_entropy_forward", {"logits": "input"}),
    "F.batch_norm": _functional(F.batch_norm, "batch_norm_forward", {"x": "input", "eps": "eps"}),
    "F.layer_norm": _functional(_layer_norm_of_trailing, "layer_norm_forward", {"x": "input"}),
}


# ---------------------------------------------------------------- hostile values


def _hostile_array(rng: np.random.Generator, a: np.ndarray, others: list[np.ndarray]) -> Any:
    variants: list[Callable[[], Any]] = [
        lambda: a.astype(np.int32),
        lambda: a.astype(np.int64),
        lambda: a.astype(bool),
        lambda: a.astype(object),
        lambda: a.astype(np.float16),
        lambda: a.astype(a.dtype.newbyteorder(">")),
        lambda: a.astype(np.float64 if a.dtype == np.float32 else np.float32),
        lambda: a.tolist(),
        lambda: None,
        lambda: 1.5,
        lambda: "array",
        lambda: np.asarray(a.flat[0] if a.size else 0.0, dtype=a.dtype),  # 0-d
        lambda: np.repeat(a, 2, axis=-1)[..., ::2] if a.ndim else a,  # same shape, not contiguous
        lambda: a.T,
        lambda: np.asfortranarray(a),
        lambda: a[None],
        lambda: a.reshape(-1),
        lambda: a[..., :0] if a.ndim else a,  # empty
        lambda: np.zeros((0,) * max(a.ndim, 1), a.dtype),
        lambda: np.broadcast_to(a.reshape(-1)[0], a.shape) if a.size else a,  # zero strides
        lambda: _floats(rng, tuple(int(s) for s in rng.integers(1, 8, size=max(a.ndim, 1))), a.dtype),
        lambda: np.full_like(a, np.nan),
        lambda: np.full_like(a, np.inf) if a.dtype.kind == "f" else a,
        lambda: np.where(rng.random(a.shape) < 0.5, -np.inf, a) if a.dtype.kind == "f" else a,
        lambda: np.full_like(a, np.finfo(a.dtype).max) if a.dtype.kind == "f" else a,
        lambda: _read_only(a),
        lambda: others[int(rng.integers(len(others)))],  # aliasing another argument
    ]
    if a.dtype.kind == "i":  # labels / indices out of range
        variants += [lambda: a - 1000, lambda: a + 1000, lambda: np.full_like(a, np.iinfo(a.dtype).min),
                     lambda: np.full_like(a, np.iinfo(a.dtype).max), lambda: a.astype(np.float32)]
    return variants[int(rng.integers(len(variants)))]()


def _read_only(a: np.ndarray) -> np.ndarray:
    r = a.copy()
    r.setflags(write=False)
    return r


HOSTILE_INTS = [-1, 0, 1, -(2**31), 2**31 - 1, 2**31, 2**31 + 1, 2**40, 2**62, 2**63 - 1, 2**63, 2**64, -(2**63),
                2**100, 1.5, float("nan"), None, "3", True, np.int64(3), np.int32(-2), (1,), (1, 2, 3), (2**40, 1),
                (-1, 2), (0, 0), [2, 2], (2.0, 2), (None, 1), ()]
HOSTILE_FLOATS = [float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1e308, -1e308, 5e-324, 2**70, None, "x",
                  np.float32(np.nan), (1.0,)]
HOSTILE_BOOLS = [None, 2, -1, "yes", np.bool_(True), 1.5, []]
HOSTILE_STRS = ["", "bogus", "MEAN", None, 3, b"mean"]
HOSTILE_SHAPES = [(1, 1, 1, 1), (0, 1, 1, 1), (-1, 1, 1, 1), (1, 1, 1), (1, 1, 1, 1, 1), (2**40, 2**40, 1, 1),
                  (2**62, 1, 1, 1), (2**64, 1, 1, 1), (1, 1, 2**31, 2**31), [1, 1, 1, 1], "1111", None, (1.0, 1, 1, 1),
                  (True, 1, 1, 1), np.array([1, 1, 1, 1])]


def _hostile(rng: np.random.Generator, name: str, value: Any, kw: dict[str, Any]) -> Any:
    if isinstance(value, minigrad.Tensor):
        array = _hostile_array(rng, value.numpy(), [v.numpy() for v in kw.values() if isinstance(v, minigrad.Tensor)])
        if isinstance(array, np.ndarray) and rng.random() < 0.8:
            try:
                return minigrad.from_numpy(array)
            except ALLOWED:
                return minigrad.tensor(array) if array.dtype != object else array
        return array
    if isinstance(value, np.ndarray):
        return _hostile_array(rng, value, [v for v in kw.values() if isinstance(v, np.ndarray)])
    if name == "input_shape":
        if rng.random() < 0.5 and isinstance(value, tuple):  # a second mutation may find it hostile already
            return tuple(int(s) + int(rng.integers(-2, 3)) for s in value)
        return HOSTILE_SHAPES[int(rng.integers(len(HOSTILE_SHAPES)))]
    if isinstance(value, bool):
        return HOSTILE_BOOLS[int(rng.integers(len(HOSTILE_BOOLS)))]
    if isinstance(value, str):
        return HOSTILE_STRS[int(rng.integers(len(HOSTILE_STRS)))]
    if isinstance(value, float):
        return HOSTILE_FLOATS[int(rng.integers(len(HOSTILE_FLOATS)))]
    return HOSTILE_INTS[int(rng.integers(len(HOSTILE_INTS)))]  # ints, pairs, None (stride)


def _mutate(rng: np.random.Generator, kw: dict[str, Any]) -> dict[str, Any]:
    kw = dict(kw)
    if not kw:
        return kw
    names = list(kw)
    for _ in range(int(rng.integers(1, 3))):
        name = names[int(rng.integers(len(names)))]
        if rng.random() < 0.1:
            del kw[name]  # a missing argument
            names.remove(name)
            if not names:
                break
        else:
            kw[name] = _hostile(rng, name, kw[name], kw)
    return kw


def _describe(kw: dict[str, Any]) -> str:
    def one(v: Any) -> str:
        if isinstance(v, np.ndarray):
            return f"ndarray{v.shape}/{v.dtype}/{'C' if v.flags.c_contiguous else 'strided'}"
        if isinstance(v, minigrad.Tensor):
            return f"Tensor{tuple(v.shape)}/{v.dtype}"
        return repr(v)[:60]

    return ", ".join(f"{k}={one(v)}" for k, v in kw.items())


# ---------------------------------------------------------------- the tests


def test_every_binding_has_a_generator():
    public = {name for name in dir(_C) if not name.startswith("_") and callable(getattr(_C, name))}
    assert public - set(BINDINGS) == set(), "add a fuzz generator for the new binding(s)"


def test_fuzz_bindings_and_functional_ops():
    rng = np.random.default_rng(SEED)
    targets = {**BINDINGS, **FUNCTIONAL}
    names = list(targets)
    counts: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    threads = _C.get_num_threads()
    deadline = time.monotonic() + SECONDS
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while time.monotonic() < deadline or len(counts) < len(names):
            name = names[sum(counts.values()) % len(names)]  # round robin: every target gets its share
            fn, kw = targets[name](rng)
            if rng.random() < 0.85:
                kw = _mutate(rng, kw)
            if VERBOSE:
                print(f"{name}({_describe(kw)})", flush=True)
            counts[name] += 1
            try:
                fn(**kw)
                outcomes["result"] += 1
            except ALLOWED as e:
                outcomes[type(e).__name__] += 1
            except Exception as e:  # noqa: BLE001 (any other exception is a finding)
                failures.append(f"{name}({_describe(kw)}) raised {type(e).__name__}: {e}")
    _C.set_num_threads(threads)
    total = sum(counts.values())
    print(f"\nfuzz: {total} cases in {SECONDS:g} s (seed {SEED}) over {len(names)} targets; outcomes {dict(outcomes)}")
    assert not failures, f"{len(failures)} unexpected exceptions, e.g.:\n" + "\n".join(failures[:10])  # FAILDUMP
    assert outcomes["result"] > 0 and outcomes["ValueError"] > 0 and outcomes["TypeError"] > 0


# -------------------------------------------------- allocations that cannot fit


def test_conv_output_of_2_pow_40_elements_raises_memory_error():
    # 1x1 image, padding 2**19: a (1, 1, 2**20 + 1, 2**20 + 1) float32 output, about 4 TiB.
    x = np.ones((1, 1, 1, 1), np.float32)
    with pytest.raises((MemoryError, ValueError)):
        _C.conv2d_forward(x, np.ones((1, 1, 1, 1), np.float32), padding=2**19)
    with pytest.raises((MemoryError, ValueError)):
        F.conv2d(minigrad.from_numpy(x), minigrad.ones(1, 1, 1, 1), padding=2**19)


def test_output_size_overflowing_int64_raises():
    # padding 2**31 on both axes: (2**32 + 1)**2 elements overflows any allocation size.
    x = np.ones((1, 1, 1, 1), np.float64)
    with pytest.raises((MemoryError, ValueError)):
        _C.conv2d_forward(x, np.ones((1, 1, 1, 1), np.float64), padding=2**31)
    with pytest.raises((MemoryError, ValueError)):
        _C.avg_pool2d_backward(np.ones((1, 1, 1, 1)), (2**40, 2**19, 1, 1), 1)
    with pytest.raises((MemoryError, ValueError)):
        _C.max_pool2d_backward(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 1, 1), np.int64), (2**40, 2**19, 1, 1))


@pytest.mark.skipif(os.environ.get("MINIGRAD_SANITIZED") == "1",
                    reason="ASan aborts on a failed operator new instead of throwing std::bad_alloc")
def test_conv_scratch_buffer_that_cannot_fit_raises_memory_error():
    # The output (one row of 2**25 + 1 floats, not touched) fits; the im2col buffer, made in blocks of
    # whole output rows (csrc/cpu/conv.cpp), cannot hold even one row: 2**16 channels x 2**25 positions.
    c = 2**16
    x = np.ones((1, c, 1, 1), np.float32)
    with pytest.raises(MemoryError):
        _C.conv2d_forward(x, np.ones((1, c, 1, 1), np.float32), padding=(0, 2**24))


def test_huge_thread_count_is_refused():
    # Accepted before, the next parallel kernel made OpenMP abort the process
    # ("libgomp: Out of memory allocating ..." for a 2**31 - 1 thread team).
    before = _C.get_num_threads()
    for n in (1025, 2**31 - 1):
        with pytest.raises(ValueError, match="set_num_threads"):
            _C.set_num_threads(n)
    assert _C.get_num_threads() == before
    _C.set_num_threads(1024)
    try:
        assert _C.relu(np.ones(2**16)).sum() == 2**16
    finally:
        _C.set_num_threads(before)
