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
from ..tensor import Function, Tensor

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


class ScaledDotProductAttention(Function):
    def forward(self, q, k, v, mask, causal, scale, keep):
        xp = backend.get_array_module(q)
        s = q @ k.swapaxes(-1, -2)
        s *= scale
        if causal:
            s += _causal_bias(xp, q.shape[-2], k.shape[-2], s.dtype)
        if mask is not None:
            s = xp.where(mask, s, s.dtype.type(-np.inf))
        m = s.max(axis=-1, keepdims=True)
        if causal and mask is None and k.shape[-2] >= q.shape[-2]:
            pass  # every query row has at least one allowed key: max is finite
        elif mask is not None or causal:
            m = xp.where(xp.isfinite(m), m, m.dtype.type(0))  # fully masked row: e = 0 below, no NaN
        s -= m
        p = xp.exp(s, out=s)
        z = p.sum(axis=-1, keepdims=True)
        if mask is not None or causal:
            z = xp.where(z == 0, z.dtype.type(1), z)  # fully masked row -> P = 0, O = 0
        p /= z
        pd = p if keep is None else p * keep
        self.q, self.k, self.v, self.p, self.pd, self.keep, self.scale = q, k, v, p, pd, keep, scale
        return pd @ v

    def backward(self, g):
        # dV = Pd^T G;  dPd = G V^T;  dP = dPd * keep;  dS = P (dP - rowsum(dP P));
        # dQ = dS K scale;  dK = dS^T Q scale
        q, k, v, p = self.q, self.k, self.v, self.p
        dv = self.pd.swapaxes(-1, -2) @ g
        dp = g @ v.swapaxes(-1, -2)
        if self.keep is not None:
            dp *= self.keep
        ds = dp
        ds -= (dp * p).sum(axis=-1, keepdims=True)
        ds *= p
        ds *= self.scale
        dq = ds @ k
        dk = ds.swapaxes(-1, -2) @ q
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
