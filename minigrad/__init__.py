"""minigrad: a compiled autograd engine with C++ and CUDA kernels under a PyTorch-like API."""

# First, before anything imports it: a clear error when the compiled kernels are missing or stale.
from minigrad._extension import _C

# isort: split
import builtins

# isort: split
from minigrad import cuda, nn, optim
from minigrad.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from minigrad.backend import device
from minigrad.creation import (
    arange,
    as_tensor,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
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
    all,
    allclose,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    bmm,
    cat,
    ceil,
    chunk,
    clamp,
    clamp_max,
    clamp_min,
    clone,
    cumsum,
    div,
    equal,
    exp,
    flatten,
    flip,
    floor,
    floor_divide,
    fmod,
    gather,
    index_select,
    isclose,
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
    mul,
    narrow,
    neg,
    norm,
    outer,
    permute,
    pow,
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
    split,
    sqrt,
    squeeze,
    stack,
    std,
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
    var,
    where,
)
from minigrad.random import manual_seed
from minigrad.serialization import load, save
from minigrad.summary import summary
from minigrad.tensor import Tensor, float32, float64, int64, uint8
from minigrad.tensor import bool_ as bool  # noqa: A004 (PyTorch's name: minigrad.bool)

# isort: split
from minigrad import (
    onnx,  # noqa: F401 (minigrad.onnx.export; the onnx package is imported only when it runs)
    utils,  # noqa: F401 (minigrad.utils.data, as torch.utils.data)
)

# PyTorch's other names for the dtypes minigrad has (no int32/float16: minigrad.int is not defined).
long = int64
float = float32  # noqa: A001
double = float64

square = Tensor.square  # minigrad.square(x), as torch.square
mm = Tensor.mm


def is_tensor(obj: object) -> builtins.bool:
    """Whether obj is a minigrad Tensor."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> builtins.int:
    """The number of elements of input."""
    return input.numel()

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "device",
    "float32",
    "float64",
    "int64",
    "uint8",
    "bool",
    "long",
    "float",
    "double",
    "is_tensor",
    "numel",
    "as_tensor",
    "linspace",
    "eye",
    "randperm",
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
    "add",
    "all",
    "allclose",
    "any",
    "argsort",
    "bmm",
    "chunk",
    "clone",
    "div",
    "equal",
    "gather",
    "isclose",
    "mm",
    "mul",
    "neg",
    "norm",
    "outer",
    "pow",
    "sort",
    "split",
    "std",
    "sub",
    "topk",
    "tril",
    "triu",
    "var",
    "utils",
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
