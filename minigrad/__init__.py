"""minigrad: a compiled autograd engine with C++ and CUDA kernels under a PyTorch-like API."""

import builtins
import math
import sys
import warnings

import numpy

# First, before anything imports it: a clear error when the compiled kernels are missing or stale.
from minigrad._extension import _C

# isort: split
from minigrad import accelerator, amp, backends, cpu, cuda, distributions, linalg, nn, optim
from minigrad.amp import autocast, get_autocast_dtype, is_autocast_enabled
from minigrad.autograd import (
    enable_grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from minigrad.backend import device
from minigrad.backends import (
    are_deterministic_algorithms_enabled,
    is_deterministic_algorithms_warn_only_enabled,
    use_deterministic_algorithms,
)
from minigrad.creation import (  # noqa: A004 (range: PyTorch's name)
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    arange,
    as_tensor,
    asarray,
    bartlett_window,
    bernoulli,
    blackman_window,
    empty,
    empty_like,
    eye,
    fill,
    from_numpy,
    frombuffer,
    full,
    full_like,
    hamming_window,
    hann_window,
    kaiser_window,
    linspace,
    logspace,
    multinomial,
    normal,
    ones,
    ones_like,
    poisson,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    range,
    scalar_tensor,
    tensor,
    tril_indices,
    triu_indices,
    zeros,
    zeros_like,
)
from minigrad.functional import (  # noqa: F401
    abs,
    absolute,
    acos,
    acosh,
    add,
    addbmm,
    addcdiv,
    addcmul,
    addmm,
    addmv,
    addr,
    adjoint,
    all,
    allclose,
    amax,
    amin,
    aminmax,
    any,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    argmax,
    argmin,
    argsort,
    argwhere,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    baddbmm,
    bincount,
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    block_diag,
    bmm,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    bucketize,
    cartesian_prod,
    cat,
    cdist,
    ceil,
    chain_matmul,
    chunk,
    clamp,
    clamp_max,
    clamp_min,
    clip,
    clone,
    column_stack,
    combinations,
    copysign,
    corrcoef,
    cos,
    cosh,
    count_nonzero,
    cov,
    cross,
    cummax,
    cummin,
    cumprod,
    cumsum,
    cumulative_trapezoid,
    deg2rad,
    diag,
    diag_embed,
    diagflat,
    diagonal,
    diagonal_scatter,
    diff,
    digamma,
    dist,
    div,
    divide,
    dot,
    dsplit,
    dstack,
    einsum,
    eq,
    equal,
    erf,
    erfc,
    erfinv,
    exp,
    exp2,
    expm1,
    fix,
    flatten,
    flip,
    fliplr,
    flipud,
    float_power,
    floor,
    floor_divide,
    fmax,
    fmin,
    fmod,
    frac,
    frexp,
    gather,
    gcd,
    ge,
    gradient,
    greater,
    greater_equal,
    gt,
    heaviside,
    histc,
    histogram,
    hsplit,
    hstack,
    hypot,
    i0,
    index_add,
    index_copy,
    index_fill,
    index_put,
    index_reduce,
    index_select,
    inner,
    isclose,
    isfinite,
    isin,
    isinf,
    isnan,
    isneginf,
    isposinf,
    isreal,
    kron,
    kthvalue,
    lcm,
    ldexp,
    le,
    lerp,
    less,
    less_equal,
    lgamma,
    log,
    log1p,
    log2,
    log10,
    log_softmax,
    logaddexp,
    logaddexp2,
    logcumsumexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logit,
    logsumexp,
    lt,
    masked_fill,
    masked_scatter,
    masked_select,
    matmul,
    max,
    maximum,
    mean,
    median,
    meshgrid,
    min,
    minimum,
    mm,
    mode,
    moveaxis,
    movedim,
    msort,
    mul,
    multiply,
    mv,
    mvlgamma,
    nan_to_num,
    nanmean,
    nanmedian,
    nanquantile,
    nansum,
    narrow,
    narrow_copy,
    ne,
    neg,
    negative,
    nextafter,
    nonzero,
    nonzero_static,
    norm,
    not_equal,
    outer,
    pdist,
    permute,
    polygamma,
    positive,
    pow,
    prod,
    promote_types,
    put,
    quantile,
    rad2deg,
    ravel,
    reciprocal,
    relu,
    remainder,
    renorm,
    repeat_interleave,
    reshape,
    result_type,
    roll,
    rot90,
    round,
    rsqrt,
    rsub,
    scatter,
    scatter_add,
    scatter_reduce,
    searchsorted,
    select,
    select_scatter,
    sgn,
    sigmoid,
    sign,
    signbit,
    sin,
    sinc,
    sinh,
    slice_scatter,
    softmax,
    sort,
    split,
    split_with_sizes,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    std_mean,
    sub,
    subtract,
    sum,
    swapaxes,
    swapdims,
    t,
    take,
    take_along_dim,
    tan,
    tanh,
    tensor_split,
    tensordot,
    tile,
    topk,
    trace,
    transpose,
    trapezoid,
    tril,
    triu,
    true_divide,
    trunc,
    unbind,
    unflatten,
    unique,
    unique_consecutive,
    unravel_index,
    unsqueeze,
    vander,
    var,
    var_mean,
    vdot,
    vsplit,
    vstack,
    where,
    xlogy,
)
from minigrad.functional.nn import feature_dropout
from minigrad.linalg import (  # torch's top-level names of linalg's functions
    cholesky_inverse,
    cholesky_solve,
    det,
    inverse,
    logdet,
    lu_unpack,
    matrix_exp,
    matrix_power,
    pinverse,
    slogdet,
)
from minigrad.linalg import cholesky_legacy as cholesky
from minigrad.linalg import lu_legacy as lu
from minigrad.linalg import lu_solve_legacy as lu_solve
from minigrad.linalg import qr_legacy as qr
from minigrad.linalg import svd_legacy as svd
from minigrad.random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state

# isort: split
# PyTorch's framework surface (porting round 14): memory formats and layouts, the default
# generator and device, torch.version and torch.multiprocessing's counterparts, settings
from minigrad import multiprocessing, version  # noqa: E402, F401 (torch.multiprocessing, torch.version)
from minigrad._memory_format import (  # noqa: E402
    channels_last,
    channels_last_3d,
    contiguous_format,
    layout,
    memory_format,
    preserve_format,
    strided,
)
from minigrad.autograd import is_anomaly_check_nan_enabled  # noqa: E402
from minigrad.backend import get_default_device, set_default_device  # noqa: E402
from minigrad.creation import empty_strided  # noqa: E402
from minigrad.random import default_generator  # noqa: E402
from minigrad.tensor import is_warn_always_enabled, set_warn_always  # noqa: E402

# isort: split
from minigrad.serialization import load, save
from minigrad.summary import summary
from minigrad.tensor import (
    Size,
    Tensor,
    _normalize_dtype,
    bfloat16,
    finfo,
    float16,
    float32,
    float64,
    get_default_dtype,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    is_floating_point,
    is_tensor,
    numel,
    set_default_dtype,
    set_printoptions,
    uint8,
)
from minigrad.tensor import bool_ as bool  # noqa: A004 (PyTorch's name: minigrad.bool)

# PyTorch's other names of the dtypes (half: float16, which minigrad only passes around, as bfloat16)
from minigrad.tensor import float16 as half
from minigrad.tensor import float32 as float  # noqa: A004 (PyTorch's name: minigrad.float)
from minigrad.tensor import float64 as double
from minigrad.tensor import int16 as short
from minigrad.tensor import int32 as int  # noqa: A004 (PyTorch's name: minigrad.int)
from minigrad.tensor import int64 as long

# isort: split
from minigrad import (
    func,  # noqa: F401 (torch.func's transforms)
    onnx,  # noqa: F401 (minigrad.onnx.export; the onnx package is imported only when it runs)
    return_types,  # noqa: F401 (torch.return_types' named tuples)
    special,  # noqa: E402 (torch.special's functions; imports the functional ops above)
)

__version__ = "0.1.0"

# PyTorch's other names of these functions
concat = cat
concatenate = cat
row_stack = vstack
trapz = trapezoid
unsafe_chunk, unsafe_split, unsafe_split_with_sizes = chunk, split, split_with_sizes  # no unsafe views here
ger = outer
detach, detach_, get_device = Tensor.detach, Tensor.detach_, Tensor.get_device
vmap = func.vmap

# PyTorch's constants. minigrad's dtypes are numpy dtype objects, so minigrad.dtype is numpy.dtype
# (isinstance(x.dtype, minigrad.dtype) holds); there is no float16/bfloat16/complex, so no such names.
pi, e, inf, nan = math.pi, math.e, math.inf, math.nan
newaxis = None
dtype = numpy.dtype

# PyTorch's top-level in-place functions: minigrad.sin_(x) is x.sin_()
abs_, absolute_, neg_, negative_, sign_, sgn_ = (
    Tensor.abs_, Tensor.absolute_, Tensor.neg_, Tensor.negative_, Tensor.sign_, Tensor.sgn_)
sin_, cos_, tan_, asin_, acos_, atan_ = Tensor.sin_, Tensor.cos_, Tensor.tan_, Tensor.asin_, Tensor.acos_, Tensor.atan_
arcsin_, arccos_, arctan_ = Tensor.arcsin_, Tensor.arccos_, Tensor.arctan_
sinh_, cosh_, asinh_, acosh_, atanh_ = Tensor.sinh_, Tensor.cosh_, Tensor.asinh_, Tensor.acosh_, Tensor.atanh_
arcsinh_, arccosh_, arctanh_ = Tensor.arcsinh_, Tensor.arccosh_, Tensor.arctanh_
exp_, exp2_, expm1_, log_, log2_, log10_, log1p_ = (
    Tensor.exp_, Tensor.exp2_, Tensor.expm1_, Tensor.log_, Tensor.log2_, Tensor.log10_, Tensor.log1p_)
sqrt_, rsqrt_, square_, reciprocal_ = Tensor.sqrt_, Tensor.rsqrt_, Tensor.square_, Tensor.reciprocal_
erf_, sinc_, logit_, nan_to_num_, xlogy_ = Tensor.erf_, Tensor.sinc_, Tensor.logit_, Tensor.nan_to_num_, Tensor.xlogy_
erfc_, i0_ = Tensor.erfc_, Tensor.i0_
ceil_, floor_, round_, trunc_, fix_, frac_ = (
    Tensor.ceil_, Tensor.floor_, Tensor.round_, Tensor.trunc_, Tensor.fix_, Tensor.frac_)
clamp_, clamp_min_, clamp_max_, clip_ = Tensor.clamp_, Tensor.clamp_min_, Tensor.clamp_max_, Tensor.clip_
deg2rad_, rad2deg_, gcd_, lcm_, ldexp_ = Tensor.deg2rad_, Tensor.rad2deg_, Tensor.gcd_, Tensor.lcm_, Tensor.ldexp_
relu_, sigmoid_, tanh_ = Tensor.relu_, Tensor.sigmoid_, Tensor.tanh_
fill_, zero_, index_put_, resize_as_, addmv_ = (
    Tensor.fill_, Tensor.zero_, Tensor.index_put_, Tensor.resize_as_, Tensor.addmv_)

__all__ = [
    "Tensor",
    "device",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
    "float",
    "double",
    "float16",
    "half",
    "bfloat16",
    "long",
    "int",
    "short",
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
    "poisson",
    "is_tensor",
    "numel",
    "manual_seed",
    "seed",
    "initial_seed",
    "get_rng_state",
    "set_rng_state",
    "Generator",
    "Size",
    "get_default_dtype",
    "set_default_dtype",
    "empty_like",
    "FloatTensor",
    "DoubleTensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
    "BoolTensor",
    "backends",
    "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "normal",
    "compile",
    "no_grad",
    "inference_mode",
    "enable_grad",
    "is_grad_enabled",
    "is_inference_mode_enabled",
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
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "expm1",
    "log1p",
    "log2",
    "log10",
    "sign",
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
    "logcumsumexp",
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
    "accelerator",
    "cpu",
    "cuda",
    "nn",
    "distributions",
    "optim",
    "utils",
    "save",
    "load",
    "summary",
    "all",
    "any",
    "chunk",
    "count_nonzero",
    "dot",
    "einsum",
    "equal",
    "gather",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "masked_fill",
    "mv",
    "neg",
    "pow",
    "scatter",
    "split",
    "std",
    "std_mean",
    "t",
    "var",
    "var_mean",
    "rand_like",
    "randint_like",
    "randn_like",
    "clip",
    "multiply",
    "subtract",
    "true_divide",
    "negative",
    "bincount",
    "unique",
    "erf",
    "erfc",
    "erfc_",
    "erfinv",
    "digamma",
    "i0",
    "i0_",
    "lgamma",
    "mvlgamma",
    "polygamma",
    "special",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "broadcast_to",
    "movedim",
    "moveaxis",
    "swapaxes",
    "swapdims",
    "repeat_interleave",
    "diff",
    "median",
    "nan_to_num",
    "isin",
    "frac",
    "linalg",
    "set_printoptions",
    "logspace",
    "triu_indices",
    "tril_indices",
    "addcdiv",
    "addcmul",
    "aminmax",
    "broadcast_shapes",
    "broadcast_tensors",
    "cartesian_prod",
    "cummax",
    "cummin",
    "cumprod",
    "index_add",
    "index_put",
    "index_copy",
    "index_fill",
    "lerp",
    "scatter_add",
    "tensor_split",
    "trace",
    "unflatten",
    "quantile",
    "nanquantile",
    "kthvalue",
    "mode",
    "searchsorted",
    "bucketize",
    "histc",
    "take",
    "take_along_dim",
    "nanmean",
    "nansum",
    "nanmedian",
    "signbit",
    "fmax",
    "fmin",
    "logaddexp",
    "hypot",
    "logit",
    "xlogy",
    "deg2rad",
    "rad2deg",
    "result_type",
    "promote_types",
    "addmm",
    "diagonal",
    "cross",
    "kron",
    "cdist",
    "pdist",
    "tile",
    "select",
    "argwhere",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "block_diag",
    "histogram",
    "clone",
    "finfo",
    "iinfo",
    "is_floating_point",
    "concat",
    "concatenate",
]


def __getattr__(name: str):
    """minigrad.utils on first use (it imports minigrad.data, which import minigrad does not)."""
    if name == "utils":
        import importlib

        return importlib.import_module("minigrad.utils")
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")


def compile(model: object = None, **options: object) -> object:  # noqa: A001 (PyTorch's name)
    """As torch.compile, for ported code (nanoGPT calls it by default): minigrad has no graph
    compiler, so the model or function comes back unchanged (called without one, as a decorator
    factory, it returns the identity). The options are accepted and ignored."""
    return (lambda fn: fn) if model is None else model


def set_num_threads(n: builtins.int) -> None:
    """Set the number of threads the CPU kernels use (1 <= n <= 1024)."""
    _C.set_num_threads(builtins.int(n))  # minigrad.int is PyTorch's dtype name


def get_num_threads() -> builtins.int:
    """Number of threads the CPU kernels use."""
    return _C.get_num_threads()


def build_info() -> dict:
    """How the compiled core was built (CUDA compiled in, OpenMP, SIMD level in use)."""
    return dict(_C.build_info())


# --- PyTorch's top-level forms of nn.functional ops (some with another signature there) ----------

conv1d, conv2d = nn.functional.conv1d, nn.functional.conv2d
conv_transpose1d, conv_transpose2d = nn.functional.conv_transpose1d, nn.functional.conv_transpose2d
conv3d, conv_transpose3d, max_pool3d = nn.functional.conv3d, nn.functional.conv_transpose3d, nn.functional.max_pool3d
max_pool1d, max_pool2d = nn.functional.max_pool1d, nn.functional.max_pool2d
avg_pool1d, adaptive_avg_pool1d = nn.functional.avg_pool1d, nn.functional.adaptive_avg_pool1d
cosine_similarity, pairwise_distance = nn.functional.cosine_similarity, nn.functional.pairwise_distance
pixel_shuffle, pixel_unshuffle = nn.functional.pixel_shuffle, nn.functional.pixel_unshuffle
channel_shuffle = nn.functional.channel_shuffle
selu, celu, prelu, threshold = nn.functional.selu, nn.functional.celu, nn.functional.prelu, nn.functional.threshold
hardshrink, rms_norm = nn.functional.hardshrink, nn.functional.rms_norm
rrelu, rrelu_, bilinear = nn.functional.rrelu, nn.functional.rrelu_, nn.functional.bilinear
selu_, celu_, threshold_ = nn.functional.selu_, nn.functional.celu_, nn.functional.threshold_


def dropout(input: Tensor, p: builtins.float, train: builtins.bool) -> Tensor:
    """nn.functional.dropout(input, p, training=train), as torch.dropout."""
    return nn.functional.dropout(input, p, train)


def dropout_(input: Tensor, p: builtins.float, train: builtins.bool) -> Tensor:
    """dropout in place, as torch.dropout_."""
    return nn.functional.dropout(input, p, train, inplace=True)


def alpha_dropout(input: Tensor, p: builtins.float, train: builtins.bool) -> Tensor:
    """nn.functional.alpha_dropout(input, p, training=train), as torch.alpha_dropout."""
    return nn.functional.alpha_dropout(input, p, train)


def feature_alpha_dropout(input: Tensor, p: builtins.float, train: builtins.bool) -> Tensor:
    """nn.functional.feature_alpha_dropout(input, p, training=train), as torch.feature_alpha_dropout."""
    return nn.functional.feature_alpha_dropout(input, p, train)


def adaptive_max_pool1d(input: Tensor, output_size: builtins.int | tuple) -> tuple[Tensor, Tensor]:
    """nn.functional.adaptive_max_pool1d's values and indices, as torch.adaptive_max_pool1d."""
    return nn.functional.adaptive_max_pool1d_with_indices(input, output_size)


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size: builtins.int | tuple,
    stride: builtins.int | tuple = (),
    padding: builtins.int | tuple = 0,
    dilation: builtins.int | tuple = 1,
    ceil_mode: builtins.bool = False,
) -> tuple[Tensor, Tensor]:
    """nn.functional.max_pool1d's values and indices, as torch.max_pool1d_with_indices."""
    return nn.functional.max_pool1d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)


