"""KL divergences of the low-rank Gaussians (registered with :func:`.kl.register_kl`): LowRank-LowRank,
MultivariateNormal-LowRank and LowRank-MultivariateNormal, torch's pairs.

KL(p || q) = (log|Sigma_q| - log|Sigma_p| + tr(Sigma_q^-1 Sigma_p) + d^T Sigma_q^-1 d - n) / 2 with
d = loc_q - loc_p. For a low-rank q the trace goes through Woodbury, Sigma_q^-1 = D^-1 - A^T A with
A = C_L^-1 W^T D^-1 (m x n), so every term is a squared Frobenius norm of an n x m or m x m product.
"""
from __future__ import annotations

from .kl import register_kl
from .lowrank_mvn import LowRankMultivariateNormal, _solve_lower, lowrank_logdet, lowrank_mahalanobis
from .multivariate_normal import MultivariateNormal, _diag, batch_mahalanobis

__all__: list = []


def _sq(x):
    """|x|_F^2 over the last two dims."""
    return x.pow(2).sum((-2, -1))


def _check(p, q, what):
    if tuple(p.event_shape) != tuple(q.event_shape):
        raise ValueError(f"KL-divergence between two {what} with different event shapes cannot be computed")


def _lowrank_q(q):
    """(log|Sigma_q|, A, D_q) of a low-rank q: the pieces of its inverse."""
    W, D, C_L = q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag, q._capacitance_tril
    return lowrank_logdet(W, D, C_L), _solve_lower(C_L, W.mT / D.unsqueeze(-2)), D


def _q_mahalanobis(q, p):
    return lowrank_mahalanobis(q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag, q.loc - p.loc,
                               q._capacitance_tril)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_lowrank(p, q):
    _check(p, q, "Low Rank Multivariate Normals")
    logdet_q, A, Dq = _lowrank_q(q)
    Wp, Dp = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    logdet_p = lowrank_logdet(Wp, Dp, p._capacitance_tril)
    # tr(Sigma_q^-1 (Wp Wp^T + diag Dp)) = |Dq^-1/2 Wp|^2 + sum Dp / Dq - |A Wp|^2 - |A Dp^1/2|^2
    trace = (_sq(Wp * Dq.rsqrt().unsqueeze(-1)) + (Dp / Dq).sum(-1) - _sq(A @ Wp)
             - _sq(A * Dp.sqrt().unsqueeze(-2)))
    return 0.5 * (logdet_q - logdet_p + trace + _q_mahalanobis(q, p) - p.event_shape[0])


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_mvn_lowrank(p, q):
    _check(p, q, "(Low Rank) Multivariate Normals")
    logdet_q, A, Dq = _lowrank_q(q)
    Lp = p._unbroadcasted_scale_tril
    logdet_p = 2 * _diag(Lp).log().sum(-1)
    trace = _sq(Lp * Dq.rsqrt().unsqueeze(-1)) - _sq(A @ Lp)        # tr(Sigma_q^-1 Lp Lp^T)
    return 0.5 * (logdet_q - logdet_p + trace + _q_mahalanobis(q, p) - p.event_shape[0])


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_mvn(p, q):
    from .. import diag_embed
    _check(p, q, "(Low Rank) Multivariate Normals")
    Lq = q._unbroadcasted_scale_tril
    Wp, Dp = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    logdet_q = 2 * _diag(Lq).log().sum(-1)
    logdet_p = lowrank_logdet(Wp, Dp, p._capacitance_tril)
    trace = _sq(_solve_lower(Lq, Wp)) + _sq(_solve_lower(Lq, diag_embed(Dp.sqrt())))   # |Lq^-1 Sigma_p^1/2|^2
    return 0.5 * (logdet_q - logdet_p + trace + batch_mahalanobis(Lq, q.loc - p.loc) - p.event_shape[0])
