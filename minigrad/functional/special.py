"""PyTorch's special functions (torch.special and their torch.* / Tensor forms): lgamma, digamma,
polygamma, mvlgamma, erfc, erfinv, erfcx, ndtr, ndtri, log_ndtr, the modified Bessel functions i0,
i0e, i1, i1e, entr, xlog1py.

There is no kernel for them: each is evaluated on the host in float64 with vectorised numpy
(math.lgamma / math.erf / math.erfc through frompyfunc where numpy has no ufunc) and rounded once
to the input's dtype, so float32 results are float64 ones rounded. On CUDA that is a trip through
the host, on purpose (docs/architecture.md). The derivatives are host functions too; integer
inputs give float32 (get_default_dtype()), as PyTorch's. For create_graph the same derivatives
are written with these functions on tensors (GRAPH_DERIVATIVES: digamma's is polygamma(1), i0's
i1, ...), so every function here can be differentiated any number of times.

Algorithms: digamma is PyTorch's (recurrence to x >= 10, then the asymptotic series, reflection
below 0); polygamma(n >= 1) sums the Hurwitz zeta series to a shift past 10 + 2(n + 1) and adds the
Euler-Maclaurin tail (more accurate than PyTorch's trigamma, whose asymptotic series stops at about
1e-8 relative); erfinv is PyTorch's rational approximation plus two Newton steps on erf; i0/i1 a
power series below 30 and the asymptotic expansion above; erfcx exp(x^2) erfc(x) with x^2 split
exactly, the asymptotic series beyond 12; ndtri sqrt(2) erfinv(2p - 1) in the centre and Newton
steps on log_ndtr in the tails.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.functional._common import _require_tensor
from minigrad.functional.elementwise import (
    _float,
    _operands,
    eq,
    isfinite,
    isnan,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    mul,
    where,
)
from minigrad.tensor import Tensor

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT1_2 = math.sqrt(0.5)

_LGAMMA = np.frompyfunc(math.lgamma, 1, 1)
_ERF = np.frompyfunc(math.erf, 1, 1)
_ERFC = np.frompyfunc(math.erfc, 1, 1)


def _apply(fn: Any, x: np.ndarray) -> np.ndarray:
    """A frompyfunc of x as a float64 array of x's shape (frompyfunc gives objects, and a Python
    float for 0-d input)."""
    return np.asarray(fn(x), dtype=np.float64).reshape(x.shape)


# --- the float64 kernels -----------------------------------------------------------------------


def _lgamma(x: np.ndarray) -> np.ndarray:
    """log|Gamma(x)|: inf at 0 and the negative integers (and at -inf), as PyTorch's."""
    # inf beyond about 2.55e305, where math.lgamma raises OverflowError rather than overflowing
    pole = ((x <= 0) & (x == np.floor(x))) | (x > 2.5e305)
    out = _apply(_LGAMMA, np.where(pole, 1.0, x))
    return np.where(pole, math.inf, out)


_PSI_10 = 2.25175258906672110764
_DIGAMMA_A = (
    8.33333333333333333333e-2,
    -2.10927960927960927961e-2,
    7.57575757575757575758e-3,
    -4.16666666666666666667e-3,
    3.96825396825396825397e-3,
    -8.33333333333333333333e-3,
    8.33333333333333333333e-2,
)


def _digamma_positive(y: np.ndarray) -> np.ndarray:
    """digamma for y > 0 (inf and nan pass through): PyTorch's recurrence and asymptotic series."""
    y = y.copy()
    result = np.zeros_like(y)
    while True:
        m = y < 10
        if not m.any():
            break
        result[m] -= 1 / y[m]
        y[m] += 1
    z = 1 / (y * y)
    poly = np.zeros_like(y)
    for c in _DIGAMMA_A:
        poly = poly * z + c
    with np.errstate(invalid="ignore"):
        tail = np.where(y < 1.0e17, z * poly, 0.0)
        out = result + np.log(y) - 0.5 / y - tail
    return np.where(y == 10, result + _PSI_10, out)