def layer_norm(
    input: Tensor,
    normalized_shape: builtins.int | tuple,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: builtins.float = 1e-5,
    cudnn_enable: builtins.bool = True,
) -> Tensor:
    """nn.functional.layer_norm, as torch.layer_norm (cudnn_enable is accepted and ignored)."""
    return nn.functional.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(
    input: Tensor,
    num_groups: builtins.int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: builtins.float = 1e-5,
    cudnn_enabled: builtins.bool = True,
) -> Tensor:
    """nn.functional.group_norm, as torch.group_norm (cudnn_enabled is accepted and ignored)."""
    return nn.functional.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: builtins.bool,
    momentum: builtins.float,
    eps: builtins.float,
    cudnn_enabled: builtins.bool = True,
) -> Tensor:
    """nn.functional.batch_norm with torch.batch_norm's argument order (weight and bias first)."""
    return nn.functional.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    use_input_stats: builtins.bool,
    momentum: builtins.float,
    eps: builtins.float,
    cudnn_enabled: builtins.bool = True,
) -> Tensor:
    """nn.functional.instance_norm with torch.instance_norm's argument order (weight and bias first)."""
    return nn.functional.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def embedding(
    weight: Tensor,
    indices: Tensor,
    padding_idx: builtins.int = -1,
    scale_grad_by_freq: builtins.bool = False,
    sparse: builtins.bool = False,
) -> Tensor:
    """The rows of weight at indices, as torch.embedding (weight first): rows at padding_idx (when
    >= 0) get no gradient; scale_grad_by_freq as nn.functional.embedding's (sparse: refused)."""
    return nn.functional.embedding(indices, weight, padding_idx if padding_idx >= 0 else None,
                                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}  # PyTorch's at::Reduction enum


