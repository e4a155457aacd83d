"""``ContinuousBernoulli(probs=None, logits=None, lims=(0.499, 0.501))`` (Loaiza-Ganem and
Cunningham 2019): the density ``C(p) p**x (1 - p)**(1 - x)`` on [0, 1], normalised by
``C(p) = 2 atanh(1 - 2p) / (1 - 2p)`` (2 at p = 1/2).

Its closed forms divide by 1 - 2p, so for p inside ``lims`` (around 1/2) they are replaced by
Taylor expansions in (p - 1/2), as torch's; elsewhere ``_cut_probs`` keeps the unused branch of each
``where`` finite. ``rsample`` is the icdf of a uniform, differentiable in p. Exactly one of probs or
logits (*batch,), the other derived on first read (probs clamped into [eps, 1 - eps]).
"""
from __future__ import annotations

import math
from numbers import Number

from ..errors import ConstraintError
from ..size import Size
from . import constraints
from .discrete import _BinaryParams, _one_of
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .utils import broadcast_all, clamp_probs, lazy_property, logits_to_probs, uniform

__all__ = ["ContinuousBernoulli"]


def _where(*args):
    from .. import where
    return where(*args)


class ContinuousBernoulli(ExponentialFamily, _BinaryParams):
    """The continuous Bernoulli on [0, 1] with shape parameter probs (or logits)."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        _one_of(probs, logits)
        given = probs if probs is not None else logits
        (param,) = broadcast_all(given)
        if probs is not None:
            # checked here, before the clamp below would make any probs pass
            validate = Distribution._validate_args if validate_args is None else validate_args
            if validate and not bool(constraints.unit_interval.check(param).all()):
                raise ConstraintError("The parameter probs has invalid values")
            self.probs = param = clamp_probs(param)
        else:
            self.logits = param
        self._param, self._lims = param, lims
        super().__init__(Size() if isinstance(given, Number) else param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_binary(ContinuousBernoulli, batch_shape, _instance)
        new._lims = self._lims
        return new

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))   # (clamped, unlike the Bernoulli's)

    # ------------------------------------------------------------------ the two regimes

    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        """probs, with lims[0] in the unstable region (where the closed forms are not used)."""
        return _where(self._outside_unstable_region(), self.probs, self._lims[0])

    def _cont_bern_log_norm(self):
        """log C(p): log|log(1 - p) - log p| - log|1 - 2p|, or log 2 + (4/3 + 104/45 x) x, x = (p - 1/2)^2."""
        c = self._cut_probs()
        below = c <= 0.5
        log_abs_1m2c = _where(below, (-2.0 * _where(below, c, 0.0)).log1p(), (2.0 * _where(c >= 0.5, c, 1.0) - 1.0).log())
        closed = ((-c).log1p() - c.log()).abs().log() - log_abs_1m2c
        x = (self.probs - 0.5).pow(2)
        return _where(self._outside_unstable_region(), closed, math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x)

    # ------------------------------------------------------------------ moments and densities

    @property
    def mean(self):
        c = self._cut_probs()
        closed = c / (2.0 * c - 1.0) + ((-c).log1p() - c.log()).reciprocal()
        x = self.probs - 0.5
        return _where(self._outside_unstable_region(), closed, 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x)

    @property
    def variance(self):
        c = self._cut_probs()
        closed = c * (c - 1.0) / (1.0 - 2.0 * c).pow(2) + ((-c).log1p() - c.log()).pow(-2)
        x = (self.probs - 0.5).pow(2)
        return _where(self._outside_unstable_region(), closed, 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x)

    def rsample(self, sample_shape=()):
        return self.icdf(uniform(self._extended_shape(sample_shape), self.probs))

    def log_prob(self, value):
        from ..nn import functional as F
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return logits * value - F.softplus(logits) + self._cont_bern_log_norm()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c = self._cut_probs()
        closed = (c.pow(value) * (1.0 - c).pow(1.0 - value) + c - 1.0) / (2.0 * c - 1.0)
        inside = _where(self._outside_unstable_region(), closed, value)
        return _where(value <= 0.0, 0.0 * value, _where(value >= 1.0, 0.0 * value + 1.0, inside))

    def icdf(self, value):
        c = self._cut_probs()
        closed = ((-c + value * (2.0 * c - 1.0)).log1p() - (-c).log1p()) / (c.log() - (-c).log1p())
        return _where(self._outside_unstable_region(), closed, value)

    def entropy(self):
        log_q, log_p = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log_q - log_p) - self._cont_bern_log_norm() - log_q

    # ------------------------------------------------------------------ exponential family

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        """log((e^x - 1) / x) of the natural parameter x = logit(p); 0.5 x + x^2 / 24 - x^4 / 2880 near 0."""
        lo, hi = self._lims[0] - 0.5, self._lims[1] - 0.5
        outside = (x <= lo) | (x > hi)
        cut = _where(outside, x, lo)
        closed = cut.expm1().abs().log() - cut.abs().log()
        return _where(outside, closed, 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0)
