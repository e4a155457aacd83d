"""Distributions of extremes and tails: ``Weibull(scale, concentration)`` (a power of an
Exponential), ``Pareto(scale, alpha)`` (scale * exp of an Exponential) and
``GeneralizedPareto(loc, scale, concentration)`` (the peaks over a threshold; Exponential at
concentration 0, bounded above for a negative one). Parameters: (*batch,) tensors or numbers that
broadcast; ``rsample`` is differentiable in all of them.
"""
from __future__ import annotations

import math
from numbers import Number

from ..size import Size
from . import constraints
from .continuous import Exponential
from .distribution import Distribution
from .transformed import TransformedDistribution
from .transforms import ExpTransform
from .transforms_elementwise import AffineTransform, PowerTransform
from .utils import broadcast_all, euler_constant, uniform

__all__ = ["GeneralizedPareto", "Pareto", "Weibull"]


def _f():
    import minitf
    return minitf


class _Rebuilt(TransformedDistribution):
    """A TransformedDistribution whose transforms hold its parameters: ``expand`` builds it anew
    from the expanded parameters (``_names``) through ``_build``."""
    _names: tuple = ()

    def __init__(self, *params, validate_args=None):
        for name, value in zip(self._names, broadcast_all(*params)):
            setattr(self, name, value)
        base, transforms = self._build()
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(type(self), _instance)
        for name in self._names:
            setattr(new, name, getattr(self, name).expand(tuple(batch_shape)))
        base, transforms = new._build()
        TransformedDistribution.__init__(new, base, transforms, validate_args=False)
        new._validate_args = self._validate_args
        return new


class Weibull(_Rebuilt):
    """Weibull(scale k, concentration c) on x > 0: ``scale * E ** (1 / c)`` for E ~ Exp(1),
    ``cdf(x) = 1 - exp(-(x / scale) ** c)``."""
    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive
    _names = ("scale", "concentration")

    def __init__(self, scale, concentration, validate_args=None):
        super().__init__(scale, concentration, validate_args=validate_args)

    def _build(self):
        self.concentration_reciprocal = self.concentration.reciprocal()
        base = Exponential(_f().ones_like(self.scale), validate_args=False)
        return base, [PowerTransform(self.concentration_reciprocal), AffineTransform(0, self.scale)]

    def log_prob(self, value):
        """value (*batch,) -> (*batch,): ``log(c / k) + (c - 1) log(x / k) - (x / k) ** c``, in closed
        form: through the transforms x = inf gives inf - inf (NaN, as torch 2.13's) where the
        density's limit is 0 (log -inf)."""
        mt = _f()
        if self._validate_args:
            self._validate_sample(value)
        c, z = self.concentration, value / self.scale
        lp = (c / self.scale).log() + mt.xlogy(c - 1, z) - z.pow(c)
        return mt.where(value == math.inf, -math.inf, lp)

    @property
    def mean(self):
        return self.scale * _f().lgamma(1 + self.concentration_reciprocal).exp()

    @property
    def mode(self):
        # NaN for concentration < 1 (a negative base to a fractional power), as torch's
        c = self.concentration
        return self.scale * ((c - 1) / c).pow(self.concentration_reciprocal)

    @property
    def variance(self):
        lg = _f().lgamma
        r = self.concentration_reciprocal
        return self.scale.pow(2) * ((lg(1 + 2 * r)).exp() - (2 * lg(1 + r)).exp())

    def entropy(self):
        r = self.concentration_reciprocal
        return euler_constant * (1 - r) + (self.scale * r).log() + 1


class Pareto(_Rebuilt):
    """Pareto(scale, alpha) on x >= scale: ``scale * exp(E)`` for E ~ Exp(alpha),
    ``log_prob(x) = log alpha + alpha log scale - (alpha + 1) log x``."""
    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}
    _names = ("scale", "alpha")

    def __init__(self, scale, alpha, validate_args=None):
        super().__init__(scale, alpha, validate_args=validate_args)

    def _build(self):
        return Exponential(self.alpha, validate_args=False), [ExpTransform(), AffineTransform(0, self.scale)]

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self):
        a = self.alpha.clamp(min=1)          # alpha <= 1: +inf (a / 0)
        return a * self.scale / (a - 1)

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        a = self.alpha.clamp(min=2)          # alpha <= 2: +inf
        return self.scale.pow(2) * a / ((a - 1).pow(2) * (a - 2))

    def entropy(self):
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


class GeneralizedPareto(Distribution):
    """GPD(loc, scale, concentration c): with z = (x - loc) / scale,
    ``log_prob = -log scale - (1 / c + 1) log1p(c z)`` (``-log scale - z`` at c = 0), on
    x >= loc, and x <= loc - scale / c when c < 0. c counts as 0 when |c| <= 1e-8 (torch's isclose)."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        scalar = all(isinstance(v, Number) for v in (loc, scale, concentration))
        super().__init__(Size() if scalar else self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(GeneralizedPareto, ("loc", "scale", "concentration"), batch_shape, _instance)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        c = self.concentration
        return constraints.interval(self.loc, _f().where(c < 0, self.loc - self.scale / c, math.inf))

    def _safe(self):
        """(c == 0 mask, c with 1 in its place): the c != 0 branch stays finite where c = 0."""
        c = self.concentration
        zero = c.abs() <= 1e-8
        return zero, _f().where(zero, 1.0, c)

    def rsample(self, sample_shape=()):
        return self.icdf(uniform(self._extended_shape(sample_shape), self.loc))

    def log_prob(self, value):
        mt = _f()
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        zero, c = self._safe()
        y = 1 / c + 1
        # y = 0 (c = -1): the density is flat, 0 * log1p(-z) would be NaN at z = 1
        nonzero = mt.where(y == 0, y, y * (c * z).log1p())
        return -self.scale.log() - mt.where(zero, z, nonzero)

    def log_survival_function(self, value):
        """log P(X > value): value (*batch,) -> (*batch,)."""
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        zero, c = self._safe()
        return _f().where(zero, -z, -(c * z).log1p() / c)

    def log_cdf(self, value):
        """log P(X <= value): value (*batch,) -> (*batch,)."""
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value):
        return self.log_cdf(value).exp()

    def icdf(self, value):
        zero, c = self._safe()
        logu = (-value).log1p()
        return _f().where(zero, self.loc - self.scale * logu, self.loc + self.scale / c * (-c * logu).expm1())

    @property
    def mean(self):
        c = self.concentration
        valid = c < 1
        return _f().where(valid, self.loc + self.scale / (1 - _f().where(valid, c, 0.5)), math.nan)

    @property
    def variance(self):
        c = self.concentration
        valid = c < 0.5
        safe = _f().where(valid, c, 0.25)
        return _f().where(valid, self.scale.pow(2) / ((1 - safe).pow(2) * (1 - 2 * safe)), math.nan)

    @property
    def mode(self):
        return self.loc

    def entropy(self):
        return (self.scale.log() + self.concentration + 1).expand(tuple(self._batch_shape))
