"""minigrad: a compiled autograd engine with C++ and CUDA kernels under a PyTorch-like API."""

# First, before anything imports it: a clear error when the compiled kernels are missing or stale.
from minigrad._extension import _C

# isort: split
from minigrad import cuda, nn, optim
from minigrad.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from minigrad.backend import device
from minigrad.creation import (
    arange,
    empty,
    from_numpy,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from minigrad.functional import (  # noqa: F401
    abs,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    ceil,
    clamp,
    clamp_max,
    clamp_min,
    cumsum,
    exp,
    flatten,
    flip,
    floor,
    floor_divide,
    fmod,
    index_select,
    isfinite,
    isinf,
    isnan,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    narrow,
    permute,
    prod,
    reciprocal,
    relu,
    remainder,
    reshape,
    roll,
    round,
    rsqrt,
    sigmoid,
    softmax,
    sqrt,
    squeeze,
    stack,
    sum,
    tanh,
    transpose,
    trunc,
    unbind,
    unsqueeze,
    where,
)
from minigrad.random import manual_seed
from minigrad.serialization import load, save
from minigrad.summary import summary
from minigrad.tensor import Tensor, float32, float64, int64, uint8
from minigrad.tensor import bool_ as bool  # noqa: A004 (PyTorch's name: minigrad.bool)

# isort: split
from minigrad import onnx  # noqa: F401 (minigrad.onnx.export; the onnx package is imported only when it runs)

square = Tensor.square  # minigrad.square(x), as torch.square

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "device",
    "float32",
    "float64",
    "int64",
    "uint8",
    "bool",
    "tensor",
    "from_numpy",
    "zeros",
    "ones",
    "empty",
    "full",
    "zeros_like",
    "ones_like",
    "full_like",
    "rand",
    "randn",
    "randint",
    "arange",
    "manual_seed",
    "no_grad",
    "inference_mode",
    "enable_grad",
    "is_grad_enabled",
    "set_grad_enabled",
    "abs",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "cat",
    "ceil",
    "clamp",
    "clamp_max",
    "clamp_min",
    "cumsum",
    "exp",
    "flatten",
    "flip",
    "floor",
    "floor_divide",
    "fmod",
    "index_select",
    "isfinite",
    "isinf",
    "isnan",
    "log",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "narrow",
    "permute",
    "prod",
    "reciprocal",
    "relu",
    "remainder",
    "reshape",
    "roll",
    "round",
    "rsqrt",
    "sigmoid",
    "softmax",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "sum",
    "tanh",
    "transpose",
    "trunc",
    "unbind",
    "unsqueeze",
    "where",
    "set_num_threads",
    "get_num_threads",
    "build_info",
    "cuda",
    "nn",
    "optim",
    "save",
    "load",
    "summary",
]


def set_num_threads(n: int) -> None:
    """Set the number of threads the CPU kernels use (1 <= n <= 1024)."""
    _C.set_num_threads(int(n))


def get_num_threads() -> int:
    """Number of threads the CPU kernels use."""
    return _C.get_num_threads()


def build_info() -> dict:
    """How the compiled core was built (CUDA compiled in, OpenMP, SIMD level in use)."""
    return dict(_C.build_info())
