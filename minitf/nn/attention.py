"""Causal multi-head self-attention, with an optional sliding window and a key/value cache."""
from __future__ import annotations

import numbers

import numpy as np

import minitf as _mt

from .. import backend
from .. import functional as F
from ..tensor import Tensor
from .dropout import Dropout
from .linear import Linear
from .module import Module


class KVCache:
    """The keys and values one attention layer has seen, for incremental decoding.

    ``k``, ``v``: (B, n_head, T_cached, hd); ``pad``: (B, T_cached) bool or
    None (all real tokens); ``pos``: how many tokens have gone through (the
    position of the next one). With a sliding window of size w only the last
    w - 1 keys are kept: no later query can see an older one.

    When nothing requires grad (generation under ``no_grad``), keys and
    values are written in place into buffers of ``capacity`` positions
    (doubled when full) and ``k``, ``v`` are views of their filled part: a
    decoding step copies only its own new keys, not the whole cache again.
    (:class:`CausalSelfAttention` then takes the buffers from :meth:`reserve`,
    writes and attends in one op, ``F.cached_multi_head_self_attention``, and
    calls :meth:`advance`.) Otherwise (or with a window or padding) they are
    concatenated, which the engine can differentiate.
    """

    def __init__(self, window: int | None = None, capacity: int | None = None):
        self.window = window
        self.capacity = None if capacity is None else max(int(capacity), 1)
        self.reset()

    def reset(self) -> None:
        self.k = self.v = self.pad = None
        self.pos = 0
        self._buf = None   # (k buffer, v buffer) of the in-place path, or None

    def __len__(self):
        return 0 if self.k is None else self.k.shape[2]

    def update(self, k, v, pad):
        """Append new keys/values (B, H, T, hd) and their padding mask (B, T) or None;
        return everything the new queries attend: (k, v, pad) over cached + new keys."""
        if self.writes_in_place(k.requires_grad or v.requires_grad, pad):
            return self._write(k, v)
        self._buf = None
        B, T = k.shape[0], k.shape[2]
        if self.k is not None:
            if pad is not None or self.pad is not None:
                old = self.pad if self.pad is not None else _mt.ones(B, len(self), dtype="bool", device=k.device)
                new = pad if pad is not None else _mt.ones(B, T, dtype="bool", device=k.device)
                pad = F.cat([old, new], axis=1)
            k, v = F.cat([self.k, k], axis=2), F.cat([self.v, v], axis=2)
        self.pos += T
        L = k.shape[2]
        keep = L if self.window is None else min(L, self.window - 1)
        self.k, self.v = (k, v) if keep == L else (k[:, :, L - keep:], v[:, :, L - keep:])
        self.pad = None if pad is None else (pad if keep == L else pad[:, L - keep:])
        return k, v, pad

    def writes_in_place(self, new_requires_grad: bool, pad) -> bool:
        """Whether new keys/values go into the buffers (nothing to differentiate, no window or padding)."""
        return (self.window is None and pad is None and self.pad is None and not new_requires_grad
                and (self.k is None or not self.k.requires_grad))

    def reserve(self, k_shape, dtype, xp):
        """Buffers (k, v), each (B, H, capacity, hd), with room for k_shape[2] more positions
        after the ``len(self)`` held (which move in once, from a concatenation or a smaller buffer)."""
        L0, L = len(self), len(self) + k_shape[2]
        if L0 and tuple(self.k.shape[:2]) != tuple(k_shape[:2]):
            raise ValueError(f"KVCache: it holds keys of batch and heads {tuple(self.k.shape[:2])}, the new ones "
                             f"are {tuple(k_shape[:2])}: call reset() (or new_cache()) before another batch")
        buf = self._buf
        if buf is None or buf[0].shape[2] < L or buf[0].shape[:2] != tuple(k_shape[:2]) \
                or buf[0].shape[3] != k_shape[3] or buf[0].dtype != dtype:
            cap = max(L, self.capacity or 0, 2 * (buf[0].shape[2] if buf is not None else 0))
            new = tuple(xp.empty(tuple(k_shape[:2]) + (cap,) + tuple(k_shape[3:]), dtype=dtype) for _ in range(2))
            if L0:
                new[0][:, :, :L0] = self.k.data
                new[1][:, :, :L0] = self.v.data
            buf = self._buf = new
        return buf

    def reserve_tensors(self, k_shape, like: Tensor):
        """:meth:`reserve` for new keys of ``like``'s dtype and device, the buffers as Tensors."""
        k, v = self.reserve(k_shape, like.dtype, backend.get_array_module(like.data))
        return Tensor._make(k, None), Tensor._make(v, None)

    def advance(self, T: int) -> None:
        """After T new positions were written into the buffers: k, v become views of the filled part."""
        self.pos += T
        L = len(self) + T
        self.k, self.v = Tensor._make(self._buf[0][:, :, :L], None), Tensor._make(self._buf[1][:, :, :L], None)

    def _write(self, k, v):
        # the in-place path: nothing to differentiate, so buffers instead of a growing concatenation
        L0, T = len(self), k.shape[2]
        buf = self.reserve(k.shape, k.dtype, backend.get_array_module(k.data))
        buf[0][:, :, L0:L0 + T] = k.data
        buf[1][:, :, L0:L0 + T] = v.data
        self.advance(T)
        return self.k, self.v, None


