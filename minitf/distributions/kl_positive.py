"""KL divergences (registered with :func:`.kl.register_kl`) of the positive-support families that
came after :mod:`.kl`: HalfNormal-HalfNormal, Pareto with Pareto, Exponential, Gamma and Normal,
Uniform-Pareto, and +inf where q has no mass on part of p's support (a Pareto's unbounded tail
under a Uniform or Beta, a real-valued p under a Pareto). Torch's pairs; results (*batch,).
"""
from __future__ import annotations

import math

from .continuous import Exponential, Gumbel, Laplace, Normal, Uniform
from .extreme_value import Pareto
from .folded import HalfNormal
from .gamma_family import Beta, Gamma
from .kl import _infinite, _kl_normal_normal, register_kl

__all__: list = []


def _mt():
    import minitf
    return minitf


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    # both are folded at 0: the divergence is their unfolded Normals'
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    scale_ratio, alpha_ratio = p.scale / q.scale, q.alpha / p.alpha
    result = q.alpha * scale_ratio.log() - alpha_ratio.log() + alpha_ratio - 1
    return _mt().where(p.scale < q.scale, math.inf, result)      # p has mass below q's support


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    # -H(p) - E_p[log q] with E_p[x] = alpha scale / (alpha - 1): infinite for alpha <= 1
    a, s = p.alpha, p.scale
    sr = s * q.rate
    result = (a / sr).log() - a.reciprocal() + a * sr / (a - 1) - 1
    return _mt().where(a <= 1, math.inf, result)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    # E_p[log x] = log scale + 1 / alpha, E_p[x] as above
    mt = _mt()
    a, s, k, r = p.alpha, p.scale, q.concentration, q.rate
    elogx = s.log() + a.reciprocal()
    result = a.log() - elogx + mt.lgamma(k) - k * r.log() + (1 - k) * elogx + r * a * s / (a - 1) - 1
    return mt.where(a <= 1, math.inf, result)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    # E_p[(x - mu)^2] = Var + (E x - mu)^2, finite for alpha > 2
    a, s = p.alpha, p.scale
    mean_over_a = s / (a - 1)
    var = a * mean_over_a.pow(2) / (a - 2)
    t1 = (math.sqrt(2 * math.pi) * q.scale * a / s).log()
    result = t1 - a.reciprocal() + (var + (a * mean_over_a - q.loc).pow(2)) / (2 * q.scale.pow(2)) - 1
    return _mt().where(a <= 2, math.inf, result)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    # -log(h - l) - log(alpha scale^alpha) + (alpha + 1) E_U[log x], E_U[log x] from x log x at the ends
    mt = _mt()
    h, lo, a = p.high, p.low, q.alpha
    width = h - lo
    elogx = (mt.xlogy(h, h) - mt.xlogy(lo, lo) - width) / width
    result = elogx * (a + 1) - (a * q.scale.pow(a) * width).log()
    return mt.where(lo < q.scale, math.inf, result)


for _p, _q, _name in [(Beta, Pareto, "concentration1"), (Exponential, Pareto, "rate"), (Gamma, Pareto, "rate"),
                      (Gumbel, Pareto, "loc"), (Laplace, Pareto, "loc"), (Normal, Pareto, "loc"),
                      (Pareto, Uniform, "scale"), (Pareto, Beta, "scale")]:
    register_kl(_p, _q)(_infinite(_name))
