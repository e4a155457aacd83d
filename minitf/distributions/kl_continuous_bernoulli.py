"""KL divergences (registered with :func:`.kl.register_kl`) with the ContinuousBernoulli, torch's
pairs: with itself, Beta and Uniform as p, Exponential, Normal and Uniform as q, and +inf where q
has no mass on part of p's support (a real-valued p under a ContinuousBernoulli on [0, 1], the
ContinuousBernoulli under a Pareto).

Where a Uniform meets [0, 1] exactly the divergence is finite: KL(CB || U[0, 1]) = -H(CB) and
KL(U[0, 1/2] || CB) is finite. torch 2.13 answers +inf at those ends (its tests use >= / <=);
minitf's +inf is for q's support strictly missing part of p's.
"""
from __future__ import annotations

import math

from .continuous import Exponential, Gumbel, Laplace, Normal, Uniform
from .continuous_bernoulli import ContinuousBernoulli
from .extreme_value import Pareto
from .gamma_family import Beta, Gamma
from .kl import _infinite, register_kl

__all__: list = []


def _mt():
    import minitf
    return minitf


def _cross(p_mean, q):
    """-E_p[log q(x)] for q a ContinuousBernoulli, from p's mean (log q is linear in x)."""
    return -p_mean * q.logits - (-q.probs).log1p() - q._cont_bern_log_norm()


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_cb_cb(p, q):
    return -p.entropy() + _cross(p.mean, q)


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_cb(p, q):
    return -p.entropy() + _cross(p.mean, q)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_cb(p, q):
    result = -p.entropy() + _cross(p.mean, q)
    return _mt().where((p.low < 0) | (p.high > 1), math.inf, result)


@register_kl(ContinuousBernoulli, Exponential)
def _kl_cb_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_cb_normal(p, q):
    ex2 = p.variance + p.mean.pow(2)
    return (-p.entropy() + q.scale.log() + 0.5 * math.log(2 * math.pi)
            + (ex2 - 2 * q.loc * p.mean + q.loc.pow(2)) / (2 * q.scale.pow(2)))


@register_kl(ContinuousBernoulli, Uniform)
def _kl_cb_uniform(p, q):
    result = -p.entropy() + (q.high - q.low).log()
    return _mt().where((q.low > 0) | (q.high < 1), math.inf, result)


for _p, _q, _name in [(ContinuousBernoulli, Pareto, "probs"), (Exponential, ContinuousBernoulli, "rate"),
                      (Gamma, ContinuousBernoulli, "rate"), (Gumbel, ContinuousBernoulli, "loc"),
                      (Laplace, ContinuousBernoulli, "loc"), (Normal, ContinuousBernoulli, "loc"),
                      (Pareto, ContinuousBernoulli, "scale")]:
    register_kl(_p, _q)(_infinite(_name))