def _reduction(reduction: builtins.int | str) -> str:
    """The top-level losses' reduction: PyTorch's enum (0 none, 1 mean, 2 sum), or its name. Left out,
    it is 0, as in PyTorch 2.x, whose bindings of these ops give the unreduced loss then (their
    schemas say 1; torch.kl_div(x, y) has x's shape)."""
    if isinstance(reduction, str):
        return reduction
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be 0 (none), 1 (mean) or 2 (sum), got {reduction!r}")
    return _REDUCTIONS[reduction]


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    pos_weight: Tensor | None = None,
    reduction: builtins.int | str = 0,
) -> Tensor:
    """nn.functional.binary_cross_entropy_with_logits with torch's top-level signature (pos_weight
    before reduction, reduction as the enum 0/1/2 or a name, unreduced by default)."""
    return nn.functional.binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction(reduction), pos_weight=pos_weight)


def kl_div(
    input: Tensor, target: Tensor, reduction: builtins.int | str = 0, *, log_target: builtins.bool = False
) -> Tensor:
    """nn.functional.kl_div with torch.kl_div's reduction (the enum 0/1/2 or a name)."""
    from minigrad.functional.loss import kl_div_op  # no warning for "mean": torch.kl_div is the ATen op

    return kl_div_op(input, target, _reduction(reduction), log_target)


