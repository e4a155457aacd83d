"""Multi-head self-attention on one packed q/k/v projection, fused with the head split and merge.

    qkv: (B, T, 3C) = [Q | K | V] along the last axis, each C = n_head * hd wide,
    heads split each block's channels contiguously: head h owns channels h*hd .. (h+1)*hd.

    Q_h, K_h, V_h = views of qkv as (B, n_head, T, hd)       (no copy)
    O_h = softmax(Q_h K_h^T / sqrt(hd) + mask) V_h          (the scaled dot-product attention op)
    out = O_h merged back to (B, T, C)                      (one copy)

Split and merge are strided views, so the whole thing is one graph node
instead of reshape, permute, three slices, attention, permute and reshape; the
attention itself (forward and backward) is exactly
:class:`~minitf.ops.attention.ScaledDotProductAttention`'s, called on those
views. Also here: :func:`attention_mask`, which builds causal, sliding-window
and key-padding masks (bottom-right aligned, for key/value caches).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function, bump_version, is_grad_enabled
from ..generator import resolve
from ..tensor import Tensor
from .attention import ScaledDotProductAttention
from ._util import is_int


class MultiHeadSelfAttention(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, qkv, n_head, mask, causal, scale, keep):
        B, T, C3 = qkv.shape
        hd = C3 // (3 * n_head)
        heads = qkv.reshape(B, T, 3, n_head, hd).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, hd) view
        self.attn, self.n_head, self.hd = ScaledDotProductAttention(), n_head, hd
        o = self.attn.forward(heads[0], heads[1], heads[2], mask=mask, causal=causal, scale=scale, keep=keep)
        return o.transpose(0, 2, 1, 3).reshape(B, T, n_head * hd)  # merge heads: (B, T, C)

    def backward(self, g):
        # the split and merge are permutations: their backward is the inverse permutation;
        # dQ, dK, dV are the attention op's own backward
        xp = backend.get_array_module(g)
        B, T, C = g.shape
        H, hd = self.n_head, self.hd
        dq, dk, dv = self.attn.backward(g.reshape(B, T, H, hd).transpose(0, 2, 1, 3))
        dqkv = xp.empty((B, T, 3, H, hd), dtype=g.dtype)
        view = dqkv.transpose(2, 0, 3, 1, 4)
        view[0], view[1], view[2] = dq, dk, dv
        return (dqkv.reshape(B, T, 3 * C),)


def _cached_attention(qkv, k_cache, v_cache, n_head, start, scale):
    """The arrays of :func:`cached_multi_head_self_attention`: write, attend, merge."""
    B, T, C3 = qkv.shape
    hd = C3 // (3 * n_head)
    heads = qkv.reshape(B, T, 3, n_head, hd).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, hd) view
    end = start + T
    k_cache[:, :, start:end] = heads[1]                                # the new keys and values
    v_cache[:, :, start:end] = heads[2]
    o = ScaledDotProductAttention().forward(heads[0], k_cache[:, :, :end], v_cache[:, :, :end],
                                            mask=None, causal=True, scale=scale, keep=None)
    return o.transpose(0, 2, 1, 3).reshape(B, T, n_head * hd)


def check_kv_cache(op: str, k_cache, v_cache, x, x_name: str, B: int, n_head: int, hd: int,
                   start: int, T: int) -> None:
    """The checks of a key/value cache pair for T new tokens after ``start``: two buffers, each
    (B, n_head, L, hd) of x's dtype and device with L >= start + T; one clear error otherwise."""
    if k_cache is v_cache or k_cache.data is v_cache.data:
        raise ValueError(f"{op}: k_cache and v_cache must be two buffers, got the same one twice")
    for name, c in (("k_cache", k_cache), ("v_cache", v_cache)):
        if c.ndim != 4 or c.shape[:2] != (B, n_head) or c.shape[3] != hd or c.dtype != x.dtype:
            raise ValueError(f"{op}: {name} must be {x.dtype} (B, n_head, L, hd) = ({B}, {n_head}, L, {hd}), "
                             f"got {c.dtype} {c.shape}")
        if start + T > c.shape[2]:
            raise ValueError(f"{op}: {name} holds {c.shape[2]} positions, too few for {T} new tokens after {start}")
        if type(c.data) is not type(x.data):
            raise backend.DeviceError(f"{op}: {name} on {c.device}, {x_name} on {x.device}")


