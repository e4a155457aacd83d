"""Distributions drawn from Gamma variates: Gamma, Beta, Dirichlet, StudentT.

Their densities, entropies and moments are composed of lgamma / digamma / xlogy and so are
differentiable in every parameter. ``rsample`` is too: a Gamma draw's gradient in its
concentration is the implicit one, dx/da = -(dP/da) / f (:mod:`minitf.ops.gamma_sampling`, as
torch's); Dirichlet and Beta normalise such Gamma draws (torch differentiates the Dirichlet draw
through its Beta marginals instead: another valid reparameterisation, so per-draw gradients
differ while their expectation is the same), StudentT divides a Normal by sqrt(chi2 / df).
"""
from __future__ import annotations

import math
from numbers import Number

from ..size import Size
from . import constraints
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .utils import broadcast_all, clamp_unit, finfo, rsample_standard_gamma, standard_normal

__all__ = ["Beta", "Dirichlet", "Gamma", "StudentT"]


def _f():
    import minitf
    return minitf


class Gamma(ExponentialFamily):
    """Gamma(concentration a, rate r): ``log_prob(x) = a log r + (a - 1) log x - r x - lgamma(a)``."""
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return _f().lgamma(x + 1) + (x + 1) * (-y.reciprocal()).log()

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        scalar = isinstance(concentration, Number) and isinstance(rate, Number)
        super().__init__(Size() if scalar else self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Gamma, ("concentration", "rate"), batch_shape, _instance)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return (rsample_standard_gamma(self.concentration, shape) / self.rate).clamp(min=float(finfo(self.rate).tiny))

    def log_prob(self, value):
        mt = _f()
        if self._validate_args:
            self._validate_sample(value)
        a, r = self.concentration, self.rate
        lp = mt.xlogy(a, r) + mt.xlogy(a - 1, value) - r * value - mt.lgamma(a)
        # x = inf (in the support): the limit -inf, not (a - 1) inf - r inf = NaN (torch 2.13's)
        return mt.where(value == math.inf, -math.inf, lp)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return _f().special.gammainc(self.concentration, self.rate * value)

    def entropy(self):
        mt = _f()
        a = self.concentration
        return a - self.rate.log() + mt.lgamma(a) + (1.0 - a) * mt.digamma(a)


class Dirichlet(ExponentialFamily):
    """Dirichlet(concentration (*batch, K)) on the simplex: events are (K,) vectors summing to 1."""
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        lg = _f().lgamma
        return lg(x).sum(-1) - lg(x.sum(-1))

    def __init__(self, concentration, validate_args=None):
        if concentration.ndim < 1:
            from ..errors import ConstraintError
            raise ConstraintError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Dirichlet, ("concentration",), batch_shape, _instance)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        mt = _f()
        from ..nn import functional as F
        a = self.concentration
        am1 = (a - 1).clamp(min=0)
        total = am1.sum(-1, keepdim=True)
        # a zero total (every concentration <= 1) is NaN, as torch's 0/0, and the vertex below where
        # every one is < 1; divided by 1 there first, as 0/0 would make the gradient NaN
        mode = mt.where(total == 0, math.nan, am1 / mt.where(total == 0, 1.0, total))
        # every concentration below 1: the density is unbounded at every vertex; torch answers the
        # first one (the argmax of its 0/0 = NaN row), and so does minitf
        vertex = F.one_hot(mt.zeros(a.shape[:-1], dtype="int64", device=a.device), a.shape[-1]).to(mode.dtype)
        return mt.where((a < 1).all(-1, keepdim=True), vertex, mode)

    @property
    def variance(self):
        a = self.concentration
        a0 = a.sum(-1, keepdim=True)
        return a * (a0 - a) / (a0.pow(2) * (a0 + 1))

    def rsample(self, sample_shape=()):
        g = rsample_standard_gamma(self.concentration, self._extended_shape(sample_shape))
        # into [tiny, 1 - eps] as torch's sampler: for small concentrations many draws lie below eps
        return clamp_unit(g / g.sum(-1, keepdim=True))

    def log_prob(self, value):
        mt = _f()
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return mt.xlogy(a - 1.0, value).sum(-1) + mt.lgamma(a.sum(-1)) - mt.lgamma(a).sum(-1)

    def entropy(self):
        mt = _f()
        a = self.concentration
        k, a0 = a.shape[-1], a.sum(-1)
        return (mt.lgamma(a).sum(-1) - mt.lgamma(a0) - (k - a0) * mt.digamma(a0)
                - ((a - 1.0) * mt.digamma(a)).sum(-1))


class Beta(ExponentialFamily):
    """Beta(concentration1 a, concentration0 b) on [0, 1]: a Dirichlet over (x, 1 - x)."""
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    @property
    def _natural_params(self):
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x, y):
        lg = _f().lgamma
        return lg(x) + lg(y) - lg(x + y)

    def __init__(self, concentration1, concentration0, validate_args=None):
        mt = _f()
        c1, c0 = broadcast_all(concentration1, concentration0)
        self._dirichlet = Dirichlet(mt.stack([c1, c0], -1), validate_args=validate_args)
        scalar = isinstance(concentration1, Number) and isinstance(concentration0, Number)
        super().__init__(Size() if scalar else self._dirichlet.batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        new._dirichlet = self._dirichlet.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def concentration1(self):
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self):
        return self._dirichlet.concentration[..., 1]

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        return self._dirichlet.rsample(sample_shape)[..., 0]

    def log_prob(self, value):
        mt = _f()
        if self._validate_args:
            self._validate_sample(value)
        return self._dirichlet.log_prob(mt.stack([value, 1.0 - value], -1))

    def entropy(self):
        return self._dirichlet.entropy()


class StudentT(Distribution):
    """Student's t with ``df`` degrees of freedom, shifted by loc and scaled by scale."""
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        scalar = all(isinstance(v, Number) for v in (df, loc, scale))
        super().__init__(Size() if scalar else self.df.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(StudentT, ("df", "loc", "scale"), batch_shape, _instance)

    @property
    def mean(self):
        return _f().where(self.df > 1, self.loc, math.nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        mt = _f()
        df = self.df
        finite = self.scale.pow(2) * df / (df - 2).clamp(min=1e-30)
        return mt.where(df > 2, finite, mt.where(df > 1, math.inf, math.nan))

    def rsample(self, sample_shape=()):
        # X / sqrt(Z / df), X ~ N(0, 1), Z ~ chi2(df) = 2 Gamma(df / 2)
        shape = self._extended_shape(sample_shape)
        x = standard_normal(shape, self.df)
        z = 2 * rsample_standard_gamma(0.5 * self.df, shape)
        return self.loc + self.scale * x * (z / self.df).rsqrt()

    def log_prob(self, value):
        mt = _f()
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        y = (value - self.loc) / self.scale
        z = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi)
             + mt.lgamma(0.5 * df) - mt.lgamma(0.5 * (df + 1.0)))
        return -0.5 * (df + 1.0) * (y.pow(2) / df).log1p() - z

    def entropy(self):
        mt = _f()
        df = self.df
        lbeta = mt.lgamma(0.5 * df) + math.lgamma(0.5) - mt.lgamma(0.5 * (df + 1))
        return (self.scale.log() + 0.5 * (df + 1) * (mt.digamma(0.5 * (df + 1)) - mt.digamma(0.5 * df))
                + 0.5 * df.log() + lbeta)
