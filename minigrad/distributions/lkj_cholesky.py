"""The LKJ distribution over Cholesky factors of correlation matrices, as
torch.distributions.LKJCholesky."""

from __future__ import annotations

import math
from collections.abc import Sequence

from minigrad.autograd import no_grad
from minigrad.creation import arange, randn
from minigrad.distributions import constraints
from minigrad.distributions.beta import Beta
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.utils import broadcast_all
from minigrad.functional import cat, lgamma, mvlgamma, where
from minigrad.tensor import Size, Tensor, finfo

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """The LKJ distribution of ``concentration`` eta (> 0) over lower Cholesky factors L of
    dim x dim correlation matrices: L L^T has density proportional to det(L L^T)^(eta - 1)
    (uniform for eta = 1). Samples by the onion method (Lewandowski, Kurowicka & Joe, 2009,
    section 3); no rsample."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration: Tensor | float = 1.0, validate_args: bool | None = None) -> None:
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = arange(self.dim - 1, dtype=self.concentration.dtype, device=self.concentration.device)
        offset = cat([offset.new_zeros((1,)), offset])
        # the squared norms of the rows' off-diagonal parts are Beta(k/2, eta + (dim - 2 - k)/2)
        self._beta = Beta(offset + 0.5, marginal_conc.unsqueeze(-1) - 0.5 * offset)
        super().__init__(self.concentration.shape, (dim, dim), validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """concentration and the row-norm betas expanded to batch_shape (Distribution.expand)."""
        new = self._expand_params(LKJCholesky, batch_shape, ("concentration",), _instance)
        new.dim = self.dim
        new._beta = self._beta.expand(tuple(Size(batch_shape)) + (self.dim,))
        return new

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Factors of shape sample_shape + batch_shape + (dim, dim), not on the tape: row i is a
        uniform direction in its first i coordinates scaled by sqrt of a beta draw, with the
        diagonal entry completing the unit norm."""
        with no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = randn(self._extended_shape(sample_shape), dtype=y.dtype, device=y.device).tril(-1)
            norms = u_normal.pow(2).sum(-1, keepdim=True).sqrt()
            first_row = (arange(self.dim, device=y.device) == 0).unsqueeze(-1)
            u_hypersphere = where(first_row, 0.0, u_normal / norms)  # row 0 has no off-diagonal part
            w = y.sqrt() * u_hypersphere
            diag_elems = (1 - w.pow(2).sum(-1)).clamp(min=finfo(w.dtype).tiny).sqrt()
            return w + diag_elems.diag_embed()

    def log_prob(self, value: Tensor) -> Tensor:
        """sum_i (2 (eta - 1) + dim - i) log L_ii (i = 2..dim) minus the log normaliser."""
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = arange(2, self.dim + 1, dtype=self.concentration.dtype, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = lgamma(alpha) * dm1
        numerator = mvlgamma(alpha - 0.5, dm1)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        return unnormalized_log_pdf - (pi_constant + numerator - denominator)
