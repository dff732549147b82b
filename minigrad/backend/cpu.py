"""The CPU backend: numpy arrays, compiled kernels from minigrad._C.

Elementwise arithmetic, exp/log, comparisons, reductions and indexing call
numpy directly: it is as fast as a hand-written kernel for these memory-bound
ops and handles broadcasting and arbitrary axes. GEMM, convolution, pooling,
softmax/cross-entropy, activations, batch norm and optimizer steps call the
_C kernels, which need C-contiguous inputs (`_c` makes them so, copying only
when needed). Batched (> 2-D) matmul uses numpy.matmul; 2-D matmul uses _C.gemm.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import _C
from minigrad.backend import Backend


def _c(a: np.ndarray) -> np.ndarray:
    """a as a C-contiguous ndarray (0-d stays 0-d, unlike numpy.ascontiguousarray)."""
    if type(a) is np.ndarray and a.flags.c_contiguous:
        return a
    return np.array(a, order="C")


def _gemm_operand(a: np.ndarray) -> tuple[np.ndarray, bool]:
    """(array, transposed) such that the array is C-contiguous: a transposed view costs no copy."""
    if a.flags.c_contiguous:
        return a, False
    if a.flags.f_contiguous:
        return a.T, True
    return np.ascontiguousarray(a), False


_COMPARE = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}


class CPUBackend(Backend):
    device = "cpu"

    # memory
    def from_numpy(self, a):
        return a

    def to_numpy(self, a):
        return a

    def empty(self, shape, dtype):
        return np.empty(shape, dtype)

    def full(self, shape, value, dtype):
        return np.full(shape, value, dtype)

    def arange(self, start, stop, step, dtype):
        return np.arange(start, stop, step, dtype=dtype)

    def copy(self, a):
        return np.array(a, order="C")

    def astype(self, a, dtype):
        return np.array(a, dtype=dtype, order="C")

    def contiguous(self, a):
        return _c(a)

    def is_contiguous(self, a):
        return a.flags.c_contiguous

    def accumulate(self, dst, src):
        np.add(dst, src, out=dst)

    def assign(self, dst, index, value):
        dst[index] = value

    def view_source(self, out, arrays):
        base = getattr(out, "base", None)  # numpy points views at the owner; ToDevice's out is no ndarray
        owner = out if base is None else base
        for i, a in enumerate(arrays):
            if a is owner or (a is not None and a.base is owner):
                return i
        return -1

    # elementwise (numpy)
    def add(self, a, b):
        return np.add(a, b)

    def sub(self, a, b):
        return np.subtract(a, b)

    def mul(self, a, b):
        return np.multiply(a, b)

    # Ops that give inf/nan at the edges of their domain (x / 0, log 0, sqrt(-1)) do so
    # silently, as PyTorch; the other ops do not pay for np.errstate.
    def div(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.divide(a, b)

    def pow(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.power(a, b)

    def neg(self, a):
        return np.negative(a)

    def exp(self, a):
        return np.exp(a)

    def log(self, a):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a)

    def log1p(self, a):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(a)

    def sqrt(self, a):
        with np.errstate(invalid="ignore"):
            return np.sqrt(a)

    def abs(self, a):
        return np.abs(a)

    def sign(self, a):
        return np.sign(a)

    def clamp(self, a, low, high):
        return np.clip(a, low, high)

    def maximum(self, a, b):
        return np.maximum(a, b)

    def where(self, cond, a, b):
        return np.where(cond, a, b)

    def compare(self, op, a, b):
        return _COMPARE[op](a, b)

    def all_finite(self, a):
        return bool(np.isfinite(a).all())

    # activations (_C)
    def relu(self, x):
        return _C.relu(_c(x))

    def relu_backward(self, dy, y):
        return _C.relu_backward(_c(dy), _c(y))

    def sigmoid(self, x):
        return _C.sigmoid(_c(x))

    def sigmoid_backward(self, dy, y):
        return _C.sigmoid_backward(_c(dy), _c(y))

    def tanh(self, x):
        return _C.tanh(_c(x))

    def tanh_backward(self, dy, y):
        return _C.tanh_backward(_c(dy), _c(y))

    def bias_add(self, x, bias):
        return _C.bias_add(_c(x), _c(bias))

    def bias_grad(self, dy):
        return _C.bias_grad(_c(dy))

    # reductions (numpy)
    def sum(self, a, axis, keepdims):
        return np.sum(a, axis=axis, keepdims=keepdims)

    def max(self, a, axis, keepdims):
        return np.max(a, axis=axis, keepdims=keepdims)

    def min(self, a, axis, keepdims):
        return np.min(a, axis=axis, keepdims=keepdims)

    def argmax(self, a, axis, keepdims):
        return np.argmax(a, axis=axis, keepdims=keepdims)

    def argmin(self, a, axis, keepdims):
        return np.argmin(a, axis=axis, keepdims=keepdims)

    # shape and indexing (numpy views where possible)
    def reshape(self, a, shape):
        return np.reshape(a, shape)

    def permute(self, a, axes):
        return np.transpose(a, axes)

    def broadcast_to(self, a, shape):
        # a materialized copy: cheaper than numpy.broadcast_to's Python wrapper, and contiguous for the kernels
        out = np.empty(shape, a.dtype)
        out[...] = a
        return out

    def getitem(self, a, index):
        out = a[index]
        if type(out) is not np.ndarray:  # a full integer index gives a numpy scalar (a copy): take the 0-d view
            out = a[(*index, Ellipsis) if isinstance(index, tuple) else (index, Ellipsis)]
        return out

    def expand(self, a, shape):
        out = np.broadcast_to(a, shape)  # read-only: where elements repeat, writes must raise (as PyTorch)
        if out.size == a.size:  # nothing repeats (only size-1 axes added): a writable view
            out = np.lib.stride_tricks.as_strided(a, out.shape, out.strides, writeable=True)
        return out

    def writable(self, a):
        return a.flags.writeable

    def index_add(self, shape, dtype, index, values):
        out = np.zeros(shape, dtype)
        np.add.at(out, index, values)
        return out

    def concatenate(self, arrays, axis):
        return np.concatenate(arrays, axis=axis)

    # matrix multiply
    def gemm(self, a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
        return _C.gemm(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, out=out)

    def matmul(self, a, b):
        if a.ndim == 2 and b.ndim == 2:
            a, trans_a = _gemm_operand(a)
            b, trans_b = _gemm_operand(b)
            return _C.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
        return np.matmul(a, b)

    # neural-network kernels (_C)
    def conv2d_forward(self, x, weight, bias, stride, padding, dilation, groups):
        return _C.conv2d_forward(
            _c(x),
            _c(weight),
            None if bias is None else _c(bias),
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
        )

    def conv2d_backward(
        self,
        dy,
        x,
        weight,
        stride,
        padding,
        dilation,
        groups,
        need_input_grad,
        need_weight_grad,
        need_bias_grad,
    ):
        return _C.conv2d_backward(
            _c(dy),
            _c(x),
            _c(weight),
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            need_input_grad=need_input_grad,
            need_weight_grad=need_weight_grad,
            need_bias_grad=need_bias_grad,
        )

    def max_pool2d_forward(self, x, kernel_size, stride, padding, dilation, ceil_mode, relu=False):
        return _C.max_pool2d_forward(
            _c(x),
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil_mode,
            relu=relu,
        )

    def relu_max_pool2d_forward(self, x, kernel_size, stride, padding, dilation, ceil_mode):
        return self.max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode, relu=True)

    def max_pool2d_backward(self, dy, indices, input_shape):
        return _C.max_pool2d_backward(_c(dy), indices, tuple(input_shape))

    def avg_pool2d_forward(self, x, kernel_size, stride, padding, ceil_mode, count_include_pad):
        return _C.avg_pool2d_forward(
            _c(x),
            kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )

    def avg_pool2d_backward(self, dy, input_shape, kernel_size, stride, padding, ceil_mode, count_include_pad):
        return _C.avg_pool2d_backward(
            _c(dy),
            tuple(input_shape),
            kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )

    def softmax(self, x):
        return _C.softmax(_c(x))

    def log_softmax(self, x):
        return _C.log_softmax(_c(x))

    def softmax_backward(self, y, dy):
        return _C.softmax_backward(_c(y), _c(dy))

    def log_softmax_backward(self, y, dy):
        return _C.log_softmax_backward(_c(y), _c(dy))

    def cross_entropy_forward(self, logits, target, reduction, label_smoothing, ignore_index):
        return _C.cross_entropy_forward(
            _c(logits),
            _c(target),
            reduction=reduction,
            label_smoothing=label_smoothing,
            ignore_index=ignore_index,
        )

    def cross_entropy_backward(self, log_probs, target, grad_loss, reduction, label_smoothing, ignore_index):
        return _C.cross_entropy_backward(
            log_probs,
            _c(target),
            _c(grad_loss),
            reduction=reduction,
            label_smoothing=label_smoothing,
            ignore_index=ignore_index,
        )

    def batch_norm_forward(self, x, weight, bias, running_mean, running_var, training, momentum, eps):
        return _C.batch_norm_forward(
            _c(x), weight, bias, running_mean, running_var, training, momentum=momentum, eps=eps
        )

    def batch_norm_backward(self, dy, x, weight, save_mean, save_invstd, training):
        return _C.batch_norm_backward(_c(dy), _c(x), weight, save_mean, save_invstd, training=training)

    # optimizer updates: straight to _C, in place (arguments must already be contiguous)
    def sgd_step(self, *args: Any, **kwargs: Any) -> None:
        _C.sgd_step(*args, **kwargs)

    def adam_step(self, *args: Any, **kwargs: Any) -> None:
        _C.adam_step(*args, **kwargs)

    def rmsprop_step(self, *args: Any, **kwargs: Any) -> None:
        _C.rmsprop_step(*args, **kwargs)

    def adagrad_step(self, *args: Any, **kwargs: Any) -> None:
        _C.adagrad_step(*args, **kwargs)

    def adadelta_step(self, *args: Any, **kwargs: Any) -> None:
        _C.adadelta_step(*args, **kwargs)
