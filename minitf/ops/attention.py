"""Scaled dot-product attention as matrix products, with a fused analytic backward.

    S = Q K^T / sqrt(d_k)            scores         (..., T_q, T_k)
    P = softmax(S + mask)            attention      (masked keys get probability 0)
    O = P V                          output         (..., T_q, d_v)

Every query row is computed at once: this is the parallelism the seeds describe.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import random as _random
from ..autograd import Function
from ..tensor import Tensor

_bias_cache: dict = {}


def causal_mask(t_q: int, t_k: int | None = None, device: str = "cpu") -> Tensor:
    """Boolean (T_q, T_k) mask, True where query i may attend key j.

    Queries are the *last* T_q positions of the T_k keys (bottom-right
    alignment), so query i sits at position T_k - T_q + i and sees keys
    j <= T_k - T_q + i. With T_q == T_k this is the usual lower triangle; with
    T_q = 1 it is a decoding step through a key/value cache.
    """
    t_k = t_q if t_k is None else t_k
    xp = backend.array_module(device)
    return Tensor._make(_causal_allowed(xp, t_q, t_k), None)


def _causal_allowed(xp, t_q, t_k):
    return xp.tril(xp.ones((t_q, t_k), dtype=bool), k=t_k - t_q)


def _causal_bias(xp, t_q, t_k, dtype):
    """Additive 0 / -inf mask, cached: causal attention adds it instead of a where()."""
    key = (xp.__name__, t_q, t_k, np.dtype(dtype).str)
    bias = _bias_cache.get(key)
    if bias is None:
        if len(_bias_cache) > 64:
            _bias_cache.clear()
        allowed = _causal_allowed(xp, t_q, t_k)
        bias = _bias_cache[key] = xp.where(allowed, dtype.type(0), dtype.type(-np.inf)).astype(dtype)
    return bias


# score elements (T_q * T_k per batch entry) per thread below which attention runs in one call
_MIN_SCORES = 32768
# score elements (1 MiB of float32) a CPU thread works on at once: its softmax passes then run
# in cache, not memory; smaller blocks lose more to per-call overhead than they gain (measured)
_CACHE_SCORES = 262144


# causal attention takes its queries in chunks of this many: chunk [a, b) needs only keys [0, b)
_QUERY_CHUNK = 32


def _query_chunks(t_q, t_k, causal):
    """(a, b, n_keys) per chunk of queries: one chunk over every key, or, under a plain causal
    mask with T_q == T_k, chunks of _QUERY_CHUNK queries that skip the keys no query of theirs
    may see (about half the products and softmax work at long blocks). Below 4 chunks the
    extra calls cost more than the skipped work saves (measured at T = 64: 1.15 ms against
    0.86 ms per layer of the baby preset; at T = 128 and 256 the chunks win)."""
    if not causal or t_q != t_k or t_q < 4 * _QUERY_CHUNK:
        return [(0, t_q, t_k)]
    return [(a, min(a + _QUERY_CHUNK, t_q), min(a + _QUERY_CHUNK, t_q)) for a in range(0, t_q, _QUERY_CHUNK)]


def _block(a, rows, ndim, n):
    """``a[rows]`` along the leading batch axis, unless ``a`` broadcasts there
    (fewer than ``ndim`` dims, or size 1): then all of it."""
    return a if a is None or a.ndim != ndim or a.shape[0] != n else a[rows]


class ScaledDotProductAttention(Function):
    def forward(self, q, k, v, mask, causal, scale, keep):
        xp = backend.get_array_module(q)
        t_q, t_k = q.shape[-2], k.shape[-2]
        lead = tuple(np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2],
                                         () if mask is None else mask.shape[:-2]))
        p = xp.empty(lead + (t_q, t_k), dtype=q.dtype)
        pd = p if keep is None else xp.empty_like(p)
        out = xp.empty(lead + (t_q, v.shape[-1]), dtype=q.dtype)
        bias = _causal_bias(xp, t_q, t_k, q.dtype) if causal else None
        # every query row has an allowed key under a plain causal mask with T_k >= T_q
        guard = mask is not None or (causal and t_k < t_q)

        nd, n = len(lead) + 2, (lead[0] if lead else 0)
        # measured on the CPU only; a GPU runs the whole (T, T) in one launch
        chunks = _query_chunks(t_q, t_k, causal and mask is None and xp is np)

        def kernel(lo, hi):
            rows = slice(lo, hi) if lead else Ellipsis
            qb, kb, vb = (_block(a, rows, nd, n) for a in (q, k, v))
            kpb = None if keep is None else _block(keep, rows, nd, n)
            for a, b, nk in chunks:  # queries a..b see keys 0..nk: the rest of their row is P = 0
                qs, ks, vs = qb[..., a:b, :], kb[..., :nk, :], vb[..., :nk, :]
                ps, pds, outs = p[rows][..., a:b, :nk], pd[rows][..., a:b, :nk], out[rows][..., a:b, :]
                if nk < t_k:
                    p[rows][..., a:b, nk:] = 0
                    if keep is not None:
                        pd[rows][..., a:b, nk:] = 0
                xp.matmul(qs, ks.swapaxes(-1, -2), out=ps)        # S = Q K^T
                ps *= scale
                if bias is not None:
                    ps += bias[a:b, :nk]
                if mask is not None:
                    ps[...] = xp.where(_block(mask, rows, nd, n), ps, ps.dtype.type(-np.inf))
                m = ps.max(axis=-1, keepdims=True)
                if guard:
                    m = xp.where(xp.isfinite(m), m, m.dtype.type(0))  # fully masked row: e = 0 below, no NaN
                ps -= m
                xp.exp(ps, out=ps)
                z = ps.sum(axis=-1, keepdims=True)
                if guard:
                    z = xp.where(z == 0, z.dtype.type(1), z)       # fully masked row -> P = 0, O = 0
                ps /= z                                            # P = softmax(S + mask)
                if keep is not None:
                    xp.multiply(ps, kpb[..., a:b, :nk], out=pds)
                xp.matmul(pds, vs, out=outs)                       # O = Pd V

        self._run(xp, kernel, lead, q, k, v, t_q * t_k)
        self.q, self.k, self.v, self.p, self.pd, self.keep, self.scale = q, k, v, p, pd, keep, scale
        self.chunks = chunks
        return out

    @staticmethod
    def _run(xp, kernel, lead, q, k, v, scores_per_row):
        """Split the batch rows over threads when no input broadcasts along the leading axis."""
        if lead and q.ndim == k.ndim == v.ndim == len(lead) + 2 and q.shape[0] == k.shape[0] == v.shape[0]:
            per_row = max(scores_per_row * int(np.prod(lead[1:], dtype=np.int64)), 1)
            step = max(1, _CACHE_SCORES // per_row)

            def blocked(lo, hi):  # each row is computed as in one call: results do not depend on step
                for s in range(lo, hi, step):
                    kernel(s, min(s + step, hi))
            backend.parallel_rows(xp, blocked if xp is np else kernel, lead[0], max(1, _MIN_SCORES // per_row))
        else:
            kernel(0, lead[0] if lead else 1)

    def backward(self, g):
        # dV = Pd^T G;  dPd = G V^T;  dP = dPd * keep;  dS = P (dP - rowsum(dP P));
        # dQ = dS K scale;  dK = dS^T Q scale
        xp = backend.get_array_module(g)
        q, k, v, p, pd, keep = self.q, self.k, self.v, self.p, self.pd, self.keep
        lead = p.shape[:-2]
        # with broadcasting, the gradients have the broadcast shape and the engine sums them back
        dq = xp.empty(lead + q.shape[-2:], dtype=g.dtype)
        dk = xp.empty(lead + k.shape[-2:], dtype=g.dtype)
        dv = xp.empty(lead + v.shape[-2:], dtype=g.dtype)

        nd, n = len(lead) + 2, (lead[0] if lead else 0)

        chunks = self.chunks
        whole = len(chunks) == 1

        def kernel(lo, hi):
            rows = slice(lo, hi) if lead else Ellipsis
            qb, kb, vb = (_block(a, rows, nd, n) for a in (q, k, v))
            kpb = None if keep is None else _block(keep, rows, nd, n)
            dqs, dks, dvs = dq[rows], dk[rows], dv[rows]
            if not whole:   # query chunks each add their share to dK, dV
                dks[...] = 0
                dvs[...] = 0
            for a, b, nk in chunks:
                qs, ks, vs = qb[..., a:b, :], kb[..., :nk, :], vb[..., :nk, :]
                gs, ps, pds = g[rows][..., a:b, :], p[rows][..., a:b, :nk], pd[rows][..., a:b, :nk]
                if whole:
                    xp.matmul(pds.swapaxes(-1, -2), gs, out=dvs)
                else:
                    dvs[..., :nk, :] += pds.swapaxes(-1, -2) @ gs
                ds = gs @ vs.swapaxes(-1, -2)                      # dPd
                if keep is not None:
                    ds *= kpb[..., a:b, :nk]                       # dP
                ds -= (ds * ps).sum(axis=-1, keepdims=True)
                ds *= ps
                ds *= self.scale                                   # dS, with the 1/sqrt(d_k) of S folded in
                xp.matmul(ds, ks, out=dqs[..., a:b, :])
                if whole:
                    xp.matmul(ds.swapaxes(-1, -2), qs, out=dks)
                else:
                    dks[..., :nk, :] += ds.swapaxes(-1, -2) @ qs

        self._run(xp, kernel, lead, q, k, v, p.shape[-2] * p.shape[-1])
        return dq, dk, dv


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask=None, causal: bool = False,
                                 dropout_p: float = 0.0, training: bool = True,
                                 scale: float | None = None, generator=None) -> Tensor:
    """softmax(Q K^T / sqrt(d_k) + mask) V, every query at once.

    q: (..., T_q, d_k), k: (..., T_k, d_k), v: (..., T_k, d_v) -> (..., T_q, d_v);
    batch dims broadcast. ``mask``: boolean, broadcastable to (..., T_q, T_k),
    True where a query may attend a key. ``causal=True`` adds
    :func:`causal_mask` (bottom-right aligned, for key/value caches).
    ``dropout_p`` drops attention probabilities in training (inverted dropout).

    A query row whose keys are all masked attends to nothing: its output is 0
    and it passes no gradient (rather than the NaN of a 0/0 softmax).
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"scaled_dot_product_attention: q {q.shape} and k {k.shape} differ in d_k")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: k {k.shape} and v {v.shape} differ in T_k")
    if causal and q.shape[-2] > k.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: causal needs T_q <= T_k, got q {q.shape}, k {k.shape}")
    m = None
    if mask is not None:
        m = mask.data if isinstance(mask, Tensor) else mask
        if type(m) is not type(q.data):
            raise backend.DeviceError(f"scaled_dot_product_attention: mask on {backend.device_of(m)}, "
                                      f"q on {q.device}")
        if m.dtype.kind != "b":
            raise TypeError(f"scaled_dot_product_attention: mask must be boolean (True = attend), got {m.dtype}")
    try:  # batch dims of q, k, v and the mask must broadcast to the scores (..., T_q, T_k)
        scores = np.broadcast_shapes(q.shape[:-2] + (1, 1), k.shape[:-2] + (1, 1), v.shape[:-2] + (1, 1),
                                     (q.shape[-2], k.shape[-2]), *(() if m is None else (tuple(m.shape),)))
        if scores[-2:] != (q.shape[-2], k.shape[-2]):  # a mask may not grow T_q or T_k
            raise ValueError
    except ValueError:
        raise ValueError(f"scaled_dot_product_attention: q {q.shape}, k {k.shape}, v {v.shape}"
                         + ("" if m is None else f" and mask {tuple(m.shape)}")
                         + " do not broadcast (batch dims must broadcast; mask to (..., T_q, T_k))") from None
    keep = None
    if training and dropout_p > 0.0:
        if not dropout_p < 1.0:
            raise ValueError(f"dropout_p must be in [0, 1), got {dropout_p}")
        gen = generator if generator is not None else _random.default_generator(q.device)
        shape = tuple(np.broadcast_shapes(q.shape[:-1], k.shape[:-2] + (1,))) + (k.shape[-2],)
        keep = (gen.random(shape, dtype=q.dtype) >= dropout_p) * q.dtype.type(1.0 / (1.0 - dropout_p))
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return ScaledDotProductAttention.apply(q, k, v, mask=m, causal=causal,
                                           scale=q.dtype.type(scale), keep=keep)
