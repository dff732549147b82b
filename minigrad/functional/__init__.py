"""Differentiable ops: each a Function subclass (named <Op>Op, forward/backward on backend arrays)
and a PyTorch-named wrapper that validates its arguments, grouped by topic in this package.

Backward methods return one gradient per input (None where not needed), already reduced to the
input's shape and dtype. minigrad.nn.functional re-exports the neural-network ops under PyTorch's
names; tensor.py forwards its methods here.
"""

# for tensor.py, which parses its methods' shape and index arguments alike
from minigrad.functional._common import _shape_args as _shape_args
from minigrad.functional.elementwise import (
    abs,
    add,
    cast,
    clamp,
    clone,
    compare,
    div,
    exp,
    log,
    mul,
    neg,
    pow,
    sqrt,
    sub,
    to_device,
    where,
)
from minigrad.functional.linalg import matmul
from minigrad.functional.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)
from minigrad.functional.nn import (
    avg_pool2d,
    batch_norm,
    conv2d,
    dropout,
    leaky_relu,
    linear,
    local_response_norm,
    log_softmax,
    max_pool2d,
    relu,
    relu_max_pool2d,
    sigmoid,
    softmax,
    tanh,
)
from minigrad.functional.reduce import MaxResult, argmax, argmin, max, mean, min, sum
from minigrad.functional.shape import _index_arrays as _index_arrays
from minigrad.functional.shape import (
    cat,
    expand,
    flatten,
    index,
    permute,
    reshape,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)

__all__ = [
    "MaxResult",
    "abs",
    "add",
    "argmax",
    "argmin",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cast",
    "cat",
    "clamp",
    "clone",
    "compare",
    "conv2d",
    "cross_entropy",
    "div",
    "dropout",
    "exp",
    "expand",
    "flatten",
    "index",
    "leaky_relu",
    "linear",
    "local_response_norm",
    "log",
    "log_softmax",
    "matmul",
    "max",
    "max_pool2d",
    "mean",
    "min",
    "mse_loss",
    "mul",
    "neg",
    "nll_loss",
    "permute",
    "pow",
    "relu",
    "relu_max_pool2d",
    "reshape",
    "sigmoid",
    "softmax",
    "sqrt",
    "squeeze",
    "stack",
    "sub",
    "sum",
    "tanh",
    "to_device",
    "transpose",
    "unsqueeze",
    "where",
]
