"""Elementwise transforms (``event_dim`` 0, torch's names): ``AbsTransform``, ``PowerTransform``,
``SoftplusTransform`` and ``CumulativeDistributionTransform`` (a distribution's cdf as a map into
[0, 1], whose log-Jacobian is the distribution's log-density).

Each maps ``x: (*batch,)`` to ``y`` of x's shape (broadcast with a tensor exponent) and
``log_abs_det_jacobian(x, y): (*batch,)``.
"""
from __future__ import annotations

from . import constraints
from .transforms import Transform, _broadcast, _Parameterless, _softplus
from .utils import broadcast_all

__all__ = ["AbsTransform", "CumulativeDistributionTransform", "PowerTransform", "SoftplusTransform"]


class AbsTransform(_Parameterless):
    """y = |x|: not injective (``bijective`` False), so no log-Jacobian; ``inv(y)`` is y itself,
    the non-negative preimage (HalfNormal and HalfCauchy are built on it)."""
    domain, codomain = constraints.real, constraints.positive

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class PowerTransform(Transform):
    """y = x ** exponent on the positive reals; exponent: a number or a tensor broadcasting with x;
    log|dy/dx| = log|exponent y / x|."""
    domain, codomain, bijective = constraints.positive, constraints.positive, True

    def __init__(self, exponent, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        (self.exponent,) = broadcast_all(exponent)

    def _with_cache(self, cache_size: int) -> Transform:
        return PowerTransform(self.exponent, cache_size=cache_size)

    def __eq__(self, other):
        if not isinstance(other, PowerTransform):
            return False
        a, b = self.exponent, other.exponent
        return tuple(a.shape) == tuple(b.shape) and bool((a == b).all())

    __hash__ = object.__hash__

    @property
    def sign(self):
        return self.exponent.sign()

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(self.exponent.reciprocal())

    def log_abs_det_jacobian(self, x, y):
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape):
        return _broadcast(shape, self.exponent.shape)

    inverse_shape = forward_shape


class SoftplusTransform(_Parameterless):
    """y = softplus(x) = log(1 + exp(x)); inverse log(expm1(y)) in the stable form y + log(-expm1(-y));
    log|dy/dx| = -softplus(-x)."""
    domain, codomain, bijective, sign = constraints.real, constraints.positive, True, 1

    def _call(self, x):
        return _softplus(x)

    def _inverse(self, y):
        return (-(-y).expm1()).log() + y

    def log_abs_det_jacobian(self, x, y):
        return -_softplus(-x)


class CumulativeDistributionTransform(Transform):
    """y = distribution.cdf(x): a univariate distribution's support onto [0, 1], inverse its icdf,
    log|dy/dx| = distribution.log_prob(x) (the density is the cdf's derivative)."""
    bijective, sign, codomain = True, 1, constraints.unit_interval

    def __init__(self, distribution, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    def _with_cache(self, cache_size: int) -> Transform:
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)

    @property
    def domain(self):
        return self.distribution.support

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)
