"""The rest of PyTorch's activation functions, composed of differentiable ops (so they run on
every device): hardtanh, relu6, hardsigmoid, hardswish, logsigmoid, softsign, softmin, selu,
celu, prelu, threshold, tanhshrink, softshrink, hardshrink, glu.

Where PyTorch's derivative at a kink differs from what the plain composition would give
(hardtanh, hardsigmoid and hardswish take their outer pieces' gradients at their bounds), the
composition is arranged to give PyTorch's."""

from __future__ import annotations

from collections.abc import Callable

from minigrad.autograd import Function
from minigrad.functional._common import _require_float
from minigrad.functional.elementwise import abs, clamp, expm1, where
from minigrad.functional.nn import elu, sigmoid, softmax, tanh
from minigrad.functional.shape import chunk
from minigrad.tensor import Tensor

# SELU's constants (Klambauer et al. 2017), PyTorch's digits
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _inplace(name: str, input: Tensor, inplace: bool, compute: Callable[[Tensor], Tensor]) -> Tensor:
    """compute(input), written into input when inplace (as PyTorch's inplace=True)."""
    _require_float(name, input)
    return input._inplace(name, compute) if inplace else compute(input)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """input clamped to [min_val, max_val]; the gradient passes only strictly inside."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} cannot be greater than max_val {max_val}")

    def compute(x: Tensor) -> Tensor:
        inside = (x > min_val) & (x < max_val)
        return where(inside, x, clamp(x, min_val, max_val).detach())

    return _inplace("hardtanh", input, inplace, compute)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(input, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(input + 3) / 6; gradient 1/6 strictly between -3 and 3."""
    return _inplace("hardsigmoid", input, inplace, lambda x: hardtanh((x + 3.0) / 6, 0.0, 1.0))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """input * relu6(input + 3) / 6; gradient x / 3 + 1/2 strictly between -3 and 3, 0 below, 1 above."""

    def compute(x: Tensor) -> Tensor:
        return where((x > -3.0) & (x < 3.0), x * (x + 3.0) / 6, where(x <= -3.0, x * 0, x))  # -0, nan: as PyTorch

    return _inplace("hardswish", input, inplace, compute)


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
        raise ValueError("celu: alpha must not be 0")

    def compute(x: Tensor) -> Tensor:
        # clamped: the negative branch stays finite where it is not taken (its zero gradient too)
        return where(x > 0, x, expm1(clamp(x, max=0.0) / alpha) * alpha)

    return _inplace("celu", input, inplace, compute)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """input where positive, weight * input elsewhere; weight has 1 or C (input's dim 1) values."""
    _require_float("prelu", input, weight)
    if weight.ndim > 1 or (weight.numel() != 1 and (input.ndim < 2 or weight.numel() != input.shape[1])):
        channels = input.shape[1] if input.ndim >= 2 else 1
        raise ValueError(f"prelu: weight must hold 1 or {channels} values (input's channels), got shape {weight.shape}")
    if weight.numel() != 1:  # one slope per channel: (C, 1, ..., 1) against input's dims after the batch
        weight = weight.reshape((-1,) + (1,) * (input.ndim - 2))
    return where(input > 0, input, weight * input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """input where input > threshold, else value."""
    return _inplace("threshold", input, inplace, lambda x: where(x > threshold, x, value))


def tanhshrink(input: Tensor) -> Tensor:
    """input - tanh(input)."""
    _require_float("tanhshrink", input)
    return input - tanh(input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input moved towards 0 by lambd, 0 where |input| <= lambd."""
    _require_float("softshrink", input)
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    return where(abs(input) <= lambd, 0.0, where(input > lambd, input - lambd, input + lambd))  # nan stays


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input where |input| > lambd, else 0."""
    _require_float("hardshrink", input)
    return where(abs(input) <= lambd, 0.0, input)  # nan stays


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), a and b the two halves of input along dim (its size must be even)."""
    _require_float("glu", input)
    if input.ndim == 0:
        raise ValueError("glu: a 0-d tensor has no dimension to halve")
    size = input.shape[dim]
    if size % 2:
        raise ValueError(f"glu: halving dimension {dim} must be even, got size {size}")
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
    "selu",
    "softmin",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
]
