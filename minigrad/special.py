"""PyTorch's torch.special: the special functions (gamma family, error functions, normal
distribution functions, modified Bessel functions, entropy terms) and its aliases of minigrad's
other ops, under torch.special's names and signatures. The functions without a kernel are
evaluated on the host in float64 (see minigrad/functional/special.py); all are differentiable."""

from __future__ import annotations

from typing import Any

from minigrad import functional as _F
from minigrad.functional import (
    digamma,
    entr,
    erf,
    erfc,
    erfcx,
    erfinv,
    exp2,
    expm1,
    i0,
    i0e,
    i1,
    i1e,
    log1p,
    log_ndtr,
    logit,
    ndtr,
    ndtri,
    polygamma,
    sinc,
    xlog1py,
    xlogy,
)
from minigrad.functional import lgamma as gammaln
from minigrad.functional import mvlgamma as _mvlgamma
from minigrad.functional import sigmoid as expit
from minigrad.tensor import Tensor

psi = digamma

__all__ = [
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammaln",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "sinc",
    "softmax",
    "xlog1py",
    "xlogy",
]


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension p, as torch.special.multigammaln (mvlgamma)."""
    return _mvlgamma(input, p)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 (PyTorch's name)
    """input rounded half to even (to decimals places), as torch.special.round."""
    return _F.round(input, decimals=decimals)


def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """softmax along dim (computed in dtype when given), as torch.special.softmax."""
    return _F.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """log_softmax along dim (computed in dtype when given), as torch.special.log_softmax."""
    return _F.log_softmax(input, dim, dtype=dtype)


def logsumexp(input: Tensor, dim: int | tuple[int, ...], keepdim: bool = False) -> Tensor:
    """log(sum(exp(input))) over dim without overflow, as torch.special.logsumexp."""
    return _F.logsumexp(input, dim, keepdim)
