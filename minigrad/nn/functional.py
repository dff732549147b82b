"""The functional neural-network API under PyTorch's names (torch.nn.functional).

Every op is differentiable and defined in minigrad/functional.py; this module
only gathers the neural-network ones under the names PyTorch users expect,
plus minigrad's fused relu_max_pool2d (max_pool2d(relu(x)) in one pass).
"""

from minigrad.functional import (
    avg_pool2d,
    batch_norm,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    conv2d,
    cross_entropy,
    dropout,
    flatten,
    leaky_relu,
    linear,
    local_response_norm,
    log_softmax,
    max_pool2d,
    mse_loss,
    nll_loss,
    relu,
    relu_max_pool2d,
    sigmoid,
    softmax,
    tanh,
)

__all__ = [
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "cross_entropy",
    "dropout",
    "flatten",
    "leaky_relu",
    "linear",
    "local_response_norm",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "relu",
    "relu_max_pool2d",
    "sigmoid",
    "softmax",
    "tanh",
]
