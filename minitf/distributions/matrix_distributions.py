"""Distributions over matrices: ``LKJCholesky(dim, concentration)`` (Cholesky factors of
correlation matrices, Lewandowski, Kurowicka and Joe 2009) and ``Wishart(df, covariance_matrix |
precision_matrix | scale_tril)`` (symmetric positive definite matrices, the sum of df outer
products of N(0, Sigma) vectors). Events are (dim, dim) / (p, p) matrices; batch shapes come from
the parameters.
"""
from __future__ import annotations

import math
import warnings
from numbers import Number

from ..errors import ConstraintError
from . import constraints
from .exp_family import ExponentialFamily
from .distribution import Distribution
from .gamma_derived import Chi2
from .gamma_family import Beta
from .multivariate_normal import ScaleTrilMatrices, _diag
from .utils import broadcast_all, finfo, standard_normal

__all__ = ["LKJCholesky", "Wishart"]

_LOG_2 = math.log(2.0)


def _f():
    import minitf
    return minitf


def _mvlgamma(x, p: int):
    from ..special import multigammaln
    return multigammaln(x, p)


def _mvdigamma(x, p: int):
    """d/dx log Gamma_p(x) = sum_{i<p} digamma(x - i / 2): x (*b,) -> (*b,)."""
    mt = _f()
    offsets = mt.arange(p, dtype=x.dtype, device=x.device) / 2
    return mt.digamma(x.unsqueeze(-1) - offsets).sum(-1)