def cached_multi_head_self_attention(qkv: Tensor, n_head: int, k_cache: Tensor, v_cache: Tensor,
                                     start: int) -> Tensor:
    """Causal multi-head self-attention of new tokens over a key/value cache, written in place.

    qkv: (B, T, 3C), the packed projection of the T new tokens (q, k, v blocks in that
    order, as :func:`multi_head_self_attention`); k_cache, v_cache: (B, n_head, L, hd)
    buffers whose positions [0, start) hold the earlier tokens' keys and values. The new
    keys and values are written at [start, start + T), and new token i (position start + i)
    attends keys 0..start + i. Returns (B, T, C).

    The same arithmetic as writing the cache, then ``scaled_dot_product_attention``
    (``causal=True``) and the head merge, as one op: a single-token step makes one call
    instead of nine. Not differentiable (the buffers change in place): qkv must not
    require grad (use :func:`multi_head_self_attention` on the whole sequence to train).
    """
    if qkv.requires_grad and is_grad_enabled():
        raise RuntimeError("cached_multi_head_self_attention writes the cache in place and has no "
                           "backward: call it under minitf.no_grad() (or on a tensor that does not "
                           "require grad)")
    if not is_int(n_head) or n_head < 1:
        raise ValueError(f"cached_multi_head_self_attention: n_head must be an int >= 1, got {n_head!r}")
    if qkv.ndim != 3 or qkv.shape[-1] % 3 or (qkv.shape[-1] // 3) % n_head:
        raise ValueError(f"cached_multi_head_self_attention: qkv must be (B, T, 3C) with C divisible by "
                         f"n_head={n_head}, got shape {qkv.shape}")
    if not (isinstance(start, (int, np.integer)) and not isinstance(start, bool) and start >= 0):
        raise ValueError(f"cached_multi_head_self_attention: start must be an int >= 0, got {start!r}")
    B, T, C3 = qkv.shape
    hd = C3 // (3 * n_head)
    check_kv_cache("cached_multi_head_self_attention", k_cache, v_cache, qkv, "qkv", B, n_head, hd, start, T)
    scale = qkv.dtype.type(1.0 / math.sqrt(hd))
    # not a recorded Function: nothing here is differentiated (the buffers change in place)
    out = _cached_attention(qkv.data, k_cache.data, v_cache.data, int(n_head), int(start), scale)
    for c in (k_cache, v_cache):
        bump_version(c)
    return Tensor._make(out, None)


def _mask_array(mask, like: Tensor, name: str):
    m = mask.data if isinstance(mask, Tensor) else mask
    if type(m) is not type(like.data):
        raise backend.DeviceError(f"{name}: mask on {backend.device_of(m)}, input on {like.device}")
    if m.dtype.kind != "b":
        raise TypeError(f"{name}: mask must be boolean (True = may attend), got {m.dtype}")
    return m


def multi_head_self_attention(qkv: Tensor, n_head: int, mask=None, causal: bool = True,
                              dropout_p: float = 0.0, training: bool = True, generator=None) -> Tensor:
    """Causal multi-head self-attention from a packed projection.

    qkv: (B, T, 3C), the q, k, v blocks stacked in that order on the last axis;
    returns (B, T, C). ``mask``: boolean, broadcastable to (B, n_head, T, T),
    True where a query may attend a key (see :func:`attention_mask`);
    ``causal`` adds the causal mask. ``dropout_p`` drops attention
    probabilities in training. Rows with every key masked output 0.
    """
    if qkv.ndim != 3 or qkv.shape[-1] % 3 or (qkv.shape[-1] // 3) % n_head:
        raise ValueError(f"multi_head_self_attention: qkv must be (B, T, 3C) with C divisible by "
                         f"n_head={n_head}, got shape {qkv.shape}")
    B, T, C3 = qkv.shape
    m = None if mask is None else _mask_array(mask, qkv, "multi_head_self_attention")
    if m is not None:
        try:
            if np.broadcast_shapes(tuple(m.shape), (B, n_head, T, T)) != (B, n_head, T, T):
                raise ValueError
        except ValueError:
            raise ValueError(f"multi_head_self_attention: mask of shape {tuple(m.shape)} does not "
                             f"broadcast to (B, n_head, T, T) = {(B, n_head, T, T)}") from None
    keep = None
    if training and dropout_p > 0.0:
        if not dropout_p <= 1.0:
            raise ValueError(f"multi_head_self_attention: dropout_p must be in [0, 1], got {dropout_p}")
        gen = resolve(generator, qkv.device, "multi_head_self_attention")
        if dropout_p == 1.0:  # everything dropped (zeros, and zero gradients), no 1/(1-p), as torch
            keep = backend.get_array_module(qkv.data).zeros((B, n_head, T, T), dtype=qkv.dtype)
        else:
            keep = ((gen.random((B, n_head, T, T), dtype=qkv.dtype) >= dropout_p)
                    * qkv.dtype.type(1.0 / (1.0 - dropout_p)))
    scale = qkv.dtype.type(1.0 / math.sqrt(C3 // (3 * n_head)))
    return MultiHeadSelfAttention.apply(qkv, n_head=int(n_head), mask=m, causal=bool(causal),
                                        scale=scale, keep=keep)


def attention_mask(t_q: int, t_k: int | None = None, window: int | None = None,
                   key_padding_mask=None, device: str = "cpu"):
    """The boolean mask of causal attention with a sliding window and/or key padding.

    Queries are the last ``t_q`` of ``t_k`` positions (bottom-right aligned,
    as with a key/value cache): query i sits at p = t_k - t_q + i and may
    attend key j when j <= p (causal), and p - window < j if ``window`` (it
    sees only the last ``window`` keys, itself included), and
    ``key_padding_mask[b, j]`` (B, t_k) is True (a real token, not padding).

    Returns a bool Tensor (t_q, t_k), or (B, 1, t_q, t_k) with padding; None
    when neither window nor padding is given (plain causal: use
    ``causal=True``, which is faster).
    """
    t_k = t_q if t_k is None else t_k
    if window is None and key_padding_mask is None:
        return None
    xp = backend.array_module(device)
    pos = xp.arange(t_k - t_q, t_k).reshape(-1, 1)
    j = xp.arange(t_k).reshape(1, -1)
    allowed = j <= pos
    if window is not None:
        if int(window) < 1:
            raise ValueError(f"attention_mask: window must be a positive int, got {window}")
        allowed = allowed & (j > pos - int(window))
    if key_padding_mask is not None:
        pad = key_padding_mask.data if isinstance(key_padding_mask, Tensor) else key_padding_mask
        if type(pad) is not type(allowed):
            raise backend.DeviceError(f"attention_mask: key_padding_mask on {backend.device_of(pad)}, "
                                      f"expected {backend.check_device(device)}")
        if pad.ndim != 2 or pad.shape[1] != t_k or pad.dtype.kind != "b":
            raise ValueError(f"attention_mask: key_padding_mask must be boolean (B, t_k={t_k}), "
                             f"got {pad.dtype} {tuple(pad.shape)}")
        allowed = allowed & pad[:, None, None, :]
    return Tensor._make(allowed, None)
