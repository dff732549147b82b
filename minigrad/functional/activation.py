"""The rest of PyTorch's activation functions, composed of differentiable ops (so they run on
every device): hardtanh, relu6, hardsigmoid, hardswish, logsigmoid, softsign, softmin, selu,
celu, prelu, rrelu, threshold, tanhshrink, softshrink, hardshrink, glu; gumbel_softmax; and the
in-place forms torch.nn.functional names with a trailing underscore (relu_, elu_, ...).

Where PyTorch's derivative at a kink differs from what the plain composition would give
(hardtanh, hardsigmoid and hardswish take their outer pieces' gradients at their bounds), the
composition is arranged to give PyTorch's."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from minigrad import random as _random
from minigrad.autograd import Function
from minigrad.backend import get_backend
from minigrad.functional._common import ArgumentError, DtypeError, ShapeError, _require_float
from minigrad.functional.elementwise import abs, clamp, expm1, where
from minigrad.functional.nn import elu, leaky_relu, relu, sigmoid, softmax, tanh
from minigrad.functional.shape import chunk, scatter
from minigrad.tensor import Tensor

# SELU's constants (Klambauer et al. 2017), PyTorch's digits
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _inplace(name: str, input: Tensor, inplace: bool, compute: Callable[[Tensor], Tensor]) -> Tensor:
    """compute(input), written into input when inplace (as PyTorch's inplace=True)."""
    _require_float(name, input)
    return input._inplace(name, compute) if inplace else compute(input)


def _is_integer(input: Any) -> bool:
    """Whether input is an integer (not bool) tensor: what relu, hardtanh and threshold take as PyTorch does."""
    return isinstance(input, Tensor) and input.dtype.kind in "iu"


def _integer_inplace(name: str, input: Tensor, inplace: bool, compute: Callable[[Tensor], Tensor]) -> Tensor:
    """_inplace for an integer tensor (no gradient to keep)."""
    return input._inplace(name, compute) if inplace else compute(input)


# hardtanh, hardsigmoid and hardswish are one op each: composed of comparisons, & and where,
# relu6 took 60x PyTorch's time (the & of two masks goes through int64 counts). Their inputs are
# saved as given: an inplace call runs them on a copy (Tensor._inplace).


class HardtanhOp(Function):
    """clamp(a, low, high); the gradient passes where low < a < high only (not nan), as PyTorch's
    vectorised loop (its scalar loop, for the last elements of some lengths, passes nan's)."""

    __slots__ = ("low", "high")

    def forward(self, a, low, high):
        self.low, self.high = low, high
        self.saved = (a,)
        return self.be.hardtanh(a, low, high)

    def backward(self, g):
        # One kernel pass: composed of two compares and two wheres, it took 12.5 ms on a
        # MobileNet block's 64 x 96 x 32 x 32 floats (PyTorch 2.2).
        return (self.be.hardtanh_backward(g, self.saved[0], self.low, self.high),)


class HardsigmoidOp(Function):
    """clamp(a + 3, 0, 6) / 6; gradient g / 6 where -3 < a < 3 (not nan), else zero, as PyTorch."""

    __slots__ = ()

    def forward(self, a):
        be = self.be
        self.saved = (a,)
        return be.div(be.clamp(be.add(a, 3.0), 0.0, 6.0), 6.0)

    def backward(self, g):
        be, (a,) = self.be, self.saved
        zero = be.full((), 0, g.dtype)
        return (be.where(be.compare("gt", a, -3.0), be.where(be.compare("lt", a, 3.0), be.div(g, 6.0), zero), zero),)


class HardswishOp(Function):
    """a * clamp(a + 3, 0, 6) / 6 (-0 below -3, nan at -inf, as PyTorch); gradient zero where
    a <= -3, g * (a / 3 + 1/2) where a < 3, else g (nan and inf included), as PyTorch."""

    __slots__ = ()

    def forward(self, a):
        be = self.be
        self.saved = (a,)
        return be.div(be.mul(a, be.clamp(be.add(a, 3.0), 0.0, 6.0)), 6.0)

    def backward(self, g):
        be, (a,) = self.be, self.saved
        zero = be.full((), 0, g.dtype)
        inside = be.mul(g, be.add(be.div(a, 3.0), 0.5))
        return (be.where(be.compare("le", a, -3.0), zero, be.where(be.compare("lt", a, 3.0), inside, g)),)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """input clamped to [min_val, max_val]; the gradient passes only strictly inside."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} cannot be greater than max_val {max_val}")
    if _is_integer(input):  # PyTorch clamps integers to the bounds' integer parts
        low, high = int(min_val), int(max_val)
        return _integer_inplace("hardtanh", input, inplace, lambda x: clamp(x, low, high))
    return _inplace("hardtanh", input, inplace, lambda x: HardtanhOp.apply(x, low=min_val, high=max_val))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(input, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(input + 3) / 6; gradient 1/6 strictly between -3 and 3."""
    return _inplace("hardsigmoid", input, inplace, HardsigmoidOp.apply)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """input * relu6(input + 3) / 6; gradient x / 3 + 1/2 strictly between -3 and 3, 0 below, 1 above."""
    return _inplace("hardswish", input, inplace, HardswishOp.apply)


class LogSigmoidOp(Function):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)) (no overflow); gradient sigmoid(-x)."""

    __slots__ = ()

    def forward(self, a):
        be = self.be
        self.saved = (a,)
        return be.sub(be.where(be.compare("lt", a, 0), a, 0), be.log1p(be.exp(be.neg(be.abs(a)))))

    def backward(self, g):
        return (self.be.mul(g, self.be.sigmoid(self.be.neg(self.saved[0]))),)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(input)), stable for large |input|."""
    _require_float("logsigmoid", input)
    return LogSigmoidOp.apply(input)


