"""Elementwise transforms (torch's names): ``AffineTransform`` (its ``event_dim`` as given),
``AbsTransform``, ``PowerTransform``, ``SoftplusTransform`` and ``CumulativeDistributionTransform``
(a distribution's cdf as a map into [0, 1], whose log-Jacobian is the distribution's log-density).

Each but Affine (``event_dim`` 0) maps ``x: (*batch,)`` to ``y`` of x's shape (broadcast with a
tensor exponent) and ``log_abs_det_jacobian(x, y): (*batch,)``.
"""
from __future__ import annotations

import math
from numbers import Number

from . import constraints
from .transforms import Transform, _Parameterless, _softplus
from .utils import broadcast_all, sum_rightmost

__all__ = ["AbsTransform", "AffineTransform", "CumulativeDistributionTransform", "PowerTransform",
           "SoftplusTransform"]


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


class AffineTransform(Transform):
    """y = loc + scale x (loc, scale: numbers or tensors broadcasting with x); log|dy/dx| = log|scale|,
    summed over the ``event_dim`` rightmost dims."""
    bijective = True

    def __init__(self, loc, scale, event_dim: int = 0, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, int(event_dim)

    def _with_cache(self, cache_size: int) -> Transform:
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    @property
    def event_dim(self):
        return self._event_dim

    @property
    def domain(self):
        return constraints.real if self._event_dim == 0 else constraints.independent(constraints.real, self._event_dim)

    codomain = domain

    def __eq__(self, other):
        if not isinstance(other, AffineTransform):
            return False
        same = []
        for a, b in ((self.loc, other.loc), (self.scale, other.scale)):
            if isinstance(a, Number) and isinstance(b, Number):
                same.append(a == b)
            elif isinstance(a, Number) or isinstance(b, Number):
                same.append(False)
            else:
                same.append(a.shape == b.shape and bool((a == b).all()))
        return all(same) and self._event_dim == other._event_dim

    __hash__ = object.__hash__

    @property
    def sign(self):
        if isinstance(self.scale, Number):
            return 1 if float(self.scale) > 0 else -1 if float(self.scale) < 0 else 0
        return self.scale.sign()

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        from .. import full
        if isinstance(self.scale, Number):
            result = full(x.shape, math.log(abs(self.scale)), dtype=x.dtype, device=x.device)
        else:
            result = self.scale.abs().log().expand(_broadcast(x.shape, self.scale.shape))
        return sum_rightmost(result, self._event_dim)

    def forward_shape(self, shape):
        return _broadcast(shape, getattr(self.loc, "shape", ()), getattr(self.scale, "shape", ()))

    inverse_shape = forward_shape


def _broadcast(*shapes):
    from .. import broadcast_shapes
    return tuple(broadcast_shapes(*shapes))