def _digamma(x: np.ndarray) -> np.ndarray:
    """digamma (psi): -inf at +0, inf at -0, nan at the negative integers and -inf, as PyTorch."""
    neg = x < 0
    negint = neg & (x == np.trunc(x))
    zero = x == 0
    reflected = neg & ~negint
    r = np.where(reflected, x - np.trunc(x), 0.5)
    y = np.where(neg | zero, np.where(reflected, 1 - x, 1.0), x)
    out = _digamma_positive(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(reflected, out - math.pi / np.tan(math.pi * r), out)
    out = np.where(negint, math.nan, out)
    return np.where(zero, np.copysign(math.inf, -x), out)


# B_2j / (2j)! for the Euler-Maclaurin tail of the Hurwitz zeta function
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798, -174611 / 330)
_EM = tuple(b / math.factorial(2 * j + 2) for j, b in enumerate(_BERNOULLI))


def _hurwitz_zeta(s: int, q: np.ndarray) -> np.ndarray:
    """sum_k (q + k)^-s for an integer s >= 2: the terms summed directly until q + k passes
    10 + 2s, then the Euler-Maclaurin tail. inf at q = 0, -1, ...; nan at -inf."""
    pole = (q <= 0) & (q == np.floor(q))
    nan = np.isnan(q)
    q = np.where(pole | nan, 1.0, q)
    total = np.zeros_like(q)
    threshold = 10.0 + 2 * s
    while True:
        m = q < threshold
        if not m.any():
            break
        total[m] += q[m] ** -s
        q[m] += 1
    with np.errstate(over="ignore", under="ignore"):
        inv = 1 / q
        power = inv ** (s - 1)  # q^(1 - s)
        tail = power / (s - 1) + 0.5 * power * inv
        term = power * inv  # q^-s, times the rising factorial below
        rising = float(s)
        for j, coefficient in enumerate(_EM):
            tail = tail + coefficient * rising * term * inv
            rising *= (s + 2 * j + 1) * (s + 2 * j + 2)
            term = term * inv * inv
    out = total + tail
    return np.where(pole, math.inf, np.where(nan, math.nan, out))


def _polygamma(n: int, x: np.ndarray) -> np.ndarray:
    """The n-th derivative of digamma: (-1)^(n+1) n! zeta(n + 1, x) (reflection below 1/2 for n = 1)."""
    if n == 0:
        return _digamma(x)
    if n == 1:
        small = x < 0.5
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            sin = np.sin(math.pi * np.where(small, x, 0.5))
            reflected = math.pi**2 / (sin * sin) - _hurwitz_zeta(2, np.where(small, 1 - x, 1.0))
        pole = (x <= 0) & (x == np.floor(x)) & np.isfinite(x)
        out = np.where(small, reflected, _hurwitz_zeta(2, np.where(small, 1.0, x)))
        return np.where(pole, math.inf, np.where(np.isneginf(x) | np.isnan(x), math.nan, out))
    # PyTorch's zeta: -inf is a pole (+-inf), inf gives nan (0 * inf in its tail)
    zeta = np.where(np.isposinf(x), math.nan, _hurwitz_zeta(n + 1, x))
    with np.errstate(over="ignore", invalid="ignore"):
        return (1.0 if n % 2 else -1.0) * math.exp(math.lgamma(n + 1)) * zeta


# PyTorch's rational approximation of erfinv (then two Newton steps on erf)
_ERFINV_A = (0.886226899, -1.645349621, 0.914624893, -0.140543331)
_ERFINV_B = (-2.118377725, 1.442710462, -0.329097515, 0.012229801)
_ERFINV_C = (-1.970840454, -1.624906493, 3.429567803, 1.641345311)
_ERFINV_D = (3.543889200, 1.637067800)