def cosine_embedding_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: builtins.float = 0.0, reduction: builtins.int | str = 0
) -> Tensor:
    """nn.functional.cosine_embedding_loss with torch's top-level signature (reduction enum or name)."""
    return nn.functional.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(
    input: Tensor, target: Tensor, margin: builtins.float = 1.0, reduction: builtins.int | str = 0
) -> Tensor:
    """nn.functional.hinge_embedding_loss with torch's top-level signature (reduction enum or name)."""
    return nn.functional.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: builtins.float = 0.0, reduction: builtins.int | str = 0
) -> Tensor:
    """nn.functional.margin_ranking_loss with torch's top-level signature (reduction enum or name)."""
    return nn.functional.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,  # noqa: F811 (PyTorch's argument names)
    negative: Tensor,  # noqa: F811
    margin: builtins.float = 1.0,
    p: builtins.float = 2.0,
    eps: builtins.float = 1e-6,
    swap: builtins.bool = False,
    reduction: builtins.int | str = 0,
) -> Tensor:
    """nn.functional.triplet_margin_loss with torch's top-level signature (reduction enum or name)."""
    return nn.functional.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                             reduction=_reduction(reduction))


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: builtins.bool,
    full: builtins.bool,
    eps: builtins.float,
    reduction: builtins.int | str,
) -> Tensor:
    """nn.functional.poisson_nll_loss with torch.poisson_nll_loss's signature (every argument given,
    reduction enum or name)."""
    return nn.functional.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor | tuple[builtins.int, ...] | list[builtins.int],
    target_lengths: Tensor | tuple[builtins.int, ...] | list[builtins.int],
    blank: builtins.int = 0,
    reduction: builtins.int | str = 0,
    zero_infinity: builtins.bool = False,
) -> Tensor:
    """nn.functional.ctc_loss with torch.ctc_loss's signature (reduction enum or name)."""
    return nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction),
                                  zero_infinity)


