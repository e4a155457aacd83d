"""Count distributions built on the Bernoulli / Categorical parameters: ``NegativeBinomial``
(successes before ``total_count`` failures, a Gamma-Poisson mixture) and ``Multinomial``
(``total_count`` Categorical draws counted per category, events (K,)). Exactly one of ``probs``
or ``logits``; ``log_prob`` and ``entropy`` are differentiable in them, draws are not.
"""
from __future__ import annotations

import math

from . import constraints
from .categorical import Categorical, CategoricalParams
from .discrete import Binomial, _BinaryParams
from .distribution import Distribution
from .gamma_family import Gamma
from .utils import broadcast_all, lazy_property, poisson

__all__ = ["Multinomial", "NegativeBinomial"]


def _f():
    import minitf
    return minitf


class NegativeBinomial(_BinaryParams, Distribution):
    """The number of successes (probability ``probs``) before ``total_count`` failures:
    ``log_prob(k) = log C(k + r - 1, k) + r log(1 - p) + k log p``; total_count r may be fractional.
    total_count, probs or logits: (*batch,) tensors or numbers."""
    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        self._set_params(probs, logits, total_count, validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_binary(NegativeBinomial, batch_shape, _instance, ("total_count", "probs", "logits"))

    @property
    def mean(self):
        return self.total_count * self.logits.exp()

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / (-self.logits).sigmoid()

    @lazy_property
    def _gamma(self):
        # the Poisson rate's mixing law: Gamma(r, rate (1 - p) / p)
        return Gamma(self.total_count, (-self.logits).exp(), validate_args=False)

    def sample(self, sample_shape=()):
        from ..grad_modes import no_grad
        with no_grad():
            rate = self._gamma.sample(sample_shape)
            return poisson(rate, tuple(rate.shape))

    def log_prob(self, value):
        mt = _f()
        from ..nn import functional as F
        if self._validate_args:
            self._validate_sample(value)
        r, logits = self.total_count, self.logits
        unnormalised = r * F.logsigmoid(-logits) + value * F.logsigmoid(logits)
        normaliser = -mt.lgamma(r + value) + mt.lgamma(1.0 + value) + mt.lgamma(r)
        # r = k = 0: the point mass at 0, log 1 = 0 (lgamma(0) - lgamma(0) would be inf - inf)
        return unnormalised - mt.where(r + value == 0.0, 0.0, normaliser)


class Multinomial(CategoricalParams, Distribution):
    """``total_count`` (an int) draws from a Categorical(probs or logits (*batch, K)), counted per
    category: events (K,) of counts summing to total_count."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)


    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        from ..nn import functional as F
        if self.total_count == 0:
            return self.probs.detach().new_zeros(tuple(self._extended_shape(sample_shape)))
        draws = self._categorical.sample((self.total_count,) + tuple(sample_shape))   # (n, *sample, *batch)
        return F.one_hot(draws, self._event_shape[0]).sum(0).to(self.probs.dtype)

    def log_prob(self, value):
        mt = _f()
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        # a zero count of an impossible category (logit -inf) contributes 0, not 0 * -inf
        logits = mt.where((value == 0) & (logits == -math.inf), 0.0, logits)
        return mt.lgamma(value.sum(-1) + 1) - mt.lgamma(value + 1).sum(-1) + (logits * value).sum(-1)

    def entropy(self):
        # H = n H(cat) - log n! + sum_k E[log x_k!], each x_k ~ Binomial(n, p_k)
        mt = _f()
        n = self.total_count
        binomial = Binomial(n, self.probs, validate_args=False)
        support = binomial.enumerate_support(expand=False)[1:]          # (n, 1, ..., 1)
        weights = binomial.log_prob(support).exp() * mt.lgamma(support + 1)
        return n * self._categorical.entropy() - math.lgamma(n + 1) + weights.sum((0, -1))