def _erfinv(y: np.ndarray) -> np.ndarray:
    """erf^-1: +-inf at +-1, nan outside [-1, 1], as PyTorch's (its algorithm)."""
    a, b, c, d = _ERFINV_A, _ERFINV_B, _ERFINV_C, _ERFINV_D
    ya = np.abs(y)
    inside = ya < 1
    yy = np.where(inside, y, 0.0)
    ya = np.abs(yy)
    z = yy * yy
    central = yy * (((a[3] * z + a[2]) * z + a[1]) * z + a[0]) / ((((b[3] * z + b[2]) * z + b[1]) * z + b[0]) * z + 1)
    with np.errstate(divide="ignore"):
        w = np.sqrt(-np.log((1.0 - np.where(ya > 0.7, ya, 0.5)) / 2.0))
    tails = np.copysign(((c[3] * w + c[2]) * w + c[1]) * w + c[0], yy) / ((d[1] * w + d[0]) * w + 1)
    x = np.where(ya <= 0.7, central, tails)
    for _ in range(2):
        x = x - (_apply(_ERF, x) - yy) / ((2.0 / _SQRT_PI) * np.exp(-x * x))
    edge = np.where(y == 1, math.inf, np.where(y == -1, -math.inf, math.nan))
    return np.where(inside, x, edge)


def _erfc(x: np.ndarray) -> np.ndarray:
    return _apply(_ERFC, x)


def _exp_square(x: np.ndarray) -> np.ndarray:
    """exp(x^2) without the error of rounding x^2: x = hi + lo with hi of 24 bits, hi^2 exact."""
    hi = x.astype(np.float32).astype(np.float64)
    hi = np.where(np.isfinite(hi), hi, x)
    lo = np.where(np.isfinite(x), x - hi, 0.0)
    with np.errstate(over="ignore"):
        return np.exp(hi * hi) * np.exp(lo * (x + hi))


def _erfcx(x: np.ndarray) -> np.ndarray:
    """exp(x^2) erfc(x): the asymptotic series beyond 12 (0 at inf), inf below about -26.6."""
    big = x > 12
    xs = np.where(big, 1.0, x)
    with np.errstate(over="ignore", invalid="ignore"):
        near = _exp_square(xs) * _erfc(xs)
        near = np.where(np.isneginf(xs), math.inf, near)
    xb = np.where(big, x, 13.0)
    with np.errstate(over="ignore", under="ignore"):
        inv2 = 1 / (2 * xb * xb)
        term, total = np.ones_like(xb), np.ones_like(xb)
        for k in range(1, 21):
            term = -term * (2 * k - 1) * inv2
            total = total + term
        far = total / (xb * _SQRT_PI)
    return np.where(big, far, near)


def _ndtr(x: np.ndarray) -> np.ndarray:
    """The standard normal CDF, as PyTorch computes it."""
    t = x * _SQRT1_2
    return np.where(x < -1.0, 0.5 * _erfc(-t), 0.5 * (1 + _apply(_ERF, t)))


def _log_ndtr(x: np.ndarray) -> np.ndarray:
    """log of the standard normal CDF, as PyTorch computes it (erfcx below -1)."""
    t = x * _SQRT1_2
    low = x < -1.0
    tl = np.where(low, t, 0.0)
    th = np.where(low, 0.0, t)
    with np.errstate(divide="ignore"):
        return np.where(low, np.log(_erfcx(-tl) / 2) - tl * tl, np.log1p(-_erfc(th) / 2))


