"""Distributions made from Gamma variates: ``Chi2(df)`` (Gamma(df / 2, 1 / 2)), ``InverseGamma``
(1 / X for X ~ Gamma, through ``PowerTransform(-1)``) and ``FisherSnedecor(df1, df2)`` (the ratio
of two chi-squares over their degrees of freedom). All have ``rsample``, differentiable in every
parameter through the implicit Gamma gradient. Parameters: (*batch,) tensors or numbers.
"""
from __future__ import annotations

import math
from numbers import Number

from ..size import Size
from . import constraints
from .distribution import Distribution
from .gamma_family import Gamma
from .transformed import TransformedDistribution
from .transforms_elementwise import PowerTransform
from .utils import broadcast_all, finfo

__all__ = ["Chi2", "FisherSnedecor", "InverseGamma"]


def _f():
    import minitf
    return minitf


class Chi2(Gamma):
    """The chi-square with ``df`` degrees of freedom: Gamma(concentration df / 2, rate 1 / 2)."""
    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(Chi2, _instance))

    @property
    def df(self):
        return self.concentration * 2


class InverseGamma(TransformedDistribution):
    """1 / X for X ~ Gamma(concentration a, rate r), on x > 0:
    ``log_prob(x) = a log r - lgamma(a) - (a + 1) log x - r / x``."""
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        base = Gamma(concentration, rate, validate_args=validate_args)
        minus_one = _f().full((), -1.0, dtype=base.rate.dtype, device=base.rate.device)
        super().__init__(base, PowerTransform(minus_one), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(InverseGamma, _instance))

    @property
    def concentration(self):
        return self.base_dist.concentration

    @property
    def rate(self):
        return self.base_dist.rate

    @property
    def mean(self):
        a = self.concentration
        return _f().where(a > 1, self.rate / (a - 1), math.inf)

    @property
    def mode(self):
        return self.rate / (self.concentration + 1)

    @property
    def variance(self):
        a = self.concentration
        return _f().where(a > 2, self.rate.pow(2) / ((a - 1).pow(2) * (a - 2)), math.inf)

    def entropy(self):
        mt = _f()
        a = self.concentration
        return a + self.rate.log() + mt.lgamma(a) - (1 + a) * mt.digamma(a)


class FisherSnedecor(Distribution):
    """F(df1, df2) on x > 0: (chi2(df1) / df1) / (chi2(df2) / df2)."""
    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)   # (df1, df2 are checked, by name)
        scalar = isinstance(df1, Number) and isinstance(df2, Number)
        super().__init__(Size() if scalar else self.df1.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(FisherSnedecor, ("df1", "df2"), batch_shape, _instance)
        new._gamma1, new._gamma2 = self._gamma1.expand(batch_shape), self._gamma2.expand(batch_shape)
        return new

    @property
    def mean(self):
        df2 = self.df2
        return _f().where(df2 > 2, df2 / (df2 - 2).clamp(min=1e-30), math.nan)

    @property
    def mode(self):
        df1, df2 = self.df1, self.df2
        return _f().where(df1 > 2, (df1 - 2) / df1 * df2 / (df2 + 2), math.nan)

    @property
    def variance(self):
        df1, df2 = self.df1, self.df2
        finite = 2 * df2.pow(2) * (df1 + df2 - 2) / (df1 * (df2 - 2).pow(2) * (df2 - 4).clamp(min=1e-30))
        return _f().where(df2 > 4, finite, math.nan)

    def rsample(self, sample_shape=()):
        # Gamma(df / 2, rate df) is chi2(df) / (2 df): the factors 1/2 cancel in the ratio
        tiny = float(finfo(self.df1).tiny)
        x1 = self._gamma1.rsample(sample_shape)
        x2 = self._gamma2.rsample(sample_shape).clamp(min=tiny)
        return (x1 / x2).clamp(min=tiny)

    def log_prob(self, value):
        mt = _f()
        if self._validate_args:
            self._validate_sample(value)
        h1, h2 = self.df1 * 0.5, self.df2 * 0.5
        ratio = self.df1 / self.df2
        t1 = mt.lgamma(h1 + h2) - mt.lgamma(h1) - mt.lgamma(h2)
        # xlogy: (h1 - 1) log x is 0 at x = 0 for df1 = 2 (the density's limit 1 there), not 0 * -inf;
        # x = inf: the limit -inf, not inf - inf (both NaN in torch 2.13)
        t2 = h1 * ratio.log() + mt.xlogy(h1 - 1, value)
        lp = t1 + t2 - (h1 + h2) * (ratio * value).log1p()
        return mt.where(value == math.inf, -math.inf, lp)
