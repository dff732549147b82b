"""minigrad: a compiled autograd engine with C++ and CUDA kernels under a PyTorch-like API."""

# First, before anything imports it: a clear error when the compiled kernels are missing or stale.
from minigrad._extension import _C

# isort: split
from minigrad import cuda, nn, optim
from minigrad.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from minigrad.backend import device
from minigrad.creation import (
    arange,
    as_tensor,
    bernoulli,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from minigrad.functional import (  # noqa: F401
    abs,
    add,
    allclose,
    amax,
    amin,
    argmax,
    argmin,
    argsort,
    bmm,
    cat,
    ceil,
    clamp,
    clamp_max,
    clamp_min,
    cumsum,
    diag,
    div,
    exp,
    flatten,
    flip,
    floor,
    floor_divide,
    fmod,
    index_select,
    isclose,
    isfinite,
    isinf,
    isnan,
    log,
    log_softmax,
    logsumexp,
    masked_select,
    matmul,
    max,
    maximum,
    mean,
    meshgrid,
    min,
    minimum,
    mm,
    mul,
    narrow,
    nonzero,
    norm,
    outer,
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
    sort,
    sqrt,
    squeeze,
    stack,
    sub,
    sum,
    tanh,
    topk,
    transpose,
    tril,
    triu,
    trunc,
    unbind,
    unsqueeze,
    where,
)
from minigrad.random import manual_seed
from minigrad.serialization import load, save
from minigrad.summary import summary
from minigrad.tensor import Tensor, float32, float64, int64, is_tensor, numel, uint8
from minigrad.tensor import bool_ as bool  # noqa: A004 (PyTorch's name: minigrad.bool)

# PyTorch's other names of the dtypes minigrad has (it has no int32 or float16, so no int/half)
from minigrad.tensor import float32 as float  # noqa: A004 (PyTorch's name: minigrad.float)
from minigrad.tensor import float64 as double
from minigrad.tensor import int64 as long

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
    "float",
    "double",
    "long",
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
    "as_tensor",
    "linspace",
    "eye",
    "randperm",
    "bernoulli",
    "multinomial",
    "is_tensor",
    "numel",
    "manual_seed",
    "no_grad",
    "inference_mode",
    "enable_grad",
    "is_grad_enabled",
    "set_grad_enabled",
    "abs",
    "add",
    "allclose",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "argsort",
    "bmm",
    "cat",
    "ceil",
    "clamp",
    "clamp_max",
    "clamp_min",
    "cumsum",
    "diag",
    "div",
    "exp",
    "flatten",
    "flip",
    "floor",
    "floor_divide",
    "fmod",
    "index_select",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "log",
    "log_softmax",
    "logsumexp",
    "masked_select",
    "matmul",
    "max",
    "maximum",
    "mean",
    "meshgrid",
    "min",
    "minimum",
    "mm",
    "mul",
    "narrow",
    "nonzero",
    "norm",
    "outer",
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
    "sort",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "sub",
    "sum",
    "tanh",
    "topk",
    "transpose",
    "tril",
    "triu",
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
    "utils",
    "save",
    "load",
    "summary",
]


def __getattr__(name: str):
    """minigrad.utils on first use (it imports minigrad.data, which import minigrad does not)."""
    if name == "utils":
        import importlib

        return importlib.import_module("minigrad.utils")
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")


def set_num_threads(n: int) -> None:
    """Set the number of threads the CPU kernels use (1 <= n <= 1024)."""
    _C.set_num_threads(int(n))


def get_num_threads() -> int:
    """Number of threads the CPU kernels use."""
    return _C.get_num_threads()


def build_info() -> dict:
    """How the compiled core was built (CUDA compiled in, OpenMP, SIMD level in use)."""
    return dict(_C.build_info())
