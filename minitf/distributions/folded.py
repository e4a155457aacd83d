"""Folded distributions: |X| for a symmetric X centred at 0, ``HalfNormal(scale)`` (X Normal) and
``HalfCauchy(scale)`` (X Cauchy), as TransformedDistributions through ``AbsTransform``.

On x >= 0 the density is twice X's (``log_prob = base.log_prob(x) + log 2``, -inf below 0), the cdf
``2 F(x) - 1``, the entropy X's minus log 2; ``rsample`` is |loc 0 + scale * noise|, so
differentiable in scale. scale: (*batch,) or a number.
"""
from __future__ import annotations

import math

from . import constraints
from .continuous import Cauchy, Normal
from .transformed import TransformedDistribution
from .transforms_elementwise import AbsTransform

__all__ = ["HalfCauchy", "HalfNormal"]


class _Folded(TransformedDistribution):
    """|X| for X = base(0, scale): the shared density, cdf, icdf and entropy."""
    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _base = None

    def __init__(self, scale, validate_args=None):
        super().__init__(self._base(0.0, scale, validate_args=False), AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(type(self), _instance))

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mode(self):
        return self.scale * 0

    def log_prob(self, value):
        from .. import where
        if self._validate_args:
            self._validate_sample(value)
        lp = self.base_dist.log_prob(value) + math.log(2)
        return where(value >= 0, lp, -math.inf)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)


class HalfNormal(_Folded):
    """|N(0, scale**2)|: mean scale sqrt(2 / pi), variance scale**2 (1 - 2 / pi)."""
    _base = Normal

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        return self.scale.pow(2) * (1 - 2 / math.pi)


class HalfCauchy(_Folded):
    """|Cauchy(0, scale)|: no finite mean or variance (both +inf, as torch)."""
    _base = Cauchy

    @property
    def mean(self):
        from .. import full
        return full(self._extended_shape(), math.inf, dtype=self.scale.dtype, device=self.scale.device)

    @property
    def variance(self):
        return self.base_dist.variance
