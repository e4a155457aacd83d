"""Discrete distributions on counts: Bernoulli, Geometric, Poisson, Binomial (the categorical ones
are in :mod:`.categorical`).

The probability ones take exactly one of ``probs`` or ``logits`` (torch's rule); the other is
derived on first use (a lazy property). ``log_prob`` is differentiable in the parameters;
draws are not (``has_rsample`` False, as torch).
"""
from __future__ import annotations

import math
from numbers import Number

from ..errors import ConstraintError
from ..size import Size
from . import constraints
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .utils import (binomial, broadcast_all, finfo, lazy_property, logits_to_probs, poisson,
                    probs_to_logits, uniform)

__all__ = ["Bernoulli", "Binomial", "Geometric", "Poisson"]


def _one_of(probs, logits):
    if (probs is None) == (logits is None):
        raise ConstraintError("Either `probs` or `logits` must be specified, but not both.")


def _softplus(x):
    from ..nn import functional as F
    return F.softplus(x)


class _BinaryParams:
    """``probs`` and ``logits`` (log-odds), each derived from the other on first read."""

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return self._param.shape

    def _set_params(self, probs, logits, total_count=None, validate_args=None):
        """Store probs or logits (and a total_count broadcast with it, in its dtype), then the base
        class's shapes: the shared construction of the Bernoulli-parameter distributions."""
        _one_of(probs, logits)
        given = probs if probs is not None else logits
        numbers = isinstance(given, Number) and (total_count is None or isinstance(total_count, Number))
        if total_count is None:
            (param,) = broadcast_all(given)
        else:
            total, param = broadcast_all(total_count, given)
            self.total_count = total.to(param.dtype)
        setattr(self, "probs" if probs is not None else "logits", param)
        self._param = param
        Distribution.__init__(self, Size() if numbers else param.shape, validate_args=validate_args)

    def _expand_binary(self, cls, batch_shape, _instance, names=("probs", "logits")):
        """``expand`` of these: the parameters in ``names`` expanded, ``_param`` the given one's."""
        new = self._expand_params(cls, names, batch_shape, _instance)
        new._param = new.__dict__["probs"] if "probs" in new.__dict__ else new.__dict__["logits"]
        return new


class _Binary(_BinaryParams, Distribution):
    """probs or logits: (*batch,) (or a number); the shared construction of Bernoulli and Geometric."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set_params(probs, logits, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_binary(type(self), batch_shape, _instance)


class Bernoulli(ExponentialFamily, _Binary):
    """Bernoulli(p) on {0, 1}: ``log_prob(x) = x logits - softplus(logits)``."""
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        from ..special import logit
        return (logit(self.probs),)

    def _log_normalizer(self, x):
        return x.exp().log1p()

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        from .. import where
        p = self.probs
        return where(p == 0.5, math.nan, (p >= 0.5).to(p.dtype))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        from .. import bernoulli
        return bernoulli(self.probs.detach().expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return logits * value - _softplus(logits)

    def entropy(self):
        return _softplus(self.logits) - self.probs * self.logits

    def enumerate_support(self, expand=True):
        from .. import arange
        values = arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((2,) + tuple(self._batch_shape)) if expand else values


class Geometric(_Binary):
    """The number of failures before the first success: ``log_prob(k) = k log(1 - p) + log p``."""
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        super().__init__(probs, logits, validate_args)
        if self._validate_args and probs is not None and not bool((self.probs > 0).all()):
            raise ConstraintError(
                f"Expected parameter probs ({type(self.probs).__name__} of shape {tuple(self.probs.shape)}) of "
                f"distribution {self!r} to be positive but found invalid values:\n{self.probs}")

    @property
    def mean(self):
        return self.probs.reciprocal() - 1

    @property
    def mode(self):
        return self.probs * 0

    @property
    def variance(self):
        return (self.probs.reciprocal() - 1) / self.probs

    def sample(self, sample_shape=()):
        u = uniform(self._extended_shape(sample_shape), self.probs, float(finfo(self.probs).tiny), 1.0)
        return (u.log() / (-self.probs.detach()).log1p()).floor()

    def log_prob(self, value):
        from .. import where
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # p = 1 and k = 0: 0 log 0 = 0 (probs replaced by 0 there keeps the gradient finite)
        probs = where((probs == 1) & (value == 0), 0.0, probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self):
        return (_softplus(self.logits) - self.probs * self.logits) / self.probs


class Poisson(ExponentialFamily):
    """Poisson(rate): ``log_prob(k) = k log(rate) - rate - lgamma(k + 1)``."""
    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    @property
    def _natural_params(self):
        return (self.rate.log(),)

    def _log_normalizer(self, x):
        return x.exp()

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(Size() if isinstance(rate, Number) else self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Poisson, ("rate",), batch_shape, _instance)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        return poisson(self.rate, self._extended_shape(sample_shape))

    def log_prob(self, value):
        from .. import lgamma, xlogy
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return xlogy(value, rate) - rate - lgamma(value + 1)


class Binomial(_BinaryParams, Distribution):
    """The successes in ``total_count`` Bernoulli(p) trials; total_count, probs or logits: (*batch,)."""
    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        self._set_params(probs, logits, total_count, validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_binary(Binomial, batch_shape, _instance, ("total_count", "probs", "logits"))

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        n = self.total_count
        return ((n + 1) * self.probs).floor().minimum(n)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        return binomial(self.total_count, self.probs.detach(), self._extended_shape(sample_shape))

    def log_prob(self, value):
        from .. import lgamma
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        # log C(n, k) + k logits - n softplus(logits), softplus split as max(l, 0) + log1p(exp(-|l|))
        # (torch's form: its max(l, 0) takes gradient 1/2 at l = 0)
        clamp0 = (logits.clamp(min=0) + logits - logits.clamp(max=0)) / 2
        normalizer = n * clamp0 + n * (-logits.abs()).exp().log1p() - lgamma(n + 1)
        return value * logits - lgamma(value + 1) - lgamma(n - value + 1) - normalizer

    def _homogeneous_count(self, what):
        top = int(self.total_count.max().item())
        if int(self.total_count.min().item()) != top:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return top

    def entropy(self):
        self._homogeneous_count("entropy")
        lp = self.log_prob(self.enumerate_support(False))
        return -(lp.exp() * lp).sum(0)

    def enumerate_support(self, expand=True):
        from .. import arange
        top = self._homogeneous_count("enumerate_support")
        values = arange(1 + top, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values