def _ndtri(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile: -inf at 0, inf at 1, nan outside [0, 1]."""
    central = np.abs(p - 0.5) <= 0.425
    out = math.sqrt(2) * _erfinv(np.where(central, 2 * p - 1, 0.0))
    # the tails from the lower one (1 - p is exact for p >= 1/2): Acklam's start, Newton on log_ndtr
    q = np.where(p > 0.5, 1 - p, p)
    tail = ~central & (q > 0) & (q <= 0.5)
    qt = np.where(tail, q, 0.01)
    r = np.sqrt(-2 * np.log(qt))
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
         4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / (
        (((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1)
    log_q = np.log(qt)
    for _ in range(3):
        x = x - (_log_ndtr(x) - log_q) * _erfcx(-x * _SQRT1_2) * math.sqrt(math.pi / 2)
    out = np.where(tail, np.where(p > 0.5, -x, x), out)
    out = np.where(p == 0, -math.inf, np.where(p == 1, math.inf, out))
    return np.where((p < 0) | (p > 1) | np.isnan(p), math.nan, out)


def _bessel_series(x: np.ndarray, order: int) -> np.ndarray:
    """I0 or I1 of |x| <= 30 by its power series (positive terms: no cancellation)."""
    quarter = x * x / 4
    term = np.ones_like(x) if order == 0 else x / 2
    total = term.copy()
    for k in range(1, 90):
        term = term * quarter / (k * (k + order))
        total = total + term
    return total


def _bessel_scaled_asymptotic(x: np.ndarray, order: int) -> np.ndarray:
    """sqrt(2 pi x) exp(-x) I_order(x) for x > 30: the asymptotic series."""
    mu = 4.0 * order * order
    inv8 = 1 / (8 * x)
    term, total = np.ones_like(x), np.ones_like(x)
    for k in range(1, 40):
        term = -term * (mu - (2 * k - 1) ** 2) * inv8 / k
        total = total + term
    return total


def _bessel(x: np.ndarray, order: int, scaled: bool) -> np.ndarray:
    """I0/I1 of x, or exp(-|x|) times them (scaled); I1 is odd."""
    ax = np.abs(x)
    small = ax <= 30
    xs = np.where(small, ax, 0.0)
    series = _bessel_series(xs, order)
    if scaled:
        series = series * np.exp(-xs)
    xl = np.where(small, 31.0, ax)
    with np.errstate(over="ignore", invalid="ignore"):
        normalised = _bessel_scaled_asymptotic(xl, order)
        if scaled:
            large = normalised / (math.sqrt(2 * math.pi) * np.sqrt(xl))  # 2 pi x overflows from 2.9e307
        else:
            # exp(x) / sqrt(2 pi x): inf from 709.78 on (where exp overflows), nan at inf, as PyTorch's
            large = np.exp(xl) / (math.sqrt(2 * math.pi) * np.sqrt(xl)) * normalised
        large = np.where(np.isinf(xl), 0.0 if scaled else math.nan, large)
    out = np.where(small, series, large)
    if order == 1:
        out = np.where(x < 0, -out, out)
    return np.where(np.isnan(x), math.nan, out)


def _entr(x: np.ndarray) -> np.ndarray:
    """-x log x; 0 at 0, -inf below 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1.0)), np.where(x == 0, 0.0, -math.inf))
    return np.where(np.isnan(x), x, out)


