"""The multivariate normal distribution, as torch.distributions.MultivariateNormal.

minigrad has no Cholesky or triangular-solve kernels, so both are composed here from
differentiable tensor ops, a row or column at a time: O(n) ops on (..., n)-sized tensors, which is
fine for the small event sizes (a few dozen at most) that policies and latent spaces use."""

from __future__ import annotations

import math
from collections.abc import Sequence

from minigrad.creation import arange, eye, randn
from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.utils import lazy_property
from minigrad.functional import broadcast_shapes, flip, stack
from minigrad.functional.decompositions import LinAlgError
from minigrad.tensor import Size, Tensor

__all__ = ["MultivariateNormal"]


def _cholesky(matrix: Tensor) -> Tensor:
    """The lower-triangular L with L L^T = matrix (batched over leading dims), column by column;
    LinAlgError (a RuntimeError) when matrix is not positive-definite, as torch.linalg.cholesky."""
    # read symmetrised, so the gradient is symmetric (as PyTorch's), not all on the lower triangle
    matrix = (matrix + matrix.mT) / 2
    n = matrix.shape[-1]
    rows = arange(n, device=matrix.device)
    columns: list[Tensor] = []
    for j in range(n):
        v = matrix[..., :, j]
        if columns:
            done = stack(columns, dim=-1)  # (..., n, j)
            v = v - (done * done[..., j : j + 1, :]).sum(-1)
        below = (rows >= j).to(matrix.dtype)  # the column's entries above the diagonal are 0
        columns.append(v / v[..., j : j + 1].sqrt() * below)
    factor = stack(columns, dim=-1)
    if not (factor.diagonal(dim1=-2, dim2=-1) > 0).all().item():  # False for NaN, from sqrt of a negative
        raise LinAlgError(
            "linalg.cholesky: The factorization could not be completed because the input is not positive-definite."
        )
    return factor


def _solve_lower(lower: Tensor, rhs: Tensor) -> Tensor:
    """X with lower @ X = rhs for lower-triangular lower (..., n, n) and rhs (..., n, m), leading
    dims broadcast; forward substitution, a row at a time."""
    n = lower.shape[-1]
    rows: list[Tensor] = []
    for i in range(n):
        r = rhs[..., i, :]
        if rows:
            done = stack(rows, dim=-2)  # (..., i, m)
            r = r - (lower[..., i, :i].unsqueeze(-1) * done).sum(-2)
        rows.append(r / lower[..., i, i : i + 1])
    return stack(rows, dim=-2)


def _batch_mahalanobis(lower: Tensor, x: Tensor) -> Tensor:
    """x^T (L L^T)^-1 x over the last dim of x: the squared norm of L^-1 x."""
    return _solve_lower(lower, x.unsqueeze(-1)).squeeze(-1).pow(2).sum(-1)


def _precision_to_scale_tril(precision: Tensor) -> Tensor:
    """The Cholesky factor of precision^-1, without forming the inverse: with flip() reversing
    both axes, flip(cholesky(flip(P))) is upper-triangular U with U U^T = P, and L = U^-T."""
    flipped = _cholesky(flip(precision, (-2, -1)))
    inverse_factor = flip(flipped, (-2, -1)).mT  # lower-triangular, = L^-1
    identity = eye(precision.shape[-1], dtype=precision.dtype, device=precision.device)
    return _solve_lower(inverse_factor, identity)


class MultivariateNormal(Distribution):
    """The normal distribution over vectors of the last dim of ``loc``, with covariance given by
    exactly one of ``covariance_matrix``, ``precision_matrix`` (both positive-definite) or
    ``scale_tril`` (lower-triangular with a positive diagonal, covariance = L L^T); leading dims of
    loc and the matrix broadcast into the batch shape. ``rsample`` is reparameterised
    (loc + L eps)."""

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc: Tensor,
        covariance_matrix: Tensor | None = None,
        precision_matrix: Tensor | None = None,
        scale_tril: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = {
            "covariance_matrix": covariance_matrix,
            "precision_matrix": precision_matrix,
            "scale_tril": scale_tril,
        }
        given = {name: matrix for name, matrix in given.items() if matrix is not None}
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        ((name, matrix),) = given.items()
        if matrix.dim() < 2:
            raise ValueError(f"{name} must be at least two-dimensional, with optional leading batch dimensions")
        batch_shape = Size(broadcast_shapes(matrix.shape[:-2], loc.shape[:-1]))
        setattr(self, name, matrix.expand(tuple(batch_shape) + (-1, -1)))
        self.loc = loc.expand(tuple(batch_shape) + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = _cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """loc and the matrices given or computed so far expanded to batch_shape (+ event dims),
        the unbroadcasted factor shared (Distribution.expand)."""
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = Size(batch_shape)
        loc_shape = tuple(batch_shape) + tuple(self._event_shape)
        cov_shape = loc_shape + tuple(self._event_shape)
        new.loc = self.loc.expand(loc_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple[int, ...]:
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @lazy_property
    def scale_tril(self) -> Tensor:
        """The lower-triangular factor L of the covariance (covariance = L L^T)."""
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        """L L^T."""
        tril = self._unbroadcasted_scale_tril
        return (tril @ tril.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        """The inverse covariance L^-T L^-1."""
        tril = self._unbroadcasted_scale_tril
        identity = eye(tril.shape[-1], dtype=tril.dtype, device=tril.device)
        inverse = _solve_lower(tril, identity)
        return (inverse.mT @ inverse).expand(self._matrix_shape())

    @property
    def mean(self) -> Tensor:
        """loc."""
        return self.loc

    @property
    def mode(self) -> Tensor:
        """loc."""
        return self.loc

    @property
    def variance(self) -> Tensor:
        """The diagonal of the covariance."""
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """loc + L eps with eps standard normal noise: differentiable in loc and the matrix."""
        shape = self._extended_shape(sample_shape)
        eps = randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._unbroadcasted_scale_tril * eps.unsqueeze(-2)).sum(-1)

    def log_prob(self, value: Tensor) -> Tensor:
        """-(n log(2 pi) + (x - loc)^T covariance^-1 (x - loc)) / 2 - log det L."""
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        mahalanobis = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + mahalanobis) - half_log_det

    def entropy(self) -> Tensor:
        """n (1 + log(2 pi)) / 2 + log det L, of shape batch_shape."""
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        entropy = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return entropy.expand(self._batch_shape)
