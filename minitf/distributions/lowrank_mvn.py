"""``LowRankMultivariateNormal(loc, cov_factor, cov_diag)``: N(loc, W W^T + diag(D)) with loc
(*b, n), W = cov_factor (*b, n, m) and D = cov_diag (*b, n), m usually much smaller than n.

Nothing n x n is factored: with the capacitance matrix C = I_m + W^T D^-1 W and its Cholesky
factor, the Woodbury identity gives x^T Sigma^-1 x = x^T D^-1 x - |C_L^-1 W^T D^-1 x|^2 and the
matrix determinant lemma log|Sigma| = 2 sum log diag C_L + sum log D, O(n m^2) per batch element.
``rsample = loc + W eps_m + sqrt(D) eps_n``, differentiable in all three parameters.
"""
from __future__ import annotations

import math

from ..errors import ConstraintError
from . import constraints
from .distribution import Distribution
from .multivariate_normal import _diag, _shapes, batch_mahalanobis
from .utils import lazy_property, standard_normal

__all__ = ["LowRankMultivariateNormal"]


def _solve_lower(L, B):
    """L^-1 B for L (*b1, k, k) lower and B (*b2, k, r), batch dims broadcast."""
    from ..linalg import solve_triangular
    batch = _shapes(L.shape[:-2], B.shape[:-2])
    return solve_triangular(L.expand(batch + tuple(L.shape[-2:])), B.expand(batch + tuple(B.shape[-2:])), upper=False)


def capacitance_tril(W, D):
    """The lower Cholesky factor of I_m + W^T D^-1 W: W (*b, n, m), D (*b, n) -> (*b, m, m)."""
    from .. import eye
    from ..linalg import cholesky
    m = W.shape[-1]
    return cholesky((W.mT / D.unsqueeze(-2)) @ W + eye(m, dtype=W.dtype, device=W.device))


def lowrank_logdet(W, D, C_L):
    """log|W W^T + diag(D)| = 2 sum log diag C_L + sum log D -> (*b,)."""
    return 2 * _diag(C_L).log().sum(-1) + D.log().sum(-1)


def lowrank_mahalanobis(W, D, x, C_L):
    """x^T (W W^T + diag(D))^-1 x by Woodbury: x (*b2, n) -> (*broadcast b,)."""
    Wt_Dinv_x = ((W.mT / D.unsqueeze(-2)) @ x.unsqueeze(-1)).squeeze(-1)
    return (x.pow(2) / D).sum(-1) - batch_mahalanobis(C_L, Wt_Dinv_x)


class LowRankMultivariateNormal(Distribution):
    """N(loc, cov_factor cov_factor^T + diag(cov_diag)) over vectors of size n (event_shape (n,))."""
    arg_constraints = {"loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        from .. import broadcast_tensors
        if loc.ndim < 1:
            raise ConstraintError("loc must be at least one-dimensional.")
        n = loc.shape[-1]
        if cov_factor.ndim < 2:
            raise ConstraintError("cov_factor must be at least two-dimensional, with optional leading batch dimensions")
        if cov_factor.shape[-2] != n:
            raise ConstraintError(f"cov_factor must be a batch of matrices with shape {n} x m")
        if cov_diag.ndim < 1 or cov_diag.shape[-1] != n:
            raise ConstraintError(f"cov_diag must be a batch of vectors with shape ({n},)")
        try:
            loc_, self.cov_factor, diag_ = broadcast_tensors(loc.unsqueeze(-1), cov_factor, cov_diag.unsqueeze(-1))
        except (ValueError, RuntimeError) as e:
            raise ConstraintError(f"Incompatible batch shapes: loc {tuple(loc.shape)}, cov_factor "
                                  f"{tuple(cov_factor.shape)}, cov_diag {tuple(cov_diag.shape)}") from e
        self.loc, self.cov_diag = loc_[..., 0], diag_[..., 0]
        self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag = cov_factor, cov_diag
        self._capacitance_tril = capacitance_tril(cov_factor, cov_diag)
        super().__init__(self.loc.shape[:-1], (n,), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        batch_shape = tuple(batch_shape)
        n, m = self._event_shape[0], self.cov_factor.shape[-1]
        new.loc = self.loc.expand(batch_shape + (n,))
        new.cov_factor = self.cov_factor.expand(batch_shape + (n, m))
        new.cov_diag = self.cov_diag.expand(batch_shape + (n,))
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W.pow(2).sum(-1) + D).expand(tuple(self._batch_shape) + tuple(self._event_shape))

    @lazy_property
    def scale_tril(self):
        # Sigma = D^1/2 (I + D^-1/2 W W^T D^-1/2) D^1/2: cholesky of the bracket, scaled by D^1/2 rows
        from .. import eye
        from ..linalg import cholesky
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        sqrt_d = D.sqrt().unsqueeze(-1)
        scaled = W / sqrt_d
        n = self._event_shape[0]
        K = scaled @ scaled.mT + eye(n, dtype=W.dtype, device=W.device)
        return (sqrt_d * cholesky(K)).expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        from .. import diag_embed
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W @ W.mT + diag_embed(D)).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        # Woodbury: D^-1 - A^T A with A = C_L^-1 W^T D^-1
        from .. import diag_embed
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        A = _solve_lower(self._capacitance_tril, W.mT / D.unsqueeze(-2))
        return (diag_embed(D.reciprocal()) - A.mT @ A).expand(self._matrix_shape())

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        W = self._unbroadcasted_cov_factor
        eps_w = standard_normal(shape[:-1] + (W.shape[-1],), self.loc)
        eps_d = standard_normal(shape, self.loc)
        return self.loc + (W @ eps_w.unsqueeze(-1)).squeeze(-1) + self._unbroadcasted_cov_diag.sqrt() * eps_d

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        W, D, C_L = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag, self._capacitance_tril
        m = lowrank_mahalanobis(W, D, value - self.loc, C_L)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + lowrank_logdet(W, D, C_L) + m)

    def entropy(self):
        W, D, C_L = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag, self._capacitance_tril
        h = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + lowrank_logdet(W, D, C_L))
        return h.expand(tuple(self._batch_shape))
