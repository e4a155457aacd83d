"""``kl_divergence(p, q)`` = E_p[log p(x) - log q(x)] in closed form, and ``register_kl`` to add pairs.

The implementation for a pair of types is the registered one with the most specific classes
(in method-resolution order, p's first); an unregistered pair raises NotImplementedError, as in
torch. Results have the broadcast batch shape of p and q and are differentiable in both.
Where q has no mass on part of p's support the divergence is +inf.
"""
from __future__ import annotations

import math

from .continuous import Cauchy, Exponential, Gumbel, Laplace, Normal, Uniform
from .categorical import Categorical, OneHotCategorical
from .discrete import Bernoulli, Binomial, Geometric, Poisson
from .gamma_family import Beta, Dirichlet, Gamma
from .multivariate_normal import MultivariateNormal, batch_mahalanobis
from .transformed import Independent, TransformedDistribution
from .utils import euler_constant, sum_rightmost

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY: dict = {}
_KL_MEMO: dict = {}


_PAIR_MODULES = ("kl_bregman", "kl_continuous_bernoulli", "kl_lowrank", "kl_positive")
_pairs_loaded = True   # (while this module's own pairs register; False at its end: the others load on first use)


def _load_pairs() -> None:
    """Import the modules that register the other built-in pairs (on first use, keeping
    ``import minitf.distributions`` light), before any lookup and before a user's registration,
    so that a user's pair replaces a built-in one as in torch, never the reverse."""
    global _pairs_loaded
    if not _pairs_loaded:
        _pairs_loaded = True   # (first: those modules call register_kl as they load)
        import importlib
        for name in _PAIR_MODULES:
            importlib.import_module(f".{name}", __package__)


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as the KL divergence of (type_p, type_q)::

        @register_kl(Normal, Normal)
        def kl_normal_normal(p, q): ...
    """
    _load_pairs()
    if not (isinstance(type_p, type) and isinstance(type_q, type)):
        raise TypeError(f"Expected type_p and type_q to be Distribution subclasses but got {type_p} and {type_q}")

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        _KL_MEMO.clear()
        return fn
    return decorator


def _dispatch(type_p, type_q):
    matches = [(tp, tq) for tp, tq in _KL_REGISTRY if issubclass(type_p, tp) and issubclass(type_q, tq)]
    if not matches:
        return NotImplemented
    best = min(matches, key=lambda m: (type_p.__mro__.index(m[0]), type_q.__mro__.index(m[1])))
    return _KL_REGISTRY[best]


def kl_divergence(p, q):
    """KL(p || q): p and q distributions with broadcastable batch shapes -> (*batch,)."""
    key = (type(p), type(q))
    fn = _KL_MEMO.get(key)
    if fn is None:
        _load_pairs()
        fn = _KL_MEMO[key] = _dispatch(*key)
    if fn is NotImplemented:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} "
                                  f"and q type {type(q).__name__}")
    return fn(p, q)


def _mt():
    import minitf
    return minitf


def _softplus(x):
    from ..nn import functional as F
    return F.softplus(x)


def _inf_like(t):
    return t * 0 + math.inf


# ------------------------------------------------------------------ same family

@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    where = _mt().where
    t1 = p.probs * (_softplus(-q.logits) - _softplus(-p.logits))
    t1 = where(p.probs == 0, 0.0, where(q.probs == 0, math.inf, t1))
    t2 = (1 - p.probs) * (_softplus(q.logits) - _softplus(p.logits))
    t2 = where(p.probs == 1, 0.0, where(q.probs == 1, math.inf, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    mt = _mt()
    t = p.probs * (p.logits - q.logits)
    t = mt.where(q.probs == 0, math.inf, t)
    t = mt.where(p.probs == 0, 0.0, t)
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError("KL between Binomials where q.total_count > p.total_count is not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + (-p.probs).log1p() - (-q.probs).log1p())
    return _mt().where(p.total_count > q.total_count, math.inf, kl)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    return -p.entropy() - (-q.probs).log1p() / p.probs - q.logits


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    ratio = q.rate / p.rate
    return -ratio.log() + ratio - 1


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    ratio = p.scale / q.scale
    d = (p.loc - q.loc).abs()
    return -ratio.log() + d / q.scale + ratio * (-d / p.scale).exp() - 1


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    num = (p.scale + q.scale).pow(2) + (p.loc - q.loc).pow(2)
    return (num / (4 * p.scale * q.scale)).log()


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    ct1, ct2, ct3 = p.scale / q.scale, q.loc / q.scale, p.loc / q.scale
    t1 = -ct1.log() - ct2 + ct3
    t3 = (ct2 + _mt().lgamma(1 + ct1) - ct3).exp()
    return t1 + ct1 * euler_constant + t3 - (1 + euler_constant)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _mt().where((q.low > p.low) | (q.high < p.high), math.inf, result)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    mt = _mt()
    t1 = q.concentration * (p.rate / q.rate).log()
    t2 = mt.lgamma(q.concentration) - mt.lgamma(p.concentration)
    t3 = (p.concentration - q.concentration) * mt.digamma(p.concentration)
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    mt = _mt()
    a, b = p.concentration, q.concentration
    a0, b0 = a.sum(-1), b.sum(-1)
    t1 = mt.lgamma(a0) - mt.lgamma(b0)
    t2 = (mt.lgamma(a) - mt.lgamma(b)).sum(-1)
    t4 = mt.digamma(a) - mt.digamma(a0).unsqueeze(-1)
    return t1 - t2 + ((a - b) * t4).sum(-1)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    return _kl_dirichlet_dirichlet(p._dirichlet, q._dirichlet)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    from .. import diagonal
    from ..linalg import solve_triangular
    if tuple(p.event_shape) != tuple(q.event_shape):
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes cannot "
                         "be computed")
    Lp, Lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_term1 = diagonal(Lq, 0, -2, -1).log().sum(-1) - diagonal(Lp, 0, -2, -1).log().sum(-1)
    k = p.event_shape[0]
    batch = tuple(_mt().broadcast_shapes(Lp.shape[:-2], Lq.shape[:-2]))
    # |Lq^-1 Lp|_F^2 = tr(Sigma_q^-1 Sigma_p)
    term2 = solve_triangular(Lq.expand(batch + (k, k)), Lp.expand(batch + (k, k)), upper=False).pow(2).sum((-2, -1))
    term3 = batch_mahalanobis(Lq, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - k)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    if p.transforms != q.transforms or tuple(p.event_shape) != tuple(q.event_shape):
        raise NotImplementedError
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), len(p.event_shape) - len(p.base_dist.event_shape))


# ------------------------------------------------------------------ across families
# KL(p || q) = -H(p) - E_p[log q(x)], with p's moments: E x, E x^2, E log x as each pair needs

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


def _infinite(p_param):
    def fn(p, q):
        return _inf_like(getattr(p, p_param))
    return fn


# q has no mass where p has some: the divergence is +inf (p's batch shape, as torch)
for _p, _q, _name in [(Normal, Exponential, "loc"), (Normal, Gamma, "loc"), (Normal, Uniform, "loc"),
                      (Normal, Beta, "loc"), (Laplace, Exponential, "loc"), (Laplace, Gamma, "loc"),
                      (Laplace, Uniform, "loc"), (Laplace, Beta, "loc"), (Gumbel, Exponential, "loc"),
                      (Gumbel, Gamma, "loc"), (Gumbel, Uniform, "loc"), (Gumbel, Beta, "loc"),
                      (Exponential, Uniform, "rate"), (Exponential, Beta, "rate"), (Gamma, Uniform, "rate"),
                      (Gamma, Beta, "rate"), (Poisson, Bernoulli, "rate"), (Poisson, Binomial, "rate")]:
    register_kl(_p, _q)(_infinite(_name))


_pairs_loaded = False
