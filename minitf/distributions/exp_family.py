"""``ExponentialFamily``: the base class of the distributions with density
``p(x; eta) = h(x) exp(<eta, t(x)> - A(eta))`` (torch.distributions.ExponentialFamily).

A subclass gives its natural parameters ``_natural_params`` (a tuple of tensors eta), the
log-normaliser ``_log_normalizer(*eta)`` = A and ``_mean_carrier_measure`` = E[log h(x)]. Then
``entropy()`` is ``A(eta) - <eta, grad A(eta)> - E[log h]`` (grad A by autograd, as torch's: the
natural parameters are detached first, so this entropy is not differentiable in the
distribution's parameters), and :mod:`.kl_bregman` gives KL between two members of one family
as the Bregman divergence of A. Normal, Bernoulli, Beta, Dirichlet, Exponential, Gamma (and
Chi2), Poisson and ContinuousBernoulli are members, as in torch; each keeps its closed-form entropy.
"""
from __future__ import annotations

from .distribution import Distribution
from .utils import sum_rightmost

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """A distribution of an exponential family (subclasses define the natural parameters,
    the log-normaliser and the mean carrier measure)."""

    @property
    def _natural_params(self):
        """The natural parameters eta: a tuple of tensors (*batch, ...)."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        """A(eta): natural parameters -> (*batch,)."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        """E[log h(x)] (a number or a (*batch,) tensor)."""
        raise NotImplementedError

    def _log_normalizer_and_grads(self, create_graph=True):
        """(eta detached and requiring grad, A(eta), dA/deta): the pieces of entropy and Bregman KL."""
        from ..autograd import grad
        from ..grad_modes import enable_grad
        with enable_grad():
            eta = [p.detach().requires_grad_() for p in self._natural_params]
            a = self._log_normalizer(*eta)
            grads = grad(a.sum(), eta, create_graph=create_graph)
        return eta, a, grads

    def entropy(self):
        """H = A(eta) - <eta, grad A(eta)> - E[log h]: (*batch,)."""
        result = -self._mean_carrier_measure
        eta, a, grads = self._log_normalizer_and_grads()
        result = result + a
        for p, g in zip(eta, grads):
            result = result - (p * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result


def bregman_kl(p, q):
    """KL(p || q) of two members of one exponential family: A(eta_q) - A(eta_p) - <eta_q - eta_p, grad A(eta_p)>."""
    if type(p) is not type(q):
        raise NotImplementedError("The cross KL-divergence between different exponential families cannot "
                                  "be computed using Bregman divergences")
    eta_p, a_p, grads = p._log_normalizer_and_grads()
    eta_q = q._natural_params
    result = q._log_normalizer(*eta_q) - a_p
    for pp, qq, g in zip(eta_p, eta_q, grads):
        result = result - sum_rightmost((qq - pp) * g, len(q.event_shape))
    return result