def softsign(input: Tensor) -> Tensor:
    """input / (1 + |input|)."""
    _require_float("softsign", input)
    return input / (abs(input) + 1)


def softmin(input: Tensor, dim: int | None = None) -> Tensor:
    """softmax(-input) over dim."""
    _require_float("softmin", input)
    return softmax(-input, dim)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """SELU_SCALE * elu(input, SELU_ALPHA): self-normalizing."""
    return _inplace("selu", input, inplace, lambda x: elu(x, SELU_ALPHA) * SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """input where positive, alpha * (exp(input / alpha) - 1) elsewhere."""
    if alpha == 0:
        raise ArgumentError("celu: alpha must not be 0")

    def compute(x: Tensor) -> Tensor:
        # clamped: the negative branch stays finite where it is not taken (its zero gradient too)
        return where(x > 0, x, expm1(clamp(x, max=0.0) / alpha) * alpha)

    return _inplace("celu", input, inplace, compute)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """input where positive, weight * input elsewhere; weight has 1 or C (input's dim 1) values."""
    _require_float("prelu", input, weight)
    if weight.dtype != input.dtype:  # PyTorch does not promote
        raise DtypeError(f"prelu: Type promoting not supported. Got {input.dtype} and {weight.dtype}")
    if weight.ndim > 1 or (weight.numel() != 1 and (input.ndim < 2 or weight.numel() != input.shape[1])):
        channels = input.shape[1] if input.ndim >= 2 else 1
        raise ShapeError(f"prelu: weight must hold 1 or {channels} values (input's channels), got shape {weight.shape}")
    if weight.numel() != 1:  # one slope per channel: (C, 1, ..., 1) against input's dims after the batch
        weight = weight.reshape((-1,) + (1,) * (input.ndim - 2))
    return where(input > 0, input, weight * input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU, as PyTorch's: in training each element <= 0 is multiplied by its own
    slope drawn from U(lower, upper) (minigrad's generator), which is also its gradient; otherwise
    leaky_relu with the fixed slope (lower + upper) / 2."""
    _require_float("rrelu", input)
    if lower > upper:
        raise RuntimeError(f"rrelu: Lower bound should be less than or equal to the upper bound, got lower={lower} "
                           f"and upper={upper}")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)

    def compute(x: Tensor) -> Tensor:
        be = get_backend(x.device)
        slopes = Tensor._make(be.uniform(_random.rng(None), tuple(x.shape), lower, upper, x.dtype), x.device)
        return where(x <= 0, x * slopes, x)

    return _inplace("rrelu", input, inplace, compute)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """rrelu written into input, as torch.nn.functional.rrelu_."""
    return rrelu(input, lower, upper, training, inplace=True)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """value where input <= threshold, else input (NaN stays NaN, as PyTorch's); for integer
    tensors value's integer part, as PyTorch's."""
    if _is_integer(input):
        return _integer_inplace("threshold", input, inplace, lambda x: where(x <= threshold, int(value), x))
    return _inplace("threshold", input, inplace, lambda x: where(x <= threshold, value, x))


_threshold = threshold  # for threshold_, whose argument of that name (PyTorch's) hides the function


# torch.nn.functional's in-place forms (rrelu_ is above)


def relu_(input: Tensor) -> Tensor:
    """relu written into input, as torch.nn.functional.relu_."""
    return relu(input, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """elu written into input, as torch.nn.functional.elu_."""
    return elu(input, alpha, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """leaky_relu written into input, as torch.nn.functional.leaky_relu_."""
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """hardtanh written into input, as torch.nn.functional.hardtanh_."""
    return hardtanh(input, min_val, max_val, inplace=True)


def selu_(input: Tensor) -> Tensor:
    """selu written into input, as torch.nn.functional.selu_ (and torch.selu_)."""
    return selu(input, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """celu written into input, as torch.nn.functional.celu_ (and torch.celu_)."""
    return celu(input, alpha, inplace=True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """threshold written into input, as torch.nn.functional.threshold_ (and torch.threshold_)."""
    return _threshold(input, threshold, value, inplace=True)


def tanhshrink(input: Tensor) -> Tensor:
    """input - tanh(input)."""
    _require_float("tanhshrink", input)
    return input - tanh(input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input moved towards 0 by lambd, 0 where |input| <= lambd."""
    _require_float("softshrink", input)
    if lambd < 0:
        raise ArgumentError(f"softshrink: lambd must be >= 0, got {lambd}")
    return where(abs(input) <= lambd, 0.0, where(input > lambd, input - lambd, input + lambd))  # nan stays


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input where |input| > lambd, else 0."""
    _require_float("hardshrink", input)
    return where(abs(input) <= lambd, 0.0, input)  # nan stays


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), a and b the two halves of input along dim (its size must be even)."""
    _require_float("glu", input)
    if input.ndim == 0:
        raise ShapeError("glu: a 0-d tensor has no dimension to halve")
    size = input.shape[dim]
    if size % 2:
        raise ShapeError(f"glu: halving dimension {dim} must be even, got size {size}")  # RuntimeError too
    a, b = chunk(input, 2, dim)
    return a * sigmoid(b)


__all__ = [
    "SELU_ALPHA",
    "SELU_SCALE",
    "celu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "logsigmoid",
    "prelu",
    "relu6",
    "rrelu",
    "rrelu_",
    "selu",
    "softmin",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
]


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """A sample of the Gumbel-softmax (concrete) distribution over dim, as PyTorch's:
    softmax((logits + g) / tau) with g = -log(E), E exponential draws of minigrad's generator.
    hard=True returns the one-hot of its argmax along dim with the straight-through estimator
    (y_hard - y_soft.detach() + y_soft): the values are one-hot, the gradient is the soft
    sample's. eps is deprecated and unused, as in PyTorch (another value warns)."""
    _require_float("gumbel_softmax", logits)
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -logits.new_empty(logits.shape).exponential_().log()
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.detach().argmax(dim, keepdim=True)
    y_hard = scatter(logits.new_zeros(logits.shape), dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
