"""Elementwise ops with broadcasting (arithmetic, exp/log and the other math functions, clamp,
casts, where, comparisons, addcmul/addcdiv/lerp, atan2, copysign, the bitwise ops, ...)."""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import Function, name_node
from minigrad.backend import get_backend
from minigrad.functional._common import (
    ArgumentError,
    DtypeError,
    IntegerDivisionByZeroError,
    NoKernelForDtypeError,
    Number,
    ShapeError,
    UnsupportedDtypeError,
    _broadcast_shape,
    _from_host,
    _require_float,
    _require_same_device,
    _require_tensor,
    _result_dtype,
    _sum_to,
)
from minigrad.tensor import Tensor, _normalize_dtype, get_default_dtype, int64


def _constant(value: Any, like: Tensor) -> Tensor:
    """A Python number or array as a tensor on like's device, typed to combine with like."""
    if isinstance(value, Number):
        if like.dtype.kind == "f":
            dtype = like.dtype
        elif isinstance(value, (float, np.floating)):
            dtype = get_default_dtype()
        elif isinstance(value, (bool, np.bool_)) and like.dtype.kind == "b":
            dtype = like.dtype
        else:
            dtype = int64
        if like.device == "cpu":  # np.full's Python wrapper took 0.8 us, a tenth of `x * 2.0`
            return Tensor._make(np.array(value, dtype), like.device)
        return Tensor._make(get_backend(like.device).full((), value, dtype), like.device)
    if like.device != "cpu":
        raise TypeError(f"cannot combine a {type(value).__name__} with a {like.device} tensor")
    return Tensor._wrap(value)


def _operands(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of one dtype (casts stay on the tape); at least one is a Tensor."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")
    if not isinstance(a, Tensor):
        a = _constant(a, b)
    elif not isinstance(b, Tensor):
        b = _constant(b, a)
    if a.dtype != b.dtype:
        # As PyTorch: a 0-d tensor's dtype only counts when its kind (bool < int < float) is
        # above the other operand's; otherwise the tensor with dimensions decides.
        if (a.ndim == 0) != (b.ndim == 0) and _KIND_RANK[a.dtype.kind] == _KIND_RANK[b.dtype.kind]:
            dt = b.dtype if a.ndim == 0 else a.dtype
        else:
            dt = _result_dtype(a.dtype, b.dtype)
        a, b = cast(a, dt), cast(b, dt)
    return a, b


_KIND_RANK = {"b": 0, "i": 1, "u": 1, "f": 2}


def _shape(saved: Any) -> tuple:
    """The shape of a saved operand, or the shape saved in its place."""
    return saved if isinstance(saved, tuple) else saved.shape


def _binary(cls: type[Function], name: str, a: Any, b: Any, **options: Any) -> Tensor:
    a, b = _operands(a, b)
    try:
        return cls.apply(a, b, **options)
    except ValueError as e:
        if a.ndim and b.ndim and "broadcast" in str(e):
            raise ShapeError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
        raise



# --- elementwise arithmetic (numpy via the backend) -----------------------------------------


class AddOp(Function):
    __slots__ = ()

    def forward(self, a, b):
        self.saved = (a.shape, b.shape)
        return self.be.add(a, b)

    def backward(self, g):
        sa, sb = self.saved
        return _sum_to(self.be, g, sa), _sum_to(self.be, g, sb)


class SubOp(Function):
    __slots__ = ()

    def forward(self, a, b):
        self.saved = (a.shape, b.shape)
        return self.be.sub(a, b)

    def backward(self, g):
        sa, sb = self.saved
        gb = _sum_to(self.be, self.be.neg(g), sb) if self.needs_grad(1) else None
        return _sum_to(self.be, g, sa), gb


class MulOp(Function):
    __slots__ = ()

    def forward(self, a, b):
        # each operand is saved only for the other's gradient
        self.saved = (a if self.needs_grad(1) else a.shape, b if self.needs_grad(0) else b.shape)
        return self.be.mul(a, b)

    def backward(self, g):
        a, b = self.saved
        be = self.be
        ga = _sum_to(be, be.mul(g, b), _shape(a)) if self.needs_grad(0) else None
        gb = _sum_to(be, be.mul(g, a), _shape(b)) if self.needs_grad(1) else None
        return ga, gb


class DivOp(Function):
    __slots__ = ()

    def forward(self, a, b):
        self.saved = (a if self.needs_grad(1) else a.shape, b)  # a only for b's gradient
        return self.be.div(a, b)

    def backward(self, g):
        a, b = self.saved
        be = self.be
        ga = be.div(g, b)
        gb = _sum_to(be, be.neg(be.div(be.mul(ga, a), b)), b.shape) if self.needs_grad(1) else None
        return _sum_to(be, ga, _shape(a)), gb


class PowOp(Function):
    """a ** b with both a tensor. Gradients as PyTorch's at the edges: 0 for a where b == 0,
    0 for b where a == 0 and b >= 0 (the formulas give 0 * inf = nan there)."""

    __slots__ = ()

    def forward(self, a, b):
        out = _integer_pow(self.be, a, b) if a.dtype.kind in "iu" else self.be.pow(a, b)
        self.saved = (a, b, out)
        return out

    def backward(self, g):
        a, b, out = self.saved
        be = self.be
        ga = gb = None
        # the edge cases take safe operands (a ** 1, log 1) rather than masking a nan afterwards
        if self.needs_grad(0):
            exponent = be.where(be.compare("eq", b, 0), 0, be.sub(b, 1))  # b * a ** 0 = 0 where b == 0, a = inf too
            ga = _sum_to(be, be.mul(g, be.mul(b, be.pow(a, exponent))), a.shape)
        if self.needs_grad(1):
            base_zero = be.logical("logical_and", be.compare("eq", a, 0), be.compare("ge", b, 0))
            log_a = be.log(be.where(base_zero, 1, a))  # out * log 1 = 0 where a == 0 and b >= 0
            gb = _sum_to(be, be.mul(g, be.mul(out, log_a)), b.shape)
        return ga, gb


def _integer_pow(be: Any, a: Any, b: Any) -> Any:
    """a ** b of integer arrays as PyTorch computes them: a negative exponent gives 0, except for
    the bases 1 and -1 (whose powers are +-1), where numpy refuses negative exponents. A negative
    exponent becomes |b + 2|, of b's parity (which is all a base of +-1 needs) and, unlike |b|,
    never negative (|int64 min| is itself); powers that overflow wrap, as PyTorch's."""
    out = be.pow(a, be.where(be.compare("lt", b, 0), be.abs(be.add(b, be.full((), 2, b.dtype))), b))
    vanishes = be.logical("logical_and", be.compare("lt", b, 0), be.compare("ne", be.abs(a), 1))
    return be.where(vanishes, be.full((), 0, out.dtype), out)


def _pow_scalar(be: Any, a: Any, p: Any) -> Any:
    """a ** p with PyTorch's special exponents: 0.5 is sqrt and -0.5 is 1 / sqrt, which differ from
    pow at -0.0 and -inf (sqrt(-0.0) = -0.0, sqrt(-inf) = nan)."""
    if p == 0.5:
        return be.sqrt(a)
    if p == -0.5:
        return be.div(1, be.sqrt(a))
    return be.pow(a, p)


class PowScalarOp(Function):
    __slots__ = ("exponent",)

    def forward(self, a, exponent):
        self.exponent = exponent
        self.saved = (a,)
        return _pow_scalar(self.be, a, exponent)

    def backward(self, g):
        (a,) = self.saved
        p = self.exponent
        if p == 0:  # d(a**0)/da = 0, also at a = 0 where the formula gives 0 * inf
            return (self.be.full(a.shape, 0, g.dtype),)
        return (self.be.mul(g, self.be.mul(_pow_scalar(self.be, a, p - 1), p)),)


class NegOp(Function):
    __slots__ = ()

    def forward(self, a):
        return self.be.neg(a)

    def backward(self, g):
        return (self.be.neg(g),)


class ExpOp(Function):
    __slots__ = ()

    def forward(self, a):
        out = self.be.exp(a)
        self.saved = (out,)
        return out

    def backward(self, g):
        return (self.be.mul(g, self.saved[0]),)


class LogOp(Function):
    __slots__ = ()

    def forward(self, a):
        self.saved = (a,)
        return self.be.log(a)

    def backward(self, g):
        return (self.be.div(g, self.saved[0]),)


class SqrtOp(Function):
    __slots__ = ()

    def forward(self, a):
        out = self.be.sqrt(a)
        self.saved = (out,)
        return out

    def backward(self, g):
        return (self.be.div(g, self.be.mul(self.saved[0], 2)),)


