"""KL divergences (registered with :func:`.kl.register_kl`) of pairs across the families of
:mod:`.kl`: KL(p || q) = -H(p) - E_p[log q(x)] from p's moments (E x, E x^2, E log x as each pair
needs), and +inf where q has no mass on part of p's support. Torch's pairs; results (*batch,).
Loaded by :mod:`.kl` on first use, first of its pair modules.
"""
from __future__ import annotations

import math

from .continuous import Exponential, Gumbel, Laplace, Normal, Uniform
from .discrete import Bernoulli, Binomial, Poisson
from .gamma_family import Beta, Gamma
from .kl import _infinite, _mt, register_kl
from .utils import euler_constant

__all__: list = []


_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _normal_cross(p, q, ex, ex2):
    """-E_p[log N(x; q.loc, q.scale)] from p's first two moments."""
    return q.scale.log() + _LOG_SQRT_2PI + (ex2 - 2 * q.loc * ex + q.loc.pow(2)) / (2 * q.scale.pow(2))


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    ex, ex2 = (p.high + p.low) / 2, (p.high.pow(2) + p.high * p.low + p.low.pow(2)) / 3
    return -p.entropy() + _normal_cross(p, q, ex, ex2)


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    return -p.entropy() + _normal_cross(p, q, p.rate.reciprocal(), 2 * p.rate.pow(-2))


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    a, r = p.concentration, p.rate
    return -p.entropy() + _normal_cross(p, q, a / r, a * (a + 1) / r.pow(2))


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    return -p.entropy() + _normal_cross(p, q, p.loc, p.loc.pow(2) + 2 * p.scale.pow(2))


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    d = p.loc - q.loc
    mean_abs = p.scale * math.sqrt(2 / math.pi) * (-d.pow(2) / (2 * p.scale.pow(2))).exp() + \
        d * (d / (p.scale * math.sqrt(2))).erf()
    return -p.entropy() + (2 * q.scale).log() + mean_abs / q.scale


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    result = q.rate * (p.high + p.low) / 2 - ((p.high - p.low) * q.rate).log()
    return _mt().where(p.low < 0, math.inf, result)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.concentration / p.rate


def _gamma_cross(q, ex, elogx):
    """-E_p[log Gamma(x; q.concentration, q.rate)] from E x and E log x."""
    mt = _mt()
    a, r = q.concentration, q.rate
    return -mt.xlogy(a, r) - (a - 1) * elogx + r * ex + mt.lgamma(a)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    return -p.entropy() + _gamma_cross(q, p.rate.reciprocal(), -euler_constant - p.rate.log())


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    mt = _mt()
    h, lo = p.high, p.low
    elogx = (mt.xlogy(h, h) - mt.xlogy(lo, lo)) / (h - lo) - 1
    return mt.where(lo < 0, math.inf, -p.entropy() + _gamma_cross(q, (h + lo) / 2, elogx))


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    # E exp(-(x - mu) / beta) over U[l, h] = beta (e^{-(l - mu)/beta} - e^{-(h - mu)/beta}) / (h - l)
    zh, zl = (p.high - q.loc) / q.scale, (p.low - q.loc) / q.scale
    e_exp = q.scale * ((-zl).exp() - (-zh).exp()) / (p.high - p.low)
    return -p.entropy() + q.scale.log() + (zh + zl) / 2 + e_exp


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    z = (p.loc - q.loc) / q.scale
    e_exp = (-z + p.scale.pow(2) / (2 * q.scale.pow(2))).exp()
    return -p.entropy() + q.scale.log() + z + e_exp


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    lam, beta = p.rate, q.scale
    e_exp = (q.loc / beta).exp() * lam / (lam + beta.reciprocal())
    return -p.entropy() + beta.log() + (lam.reciprocal() - q.loc) / beta + e_exp


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - (p.probs * q.rate.log() - q.rate)


def _beta_moments(p):
    """E x, E x^2, E log x, E log(1 - x) of a Beta(a, b)."""
    mt = _mt()
    a, b = p.concentration1, p.concentration0
    total = a + b
    return (a / total, a * (a + 1) / (total * (total + 1)), mt.digamma(a) - mt.digamma(total),
            mt.digamma(b) - mt.digamma(total))


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    ex, ex2, _, _ = _beta_moments(p)
    return -p.entropy() + _normal_cross(p, q, ex, ex2)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    ex, _, _, _ = _beta_moments(p)
    return -p.entropy() - q.rate.log() + q.rate * ex


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    ex, _, elogx, _ = _beta_moments(p)
    return -p.entropy() + _gamma_cross(q, ex, elogx)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    result = -p.entropy() + (q.high - q.low).log()
    return _mt().where((q.low > 0) | (q.high < 1), math.inf, result)


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    mt = _mt()
    h, lo, a, b = p.high, p.low, q.concentration1, q.concentration0
    width = h - lo
    # E_U[log x] and E_U[log(1 - x)]: (y log y) differences over the interval, minus 1
    elogx = (mt.xlogy(h, h) - mt.xlogy(lo, lo)) / width - 1
    elog1mx = (mt.xlogy(1 - lo, 1 - lo) - mt.xlogy(1 - h, 1 - h)) / width - 1
    log_beta = mt.lgamma(a) + mt.lgamma(b) - mt.lgamma(a + b)
    result = -width.log() - (a - 1) * elogx - (b - 1) * elog1mx + log_beta
    return mt.where((lo < 0) | (h > 1), math.inf, result)


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    a, r, mu, beta = p.concentration, p.rate, q.loc, q.scale
    # E exp(-x / beta) over Gamma(a, r) = (1 + 1 / (beta r))^-a
    e_exp = (mu / beta).exp() * (1 + (beta * r).reciprocal()).pow(-a)
    return -p.entropy() + beta.log() + (a / r - mu) / beta + e_exp


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    mean = p.loc + p.scale * euler_constant
    return -p.entropy() + _normal_cross(p, q, mean, p.variance + mean.pow(2))


# q has no mass where p has some: the divergence is +inf (p's batch shape, as torch)
for _p, _q, _name in [(Normal, Exponential, "loc"), (Normal, Gamma, "loc"), (Normal, Uniform, "loc"),
                      (Normal, Beta, "loc"), (Laplace, Exponential, "loc"), (Laplace, Gamma, "loc"),
                      (Laplace, Uniform, "loc"), (Laplace, Beta, "loc"), (Gumbel, Exponential, "loc"),
                      (Gumbel, Gamma, "loc"), (Gumbel, Uniform, "loc"), (Gumbel, Beta, "loc"),
                      (Exponential, Uniform, "rate"), (Exponential, Beta, "rate"), (Gamma, Uniform, "rate"),
                      (Gamma, Beta, "rate"), (Poisson, Bernoulli, "rate"), (Poisson, Binomial, "rate")]:
    register_kl(_p, _q)(_infinite(_name))