class CausalSelfAttention(Module):
    """Multi-head causal self-attention as in GPT-2 / nanoGPT.

    Q, K, V = split(x W_attn^T + b_attn) (one fused projection ``c_attn``, q, k, v
    blocks stacked in that order, heads splitting channels contiguously);
    y = concat_h softmax(Q_h K_h^T / sqrt(hd) + causal mask) V_h;  out = y W_proj^T + b_proj.

    x: (B, T, C) -> (B, T, C). ``window``: each query sees only the last
    ``window`` keys (itself included). ``padding_mask`` (B, T), True for real
    tokens: padding keys are never attended. ``cache`` (:class:`KVCache`):
    x holds only the new tokens; their keys and values are appended to the cache.

    ``keep_attention = True`` (off by default) makes each forward also store the
    attention probabilities in ``self.attention``: a Tensor (B, n_head, T_q, T_k),
    row i the weights query i gives every key (0 where masked; before dropout),
    recorded without a graph. They come from the same attention op with the
    identity as values (P I = P), so they are exactly the weights the output used.
    ``device`` / ``dtype`` (keywords): where and in what the parameters are made, as torch's layers.
    """

    keep_attention = False   # class default: the normal forward pays one attribute lookup, nothing more
    attention = None

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True,
                 window: int | None = None, *, device=None, dtype=None):
        super().__init__()
        for name, n in (("n_embd", n_embd), ("n_head", n_head)):
            if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
                raise ValueError(f"CausalSelfAttention: {name} must be an int >= 1, got {n!r}")
        if n_embd % n_head:
            raise ValueError(f"CausalSelfAttention: n_embd={n_embd} is not divisible by n_head={n_head}")
        if window is not None and int(window) < 1:
            raise ValueError(f"CausalSelfAttention: window must be a positive int or None, got {window}")
        self.n_embd, self.n_head, self.dropout = int(n_embd), int(n_head), float(dropout)
        self.window = None if window is None else int(window)
        self.c_attn = Linear(n_embd, 3 * n_embd, bias=bias, device=device, dtype=dtype)
        self.c_proj = Linear(n_embd, n_embd, bias=bias, device=device, dtype=dtype)
        self.resid_dropout = Dropout(dropout)

    def new_cache(self, capacity: int | None = None) -> KVCache:
        """An empty :class:`KVCache`; ``capacity``: the positions to preallocate (e.g. block_size)."""
        return KVCache(self.window, capacity)

    def forward(self, x, padding_mask=None, cache: KVCache | None = None):
        if x.ndim != 3 or x.shape[-1] != self.n_embd:
            raise ValueError(f"CausalSelfAttention: expected input (B, T, {self.n_embd}), got {x.shape}")
        if padding_mask is not None and tuple(padding_mask.shape) != x.shape[:2]:
            raise ValueError(f"CausalSelfAttention: padding_mask must be (B, T) = {x.shape[:2]}, "
                             f"got {tuple(padding_mask.shape)}")
        if padding_mask is not None and not isinstance(padding_mask, Tensor):
            padding_mask = _mt.tensor(padding_mask, device=x.device)
        qkv = self.c_attn(x)                                          # (B, T, 3C)
        p = self.dropout if self.training else 0.0
        if cache is None:
            T = x.shape[1]
            mask = F.attention_mask(T, T, self.window, padding_mask, device=x.device)
            y = F.multi_head_self_attention(qkv, self.n_head, mask=mask, causal=mask is None,
                                            dropout_p=p, training=self.training)
            if self.keep_attention:
                heads = qkv.reshape(x.shape[0], T, 3, self.n_head, self.n_embd // self.n_head).permute(2, 0, 3, 1, 4)
                self._keep(heads[0], heads[1], mask)
        else:
            y = self._attend_cached(qkv, padding_mask, cache, p)
        return self.resid_dropout(self.c_proj(y))

    def _attend_cached(self, qkv, padding_mask, cache, p):
        B, T, _ = qkv.shape
        H = self.n_head
        if p == 0.0 and not self.keep_attention and cache.writes_in_place(qkv.requires_grad, padding_mask):
            # generation: write the new keys/values, attend, merge, all in one op
            k_buf, v_buf = cache.reserve_tensors((B, H, T, self.n_embd // H), qkv)
            y = F.cached_multi_head_self_attention(qkv, H, k_buf, v_buf, len(cache))
            cache.advance(T)
            return y
        heads = qkv.reshape(B, T, 3, H, self.n_embd // H).permute(2, 0, 3, 1, 4)  # (3, B, H, T, hd)
        k, v, pad = cache.update(heads[1], heads[2], padding_mask)
        mask = F.attention_mask(T, k.shape[2], self.window, pad, device=qkv.device)
        y = F.scaled_dot_product_attention(heads[0], k, v, mask=mask, causal=mask is None,
                                           dropout_p=p, training=self.training)
        if self.keep_attention:
            self._keep(heads[0], k, mask)
        return y.permute(0, 2, 1, 3).reshape(B, T, self.n_embd)

    def _keep(self, q, k, mask) -> None:
        """self.attention = softmax(q k^T / sqrt(hd) + mask): q (B, H, T_q, hd), k (B, H, T_k, hd)."""
        with _mt.no_grad():
            t_k = k.shape[2]
            eye = _mt.tensor(np.eye(t_k), dtype=q.dtype, device=q.device)   # values = I: P I = P
            self.attention = F.scaled_dot_product_attention(q.detach(), k.detach(), eye, mask=mask,
                                                            causal=mask is None)

    def extra_repr(self):
        w = "" if self.window is None else f", window={self.window}"
        return f"n_embd={self.n_embd}, n_head={self.n_head}{w}"