# --- PyTorch's other top-level functions: tests on tensors and dtypes, settings -----------------


def is_complex(input: Tensor) -> builtins.bool:
    """False: minigrad has no complex dtypes, as torch.is_complex of a real tensor."""
    _require_tensor_arg("is_complex", input)
    return input.is_complex()


def is_signed(input: Tensor) -> builtins.bool:
    """Whether input's dtype holds negative values, as torch.is_signed."""
    _require_tensor_arg("is_signed", input)
    return input.is_signed()


def is_nonzero(input: Tensor) -> builtins.bool:
    """The truth of a one-element tensor, as torch.is_nonzero."""
    _require_tensor_arg("is_nonzero", input)
    return input.is_nonzero()


def is_same_size(input: Tensor, other: Tensor) -> builtins.bool:
    """Whether the two tensors have one shape, as torch.is_same_size."""
    _require_tensor_arg("is_same_size", input)
    return input.is_same_size(other)


def is_inference(input: Tensor) -> builtins.bool:
    """False: minigrad makes no inference tensors (its inference_mode is no_grad)."""
    _require_tensor_arg("is_inference", input)
    return input.is_inference()


def _require_tensor_arg(op: str, input: object) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")


def can_cast(from_: object, to: object) -> builtins.bool:
    """Whether PyTorch's casting rules allow from_ to become to in an op's output (no float to an
    integer, nothing but bool to bool), as torch.can_cast."""
    source, target = _normalize_dtype(from_), _normalize_dtype(to)
    if source.kind == "f" and target.kind in "iub":
        return False
    return not (source.kind != "b" and target.kind == "b")