class LKJCholesky(Distribution):
    """LKJ(concentration eta) over the lower Cholesky factors L (dim, dim) of correlation matrices:
    the density of L L^T is proportional to det(L L^T) ** (eta - 1). Draws by the onion method
    (no rsample, as torch); concentration: (*batch,) or a number."""
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args=None):
        mt = _f()
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        # the onion method: row i of L is sqrt(y_i) times a uniform direction in its first i
        # coordinates, y_i ~ Beta(i / 2, eta + (dim - 2) / 2 - (i - 1) / 2) (row 0: y = 0, any Beta
        # will do). torch 2.13 takes Beta(i - 1/2, ...) for rows i >= 2, which biases those rows'
        # correlations (variance 0.188 instead of 1 / 7 at dim 4, eta 2): minitf keeps the paper's
        i = mt.arange(dim, dtype=self.concentration.dtype, device=self.concentration.device)
        prev = (i - 1).clamp(min=0)
        marginal = self.concentration + 0.5 * (dim - 2)
        self._beta = Beta((0.5 * i).clamp(min=0.5), marginal.unsqueeze(-1) - 0.5 * prev)
        super().__init__(self.concentration.shape, (dim, dim), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = tuple(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=()):
        """Draws (*sample_shape, *batch, dim, dim), lower triangular with unit-norm rows."""
        mt = _f()
        from ..grad_modes import no_grad
        with no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u = standard_normal(self._extended_shape(sample_shape), y).tril(-1)
            norm = u.pow(2).sum(-1, keepdim=True).sqrt()
            w = y.sqrt() * mt.where(norm == 0, 0.0, u / mt.where(norm == 0, 1.0, norm))   # row 0 stays 0
            diag = (1 - w.pow(2).sum(-1)).clamp(min=float(finfo(w).tiny)).sqrt()
            return w + mt.diag_embed(diag)

    def log_prob(self, value):
        """value (*, dim, dim) lower Cholesky of a correlation -> (*batch,): sum_i order_i log L_ii
        minus the normaliser, order_i = 2 (eta - 1) + dim - i - 1 for rows i >= 1 (the density of
        L L^T times the Jacobian of L -> L L^T)."""
        mt = _f()
        if self._validate_args:
            self._validate_sample(value)
        diag = _diag(value)[..., 1:]
        order = mt.arange(2, self.dim + 1, dtype=value.dtype, device=value.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalised = (order * diag.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normaliser = 0.5 * dm1 * math.log(math.pi) + _mvlgamma(alpha - 0.5, dm1) - mt.lgamma(alpha) * dm1
        return unnormalised - normaliser


class Wishart(ScaleTrilMatrices, ExponentialFamily):
    """Wishart(df nu, Sigma) over (p, p) positive definite matrices: X = L A A^T L^T (Bartlett) with
    Sigma = L L^T, A lower triangular, A_ii = sqrt(chi2(nu - i)), A_ij ~ N(0, 1) below the diagonal.
    df: (*b1,) or a number > p - 1; one of covariance_matrix, precision_matrix, scale_tril (*b2, p, p)."""
    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite, "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(self._event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        mt = _f()
        from ..linalg import cholesky, inv
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ConstraintError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        param = given[0]
        if param.ndim < 2:
            raise ConstraintError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, Number):
            # a number df is expanded to the batch too: mean, mode and variance reshape it to
            # (*batch, 1, 1) (torch 2.13 keeps it () and fails there for a batch of matrices)
            batch = tuple(param.shape[:-2])
            self.df = mt.full((), float(df), dtype=param.dtype, device=param.device).expand(batch)
        else:
            batch = tuple(mt.broadcast_shapes(param.shape[:-2], df.shape))
            self.df = df.expand(batch)
        p = param.shape[-1]
        if bool((self.df <= p - 1).any()):
            raise ConstraintError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        name = ("scale_tril" if scale_tril is not None else "covariance_matrix" if covariance_matrix is not None
                else "precision_matrix")
        setattr(self, name, param.expand(batch + (p, p)))
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < ndim.",
                          stacklevel=2)
        self._event_shape = (p, p)        # (arg_constraints reads p before the base class sets it)
        super().__init__(batch, (p, p), validate_args=validate_args)
        self._unbroadcasted_scale_tril = (scale_tril if scale_tril is not None else cholesky(covariance_matrix)
                                          if covariance_matrix is not None else cholesky(inv(precision_matrix)))
        self._dist_chi2 = self._chi2(batch)

    def _chi2(self, batch):
        mt = _f()
        p = self._event_shape[-1]
        i = mt.arange(p, dtype=self._unbroadcasted_scale_tril.dtype, device=self.df.device)
        return Chi2(self.df.unsqueeze(-1) - i.expand(tuple(batch) + (p,)), validate_args=False)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = tuple(batch_shape)
        shape = batch_shape + tuple(self._event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(shape)
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(shape)
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._dist_chi2 = new._chi2(batch_shape)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return tuple(self._batch_shape) + tuple(self._event_shape)

    def _df_matrix(self):
        return self.df.reshape(tuple(self._batch_shape) + (1, 1))

    @property
    def mean(self):
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self):
        factor = self.df - self._event_shape[-1] - 1
        factor = _f().where(factor <= 0, math.nan, factor)
        return factor.reshape(tuple(self._batch_shape) + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        V = self.covariance_matrix
        d = _diag(V)
        return self._df_matrix() * (V.pow(2) + d.unsqueeze(-1) * d.unsqueeze(-2))

    def _bartlett(self, sample_shape):
        mt = _f()
        p = self._event_shape[-1]
        chi = self._dist_chi2.rsample(sample_shape).sqrt()
        chi = chi.clamp(min=float(finfo(chi).eps))              # a zero pivot would make the draw singular
        below = standard_normal(tuple(sample_shape) + tuple(self._batch_shape) + (p, p), chi).tril(-1)
        chol = self._unbroadcasted_scale_tril @ (below + mt.diag_embed(chi))
        return chol @ chol.mT

    def rsample(self, sample_shape=(), max_try_correction=None):
        """Draws (*sample_shape, *batch, p, p), differentiable in df (implicit chi2 gradients) and the
        scale. A singular draw (possible for p - 1 < df < p) is drawn again, up to
        ``max_try_correction`` (10) times, as torch's."""
        mt = _f()
        tries = 10 if max_try_correction is None else max_try_correction
        sample = self._bartlett(sample_shape)
        bad = ~self.support.check(sample)
        if bool(bad.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(tries):
                sample = mt.where(bad.reshape(tuple(bad.shape) + (1, 1)), self._bartlett(sample_shape), sample)
                bad = ~self.support.check(sample)
                if not bool(bad.any()):
                    break
        return sample

    def log_prob(self, value):
        from ..linalg import slogdet, solve_triangular
        if self._validate_args:
            self._validate_sample(value)
        nu, p, L = self.df, self._event_shape[-1], self._unbroadcasted_scale_tril
        batch = tuple(_f().broadcast_shapes(L.shape[:-2], value.shape[:-2]))
        Lb = L.expand(batch + (p, p))
        # tr(Sigma^-1 X) = tr(L^-T L^-1 X), two triangular solves
        inner = solve_triangular(Lb.mT, solve_triangular(Lb, value.expand(batch + (p, p)), upper=False), upper=True)
        return (-nu * (p * _LOG_2 / 2 + _diag(L).log().sum(-1)) - _mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * slogdet(value).logabsdet - _diag(inner).sum(-1) / 2)

    def entropy(self):
        nu, p = self.df, self._event_shape[-1]
        return ((p + 1) * (p * _LOG_2 / 2 + _diag(self._unbroadcasted_scale_tril).log().sum(-1))
                + _mvlgamma(nu / 2, p) - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    @property
    def _natural_params(self):
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x, y):
        from ..linalg import slogdet
        p = self._event_shape[-1]
        return (y + (p + 1) / 2) * (-slogdet(-2 * x).logabsdet + _LOG_2 * p) + _mvlgamma(y + (p + 1) / 2, p)
