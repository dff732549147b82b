"""Tensor creation with PyTorch's names and dtype rules, and sampling (randperm, bernoulli, multinomial)."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import random as _random
from minigrad.backend import get_backend, resolve_device
from minigrad.functional._common import ArgumentError, DtypeError, UnsupportedDtypeError
from minigrad.random import Generator
from minigrad.tensor import (
    _DTYPES,
    Size,
    Tensor,
    _host_array,
    _normalize_dtype,
    bool_,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    uint8,
    warn_user,
)


def _size(size: tuple) -> tuple[int, ...]:
    """zeros(2, 3) and zeros((2, 3)) alike; every size a non-negative integer (2.5 is an error, not 2)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"size must be a tuple of ints, but found element of type {type(s).__name__}: {size}")
        if s < 0:
            raise ArgumentError(f"negative dimension {s} in size {size}")
    return tuple(int(s) for s in size)


def _new(data: Any, device: str, requires_grad: bool) -> Tensor:
    t = Tensor._make(data, resolve_device(device))  # "auto" / "cuda:0" -> the device get_backend used
    if requires_grad:
        t.requires_grad = True
    return t


def _float_dtype(dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else _normalize_dtype(dtype)


_PLAIN_NUMBERS = frozenset({float, int, bool})


def _holds_float64(data: Any) -> bool:
    """Whether data is, or (in nested lists and tuples) holds, a float64 numpy scalar, ndarray
    or Tensor. A list of plain Python numbers is told by the set of its item types, in one pass."""
    if isinstance(data, (np.generic, np.ndarray, Tensor)):
        return data.dtype == float64
    if not isinstance(data, (list, tuple)):
        return False
    return not set(map(type, data)) <= _PLAIN_NUMBERS and any(_holds_float64(item) for item in data)


def _tensors_as_scalars(data: Any) -> Any:
    """data with each Tensor inside its (nested) lists and tuples read as a number (a 0-d array of
    its dtype), as torch.tensor reads them: a Tensor of several elements there raises PyTorch's
    ValueError instead of being stacked (torch.stack does that)."""
    if isinstance(data, Tensor):
        if data.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return data._host().reshape(())
    if not isinstance(data, (list, tuple)) or set(map(type, data)) <= _PLAIN_NUMBERS:
        return data
    return [_tensors_as_scalars(item) for item in data]


def _starts_with_ndarray(data: Any) -> bool:
    """Whether a (nested) list or tuple starts with an ndarray: its first element, or its first
    element's first, and so on (PyTorch's test for its slow-path warning)."""
    first = data
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    return first is not data and isinstance(first, np.ndarray)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of data (numbers, nested lists, an ndarray or a Tensor).
    Python floats give the default dtype (float32), ints int64; ndarrays keep float64/int64, and so
    do float64 numpy scalars (np.mean's result) and tensors, alone or in lists, as torch.tensor.
    Tensors inside lists must hold one element each (ValueError otherwise, as torch.tensor).
    Warns, as torch.tensor, when data is a tensor (each call) or a list of ndarrays (once)."""
    if isinstance(data, Tensor):
        warn_user("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
                  "sourceTensor.detach().clone().requires_grad_(True), rather than torch.tensor(sourceTensor).")
        data = data._host()
    elif _starts_with_ndarray(data):
        warn_user("Creating a tensor from a list of numpy.ndarrays is extremely slow. Please consider converting the "
                  "list to a single numpy.ndarray with numpy.array() before converting to a tensor.", once=True)
    if dtype is None and not isinstance(data, np.ndarray) and _holds_float64(data):
        dtype = float64
    data = _tensors_as_scalars(data)
    host = _host_array(data, dtype)
    return _new(get_backend(device).from_numpy(host), device, requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing array's memory (float32, float64, int64, uint8 or bool)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected numpy.ndarray, got {type(array).__name__}")
    _normalize_dtype(array.dtype)
    return Tensor._make(array, resolve_device("cpu"))


def full(
    size: Any,
    fill_value: float,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of size filled with fill_value (dtype from fill_value when not given)."""
    if dtype is None:
        dtype = _host_array(fill_value).dtype
    data = get_backend(device).full(_size((size,)), fill_value, _normalize_dtype(dtype))
    return _new(data, device, requires_grad)


def _size_arg(op: str, args: tuple, size: Any) -> tuple[int, ...]:
    """The size of zeros(2, 3), zeros((2, 3)) or zeros(size=(2, 3)) alike, as PyTorch takes it
    (a 0-d tensor is zeros(()); zeros() with no size at all is PyTorch's TypeError)."""
    if size is not None:
        if args:
            raise TypeError(f"{op}() got multiple values for argument 'size'")
        args = (size,)
    if not args:
        raise TypeError(f'{op}() missing 1 required positional arguments: "size"')
    return _size(args)


def zeros(*args: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: zeros(2, 3), zeros((2, 3)) or zeros(size=(2, 3)), as torch.zeros."""
    data = get_backend(device).full(_size_arg("zeros", args, size), 0, _float_dtype(dtype))
    return _new(data, device, requires_grad)


def ones(*args: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ones(2, 3), ones((2, 3)) or ones(size=(2, 3)), as torch.ones."""
    data = get_backend(device).full(_size_arg("ones", args, size), 1, _float_dtype(dtype))
    return _new(data, device, requires_grad)


def empty(*args: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor: empty(2, 3), empty((2, 3)) or empty(size=(2, 3)), as torch.empty."""
    data = get_backend(device).empty(_size_arg("empty", args, size), _float_dtype(dtype))
    return _new(data, device, requires_grad)


def empty_like(input: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None,
               memory_format: Any = None) -> Tensor:
    """An uninitialised tensor of input's shape, dtype (or dtype) and device (or device), as torch.empty_like.
    Row-major unless memory_format (as in each *_like below; see _like_format)."""
    out = empty(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)
    return _like_format("empty_like", out, input, memory_format)


def empty_strided(size: Any, stride: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of size whose memory has the given strides, as torch.empty_strided,
    for the strides of a dense layout: row-major, or another order of the dims (a permuted,
    channels-last layout, ...) on the CPU. Strides with gaps or overlaps (which PyTorch allows),
    or a non-row-major layout on the CUDA device (row-major only), are a RuntimeError saying so;
    dims of size 1 may report another stride than asked."""
    from minigrad._memory_format import _dense_order, arrange, contiguous_format, is_contiguous_as, strided

    shape = _size((size,))
    strides = tuple(stride)
    if len(strides) != len(shape):
        raise RuntimeError(f"dimensionality of sizes ({len(shape)}) must match dimensionality of strides "
                           f"({len(strides)})")
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in strides):
        raise TypeError(f"empty_strided: stride must be a tuple of ints, got {strides}")
    strides = tuple(int(s) for s in strides)
    if any(s < 0 for s in strides):
        raise RuntimeError(f"empty_strided: negative strides {strides} are not supported")
    if layout is not None and layout is not strided:
        raise TypeError(f"empty_strided: minigrad has only the strided layout, got {layout!r}")
    out = empty(shape, dtype=dtype, device=device, requires_grad=requires_grad)
    if pin_memory:
        out = out.pin_memory()
    if 0 in shape or is_contiguous_as(shape, strides, contiguous_format):
        return out
    order = _dense_order(shape, strides)
    if order is None or out.device != "cpu":
        where = "on the CUDA device only row-major ones" if order is not None else "only dense, non-overlapping ones"
        raise RuntimeError(f"empty_strided: strides {strides} for size {shape} are not supported: minigrad makes "
                           f"{where} (a permutation of a contiguous layout)")
    out._data = arrange(out._data, order)
    return out


def _like_format(op: str, out: Tensor, input: Tensor, memory_format: Any) -> Tensor:
    """out laid out in memory_format, as PyTorch's *_like functions: preserve_format keeps a dense
    input's strides (PyTorch's default; minigrad's default, None, gives row-major results), and
    channels_last / channels_last_3d need a 4-D / 5-D input (see minigrad._memory_format)."""
    if memory_format is None:
        return out
    from minigrad._memory_format import apply_format

    return apply_format(op, out, memory_format, like=input)


def zeros_like(input: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None,
               memory_format: Any = None) -> Tensor:
    """Zeros of input's shape, dtype (or dtype) and device (or device), as torch.zeros_like
    (``memory_format=minigrad.preserve_format``, as optimizers pass it, keeps input's layout)."""
    out = zeros(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)
    return _like_format("zeros_like", out, input, memory_format)


def ones_like(input: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None,
              memory_format: Any = None) -> Tensor:
    """Ones of input's shape, dtype (or dtype) and device (or device), as torch.ones_like."""
    out = ones(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)
    return _like_format("ones_like", out, input, memory_format)


def full_like(input: Tensor, fill_value: float, dtype: Any = None, requires_grad: bool = False, *,
              device: Any = None, memory_format: Any = None) -> Tensor:
    """fill_value in input's shape, dtype (or dtype) and device (or device), as torch.full_like."""
    out = full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device,
               requires_grad=requires_grad)
    return _like_format("full_like", out, input, memory_format)


def rand_like(input: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None,
              memory_format: Any = None) -> Tensor:
    """rand of input's shape, on its device (or device), with its dtype (or dtype; floating)."""
    out = rand(input.shape, dtype=dtype or _like_float(input), device=device or input.device,
               requires_grad=requires_grad)
    return _like_format("rand_like", out, input, memory_format)


def randn_like(input: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None,
               memory_format: Any = None) -> Tensor:
    """randn of input's shape, on its device (or device), with its dtype (or dtype; floating)."""
    out = randn(input.shape, dtype=dtype or _like_float(input), device=device or input.device,
                requires_grad=requires_grad)
    return _like_format("randn_like", out, input, memory_format)


def randint_like(input: Tensor, low: int, high: int | None = None, dtype: Any = None, *,
                 device: Any = None, memory_format: Any = None) -> Tensor:
    """randint of input's shape on its device (or device): [0, low) or [low, high), as torch.randint_like."""
    out = randint(low, high, input.shape, device=device or input.device)
    out = out if dtype is None and input.dtype == out.dtype else out.to(dtype or input.dtype)
    return _like_format("randint_like", out, input, memory_format)


def _like_float(input: Tensor) -> Any:
    """input's dtype for the float samplers; integer and bool inputs need an explicit dtype, as in PyTorch."""
    if input.dtype.kind != "f":
        raise TypeError(f"rand_like/randn_like: {input.dtype} is not a floating dtype; pass dtype=")
    return input.dtype


def rand(
    *args: Any, size: Any = None, generator: Generator | None = None, dtype: Any = None, device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform [0, 1) samples from minigrad's seeded generator (or ``generator``): rand(2, 3),
    rand((2, 3)) or rand(size=(2, 3))."""
    shape = _size_arg("rand", args, size)
    data = get_backend(device).uniform(_random.rng(generator), shape, 0.0, 1.0, _float_dtype(dtype))
    return _new(data, device, requires_grad)


def randn(
    *args: Any, size: Any = None, generator: Generator | None = None, dtype: Any = None, device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples from minigrad's seeded generator (or ``generator``): randn(2, 3),
    randn((2, 3)) or randn(size=(2, 3))."""
    shape = _size_arg("randn", args, size)
    data = get_backend(device).normal(_random.rng(generator), shape, 0.0, 1.0, _float_dtype(dtype))
    return _new(data, device, requires_grad)


def randint(
    low: int,
    high: int | None = None,
    size: Any = None,
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integer samples from [low, high), int64 unless dtype; randint(high, size) draws from [0, high);
    from minigrad's seeded generator (or ``generator``)."""
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint: size is required, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise ArgumentError(f"randint: high ({high}) must be greater than low ({low})")
    backend = get_backend(device)
    data = backend.randint(_random.rng(generator), low, high, _size((size,)))
    if dtype is not None and _normalize_dtype(dtype) != data.dtype:
        data = backend.astype(data, _normalize_dtype(dtype))
    return _new(data, device, requires_grad)


def normal(
    mean: Tensor | float,
    std: Tensor | float = 1.0,
    size: Any = None,
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal samples, as torch.normal: normal(mean, std) with either a tensor (one sample per
    element of their broadcast shape, the tensors' dtype and device), or normal(mean, std, size)
    with two numbers (then also dtype, device and requires_grad, as d2l's
    ``normal(0, 0.01, size=(n, k), requires_grad=True)``); from minigrad's seeded generator (or
    ``generator``). std must be >= 0. Not on the tape (PyTorch's result gives its inputs zero
    gradients)."""
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if tensors:
        if size is not None or requires_grad:
            raise TypeError("normal: size is only for a float mean and std (requires_grad too); a tensor gives "
                            "the shape")
        like = tensors[0]
        m = mean.detach() if isinstance(mean, Tensor) else float(mean)
        sd = std.detach() if isinstance(std, Tensor) else float(std)
        lowest = sd.amin().item() if isinstance(sd, Tensor) and sd.numel() else sd
        if isinstance(lowest, float) and lowest < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {lowest}")
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
        noise = randn(shape, generator=generator, dtype=dtype or like.dtype, device=device or like.device)
        return (noise * sd + m).detach()
    if size is None:
        raise TypeError("normal: with a float mean and std, pass size (e.g. normal(0.0, 1.0, (2, 3)))")
    if float(std) < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {float(std)}")
    noise = randn(size, generator=generator, dtype=dtype, device=device)
    return (noise * float(std) + float(mean)).detach().requires_grad_(requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from start up to (not including) end; int64 when all arguments are ints."""
    if end is None:
        start, end = 0, start
    # 0-d tensors (arange(n) with n a tensor) as their Python numbers, so that int ones give int64
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    _check_range(start, end, step)
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if ints else get_default_dtype()
    data = get_backend(device).arange(start, end, step, _normalize_dtype(dtype))
    return _new(data, device, requires_grad)


def _check_range(start: float, end: float, step: float) -> None:
    """PyTorch's checks of arange's arguments (ArgumentError, a RuntimeError as PyTorch's): a
    finite range and a nonzero step pointing from start towards end (numpy would give an empty
    result or divide by zero)."""
    if not all(np.isfinite(float(v)) for v in (start, end, step)):
        raise ArgumentError(f"arange: unsupported range: {start} -> {end} (step {step})")
    if step == 0:
        raise ArgumentError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ArgumentError(f"arange: upper bound and lower bound inconsistent with step sign "
                            f"(start {start}, end {end}, step {step})")


def as_tensor(data: Any, dtype: Any = None, device: str | None = None) -> Tensor:
    """data as a tensor, sharing memory where it can, as torch.as_tensor: a Tensor already of
    dtype and device is returned itself (otherwise converted with .to, on the tape), a CPU
    ndarray of a minigrad dtype shares its memory; anything else is copied (as tensor())."""
    if isinstance(data, Tensor):
        return data.to(*(a for a in (device, dtype) if a is not None))
    if isinstance(data, np.ndarray) and data.dtype in _DTYPES and resolve_device(device) == "cpu":
        if dtype is None or _normalize_dtype(dtype) == data.dtype:
            return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def _count(n: Any, op: str, what: str) -> int:
    """A non-negative integer count (RuntimeError naming op when negative, TypeError if not an int)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{op}: {what} must be an int, got {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"{op}: {what} must be greater or equal to 0, got {n}")
    return int(n)


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """steps values evenly spaced from start to end inclusive (float32 unless dtype), as
    torch.linspace: the first half stepped up from start, the second down from end."""
    values = _spaced("linspace", start, end, steps).astype(_float_dtype(dtype))
    return _new(get_backend(device).from_numpy(values), device, requires_grad)


def _spaced(op: str, start: float, end: float, steps: int) -> np.ndarray:
    """linspace's values in float64."""
    steps = _count(steps, op, "number of steps")
    start, end = float(start), float(end)
    i = np.arange(steps, dtype=np.float64)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    return np.where(i < steps // 2, start + i * step, end - (steps - 1 - i) * step) if steps > 1 else i + start


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """base ** linspace(start, end, steps): steps values spaced evenly on a log scale from
    base ** start to base ** end (float32 unless dtype), as torch.logspace."""
    values = np.power(float(base), _spaced("logspace", start, end, steps)).astype(_float_dtype(dtype))
    return _new(get_backend(device).from_numpy(values), device, requires_grad)


def _triangle_indices(op: str, row: int, col: int, offset: int, dtype: Any, device: str, upper: bool) -> Tensor:
    """triu_indices (upper) or tril_indices."""
    row, col = _count(row, op, "row"), _count(col, op, "col")
    rows, cols = (np.triu_indices if upper else np.tril_indices)(row, offset, col)
    return _new(get_backend(device).from_numpy(np.stack([rows, cols]).astype(_normalize_dtype(dtype))), device, False)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = int64, device: Any = None) -> Tensor:
    """The (2, N) coordinates (rows, then columns) of the upper triangle of a row x col matrix, on
    and above diagonal offset, in row-major order, as torch.triu_indices."""
    return _triangle_indices("triu_indices", row, col, offset, dtype, device, True)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = int64, device: Any = None) -> Tensor:
    """The (2, N) coordinates of the lower triangle of a row x col matrix, on and below diagonal
    offset, in row-major order, as torch.tril_indices."""
    return _triangle_indices("tril_indices", row, col, offset, dtype, device, False)


def eye(
    n: int, m: int | None = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """An n x m (n x n) matrix with ones on the diagonal, float32 unless dtype, as torch.eye."""
    n = _count(n, "eye", "n")
    m = n if m is None else _count(m, "eye", "m")
    return _new(get_backend(device).from_numpy(np.eye(n, m, dtype=_float_dtype(dtype))), device, requires_grad)


def randperm(
    n: int, *, generator: Generator | None = None, dtype: Any = int64, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 unless dtype) from minigrad's seeded generator (or
    ``generator``)."""
    n = _count(n, "randperm", "n")
    values = _random.rng(generator).permutation(n).astype(_normalize_dtype(dtype))
    return _new(get_backend(device).from_numpy(values), device, requires_grad)


def _probabilities(op: str, input: Tensor, dtype_error: type[Exception] = DtypeError) -> np.ndarray:
    """input's values on the host, a floating tensor of finite values >= 0 (RuntimeError otherwise;
    dtype_error, PyTorch's class for op, for another dtype)."""
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        got = getattr(input, "dtype", type(input).__name__)
        raise dtype_error(f"{op}: expected a floating-point tensor of probabilities, got {got}")
    p = input._host()
    if not np.all(np.isfinite(p) & (p >= 0)):
        raise RuntimeError(f"{op}: probability tensor contains either `inf`, `nan` or element < 0")
    return p


def bernoulli(input: Tensor, *, generator: Generator | None = None) -> Tensor:
    """1 with probability input, else 0, elementwise (input's dtype and device), as torch.bernoulli;
    from minigrad's seeded generator (or ``generator``). Probabilities outside [0, 1] are an error."""
    if np.any(_probabilities("bernoulli", input, UnsupportedDtypeError) > 1):
        raise RuntimeError("bernoulli: expected 0 <= p <= 1 for every element")
    u = get_backend(input.device).uniform(_random.rng(generator), input.shape, 0.0, 1.0, input.dtype)
    return (Tensor._make(u, input.device) < input.detach()).to(input.dtype)


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:
    """A Poisson draw for each rate of input (input's dtype and device, whole numbers), as
    torch.poisson: from minigrad's seeded generator (or ``generator``), numpy's sampler. As
    PyTorch's, the draws are recorded with a zero gradient for input. Negative or NaN rates are an
    error."""
    from minigrad.autograd import name_node  # noqa: PLC0415 (they import tensor, which imports this)
    from minigrad.functional.elementwise import with_zero_gradient  # noqa: PLC0415

    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        got = getattr(input, "dtype", type(input).__name__)
        raise UnsupportedDtypeError(f'"poisson_cpu" not implemented for {got}')
    rates = input._host()
    if not np.all(rates >= 0):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    draws = np.asarray(_random.rng(generator).poisson(rates.astype(np.float64)), dtype=input.dtype)
    out = Tensor._make(get_backend(input.device).from_numpy(draws), input.device)
    return name_node(with_zero_gradient(out, input), "PoissonBackward0")


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Generator | None = None
) -> Tensor:
    """num_samples int64 category indices per row of the (1-D or 2-D) non-negative weights input,
    as torch.multinomial; without replacement each index at most once per row (zero-weight
    categories only after the others run out). From minigrad's seeded generator (or ``generator``),
    on the host."""
    p = _probabilities("multinomial", input)
    if p.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {input.shape}")
    num_samples = _count(num_samples, "multinomial", "num_samples")
    if num_samples == 0:
        raise RuntimeError("multinomial: cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > p.shape[-1]:
        raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if p.shape[-1] == 0:
        raise ArgumentError("multinomial: cannot sample from a distribution over 0 categories")
    rows = p.reshape(-1, p.shape[-1]).astype(np.float64)
    totals = rows.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    rng = _random.rng(generator)
    if replacement:
        cumulative = np.cumsum(rows / totals, axis=1)
        draws = rng.random((rows.shape[0], num_samples))
        picks = np.array([np.searchsorted(c, d, side="right") for c, d in zip(cumulative, draws, strict=True)],
                         dtype=int64).reshape(draws.shape)  # (0, num_samples) for no rows
        picks = np.minimum(picks, rows.shape[1] - 1)
    else:  # the num_samples largest p / Exp(1) keys: sampling without replacement
        keys = rows / rng.exponential(size=rows.shape)
        picks = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    picks = picks.astype(int64).reshape(p.shape[:-1] + (num_samples,))
    return Tensor._make(get_backend(input.device).from_numpy(picks), input.device)


class _LegacyType(type):
    """The metaclass of PyTorch's legacy tensor types (FloatTensor, LongTensor, ...): calling one
    makes a tensor, ``isinstance(x, FloatTensor)`` checks x's dtype (on the CPU, as PyTorch's), and
    ``x.type(FloatTensor)`` converts to it."""

    dtype: np.dtype

    def __call__(cls, *args: Any, device: str = "cpu") -> Tensor:
        if len(args) == 1 and not isinstance(args[0], (int, np.integer, Size)):
            return tensor(args[0], dtype=cls.dtype, device=device)  # FloatTensor([1, 2]): from data
        return empty(*(args or (0,)), dtype=cls.dtype, device=device)  # FloatTensor(2, 3) or (Size): uninitialised

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and obj.device == "cpu"


def _legacy_type(name: str, dtype: np.dtype) -> _LegacyType:
    doc = (f"PyTorch's legacy {name}: {name}(data) copies data as {dtype} (tensor(data, dtype=...)); "
           f"{name}(*size) or {name}(Size) is an uninitialised {dtype} tensor of that size; "
           f"isinstance(x, {name}) is whether x is a CPU {dtype} tensor.")
    return _LegacyType(name, (), {"dtype": dtype, "__doc__": doc, "__module__": "minigrad"})


FloatTensor = _legacy_type("FloatTensor", float32)
DoubleTensor = _legacy_type("DoubleTensor", float64)
LongTensor = _legacy_type("LongTensor", int64)
IntTensor = _legacy_type("IntTensor", int32)
ShortTensor = _legacy_type("ShortTensor", int16)
CharTensor = _legacy_type("CharTensor", int8)
ByteTensor = _legacy_type("ByteTensor", uint8)
BoolTensor = _legacy_type("BoolTensor", bool_)


# --- PyTorch's other creation functions: range, asarray, frombuffer, scalar_tensor, fill, windows ---


def range(  # noqa: A001 (PyTorch's name)
    start: float,
    end: float,
    step: float = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values start, start + step, ... up to end inclusive, in the default float dtype unless dtype
    (integers too), as the deprecated torch.range (which warns so too: use arange, which excludes
    end). The values are computed in float64, then converted."""
    import warnings

    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=2)
    start, end, step = float(start), float(end), float(step)
    if step == 0:
        raise RuntimeError("range: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("range: upper bound and lower bound inconsistent with step sign")
    count = int(np.floor((end - start) / step)) + 1
    values = (start + np.arange(count, dtype=np.float64) * step).astype(_float_dtype(dtype))
    return _new(get_backend(device).from_numpy(values), device, requires_grad)


def asarray(
    obj: Any, *, dtype: Any = None, device: str | None = None, copy: bool | None = None, requires_grad: bool = False
) -> Tensor:
    """obj as a tensor, as torch.asarray: as_tensor's memory sharing (a Tensor already of dtype and
    device is returned itself, a CPU ndarray of a minigrad dtype shared), copy=True always copies
    (on the tape, for a tensor), copy=False refuses to (ValueError where it would have to)."""
    if copy is False and not isinstance(obj, (Tensor, np.ndarray)):
        raise ValueError(f"asarray: can't alias a {type(obj).__name__} into a tensor (copy=False)")
    out = as_tensor(obj, dtype=dtype, device=device)
    if copy is False and not (out is obj or (isinstance(obj, np.ndarray) and np.shares_memory(out._data, obj))):
        raise ValueError("asarray: a copy is needed to give the requested dtype or device (copy=False)")
    if copy and (out is obj or isinstance(obj, np.ndarray)):
        out = out.clone()
    if requires_grad and not out.requires_grad:
        out = (out.detach() if out is obj else out).requires_grad_(True)
    return out


def frombuffer(
    buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0, requires_grad: bool = False
) -> Tensor:
    """A 1-D CPU tensor over the memory of an object exposing the buffer protocol (bytes, bytearray,
    array.array, ...), count elements of dtype from byte offset (-1: to the end), as
    torch.frombuffer; it shares that memory (read-only buffers give a tensor that cannot be written)."""
    array = np.frombuffer(buffer, dtype=_normalize_dtype(dtype), count=count, offset=offset)
    return _new(array, "cpu", requires_grad)


def scalar_tensor(s: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor holding s, in the default float dtype unless dtype, as torch.scalar_tensor."""
    return full((), s, dtype=_float_dtype(dtype), device=device, requires_grad=requires_grad)


def fill(input: Tensor, value: Any) -> Tensor:
    """A tensor of input's shape, dtype and device filled with value (a number or a 0-d tensor, whose
    gradient is then the sum), as torch.fill."""
    from minigrad.functional import cast, expand

    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               "dimensions")
        return expand(cast(value, input.dtype), input.shape).clone()
    return full_like(input, value)


def _window(
    op: str, window_length: int, periodic: bool, dtype: Any, device: str, requires_grad: bool, values: Any
) -> Tensor:
    """A window function's tensor: values(n, m), n = 0..m-1 in float64 with m = window_length (+1 when
    periodic: the last point is dropped), converted to dtype (a floating one)."""
    dt = _float_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{op} expects floating point dtypes, got {dt}")
    n = _count(window_length, op, "window_length")
    if n <= 1:
        return _new(get_backend(device).full((n,), 1, dt), device, requires_grad)
    m = n + 1 if periodic else n
    window = values(np.arange(n, dtype=np.float64), m)
    return _new(get_backend(device).from_numpy(np.ascontiguousarray(window.astype(dt))), device, requires_grad)


def hamming_window(
    window_length: int,
    periodic: bool = True,
    alpha: float = 0.54,
    beta: float = 0.46,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """alpha - beta * cos(2 pi n / (N - 1)), as torch.hamming_window (periodic: N = window_length + 1)."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda i, m: alpha - beta * np.cos(2 * np.pi * i / (m - 1)))


def hann_window(
    window_length: int, periodic: bool = True, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """0.5 - 0.5 * cos(2 pi n / (N - 1)), as torch.hann_window (periodic: N = window_length + 1)."""
    return hamming_window(window_length, periodic, 0.5, 0.5, dtype=dtype, device=device, requires_grad=requires_grad)


def bartlett_window(
    window_length: int, periodic: bool = True, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """The triangle 1 - |2n / (N - 1) - 1|, as torch.bartlett_window (periodic: N = window_length + 1)."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda i, m: 1 - np.abs(2 * i / (m - 1) - 1))


def blackman_window(
    window_length: int, periodic: bool = True, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1)), as torch.blackman_window."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   lambda i, m: 0.42 - 0.5 * np.cos(2 * np.pi * i / (m - 1)) + 0.08 * np.cos(4 * np.pi * i / (m - 1)))


def kaiser_window(
    window_length: int,
    periodic: bool = True,
    beta: float = 12.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """I0(beta * sqrt(1 - (2n / (N - 1) - 1)**2)) / I0(beta), as torch.kaiser_window (periodic: N =
    window_length + 1)."""
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   lambda i, m: np.i0(beta * np.sqrt(np.clip(1 - (2 * i / (m - 1) - 1) ** 2, 0, None))) / np.i0(beta))