def typename(obj: object) -> str:
    """A tensor's type name ("minigrad.FloatTensor"), else the object's module-qualified name, as
    torch.typename."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if qualname is None:
        module, qualname = obj.__class__.__module__ or "", obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


_FLOAT32_MATMUL_PRECISIONS = ("highest", "high", "medium")
_float32_matmul_precision = ["highest"]  # one mutable cell


def set_float32_matmul_precision(precision: str) -> None:
    """Record PyTorch's float32 matmul precision ("highest", "high" or "medium"), as
    torch.set_float32_matmul_precision. minigrad always computes float32 matmuls in float32 (no
    TF32 or bfloat16 passes), so no result changes; another value warns and is ignored, as PyTorch."""
    if precision not in _FLOAT32_MATMUL_PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", UserWarning, stacklevel=2)
        return
    _float32_matmul_precision[0] = precision


def get_float32_matmul_precision() -> str:
    """The precision set_float32_matmul_precision recorded ("highest" by default)."""
    return _float32_matmul_precision[0]


def set_flush_denormal(mode: builtins.bool) -> builtins.bool:
    """False, changing nothing: minigrad cannot switch the CPU to flushing denormal floats to zero
    (its kernels and numpy run with the default floating-point mode), and torch.set_flush_denormal
    returns False where that mode is not supported. Code that checks the result keeps working."""
    return False


__all__ += [  # the names added after the list above
    # constants and dtypes
    "pi", "e", "inf", "nan", "dtype",  # not newaxis: it is None
    # linear algebra (minigrad.linalg's, under torch's top-level names)
    "cholesky", "cholesky_inverse", "cholesky_solve", "det", "inverse", "logdet", "matrix_exp", "pinverse", "qr",
    "slogdet", "svd", "lu", "lu_solve", "lu_unpack",
    # elementwise
    "absolute", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "asinh", "atan2",
    "atanh", "bitwise_and", "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor",
    "copysign", "divide", "exp2", "fix", "float_power", "frexp", "gcd", "greater", "greater_equal", "heaviside",
    "isneginf", "isposinf", "isreal", "lcm", "ldexp", "less", "less_equal", "logaddexp2", "nextafter", "not_equal",
    "positive", "rsub", "sgn", "sinc",
    # shapes, indexing, products, statistics
    "addbmm", "addmv", "addr", "adjoint", "baddbmm", "chain_matmul", "combinations", "corrcoef", "cov", "gradient",
    "cumulative_trapezoid", "diag_embed", "diagflat", "diagonal_scatter", "dist", "dsplit", "fliplr", "flipud", "ger",
    "hsplit", "index_reduce", "inner", "masked_scatter", "matrix_power", "msort", "narrow_copy", "nonzero_static",
    "put", "ravel", "renorm", "rot90", "row_stack", "scatter_reduce", "select_scatter", "slice_scatter",
    "split_with_sizes", "tensordot", "trapezoid", "trapz", "unique_consecutive", "unravel_index", "vander", "vdot",
    "vsplit", "detach", "detach_", "get_device", "unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes",
    # creation
    "asarray", "bartlett_window", "blackman_window", "fill", "frombuffer", "hamming_window", "hann_window",
    "kaiser_window", "range", "scalar_tensor",
    # in place
    "abs_", "absolute_", "neg_", "negative_", "sign_", "sgn_", "sin_", "cos_", "tan_", "asin_", "acos_", "atan_",
    "arcsin_", "arccos_", "arctan_", "sinh_", "cosh_", "asinh_", "acosh_", "atanh_", "arcsinh_", "arccosh_",
    "arctanh_", "exp_", "exp2_", "expm1_", "log_", "log2_", "log10_", "log1p_", "sqrt_", "rsqrt_", "square_",
    "reciprocal_", "erf_", "sinc_", "logit_", "nan_to_num_", "xlogy_", "ceil_", "floor_", "round_", "trunc_", "fix_",
    "frac_", "clamp_", "clamp_min_", "clamp_max_", "clip_", "deg2rad_", "rad2deg_", "gcd_", "lcm_", "ldexp_", "relu_",
    "sigmoid_", "tanh_", "fill_", "zero_", "index_put_", "resize_as_", "addmv_", "selu_", "celu_", "threshold_",
    "dropout_",
    # nn.functional's ops at the top level
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool1d",
    "conv3d", "conv_transpose3d", "max_pool3d",
    "adaptive_avg_pool1d", "cosine_similarity", "pairwise_distance", "pixel_shuffle", "pixel_unshuffle",
    "channel_shuffle", "selu", "celu", "prelu", "threshold", "hardshrink", "rms_norm", "rrelu", "rrelu_", "bilinear",
    "dropout", "alpha_dropout", "layer_norm", "group_norm", "feature_alpha_dropout", "feature_dropout",
    "adaptive_max_pool1d", "max_pool1d_with_indices",
    "batch_norm", "instance_norm", "embedding", "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss",
    "hinge_embedding_loss", "margin_ranking_loss", "triplet_margin_loss", "poisson_nll_loss", "ctc_loss",
    # tests and settings
    "is_complex", "is_signed", "is_nonzero", "is_same_size", "is_inference", "can_cast", "typename",
    "set_float32_matmul_precision", "get_float32_matmul_precision", "is_anomaly_enabled",
    # mixed precision (a no-op autocast; GradScaler)
    "amp", "autocast", "is_autocast_enabled", "get_autocast_dtype",
]

# isort: split
from minigrad import autograd, jit, profiler, testing  # noqa: E402 (torch.jit, torch.profiler, torch.testing)

autograd.profiler = profiler  # torch.autograd.profiler: the same profile and record_function
sys.modules["minigrad.autograd.profiler"] = profiler
__all__ += ["jit", "profiler", "testing"]
__all__ += [  # porting round 14: framework surface
    "channels_last", "channels_last_3d", "contiguous_format", "preserve_format", "memory_format", "layout", "strided",
    "default_generator", "get_default_device", "set_default_device", "empty_strided",  # not version,
    # multiprocessing: a star import would shadow Python's multiprocessing (torch's __all__ leaves them out too)
    "is_anomaly_check_nan_enabled", "set_warn_always", "is_warn_always_enabled", "set_flush_denormal",
]

# isort: split
from minigrad._foreach import FOREACH_OPS as _FOREACH_OPS  # noqa: E402 (torch._foreach_*, private as PyTorch's)

globals().update(_FOREACH_OPS)
