"""The Wishart distribution over positive-definite matrices, as torch.distributions.Wishart."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

from minigrad.autograd import no_grad
from minigrad.creation import arange, eye, randn, tensor
from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.exp_family import ExponentialFamily
from minigrad.distributions.gamma import _standard_gamma_rsample
from minigrad.distributions.multivariate_normal import _precision_to_scale_tril
from minigrad.distributions.utils import lazy_property
from minigrad.functional import broadcast_shapes, digamma, mvlgamma, where
from minigrad.linalg import cholesky, cholesky_solve, slogdet
from minigrad.tensor import Size, Tensor, finfo

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """The multivariate digamma: sum_i digamma(x - i/2), i = 0..p-1."""
    if not (x > (p - 1) / 2).all().item():
        raise AssertionError("Wrong domain for multivariate digamma function.")
    halves = arange(p, dtype=x.dtype, device=x.device) / 2
    return digamma(x.unsqueeze(-1) - halves).sum(-1)


class Wishart(ExponentialFamily):
    """The Wishart distribution of ``df`` degrees of freedom (> p - 1 for p x p matrices) and
    scale given by exactly one of ``covariance_matrix``, ``precision_matrix`` (positive-definite)
    or ``scale_tril`` (its lower Cholesky factor); leading dims of df and the matrix broadcast into
    the batch shape. Samples by the Bartlett decomposition, with chi-squared draws from Gamma's
    sampler, differentiable to df and the scale with ``rsample``."""

    support = constraints.positive_definite
    has_rsample = True

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:  # type: ignore[override]
        """The matrices' constraints and df > p - 1."""
        return {
            "covariance_matrix": constraints.positive_definite,
            "precision_matrix": constraints.positive_definite,
            "scale_tril": constraints.lower_cholesky,
            "df": constraints.greater_than(self.event_shape[-1] - 1),
        }

    def __init__(
        self,
        df: Tensor | float,
        covariance_matrix: Tensor | None = None,
        precision_matrix: Tensor | None = None,
        scale_tril: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        given = {"covariance_matrix": covariance_matrix, "precision_matrix": precision_matrix, "scale_tril": scale_tril}
        given = {name: matrix for name, matrix in given.items() if matrix is not None}
        if len(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        ((name, param),) = given.items()
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, Tensor):
            batch_shape = Size(broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(batch_shape)
        else:
            # expanded too (PyTorch keeps a number's df 0-d, so its mean fails for batched matrices)
            batch_shape = Size(param.shape[:-2])
            self.df = tensor(df, dtype=param.dtype, device=param.device).expand(batch_shape)
        event_shape = param.shape[-2:]
        if (self.df <= event_shape[-1] - 1).any().item():
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {event_shape[-1] - 1}.")
        setattr(self, name, param.expand(tuple(batch_shape) + (-1, -1)))
        if (self.df < event_shape[-1]).any().item():
            warnings.warn(
                "Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < ndim.",
                stacklevel=2,
            )
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """df, the factor and the matrices given or computed so far expanded to batch_shape
        (Distribution.expand)."""
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = Size(batch_shape)
        cov_shape = tuple(batch_shape) + tuple(self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple[int, ...]:
        return tuple(self._batch_shape) + tuple(self._event_shape)

    @lazy_property
    def scale_tril(self) -> Tensor:
        """The lower Cholesky factor L of the scale matrix."""
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        """The scale matrix L L^T."""
        tril = self._unbroadcasted_scale_tril
        return (tril @ tril.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        """The inverse scale matrix."""
        tril = self._unbroadcasted_scale_tril
        identity = eye(self._event_shape[-1], dtype=tril.dtype, device=tril.device)
        return cholesky_solve(identity, tril).expand(self._matrix_shape())

    def _df_matrix(self) -> Tensor:
        return self.df.reshape(tuple(self._batch_shape) + (1, 1))

    @property
    def mean(self) -> Tensor:
        """df times the scale matrix."""
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        """(df - p - 1) times the scale matrix; NaN where df <= p + 1."""
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = where(factor <= 0, math.nan, factor)
        return factor.reshape(tuple(self._batch_shape) + (1, 1)) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        """df (V_ij^2 + V_ii V_jj) with V the scale matrix."""
        v = self.covariance_matrix
        diag_v = v.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix() * (v.pow(2) + diag_v.unsqueeze(-1) * diag_v.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape: Sequence[int]) -> Tensor:
        """L A A^T L^T with A lower-triangular: sqrt(chi2(df - i)) on the diagonal, standard
        normals below it."""
        p = self._event_shape[-1]
        tril = self._unbroadcasted_scale_tril
        chi2_df = self.df.unsqueeze(-1) - arange(p, dtype=tril.dtype, device=tril.device)
        shape = tuple(Size(sample_shape)) + tuple(self._batch_shape) + (p,)
        chi2 = 2 * _standard_gamma_rsample(chi2_df.expand(shape) / 2)  # chi2(k) = Gamma(k / 2, rate 1 / 2)
        diagonal = chi2.sqrt().clamp(min=finfo(chi2.dtype).eps).diag_embed()
        below = randn(shape + (p,), dtype=tril.dtype, device=tril.device).tril(-1)
        chol = tril @ (diagonal + below)
        return chol @ chol.mT

    def rsample(self, sample_shape: Sequence[int] = (), max_try_correction: int | None = None) -> Tensor:
        """Draws of shape sample_shape + batch_shape + (p, p), differentiable to df and the scale;
        a draw that is not positive-definite (likely for df < p) is redrawn up to
        max_try_correction (default 10) times, with a warning; one that stays singular may score
        -inf in log_prob."""
        max_try_correction = 10 if max_try_correction is None else max_try_correction
        sample = self._bartlett_sampling(sample_shape)
        with no_grad():
            is_singular = ~self.support.check(sample)
        if is_singular.any().item():
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(max_try_correction):
                redraw = self._bartlett_sampling(sample_shape)
                sample = where(is_singular.unsqueeze(-1).unsqueeze(-1), redraw, sample)
                with no_grad():
                    is_singular = ~self.support.check(sample)
                if not is_singular.any().item():
                    break
        return sample

    def _log_det_scale_half(self) -> Tensor:
        """p log(2) / 2 + log det L."""
        p = self._event_shape[-1]
        return p * _LOG_2 / 2 + self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value: Tensor) -> Tensor:
        """-df (p log 2 / 2 + log det L) - mvlgamma(df / 2, p) + (df - p - 1) / 2 log det value
        - tr(scale^-1 value) / 2."""
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        trace = cholesky_solve(value, self._unbroadcasted_scale_tril).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (
            -nu * self._log_det_scale_half()
            - mvlgamma(nu / 2, p=p)
            + (nu - p - 1) / 2 * slogdet(value).logabsdet
            - trace / 2
        )

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        """-precision / 2 and (df - p - 1) / 2 (the KL between two Wishart's goes through these)."""
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        """(y + (p + 1) / 2) (p log 2 - log|det(-2 x)|) + mvlgamma(y + (p + 1) / 2, p)."""
        p = self._event_shape[-1]
        return (y + (p + 1) / 2) * (-slogdet(-2 * x).logabsdet + math.log(2) * p) + mvlgamma(y + (p + 1) / 2, p=p)

    _mean_carrier_measure = 0

    def entropy(self) -> Tensor:
        """(p + 1) (p log 2 / 2 + log det L) + mvlgamma(df / 2, p) - (df - p - 1) / 2
        mvdigamma(df / 2, p) + df p / 2."""
        nu = self.df
        p = self._event_shape[-1]
        return (
            (p + 1) * self._log_det_scale_half()
            + mvlgamma(nu / 2, p=p)
            - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p=p)
            + nu * p / 2
        )