def _small_safe(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(|x| > eps, x with eps where not): PyTorch's i1/i1e backward."""
    eps = np.finfo(np.float64).eps
    big = np.abs(x) > eps
    return big, np.where(big, x, eps)


def _i1_derivative(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    big, safe = _small_safe(x)
    return np.where(big, _bessel(safe, 0, False) - out / safe, 0.5)


def _i1e_derivative(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    big, safe = _small_safe(x)
    return np.where(big, _bessel(safe, 0, True) - out * (np.sign(safe) + 1 / safe), 0.5)


def _erfinv_derivative(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 0.5 * _SQRT_PI * np.exp(out * out)


def _ndtri_derivative(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return _SQRT_2PI * np.exp(0.5 * out * out)


def _entr_derivative(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(1 + np.log(x))


# name -> (forward(x), derivative(x, out)), both float64 arrays; (PyTorch's backward node name)
_KERNELS: dict[str, tuple[Callable, Callable, str]] = {
    "lgamma": (_lgamma, lambda x, out: _digamma(x), "LgammaBackward0"),
    "digamma": (_digamma, lambda x, out: _polygamma(1, x), "DigammaBackward0"),
    "erfc": (_erfc, lambda x, out: (-2 / _SQRT_PI) * np.exp(-x * x), "ErfcBackward0"),
    "erfinv": (_erfinv, _erfinv_derivative, "ErfinvBackward0"),
    "erfcx": (_erfcx, lambda x, out: 2 * x * out - 2 / _SQRT_PI, "SpecialErfcxBackward0"),
    "ndtr": (_ndtr, lambda x, out: np.exp(-0.5 * x * x) / _SQRT_2PI, "SpecialNdtrBackward0"),
    "ndtri": (_ndtri, _ndtri_derivative, "SpecialNdtriBackward0"),
    "log_ndtr": (_log_ndtr, lambda x, out: math.sqrt(2 / math.pi) / _erfcx(-x * _SQRT1_2), "SpecialLogNdtrBackward0"),
    "i0": (lambda x: _bessel(x, 0, False), lambda x, out: _bessel(x, 1, False), "I0Backward0"),
    "i0e": (lambda x: _bessel(x, 0, True), lambda x, out: _bessel(x, 1, True) - np.sign(x) * out,
            "SpecialI0EBackward0"),
    "i1": (lambda x: _bessel(x, 1, False), _i1_derivative, "SpecialI1Backward0"),
    "i1e": (lambda x: _bessel(x, 1, True), _i1e_derivative, "SpecialI1EBackward0"),
    "entr": (_entr, _entr_derivative, "SpecialEntrBackward0"),
}


def _host_float64(be: Any, a: Any) -> np.ndarray:
    """A backend array's values on the host, in float64 (the kernels' precision)."""
    return np.asarray(be.to_numpy(a), dtype=np.float64)


def _to_device(be: Any, out: np.ndarray, dtype: Any) -> Any:
    """A float64 host result rounded once to dtype, as a backend array."""
    with np.errstate(over="ignore"):  # float64 results beyond float32's range become inf
        return be.from_numpy(np.ascontiguousarray(out.astype(dtype, copy=False)).reshape(out.shape))


class SpecialOp(Function):
    """One of _KERNELS evaluated on the host in float64 (rounded to the input's dtype); backward
    multiplies the gradient by the float64 derivative (rounded likewise)."""

    __slots__ = ("function",)

    def forward(self, a, function):
        self.function = function
        x = _host_float64(self.be, a)
        with np.errstate(all="ignore"):
            out = _KERNELS[function][0](x)
        self.saved = (x, out)
        return _to_device(self.be, out, a.dtype)

    def backward(self, g):
        x, out = self.saved
        with np.errstate(all="ignore"):
            derivative = _KERNELS[self.function][1](x, out)
        return (self.be.mul(g, _to_device(self.be, derivative, g.dtype)),)

    def name(self) -> str:
        return _KERNELS[self.function][2]


class PolygammaOp(Function):
    """polygamma(n, x) on the host; its derivative is polygamma(n + 1, x)."""

    __slots__ = ("n",)

    def forward(self, a, n):
        self.n = n
        x = _host_float64(self.be, a)
        with np.errstate(all="ignore"):
            out = _polygamma(n, x)
        self.saved = (x,)
        return _to_device(self.be, out, a.dtype)

    def backward(self, g):
        (x,) = self.saved
        with np.errstate(all="ignore"):
            derivative = _polygamma(self.n + 1, x)
        return (self.be.mul(g, _to_device(self.be, derivative, g.dtype)),)

    def name(self) -> str:
        return "PolygammaBackward0"


def _special_function(name: str, torch_name: str, what: str) -> Callable[[Tensor], Tensor]:
    def fn(input: Tensor) -> Tensor:
        _require_tensor(name, input)
        return SpecialOp.apply(_float(input), function=name)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Elementwise {what}, as {torch_name} (computed on the host in float64; integer tensors "
                  "give float32); differentiable.")
    return fn


lgamma = _special_function("lgamma", "torch.lgamma", "log |Gamma(x)| (inf at the poles 0, -1, -2, ...)")
digamma = _special_function(
    "digamma", "torch.digamma", "digamma psi(x) = d/dx lgamma(x) (-inf at +0, inf at -0, nan at -1, -2, ...)")
erfc = _special_function("erfc", "torch.erfc", "complementary error function 1 - erf(x)")
erfinv = _special_function("erfinv", "torch.erfinv", "inverse error function (+-inf at +-1, nan outside [-1, 1])")
erfcx = _special_function("erfcx", "torch.special.erfcx", "scaled complementary error function exp(x^2) erfc(x)")
ndtr = _special_function("ndtr", "torch.special.ndtr", "standard normal CDF")
ndtri = _special_function("ndtri", "torch.special.ndtri", "standard normal quantile (the inverse of ndtr)")
log_ndtr = _special_function("log_ndtr", "torch.special.log_ndtr", "log of the standard normal CDF")
i0 = _special_function("i0", "torch.i0", "modified Bessel function of the first kind, order 0")
i0e = _special_function("i0e", "torch.special.i0e", "exponentially scaled i0: exp(-|x|) i0(x)")
i1 = _special_function("i1", "torch.special.i1", "modified Bessel function of the first kind, order 1")
i1e = _special_function("i1e", "torch.special.i1e", "exponentially scaled i1: exp(-|x|) i1(x)")
entr = _special_function("entr", "torch.special.entr", "entropy term -x log x (0 at 0, -inf below 0)")


def _away_from_zero(x: Tensor) -> tuple[Tensor, Tensor]:
    """(|x| > eps, x with eps where not), as _small_safe on tensors: the i1/i1e derivatives'
    removable singularity at 0, kept out of the recorded division."""
    eps = float(np.finfo(np.float64).eps)
    big = x.detach().abs() > eps
    return big, where(big, x, eps)


def _i1_derivative_graph(x: Tensor, out: Tensor) -> Tensor:
    big, safe = _away_from_zero(x)
    return where(big, i0(safe) - out / safe, 0.5)


def _i1e_derivative_graph(x: Tensor, out: Tensor) -> Tensor:
    big, safe = _away_from_zero(x)
    return where(big, i0e(safe) - out * (safe.sign() + 1 / safe), 0.5)


# name -> the derivative of _KERNELS' function from x and its value out, as differentiable tensor
# ops (the same formulas as _KERNELS' host ones), for gradients taken with create_graph
GRAPH_DERIVATIVES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "lgamma": lambda x, out: digamma(x),
    "digamma": lambda x, out: polygamma(1, x),
    "erfc": lambda x, out: (-x * x).exp() * (-2 / _SQRT_PI),
    "erfinv": lambda x, out: (out * out).exp() * (0.5 * _SQRT_PI),
    "erfcx": lambda x, out: 2 * x * out - 2 / _SQRT_PI,
    "ndtr": lambda x, out: (-0.5 * x * x).exp() / _SQRT_2PI,
    "ndtri": lambda x, out: (0.5 * out * out).exp() * _SQRT_2PI,
    "log_ndtr": lambda x, out: math.sqrt(2 / math.pi) / erfcx(-x * _SQRT1_2),
    "i0": lambda x, out: i1(x),
    "i0e": lambda x, out: i1e(x) - x.sign() * out,
    "i1": _i1_derivative_graph,
    "i1e": _i1e_derivative_graph,
    "entr": lambda x, out: -(1 + x.log()),
}


def polygamma(n: int, input: Tensor) -> Tensor:
    """The n-th derivative of digamma at input, as torch.polygamma(n, input) (n = 0 is digamma;
    inf at the poles 0, -1, ... for odd n); differentiable in input."""
    _require_tensor("polygamma", input)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return PolygammaOp.apply(_float(input), n=int(n))


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension p, sum_i lgamma(x - i/2) +
    p (p - 1) / 4 log(pi), as torch.mvlgamma; RuntimeError unless p >= 1 and every x > (p - 1) / 2."""
    _require_tensor("mvlgamma", input)
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"mvlgamma(): argument 'p' must be int, not {type(p).__name__}")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _float(input)
    if not bool((x.detach() > 0.5 * (p - 1)).all().item()):
        raise RuntimeError("All elements must be greater than (p-1)/2")
    from minigrad.creation import arange

    offsets = arange(-0.5 * (p - 1), 0.5, 0.5, dtype=x.dtype, device=x.device)[:p]
    return lgamma(x.unsqueeze(-1) + offsets).sum(-1) + p * (p - 1) * math.log(math.pi) / 4


def xlog1py(input: Any, other: Any) -> Tensor:
    """input * log1p(other), and 0 where input is 0 (unless other is NaN), as
    torch.special.xlog1py (numbers allowed for either; integers give float32); differentiable."""
    x, y = _operands(input, other)
    x, y = _float(x), _float(y)
    # log1p(0) where the product is 0 by definition and log1p(y) would be -inf, nan or inf
    defined_zero = logical_and(eq(x, 0), logical_not(isnan(y)))
    unusable = logical_or(logical_not(isfinite(y)), y <= -1)
    return mul(x, log1p(where(logical_and(defined_zero, unusable), 0.0, y)))