class AbsOp(Function):
    __slots__ = ()

    def forward(self, a):
        self.saved = (a,)
        return self.be.abs(a)

    def backward(self, g):
        a = self.saved[0]
        be = self.be
        return (be.mul(g, be.where(be.compare("ne", a, a), 0, be.sign(a))),)  # 0 at NaN, as PyTorch


class ClampOp(Function):
    """Gradient passes where low <= a <= high, as PyTorch."""

    __slots__ = ()

    def forward(self, a, low, high):
        out = self.be.clamp(a, low, high)
        # low <= a <= high exactly where clamping left a as it was (nan: neither), unless low > high
        # (every value is then high, and no gradient passes, as PyTorch's)
        if low is not None and high is not None and low > high:
            self.saved = (self.be.full(a.shape, False, np.bool_),)
        else:
            self.saved = (self.be.compare("eq", out, a),)
        return out

    def backward(self, g):
        return (self.be.where(self.saved[0], g, self.be.full((), 0, g.dtype)),)  # cuda: no bool * float

    def _torch_name(self) -> str:
        return "ClampBackward1"  # PyTorch's node for number bounds (ClampBackward0: tensor bounds)


class CastOp(Function):
    __slots__ = ("in_dtype",)

    def forward(self, a, dtype):
        self.in_dtype = a.dtype
        return self.be.astype(a, dtype)

    def backward(self, g):
        return (self.be.astype(g, self.in_dtype),)


class CloneOp(Function):
    __slots__ = ()

    def forward(self, a):
        return self.be.copy(a)

    def backward(self, g):
        return (g,)


class ToDeviceOp(Function):
    """Copy to another device; the gradient is copied back."""

    __slots__ = ("dst",)

    def forward(self, a, device):
        self.dst = get_backend(device)
        return self.dst.from_numpy(self.be.to_numpy(a))

    def backward(self, g):
        return (self.be.from_numpy(self.dst.to_numpy(g)),)


class ScaledAddOp(Function):
    """a + alpha * b of float arrays rounded once, as PyTorch's fused multiply-add (the add_scaled
    kernel; operands that broadcast are expanded first): torch.add and torch.sub (alpha negated)
    with alpha. node is PyTorch's name of the node, AddBackward0 or SubBackward0."""

    __slots__ = ("alpha", "node")

    def forward(self, a, b, alpha, node):
        be = self.be
        self.alpha, self.node = alpha, node
        self.saved = (a.shape, b.shape)
        shape = tuple(np.broadcast_shapes(a.shape, b.shape))
        a, b = (x if x.shape == shape else be.broadcast_to(x, shape) for x in (a, b))
        return be.add_scaled(a, b, alpha)

    def backward(self, g):
        sa, sb = self.saved
        gb = _sum_to(self.be, self.be.mul(g, self.alpha), sb) if self.needs_grad(1) else None
        return _sum_to(self.be, g, sa), gb

    def _torch_name(self) -> str:
        return self.node


def _with_alpha(op: type[Function], name: str, input: Any, other: Any, alpha: Any) -> Tensor:
    """input + alpha * other (op AddOp) or input - alpha * other (SubOp), as torch.add and torch.sub:
    floats rounded once, as PyTorch's fused multiply-add. As PyTorch, a floating alpha with
    integer or bool operands is an error rather than a silent truncation. A one-element tensor alpha is
    its number, as PyTorch's Scalar."""
    if isinstance(alpha, Tensor):
        alpha = alpha.item()

    def integral(t: Any) -> bool:
        return t.dtype.kind != "f" if isinstance(t, Tensor) else not isinstance(t, (float, np.floating))

    if isinstance(alpha, (float, np.floating)) and integral(input) and integral(other):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    a, b = _operands(input, other)
    if isinstance(alpha, (bool, np.bool_)) and a.dtype.kind != "b":
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if alpha == 1:
        return _binary(op, name, a, b)
    if a.dtype.kind == "f" and b.dtype == a.dtype:  # alpha is rounded to their dtype, as PyTorch's
        scale = float(alpha) if op is AddOp else -float(alpha)
        return _binary(ScaledAddOp, name, a, b, alpha=scale, node=f"{op.op_name()}Backward0")
    if a.dtype.kind == "b" and b.dtype.kind == "b":  # bool result, as PyTorch's: a or (alpha and b)
        return _binary(op, name, a, logical_and(b, bool(alpha)))
    return _binary(op, name, a, mul(b, alpha))


def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """input + alpha * other, broadcasting, as torch.add."""
    if not (type(alpha) is int and alpha == 1):  # the checks of a float or bool alpha, even of 1
        return _with_alpha(AddOp, "add", input, other, alpha)
    return _binary(AddOp, "add", input, other)


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """input - alpha * other, broadcasting, as torch.sub (not of bool tensors, as PyTorch)."""
    if any(_is_bool_tensor(v) for v in (input, other)):
        if all(_is_bool_tensor(v) or isinstance(v, (bool, np.bool_)) for v in (input, other)):
            raise DtypeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                             "`logical_xor()` operator instead.")
        raise DtypeError(_BOOL_MINUS.format("Subtraction, the `-` operator, with a bool tensor"))
    if not (type(alpha) is int and alpha == 1):
        return _with_alpha(SubOp, "sub", input, other, alpha)
    return _binary(SubOp, "sub", input, other)


