"""MultivariateNormal: ``loc: (*batch, k)`` with one of ``covariance_matrix``, ``precision_matrix``
or ``scale_tril`` ``(*batch, k, k)``. Everything goes through the lower Cholesky factor L
(``Sigma = L L^T``): ``log_prob(x) = -(k log(2 pi) + |L^-1 (x - loc)|^2) / 2 - sum log diag L``,
``rsample = loc + L eps``. All of it is differentiable (cholesky, solve_triangular, inv).
"""
from __future__ import annotations

import math

from ..errors import ConstraintError
from . import constraints
from .distribution import Distribution
from .utils import lazy_property, standard_normal

__all__ = ["MultivariateNormal"]


def _shapes(*shapes):
    from .. import broadcast_shapes
    return tuple(broadcast_shapes(*shapes))


def _diag(m):
    from .. import diagonal
    return diagonal(m, 0, -2, -1)


def batch_mahalanobis(L, x):
    """|L^-1 x|^2 over the last dim. L: (*b1, k, k) lower, x: (*b2, k) -> (*broadcast(b1, b2),)."""
    from ..linalg import solve_triangular
    batch = _shapes(L.shape[:-2], x.shape[:-1])
    k = x.shape[-1]
    L = L.expand(batch + (k, k))
    z = solve_triangular(L, x.expand(batch + (k,)).unsqueeze(-1), upper=False).squeeze(-1)
    return z.pow(2).sum(-1)


class ScaleTrilMatrices:
    """``scale_tril``, ``covariance_matrix`` (L L^T) and ``precision_matrix`` ((L L^T)^-1) derived on
    first read from ``_unbroadcasted_scale_tril`` L, expanded to ``_matrix_shape()`` (the class's
    (*batch, k, k)): MultivariateNormal's and Wishart's (whichever of the three was given is stored
    on the instance and shadows its lazy property)."""

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        from ..linalg import inv
        L = self._unbroadcasted_scale_tril
        return inv(L @ L.mT).expand(self._matrix_shape())


class MultivariateNormal(ScaleTrilMatrices, Distribution):
    """N(loc, Sigma) over vectors of size k (event_shape (k,))."""
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        from ..linalg import cholesky, inv
        if loc.ndim < 1:
            raise ConstraintError("loc must be at least one-dimensional.")
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ConstraintError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        matrix = given[0]
        if matrix.ndim < 2:
            which = ("covariance_matrix" if covariance_matrix is not None else
                     "precision_matrix" if precision_matrix is not None else "scale_tril")
            what = "scale_tril matrix" if which == "scale_tril" else which
            raise ConstraintError(f"{what} must be at least two-dimensional, with optional leading batch dimensions")
        k = loc.shape[-1]
        batch = _shapes(matrix.shape[:-2], loc.shape[:-1])
        self.loc = loc.expand(batch + (k,))
        if scale_tril is not None:
            self.scale_tril = scale_tril.expand(batch + (k, k))
        elif covariance_matrix is not None:
            self.covariance_matrix = covariance_matrix.expand(batch + (k, k))
        else:
            self.precision_matrix = precision_matrix.expand(batch + (k, k))
        super().__init__(batch, (k,), validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = cholesky(inv(precision_matrix))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = tuple(batch_shape)
        k = self._event_shape[0]
        new.loc = self.loc.expand(batch_shape + (k,))
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(batch_shape + (k, k))
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

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = standard_normal(shape, self.loc)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        L = self._unbroadcasted_scale_tril
        m = batch_mahalanobis(L, value - self.loc)
        half_log_det = _diag(L).log().sum(-1)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + m) - half_log_det

    def entropy(self):
        half_log_det = _diag(self._unbroadcasted_scale_tril).log().sum(-1)
        h = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return h.expand(tuple(self._batch_shape)) if self._batch_shape else h
