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


_PAIR_MODULES = ("kl_across", "kl_bregman", "kl_continuous_bernoulli", "kl_lowrank", "kl_positive")
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


def _infinite(p_param):
    """A pair's KL that is +inf (q has no mass on part of p's support), of p's batch shape."""
    def fn(p, q):
        return _inf_like(getattr(p, p_param))
    return fn


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


_pairs_loaded = False