def mul(input: Any, other: Any) -> Tensor:
    """input * other, broadcasting."""
    return _binary(MulOp, "mul", input, other)


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """input / other (true division: integer tensors give float32, get_default_dtype()), broadcasting,
    as torch.div. rounding_mode "trunc" rounds the quotient toward zero, "floor" down (integers
    stay integers then, and the gradient is 0, as PyTorch's)."""
    if rounding_mode is not None:
        return _rounded_quotient(input, other, rounding_mode)
    a, b = _operands(input, other)
    if a.dtype.kind != "f":
        a, b = cast(a, get_default_dtype()), cast(b, get_default_dtype())
    return _binary(DivOp, "div", a, b)


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 (PyTorch's name)
    """input ** exponent; a Python-number exponent has its own fast node. An integer tensor to a
    negative integer number is an error, as in PyTorch (to a tensor of them, 0 but for bases +-1)."""
    if isinstance(input, Tensor) and isinstance(exponent, Number):
        if input.dtype.kind != "f" and isinstance(exponent, (float, np.floating)):
            input = cast(input, get_default_dtype())
        elif input.dtype.kind == "b" and isinstance(exponent, (bool, np.bool_)):
            # PyTorch: a bool tensor to a bool power stays bool (numpy's bool ** bool is int8)
            return cast(PowScalarOp.apply(input, exponent=int(exponent)), np.bool_)
        elif input.dtype.kind != "f" and exponent < 0:
            raise ArgumentError("Integers to negative integer powers are not allowed.")
        return PowScalarOp.apply(input, exponent=exponent)
    if _is_bool_tensor(input) and _is_bool_tensor(exponent):  # numpy's would be int8
        raise UnsupportedDtypeError('"pow" not implemented for \'Bool\'')
    # PyTorch's node names: PowBackward1 for a tensor exponent, PowBackward2 for a number base
    return name_node(_binary(PowOp, "pow", input, exponent), f"PowBackward{1 if isinstance(input, Tensor) else 2}")


def neg(input: Tensor) -> Tensor:
    """-input elementwise, as torch.neg (not of a bool tensor, as PyTorch)."""
    if input.dtype == np.bool_:
        raise DtypeError(_BOOL_MINUS.format("Negation, the `-` operator, on a bool tensor"))
    return NegOp.apply(input)


# PyTorch's message for - of a bool tensor (a DtypeError: a RuntimeError as PyTorch's, a TypeError as numpy's)
_BOOL_MINUS = ("{} is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator "
               "instead.")


def _is_bool_tensor(value: Any) -> bool:
    return isinstance(value, Tensor) and value.dtype == np.bool_


def exp(input: Tensor) -> Tensor:
    """e ** input elementwise, as torch.exp (integer tensors give float32)."""
    _require_tensor("exp", input)
    return ExpOp.apply(_float(input))


def log(input: Tensor) -> Tensor:
    """The natural logarithm elementwise, as torch.log (integer tensors give float32)."""
    _require_tensor("log", input)
    return LogOp.apply(_float(input))


def sqrt(input: Tensor) -> Tensor:
    """The square root elementwise, as torch.sqrt (integer tensors give float32)."""
    _require_tensor("sqrt", input)
    return SqrtOp.apply(_float(input))


def abs(input: Tensor) -> Tensor:  # noqa: A001
    """|input| elementwise, as torch.abs; its gradient is sign(input) (0 at 0 and NaN, as PyTorch)."""
    return AbsOp.apply(input)


# --- math functions: sin, cos, ... (one Function, the derivative looked up by name) ----------

_LN2, _LN10 = math.log(2.0), math.log(10.0)

# name -> d out / d a as a backend array (or number), from the input a and the output out
_MATH_DERIVATIVES: dict[str, Callable[[Any, Any, Any], Any]] = {
    "sin": lambda be, a, out: be.cos(a),
    "cos": lambda be, a, out: be.neg(be.sin(a)),
    "tan": lambda be, a, out: be.add(be.mul(out, out), 1),
    "asin": lambda be, a, out: be.div(1, be.sqrt(be.sub(1, be.mul(a, a)))),
    "acos": lambda be, a, out: be.div(-1, be.sqrt(be.sub(1, be.mul(a, a)))),
    "atan": lambda be, a, out: be.div(1, be.add(be.mul(a, a), 1)),
    "sinh": lambda be, a, out: be.cosh(a),
    "cosh": lambda be, a, out: be.sinh(a),
    "expm1": lambda be, a, out: be.exp(a),  # not out + 1: that cancels for a << 0
    "log1p": lambda be, a, out: be.div(1, be.add(a, 1)),
    "log2": lambda be, a, out: be.div(1 / _LN2, a),
    "log10": lambda be, a, out: be.div(1 / _LN10, a),
    "erf": lambda be, a, out: be.mul(be.exp(be.neg(be.mul(a, a))), 2 / math.sqrt(math.pi)),
    # composed forwards (_COMPOSED below); the derivatives are PyTorch's formulas
    "asinh": lambda be, a, out: be.div(1, be.sqrt(be.add(be.mul(a, a), 1))),
    "acosh": lambda be, a, out: be.div(1, be.sqrt(be.sub(be.mul(a, a), 1))),
    "atanh": lambda be, a, out: be.div(1, be.sub(1, be.mul(a, a))),
    "exp2": lambda be, a, out: be.mul(out, _LN2),
    "sinc": lambda be, a, out: _sinc_derivative(be, a),
}
MATH_FUNCTIONS: tuple[str, ...] = tuple(_MATH_DERIVATIVES)
_FROM_OUTPUT = frozenset({"tan", "exp2"})  # derivatives of the output alone: the node saves only it (as PyTorch)


def _large(be: Any, t: Any) -> Any:
    """Where t is so large that t * t is no longer useful (2**28: 1 + t * t rounds to t * t in float64)."""
    return be.compare("gt", t, 2.0**28)


def _asinh(be: Any, a: Any) -> Any:
    """asinh from log1p, accurate for small and large |a| alike (glibc's formula): log1p(t + t**2 /
    (1 + sqrt(1 + t**2))) of t = |a|, log(t) + log(2) beyond 2**28, with a's sign; -0.0 stays."""
    t = be.abs(a)
    big = _large(be, t)
    small = be.where(big, 1, t)  # no t * t overflow on the branch not taken
    near = be.log1p(be.add(t, be.div(be.mul(small, small), be.add(be.sqrt(be.add(be.mul(small, small), 1)), 1))))
    r = be.where(big, be.add(be.log(t), _LN2), near)
    return be.where(be.compare("eq", a, 0), a, be.where(be.compare("lt", a, 0), be.neg(r), r))


def _acosh(be: Any, a: Any) -> Any:
    """acosh from log1p of t = a - 1 (exact near 1): log1p(t + sqrt(2t + t**2)), log(a) + log(2)
    beyond 2**28; nan below 1."""
    big = _large(be, a)
    t = be.sub(be.where(big, 1, a), 1)
    near = be.log1p(be.add(t, be.sqrt(be.add(be.mul(t, 2), be.mul(t, t)))))
    r = be.where(big, be.add(be.log(a), _LN2), near)
    return be.where(be.compare("lt", a, 1), math.nan, r)


def _atanh(be: Any, a: Any) -> Any:
    """atanh as 0.5 * log1p(2a / (1 - a)): exact near 0 and near +-1; +-inf at +-1, nan beyond."""
    return be.mul(be.log1p(be.div(be.mul(a, 2), be.sub(1, a))), 0.5)


def _in_float64(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """fn evaluated in float64 and rounded to a's dtype: a float32 result then rounds once, as libm's."""

    def wrapped(be: Any, a: Any) -> Any:
        return fn(be, a) if a.dtype == np.float64 else be.astype(fn(be, be.astype(a, np.float64)), a.dtype)

    return wrapped


def _sinc(be: Any, a: Any) -> Any:
    """sin(pi a) / (pi a), 1 at 0; pi a in a's dtype, as PyTorch computes it."""
    product = be.mul(a, math.pi)
    return be.where(be.compare("eq", a, 0), 1, be.div(be.sin(product), product))


def _sinc_derivative(be: Any, a: Any) -> Any:
    """(pi a cos(pi a) - sin(pi a)) / (pi a**2), 0 at 0, as PyTorch; divided by pi a and then by a,
    as pi a**2 underflows to 0 (and the quotient to 0 / 0) for |a| below about 1e-162."""
    product = be.mul(a, math.pi)
    slope = be.div(be.div(be.sub(be.mul(product, be.cos(product)), be.sin(product)), product), a)
    return be.where(be.compare("eq", a, 0), 0, slope)


# The math functions with no backend kernel: their forward composed from backend ops
_COMPOSED: dict[str, Callable[[Any, Any], Any]] = {
    "asinh": _in_float64(_asinh),
    "acosh": _in_float64(_acosh),
    "atanh": _in_float64(_atanh),
    "exp2": lambda be, a: be.pow(be.full((), 2, a.dtype), a),
    "sinc": _sinc,
}


class MathOp(Function):
    """One of MATH_FUNCTIONS: the backend method of that name forward, its derivative backward."""

    # Not "name": that is Function's method, which repr(grad_fn) calls.
    __slots__ = ("function",)

    def forward(self, a, function):
        self.function = function
        out = self._evaluate(a, function)
        self.saved = (None, out) if function in _FROM_OUTPUT else (a, None)
        return out

    def _evaluate(self, a, function):
        return getattr(self.be, function)(a)

    def backward(self, g):
        a, out = self.saved
        return (self.be.mul(g, _MATH_DERIVATIVES[self.function](self.be, a, out)),)

    def name(self) -> str:
        return self.function.title() + "Backward0"  # SinBackward0, Log1PBackward0, as PyTorch's


class ComposedMathOp(MathOp):
    """A math function with no backend kernel (_COMPOSED: asinh, acosh, atanh, exp2, sinc), its forward
    composed from backend ops. Its own class, so the ONNX exporter, which translates MathOp's kernel
    functions, refuses it instead of writing another function."""

    __slots__ = ()

    def _evaluate(self, a, function):
        return _COMPOSED[function](self.be, a)


def _math_function(name: str, what: str) -> Callable[[Tensor], Tensor]:
    op = ComposedMathOp if name in _COMPOSED else MathOp

    def fn(input: Tensor) -> Tensor:
        _require_tensor(name, input)
        return op.apply(_float(input), function=name)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {what}, as torch.{name} (integer tensors give float32; inf/nan outside the domain)."
    return fn


sin = _math_function("sin", "sine (radians)")
cos = _math_function("cos", "cosine (radians)")
tan = _math_function("tan", "tangent (radians)")
asin = _math_function("asin", "arcsine")
acos = _math_function("acos", "arccosine")
atan = _math_function("atan", "arctangent")
sinh = _math_function("sinh", "hyperbolic sine")
cosh = _math_function("cosh", "hyperbolic cosine")
expm1 = _math_function("expm1", "exp(x) - 1, exact for small x")
log1p = _math_function("log1p", "log(1 + x), exact for small x")
log2 = _math_function("log2", "base-2 logarithm")
log10 = _math_function("log10", "base-10 logarithm")
erf = _math_function("erf", "error function")
asinh = _math_function("asinh", "inverse hyperbolic sine")
acosh = _math_function("acosh", "inverse hyperbolic cosine")
atanh = _math_function("atanh", "inverse hyperbolic tangent")
exp2 = _math_function("exp2", "2 ** x")
sinc = _math_function("sinc", "normalized sinc, sin(pi x) / (pi x) (1 at 0)")


class SignOp(Function):
    __slots__ = ()

    def forward(self, a):
        self.saved = (a.shape, a.dtype)
        if a.dtype.kind != "f":
            return self.be.sign(a)
        return self.be.where(self.be.compare("ne", a, a), 0, self.be.sign(a))  # 0 at NaN, as PyTorch

    def backward(self, g):
        shape, dtype = self.saved
        return (self.be.full(shape, 0, dtype),)


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (0 at NaN, as PyTorch); its gradient is 0."""
    _require_tensor("sign", input)
    if input.dtype.kind == "b":  # a bool is its own sign, as in PyTorch
        return input.clone()
    return SignOp.apply(input)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Values limited to [min, max] (either may be None), as torch.clamp. Number bounds clamp in
    one kernel (a float bound turns an integer input into get_default_dtype(), as PyTorch);
    tensor bounds broadcast and get gradients (min where input < min, max where it exceeds max),
    through where."""
    if min is None and max is None:
        raise ArgumentError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # a NaN bound gives NaN, as PyTorch's (a comparison with it is False)
        low, high = (b.detach() if isinstance(b, Tensor) else b for b in (min, max))
        out = input.detach()
        if low is not None:
            out = where(_below_or_nan(out, low, "lt"), low, out)
        if high is not None:
            out = where(_below_or_nan(out, high, "gt"), high, out)
        # the gradients go by PyTorch's masks (clamp_backward, clamp_backward_min_max): input where
        # min <= input <= max, min where input < min < max, max where input > max or max < min;
        # they are exclusive and each picks the operand the value is, and any comparison with a
        # NaN is False, so no gradient reaches a NaN input or bound (out, off the tape, there)
        if min is not None and max is not None:
            out = where(logical_and(lt(input, min), lt(min, max)), min, out)
            out = where(logical_or(gt(input, max), lt(max, min)), max, out)
            return name_node(where(logical_and(ge(input, min), le(input, max)), input, out), "ClampBackward0")
        if min is not None:
            return name_node(where(ge(input, min), input, where(lt(input, min), min, out)), "ClampBackward0")
        return name_node(where(le(input, max), input, where(gt(input, max), max, out)), "ClampBackward0")
    if input.dtype.kind in "biu" and any(isinstance(b, (float, np.floating)) for b in (min, max)):
        input = cast(input, get_default_dtype())
    return ClampOp.apply(input, low=min, high=max)


def _below_or_nan(input: Tensor, bound: Any, op: str) -> Tensor:
    """Where clamp takes bound: input op bound (lt for min, gt for max), or bound is NaN."""
    beyond = compare(op, input, bound)
    if isinstance(bound, Tensor) and bound.dtype.kind == "f":
        return logical_or(beyond, isnan(bound))
    if isinstance(bound, float) and math.isnan(bound):
        return logical_or(beyond, True)
    return beyond


def cast(input: Tensor, dtype: Any) -> Tensor:
    """input converted to dtype (differentiable between floating types)."""
    dtype = _normalize_dtype(dtype)
    if input.dtype == dtype:
        return input
    if input._requires_grad and dtype.kind != "f":
        return Tensor._make(get_backend(input.device).astype(input._data, dtype), input.device)
    return CastOp.apply(input, dtype=dtype)


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy of input that stays on the tape, as torch.clone: row-major unless memory_format
    (minigrad.channels_last, preserve_format, ...) lays it out otherwise (see minigrad._memory_format)."""
    out = CloneOp.apply(input)
    if memory_format is None:
        return out
    from minigrad._memory_format import apply_format

    return apply_format("clone", out, memory_format, like=input)


def to_device(input: Tensor, device: str) -> Tensor:
    """input copied to device (differentiable)."""
    out = ToDeviceOp.apply(input, device=device)
    out.device = device
    return out


def compare(op: str, input: Any, other: Any) -> Tensor:
    """Boolean tensor of input <op> other (op: eq ne lt le gt ge); never on the tape."""
    a, b = _operands(input, other)
    try:
        return Tensor._make(get_backend(a.device).compare(op, a._data, b._data), a.device)
    except ValueError:
        _broadcast_shape(op, a.shape, b.shape)  # a ShapeError (a RuntimeError, as PyTorch's) when that is why
        raise


def eq(input: Any, other: Any) -> Tensor:
    """input == other elementwise (bool, broadcasting), as torch.eq."""
    return compare("eq", input, other)


def ne(input: Any, other: Any) -> Tensor:
    """input != other elementwise, as torch.ne."""
    return compare("ne", input, other)


def lt(input: Any, other: Any) -> Tensor:
    """input < other elementwise, as torch.lt."""
    return compare("lt", input, other)


def le(input: Any, other: Any) -> Tensor:
    """input <= other elementwise, as torch.le."""
    return compare("le", input, other)


def gt(input: Any, other: Any) -> Tensor:
    """input > other elementwise, as torch.gt."""
    return compare("gt", input, other)


def ge(input: Any, other: Any) -> Tensor:
    """input >= other elementwise, as torch.ge."""
    return compare("ge", input, other)


def where(condition: Tensor, input: Any = None, other: Any = None) -> Tensor | tuple[Tensor, ...]:
    """input where condition else other, broadcasting; gradients flow to both branches' picks.
    where(condition) alone is nonzero(condition, as_tuple=True), as torch.where."""
    if input is None and other is None:
        from minigrad.functional.shape import nonzero  # shape.py imports this module

        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: expected where(condition) or where(condition, input, other)")
    if condition.dtype != np.bool_:
        raise DtypeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                         f"{condition.dtype}")
    if isinstance(input, Number) and isinstance(other, Number):  # where(mask, 1.0, 0.0), as PyTorch
        kinds = {type(v) for v in (input, other)}
        if kinds <= {bool, np.bool_}:
            dtype = np.dtype(np.bool_)
        elif any(isinstance(v, (float, np.floating)) for v in (input, other)):
            dtype = get_default_dtype()
        else:
            dtype = int64
        input = Tensor._make(get_backend(condition.device).full((), input, dtype), condition.device)
    a, b = _operands(input, other)
    _require_same_device("where", a, condition)
    try:
        return WhereOp.apply(a, b, cond=condition._data)
    except ValueError:
        _broadcast_shape("where", condition.shape, _broadcast_shape("where", a.shape, b.shape))
        raise


class WhereOp(Function):
    __slots__ = ()

    def forward(self, a, b, cond):
        self.saved = (cond, a.shape, b.shape)
        return self.be.where(cond, a, b)

    def backward(self, g):
        cond, sa, sb = self.saved
        be = self.be
        zero = be.full((), 0, g.dtype)
        ga = _sum_to(be, be.where(cond, g, zero), sa) if self.needs_grad(0) else None
        gb = _sum_to(be, be.where(cond, zero, g), sb) if self.needs_grad(1) else None
        return ga, gb



def _logical(op: str, *inputs: Any) -> Tensor:
    like = next(t for t in inputs if isinstance(t, Tensor))
    be = get_backend(like.device)
    operands = []
    for t in inputs:
        if isinstance(t, Tensor):
            _require_same_device(op, like, t)
            operands.append(t._data)
        else:
            operands.append(bool(t))
    try:
        out = be.logical(op, operands[0], operands[1] if len(operands) > 1 else None)
    except ValueError:
        if len(inputs) > 1 and all(isinstance(t, Tensor) for t in inputs):
            _broadcast_shape(op, inputs[0].shape, inputs[1].shape)  # ShapeError (a RuntimeError, as PyTorch's)
        raise
    return Tensor._make(out, like.device)


def logical_and(input: Any, other: Any) -> Tensor:
    """Elementwise and of the truth values (non-zero is true), broadcasting; a bool tensor."""
    return _logical("logical_and", input, other)


def logical_or(input: Any, other: Any) -> Tensor:
    """Elementwise or of the truth values, broadcasting; a bool tensor."""
    return _logical("logical_or", input, other)


def logical_xor(input: Any, other: Any) -> Tensor:
    """Elementwise exclusive or of the truth values, broadcasting; a bool tensor."""
    return _logical("logical_xor", input, other)


def logical_not(input: Tensor) -> Tensor:
    """Elementwise not of the truth values; a bool tensor."""
    return _logical("logical_not", input)


# --- reciprocal, rsqrt, maximum/minimum, clamp_min/max, softplus ----------------------------


def _float(input: Tensor) -> Tensor:
    """input as a floating tensor (integer and bool tensors become float32, get_default_dtype(), as
    PyTorch's float ops)."""
    return input if input.dtype.kind == "f" else cast(input, get_default_dtype())


def reciprocal(input: Tensor) -> Tensor:
    """1 / input (integer tensors give float32)."""
    _require_tensor("reciprocal", input)
    return name_node(div(1, _float(input)), "ReciprocalBackward0")


def rsqrt(input: Tensor) -> Tensor:
    """1 / sqrt(input) (integer tensors give float32)."""
    _require_tensor("rsqrt", input)
    return name_node(PowScalarOp.apply(_float(input), exponent=-0.5), "RsqrtBackward0")


class MaximumOp(Function):
    """Elementwise max (largest) or min of two tensors; NaN wins, as PyTorch. The gradient goes to
    the picked operand, half to each at ties (both get all of it where one is NaN, as PyTorch)."""

    __slots__ = ("largest",)

    def forward(self, a, b, largest):
        be = self.be
        self.largest = largest
        self.saved = (a, b)
        pick_a = be.compare("ge" if largest else "le", a, b)
        return be.where(be.where(be.compare("ne", a, a), True, pick_a), a, b)

    def backward(self, g):
        a, b = self.saved
        be = self.be
        shared = be.where(be.compare("eq", a, b), be.div(g, 2), g)
        zero = be.full((), 0, g.dtype)
        lose_a, lose_b = ("lt", "gt") if self.largest else ("gt", "lt")
        ga = _sum_to(be, be.where(be.compare(lose_a, a, b), zero, shared), a.shape) if self.needs_grad(0) else None
        gb = _sum_to(be, be.where(be.compare(lose_b, a, b), zero, shared), b.shape) if self.needs_grad(1) else None
        return ga, gb

    def name(self) -> str:
        return "MaximumBackward0" if getattr(self, "largest", True) else "MinimumBackward0"


def _maximum_minimum(name: str, input: Tensor, other: Tensor, largest: bool) -> Tensor:
    _require_tensor(name, input)
    _require_tensor(name, other)
    return _binary(MaximumOp, name, input, other, largest=largest)


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise larger of two tensors (broadcasting); NaN propagates."""
    return _maximum_minimum("maximum", input, other, True)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise smaller of two tensors (broadcasting); NaN propagates."""
    return _maximum_minimum("minimum", input, other, False)


def clamp_min(input: Tensor, min: float) -> Tensor:  # noqa: A002
    """clamp(input, min=min)."""
    return name_node(clamp(input, min=min), _bound_node("ClampMin", min))


def clamp_max(input: Tensor, max: float) -> Tensor:  # noqa: A002
    """clamp(input, max=max)."""
    return name_node(clamp(input, max=max), _bound_node("ClampMax", max))


def _bound_node(op: str, bound: Any) -> str:
    """PyTorch's node name for clamp_min or clamp_max (op) with a number or a tensor bound."""
    return f"{op}Backward{1 if isinstance(bound, Tensor) else 0}"


class SoftplusOp(Function):
    __slots__ = ("beta", "threshold")

    def forward(self, a, beta, threshold):
        be = self.be
        self.beta, self.threshold = beta, threshold
        scaled = be.mul(a, beta)
        linear = be.compare("gt", scaled, threshold)
        self.saved = (scaled, linear)
        smooth = be.div(be.log1p(be.exp(be.where(linear, 0, scaled))), beta)  # exp cannot overflow
        return be.where(linear, a, smooth)

    def backward(self, g):
        scaled, linear = self.saved
        return (self.be.where(linear, g, self.be.mul(g, self.be.sigmoid(scaled))),)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold, as PyTorch."""
    _require_float("softplus", input)
    return SoftplusOp.apply(input, beta=beta, threshold=threshold)


# --- isnan/isinf/isfinite, isin (bool tensors, never on the tape); nan_to_num ----------------


def _classify(name: str, input: Tensor, test: Any, integer_answer: bool) -> Tensor:
    _require_tensor(name, input)
    be = get_backend(input.device)
    if input.dtype.kind != "f":  # integers and bools are finite numbers
        return Tensor._make(be.full(input.shape, integer_answer, np.bool_), input.device)
    return Tensor._make(test(be, input._data), input.device)


def isnan(input: Tensor) -> Tensor:
    """Where input is NaN, as a bool tensor."""
    return _classify("isnan", input, lambda be, a: be.compare("ne", a, a), False)


def isinf(input: Tensor) -> Tensor:
    """Where input is +inf or -inf, as a bool tensor."""
    return _classify("isinf", input, lambda be, a: be.compare("eq", be.abs(a), np.inf), False)


def isfinite(input: Tensor) -> Tensor:
    """Where input is neither NaN nor infinite, as a bool tensor."""
    return _classify("isfinite", input, lambda be, a: be.compare("lt", be.abs(a), np.inf), True)


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Where each of elements (a tensor or a number) equals one of test_elements (likewise; not
    both numbers), as a bool tensor of elements' shape, as torch.isin; invert=True gives the
    opposite. Both are compared in their promoted dtype (PyTorch's rules). assume_unique is
    accepted for PyTorch code; the result does not depend on it. Never on the tape."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(
            f"isin: expected elements or test_elements to be a Tensor, got {type(elements).__name__} "
            f"and {type(test_elements).__name__}"
        )
    a, b = _operands(elements, test_elements)
    _require_same_device("isin", a, b)
    return _from_host(np.isin(a._host(), b._host(), invert=invert), a)


def nan_to_num(
    input: Tensor, nan: float | None = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """input with NaN, +inf and -inf replaced by nan (None: 0), posinf and neginf (None: the largest
    and the lowest finite value of input's dtype), as torch.nan_to_num; integer and bool tensors are
    returned as a copy. The gradient is 1 at finite elements and 0 at the replaced ones."""
    _require_tensor("nan_to_num", input)
    if input.dtype.kind != "f":
        return clone(input)
    info = np.finfo(input.dtype)
    given = (nan or 0.0, info.max if posinf is None else posinf, info.min if neginf is None else neginf)
    with np.errstate(over="ignore"):  # a replacement beyond the dtype's range becomes inf, as PyTorch
        fills = [float(np.asarray(v).astype(input.dtype)) for v in given]
    out = where(isnan(input), fills[0], input)
    out = where(compare("eq", input, math.inf), fills[1], out)
    return where(compare("eq", input, -math.inf), fills[2], out)


# --- rounding: composed from backend ops (a float through int64 rounds toward zero) ----------


def _trunc(be: Any, a: Any) -> Any:
    """a rounded toward zero, for |a| < 2**mantissa bits (so through int64), keeping -0.0."""
    whole = be.astype(be.astype(a, int64), a.dtype)
    return be.where(be.compare("eq", whole, 0), be.mul(a, 0), whole)  # -0.5 -> -0.0


def _round_half_even(be: Any, a: Any, whole: Any) -> Any:
    """a rounded to the nearest integer, ties to the even one (as PyTorch and numpy), from
    whole = _trunc(a)."""
    frac = be.abs(be.sub(a, whole))  # exact
    odd = be.compare("ne", be.sub(whole, be.mul(_trunc(be, be.div(whole, 2)), 2)), 0)
    away = be.where(be.compare("eq", frac, 0.5), odd, be.compare("gt", frac, 0.5))
    return be.where(away, be.add(whole, be.sign(a)), whole)


def _rounded_small(be: Any, a: Any, mode: str) -> Any:
    whole = _trunc(be, a)
    if mode == "floor":
        return be.where(be.compare("gt", whole, a), be.sub(whole, 1), whole)
    if mode == "ceil":
        return be.where(be.compare("lt", whole, a), be.add(whole, 1), whole)
    return _round_half_even(be, a, whole) if mode == "round" else whole


def _round_array(be: Any, a: Any, mode: str, decimals: int = 0) -> Any:
    """a rounded by mode: "trunc", "floor", "ceil" or "round" (half to even, at decimals places).
    Floats of magnitude 2**mantissa bits and more (and inf, NaN) are integral already and kept;
    the others are rounded with backend ops, through int64."""
    if mode == "round" and decimals > 0:
        scale = 10.0**decimals
        return be.div(_round_array(be, be.mul(a, scale), mode), scale)
    if mode == "round" and decimals < 0:
        scale = 10.0**-decimals
        return be.mul(_round_array(be, be.div(a, scale), mode), scale)
    small = be.compare("lt", be.abs(a), 2.0 ** np.finfo(a.dtype).nmant)
    return be.where(small, _rounded_small(be, be.where(small, a, 0), mode), a)


class RoundOp(Function):
    """floor, ceil, round, trunc: piecewise constant, so the gradient is 0 (as PyTorch)."""

    __slots__ = ()

    def forward(self, a, mode, decimals):
        return _round_array(self.be, a, mode, decimals)

    def backward(self, g):
        return (self.be.full(g.shape, 0, g.dtype),)


def _rounded(mode: str, input: Tensor, decimals: int = 0) -> Tensor:
    _require_tensor(mode, input)
    if input.dtype.kind != "f":  # integers are whole already: a copy, as PyTorch
        if input.dtype.kind == "b" or decimals:
            # PyTorch's NotImplementedError (a TypeError before)
            raise NoKernelForDtypeError(f"{mode}: expected a floating-point or integer tensor, got {input.dtype}"
                                        + (" with decimals" if decimals else ""))
        return clone(input)
    # PyTorch's nodes: FloorBackward0, CeilBackward0, TruncBackward0, RoundBackward0 (1 with decimals)
    return name_node(RoundOp.apply(input, mode=mode, decimals=int(decimals)),
                     f"{mode.capitalize()}Backward{1 if decimals else 0}")


def floor(input: Tensor) -> Tensor:
    """The largest integer <= each element (integer tensors are returned as a copy)."""
    return _rounded("floor", input)


def ceil(input: Tensor) -> Tensor:
    """The smallest integer >= each element."""
    return _rounded("ceil", input)


def trunc(input: Tensor) -> Tensor:
    """Each element rounded toward zero."""
    return _rounded("trunc", input)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Each element rounded to the nearest integer (ties to even), or to decimals places."""
    return _rounded("round", input, decimals)


# --- division with rounding: on the host, where numpy gives PyTorch's exact results ----------


def _host_divide(be: Any, how: str, a: Any, b: Any) -> Any:
    """floor_divide, remainder (sign of the divisor) or fmod (sign of the dividend) of two backend
    arrays as PyTorch computes them, on the host with numpy: they need exact rounding that the
    backend ops cannot compose."""
    x, y = be.to_numpy(a), be.to_numpy(b)
    if x.dtype.kind != "f" and y.size and not np.all(y):
        raise IntegerDivisionByZeroError(f"{how}: integer division by zero")
    with np.errstate(divide="ignore", invalid="ignore"):
        if how == "remainder" and x.dtype.kind == "f":  # as PyTorch: a zero keeps the dividend's sign
            out = np.fmod(x, y)
            out = np.where((out != 0) & ((y < 0) != (out < 0)), out + y, out)
        elif how == "trunc_divide":  # C's integer division; a float quotient truncated
            out = np.trunc(x / y) if x.dtype.kind == "f" else np.floor_divide(x, y)
            if x.dtype.kind != "f":  # floor and trunc differ where the quotient is negative and inexact
                out = np.where((out < 0) & (out * y != x), out + 1, out)
        else:
            out = getattr(np, how)(x, y)
    return _host_result(be, out)


def _host_result(be: Any, out: Any) -> Any:
    """A numpy result (an array, or the scalar a ufunc gives for 0-d operands) as a C-contiguous
    array of its own shape on be's device (numpy.ascontiguousarray would make a 0-d result 1-d)."""
    out = np.asarray(out)
    return be.from_numpy(out if out.flags.c_contiguous else np.ascontiguousarray(out))


class DivModOp(Function):
    """remainder or fmod: the gradient is g for a and -g * (a / b rounded as the op rounds) for b."""

    __slots__ = ("how",)

    def forward(self, a, b, how):
        self.how = how
        self.saved = (a.shape, a if self.needs_grad(1) else None, b)
        return _host_divide(self.be, how, a, b)

    def backward(self, g):
        shape_a, a, b = self.saved
        be = self.be
        gb = None
        if self.needs_grad(1):
            if self.how == "remainder":
                quotient = _host_divide(be, "floor_divide", a, b)
            else:
                quotient = _round_array(be, be.div(a, b), "trunc")
            gb = _sum_to(be, be.neg(be.mul(g, quotient)), b.shape)
        return _sum_to(be, g, shape_a), gb


def _divide(how: str, input: Any, other: Any) -> Tensor:
    a, b = _operands(input, other)
    _require_same_device(how, a, b)
    if a.dtype.kind == "b":  # PyTorch's NotImplementedError (a TypeError before)
        raise NoKernelForDtypeError(f"{how}: not defined for bool tensors")
    if how in ("floor_divide", "trunc_divide"):  # not differentiable, as PyTorch's
        try:
            out = _host_divide(get_backend(a.device), how, a._data, b._data)
        except ValueError:
            raise ShapeError(f"{how}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
        return Tensor._make(out, a.device)
    return _binary(DivModOp, how, a, b, how=how)


def floor_divide(input: Any, other: Any) -> Tensor:
    """input / other rounded down (Python's //), broadcasting; integers stay integers. Not
    differentiable, as PyTorch's: recorded, but a backward through it raises."""
    return with_zero_gradient(_divide("floor_divide", input, other), input, other, op=FloorDivideOp)


def remainder(input: Any, other: Any) -> Tensor:
    """input - floor_divide(input, other) * other (Python's %): the sign of the divisor."""
    return _divide("remainder", input, other)


def fmod(input: Any, other: Any) -> Tensor:
    """The C remainder of input / other: the sign of the dividend."""
    return _divide("fmod", input, other)


def frac(input: Tensor) -> Tensor:
    """The fractional part input - trunc(input), with input's sign, as torch.frac; its gradient is 1."""
    _require_float("frac", input)
    return sub(input, trunc(input))


# --- addcmul, addcdiv, lerp: composed from the arithmetic above -------------------------------


def addcmul(input: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """input + value * tensor1 * tensor2, broadcasting, as torch.addcmul."""
    return add(input, mul(tensor1, tensor2), alpha=value)


def addcdiv(input: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """input + value * tensor1 / tensor2, broadcasting, as torch.addcdiv; as PyTorch, integer (or
    bool) tensor1 and tensor2 are an error rather than an integer division."""
    if all(isinstance(t, Tensor) and t.dtype.kind != "f" for t in (tensor1, tensor2)):
        raise DtypeError(
            "addcdiv: integer division of tensor1 by tensor2 is not supported, as in PyTorch; "
            "use input + value * (tensor1 / tensor2) for a true division"
        )
    return add(input, div(tensor1, tensor2), alpha=value)


def lerp(input: Tensor, end: Tensor, weight: float | Tensor) -> Tensor:
    """input + weight * (end - input), broadcasting, as torch.lerp: computed as
    end - (end - input) * (1 - weight) where |weight| >= 0.5, as PyTorch, so weight 1 gives end
    exactly. input and end are floating tensors of one dtype; weight a number or a floating tensor."""
    _require_float("lerp", input, end, weight if isinstance(weight, Tensor) else None)
    if end.dtype != input.dtype:
        raise DtypeError(f"lerp: expected end of input's dtype {input.dtype}, got {end.dtype}")
    diff = end - input
    if isinstance(weight, Tensor):
        return where(abs(weight) < 0.5, input + weight * diff, end - diff * (1 - weight))
    return input + weight * diff if builtins.abs(weight) < 0.5 else end - diff * (1 - weight)


# --- signbit, fmax/fmin, logaddexp, hypot, logit, xlogy, deg2rad/rad2deg: composed from the above ---


def signbit(input: Tensor) -> Tensor:
    """Where the sign bit is set (True for -0.0 and negative NaNs too), as torch.signbit; a bool
    tensor, never on the tape."""
    _require_tensor("signbit", input)
    return _from_host(np.signbit(input._host()), input)


def _nan_ignoring(name: str, input: Tensor, other: Tensor, largest: bool) -> Tensor:
    """maximum/minimum that takes the other operand where one is NaN (NaN only where both are).
    As PyTorch, input where input >= other (<= for fmin) or other is NaN, else other: a tie's
    gradient goes to input whole (where maximum splits it)."""
    _require_tensor(name, input)
    _require_tensor(name, other)
    a, b = _operands(input, other)
    if a.dtype.kind != "f":
        return _maximum_minimum(name, a, b, largest)
    return where(logical_or(ge(a, b) if largest else le(a, b), isnan(b)), a, b)


def fmax(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise larger of two tensors (broadcasting), ignoring NaN where only one of them is
    NaN, as torch.fmax; differentiable."""
    return _nan_ignoring("fmax", input, other, True)


def fmin(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise smaller of two tensors (broadcasting), ignoring NaN where only one of them is
    NaN, as torch.fmin; differentiable."""
    return _nan_ignoring("fmin", input, other, False)


def _float_operands(name: str, input: Any, other: Any) -> tuple[Tensor, Tensor]:
    """Both operands promoted to one floating dtype (as PyTorch's kernels that have no integer
    version: TypeError for two integer tensors)."""
    a, b = _operands(input, other)
    if a.dtype.kind != "f":
        # PyTorch's NotImplementedError (a TypeError before)
        raise NoKernelForDtypeError(f"{name}: expected floating-point tensors, got {a.dtype}")
    return a, b


def _log_add_exp(name: str, input: Tensor, other: Tensor, exp_fn: Callable, log_fn: Callable) -> Tensor:
    """log_fn(exp_fn(input) + exp_fn(other)) without overflow (logaddexp, logaddexp2)."""
    _require_tensor(name, input)
    a, b = _float_operands(name, input, other)
    # shift by the larger operand, off the tape (its gradient cancels); infinite shifts would give inf - inf
    larger = maximum(a, b)
    shift = larger.detach()
    # one operand +inf, the other not: the result is +inf with gradient 1 in that operand and 0 in the
    # other, as PyTorch's 1 / (1 + exp(other - input)); maximum gives that, and the formula below
    # gets zeros there (its inf / inf would give NaN gradients even where unselected)
    one_inf = logical_and(eq(shift, math.inf), ne(a, b))
    a, b = where(one_inf, 0.0, a), where(one_inf, 0.0, b)
    shift = where(isfinite(shift), shift, 0.0)
    return where(one_inf, larger, add(log_fn(add(exp_fn(sub(a, shift)), exp_fn(sub(b, shift)))), shift))


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """log(exp(input) + exp(other)) without overflow, as torch.logaddexp; differentiable."""
    return _log_add_exp("logaddexp", input, other, exp, log)


def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    """log2(2**input + 2**other) without overflow, as torch.logaddexp2; differentiable."""
    return _log_add_exp("logaddexp2", input, other, exp2, log2)


def hypot(input: Tensor, other: Tensor) -> Tensor:
    """sqrt(input**2 + other**2) elementwise (broadcasting), as torch.hypot; differentiable."""
    _require_tensor("hypot", input)
    a, b = _float_operands("hypot", input, other)
    # scaled by the larger magnitude (off the tape: its gradient cancels), so that squares beyond
    # the dtype's range (hypot(1e-45, 1e38) in float32) do not overflow to inf
    scale = maximum(abs(a), abs(b)).detach()
    scale = where(logical_and(isfinite(scale), gt(scale, 0)), scale, 1.0)
    a, b = div(a, scale), div(b, scale)
    return mul(sqrt(add(mul(a, a), mul(b, b))), scale)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(p / (1 - p)) elementwise, with p clamped to [eps, 1 - eps] when eps is given, as
    torch.logit (integer tensors give float32); differentiable."""
    _require_tensor("logit", input)
    p = _float(input)
    if eps is not None:
        p = clamp(p, eps, 1 - eps)
    # log p - log(1 - p) rather than log(p / (1 - p)): the gradient 1 / p + 1 / (1 - p) is then
    # +-inf at 0 and 1, as PyTorch's, where the quotient's chain gives 0 * inf = nan
    return name_node(sub(log(p), log1p(neg(p))), "LogitBackward0")


def xlogy(input: Any, other: Any) -> Tensor:
    """input * log(other), and 0 where input is 0 (unless other is NaN), as torch.xlogy (integer
    operands give float32); differentiable."""
    x, y = _operands(input, other)
    x, y = _float(x), _float(y)
    # log(1) where the product is 0 by definition and log(other) is not finite (other <= 0 or inf),
    # so no 0 * inf reaches the values or the gradients; elsewhere x * log(y), so the gradient in
    # input is log(other) also where input is 0, as PyTorch's
    defined_zero = logical_and(eq(x, 0), logical_or(le(y, 0), isinf(y)))
    product = mul(x, log(where(defined_zero, 1.0, y)))
    # input 0 and other +inf: the value 0, but PyTorch's gradient in input is xlogy(grad, inf), +-inf
    zero_at_inf = logical_and(eq(x, 0), eq(y, math.inf))
    if x._requires_grad and bool(zero_at_inf.any()):
        return where(zero_at_inf, XlogyZeroAtInfOp.apply(x), product)
    return product


class XlogyZeroAtInfOp(Function):
    """xlogy's zeros where input is 0 and other is +inf, recorded with PyTorch's gradient in input
    there, xlogy(grad, inf): grad * inf, and 0 where grad is 0."""

    __slots__ = ()

    def forward(self, x):
        return self.be.full(x.shape, 0, x.dtype)

    def backward(self, g):
        be = self.be
        return (be.where(be.compare("eq", g, 0), 0, be.mul(g, math.inf)),)


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians, as torch.deg2rad (integer tensors give float32)."""
    _require_tensor("deg2rad", input)
    return mul(_float(input), math.pi / 180)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees, as torch.rad2deg (integer tensors give float32)."""
    _require_tensor("rad2deg", input)
    return mul(_float(input), 180 / math.pi)


def result_type(tensor1: Any, tensor2: Any) -> np.dtype:
    """The dtype an arithmetic op of the two (tensors or Python numbers) gives, as
    torch.result_type: a tensor with dimensions outranks a 0-d tensor, which outranks a number,
    unless the lower one is of a higher kind (bool < int < float)."""
    if not isinstance(tensor1, Tensor) and not isinstance(tensor2, Tensor):
        tensor1 = Tensor._wrap(tensor1)  # two numbers: the first as a 0-d tensor of its Python type's dtype
    return _operands(tensor1, tensor2)[0].dtype


def promote_types(type1: Any, type2: Any) -> np.dtype:
    """The dtype tensors of type1 and type2 combine to, as torch.promote_types: a float beats an
    int or bool, float64 beats float32, an int beats a bool."""
    return _result_dtype(_normalize_dtype(type1), _normalize_dtype(type2))


# --- PyTorch's other elementwise ops: atan2, copysign, heaviside, float_power, ldexp, frexp, ... ---


class ZeroGradientOp(Function):
    """A value computed off the tape, recorded with a zero gradient for each input: PyTorch's
    derivative of the piecewise-constant results it keeps on the tape (div with a rounding mode,
    in-place comparisons)."""

    __slots__ = ()

    def forward(self, *arrays, value):
        self.saved = tuple((a.shape, a.dtype) for a in arrays)
        return value

    def backward(self, g):
        be = self.be
        return tuple(
            be.full(shape, 0, dtype) if self.needs_grad(i) else None for i, (shape, dtype) in enumerate(self.saved)
        )


class FloorDivideOp(ZeroGradientOp):
    """floor_divide's node: PyTorch records the quotient (it requires grad) but has no derivative
    for it, so a backward reaching it raises (where div(rounding_mode="floor") has gradient 0)."""

    __slots__ = ()

    def backward(self, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")

    def _torch_name(self) -> str:
        return "NotImplemented"


def with_zero_gradient(value: Tensor, *inputs: Any, op: type[ZeroGradientOp] = ZeroGradientOp) -> Tensor:
    """value (a floating tensor computed off the tape), recorded by op (a zero gradient for the
    inputs that are tensors requiring grad); value itself when none does (or it is not floating)."""
    tensors = [t for t in inputs if isinstance(t, Tensor)]
    if value.dtype.kind != "f" or not any(t._requires_grad for t in tensors):
        return value
    return op.apply(*tensors, value=value._data)


_ROUNDING_MODES = {"trunc": "trunc_divide", "floor": "floor_divide"}


def _rounded_quotient(input: Any, other: Any, rounding_mode: str) -> Tensor:
    """div(input, other, rounding_mode=...): the quotient rounded on the host, gradient 0."""
    if rounding_mode not in _ROUNDING_MODES:
        raise ArgumentError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}"
        )
    return name_node(with_zero_gradient(_divide(_ROUNDING_MODES[rounding_mode], input, other), input, other),
                     "DivBackward2")


class Atan2Op(Function):
    """atan2(a, b) on the host (numpy's: libm's, as PyTorch's); the gradient (b, -a) / (a**2 + b**2),
    with 0 for 1 / (a**2 + b**2) where that is 1 / 0, as PyTorch."""

    __slots__ = ()

    def forward(self, a, b):
        be = self.be
        self.saved = (a, b)
        return _host_result(be, np.arctan2(be.to_numpy(a), be.to_numpy(b)))

    def backward(self, g):
        a, b = self.saved
        be = self.be
        squares = be.add(be.mul(a, a), be.mul(b, b))
        scaled = be.mul(g, be.where(be.compare("eq", squares, 0), 0, be.div(1, squares)))
        ga = _sum_to(be, be.mul(scaled, b), a.shape) if self.needs_grad(0) else None
        gb = _sum_to(be, be.neg(be.mul(scaled, a)), b.shape) if self.needs_grad(1) else None
        return ga, gb


def atan2(input: Any, other: Any) -> Tensor:
    """The angle of the point (other, input) in [-pi, pi], elementwise (broadcasting), as
    torch.atan2 (integer operands give float32); differentiable."""
    a, b = _operands(input, other)
    return _binary(Atan2Op, "atan2", _float(a), _float(b))


def copysign(input: Any, other: Any) -> Tensor:
    """|input| with the sign (bit) of other, elementwise (broadcasting), as torch.copysign (integer
    operands give float32); differentiable in input (0 where input is 0, as PyTorch)."""
    a, b = _operands(input, other)
    magnitude = abs(_float(a))
    return where(signbit(b), neg(magnitude), magnitude)


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """0 where input < 0, values where input == 0 and 1 where input > 0 (broadcasting), as
    torch.heaviside: input and values of one dtype. Not differentiable (nor is PyTorch's): the
    result is off the tape."""
    _require_tensor("heaviside", input)
    _require_tensor("heaviside", values)
    if input.dtype != values.dtype:
        raise DtypeError(f"heaviside is not yet implemented for tensors with different dtypes ({input.dtype} and "
                         f"{values.dtype})")
    x, v = input.detach(), values.detach()
    return where(eq(x, 0), v, cast(gt(x, 0), x.dtype))


def float_power(input: Any, exponent: Any) -> Tensor:
    """input ** exponent with both converted to float64, as torch.float_power; differentiable."""
    def double(v: Any) -> Any:
        return cast(v, np.float64) if isinstance(v, Tensor) else float(v)

    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError(f"float_power: expected a Tensor operand, got {type(input).__name__} and "
                        f"{type(exponent).__name__}")
    return pow(double(input), double(exponent))


def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """input * 2 ** other, as torch.ldexp (integer operands give float32); differentiable."""
    _require_tensor("ldexp", input)
    _require_tensor("ldexp", other)
    return mul(input, pow(2.0, other))


class FrexpOp(Function):
    """The mantissa of numpy's frexp (exact); its gradient g / 2 ** exponent, as PyTorch's."""

    __slots__ = ()

    def forward(self, a):
        be = self.be
        mantissa, exponent = np.frexp(be.to_numpy(a))
        with np.errstate(over="ignore"):
            self.saved = (_host_result(be, np.exp2(exponent).astype(a.dtype)),)
        return _host_result(be, mantissa)

    def backward(self, g):
        return (self.be.div(g, self.saved[0]),)


FrexpResult = namedtuple("frexp", ["mantissa", "exponent"])  # torch.return_types.frexp's fields


def frexp(input: Tensor) -> FrexpResult:
    """(mantissa, exponent) with input = mantissa * 2 ** exponent, |mantissa| in [0.5, 1) (0 for 0),
    exponent int32 (int64 on the CUDA device, which holds no int32), as torch.frexp; the mantissa
    is differentiable."""
    _require_tensor("frexp", input)
    if input.dtype.kind != "f":
        raise DtypeError(f"frexp() only supports floating-point dtypes, got {input.dtype}")
    exponent = np.frexp(input._host())[1].astype(np.int32 if input.device == "cpu" else np.int64)
    return FrexpResult(FrexpOp.apply(input), _from_host(np.asarray(exponent), input))


def nextafter(input: Tensor, other: Any) -> Tensor:
    """The next floating-point value after input toward other, elementwise (broadcasting), as
    torch.nextafter; floating tensors only. Not differentiable (nor is PyTorch's)."""
    _require_tensor("nextafter", input)
    a, b = _float_operands("nextafter", input, other)
    _require_same_device("nextafter", a, b)
    _broadcast_shape("nextafter", a.shape, b.shape)
    return _from_host(np.asarray(np.nextafter(a._host(), b._host())), a)


def _integer_op(name: str, ufunc: Any, input: Any, other: Any, bools: bool) -> Tensor:
    """ufunc (a numpy bitwise or number-theory op) of integer operands promoted as PyTorch's, on the
    host; bool operands only where bools (bool with bool: the logical op, on the device). Never on
    the tape."""
    a, b = _operands(input, other)
    _require_same_device(name, a, b)
    if a.dtype.kind == "f" or (a.dtype.kind == "b" and not bools):
        kinds = "integer or bool" if bools else "integer"
        raise UnsupportedDtypeError(f"{name}: not implemented for {a.dtype} tensors ({kinds} tensors only)")
    _broadcast_shape(name, a.shape, b.shape)
    if a.dtype.kind == "b":
        return _logical(name.replace("bitwise", "logical"), a, b)
    return _from_host(np.asarray(ufunc(a._host(), b._host())), a)


def bitwise_and(input: Any, other: Any) -> Tensor:
    """input & other of integer or bool tensors (broadcasting), as torch.bitwise_and."""
    return _integer_op("bitwise_and", np.bitwise_and, input, other, bools=True)


def bitwise_or(input: Any, other: Any) -> Tensor:
    """input | other of integer or bool tensors (broadcasting), as torch.bitwise_or."""
    return _integer_op("bitwise_or", np.bitwise_or, input, other, bools=True)


def bitwise_xor(input: Any, other: Any) -> Tensor:
    """input ^ other of integer or bool tensors (broadcasting), as torch.bitwise_xor."""
    return _integer_op("bitwise_xor", np.bitwise_xor, input, other, bools=True)


def bitwise_left_shift(input: Any, other: Any) -> Tensor:
    """input << other of integer tensors (broadcasting; 0 for shifts of the width or more), as
    torch.bitwise_left_shift."""
    return _integer_op("bitwise_left_shift", np.left_shift, input, other, bools=False)


def bitwise_right_shift(input: Any, other: Any) -> Tensor:
    """input >> other of integer tensors (arithmetic: the sign fills in), as torch.bitwise_right_shift."""
    return _integer_op("bitwise_right_shift", np.right_shift, input, other, bools=False)


def gcd(input: Tensor, other: Any) -> Tensor:
    """The greatest common divisor (non-negative) of integer tensors, elementwise, as torch.gcd."""
    return _integer_op("gcd", np.gcd, input, other, bools=False)


def lcm(input: Tensor, other: Any) -> Tensor:
    """The least common multiple (non-negative) of integer tensors, elementwise, as torch.lcm."""
    return _integer_op("lcm", np.lcm, input, other, bools=False)


def bitwise_not(input: Tensor) -> Tensor:
    """~input of an integer or bool tensor (logical not for bool), as torch.bitwise_not."""
    _require_tensor("bitwise_not", input)
    if input.dtype.kind == "f":
        raise UnsupportedDtypeError(
            f"bitwise_not: not implemented for {input.dtype} tensors (integer or bool tensors only)")
    if input.dtype.kind == "b":
        return logical_not(input)
    return _from_host(np.asarray(np.invert(input._host())), input)


def isposinf(input: Tensor) -> Tensor:
    """Where input is +inf, as a bool tensor, as torch.isposinf."""
    return _classify("isposinf", input, lambda be, a: be.compare("eq", a, np.inf), False)


def isneginf(input: Tensor) -> Tensor:
    """Where input is -inf, as a bool tensor, as torch.isneginf."""
    return _classify("isneginf", input, lambda be, a: be.compare("eq", a, -np.inf), False)


def isreal(input: Tensor) -> Tensor:
    """True everywhere (minigrad's dtypes are all real), as torch.isreal of a real tensor."""
    return _classify("isreal", input, lambda be, a: be.full(a.shape, True, np.bool_), True)


def positive(input: Tensor) -> Tensor:
    """input itself, as torch.positive (a bool tensor is an error, as PyTorch's)."""
    _require_tensor("positive", input)
    if input.dtype.kind == "b":
        raise DtypeError("The `+` operator, on a bool tensor is not supported.")
    return input


def square(input: Tensor) -> Tensor:
    """input * input, as torch.square (a bool tensor gives int64, as PyTorch's)."""
    _require_tensor("square", input)
    if input.dtype.kind == "b":
        return mul(cast(input, int64), cast(input, int64))
    return name_node(mul(input, input), "PowBackward0")  # PyTorch's square is pow(input, 2)


def rsub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """other - alpha * input (broadcasting), as torch.rsub; differentiable."""
    return name_node(sub(other, input, alpha=alpha), f"RsubBackward{0 if isinstance(other, Tensor) else 1}")


# PyTorch's other names of these functions
absolute = abs
arccos, arcsin, arctan, arctan2 = acos, asin, atan, atan2
arccosh, arcsinh, arctanh = acosh, asinh, atanh
clip = clamp
divide = div
true_divide = div
fix = trunc
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
multiply, subtract, negative = mul, sub, neg
sgn = sign
