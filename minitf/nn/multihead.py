"""nn.MultiheadAttention: PyTorch's layer, its parameter names, layouts, masks and options.

    Q = query W_q^T + b_q,  K = key W_k^T + b_k,  V = value W_v^T + b_v      (N, L|S, E)
    heads split E contiguously: head h owns channels h*hd .. (h+1)*hd        (N, H, L|S, hd)
    O_h = softmax(Q_h K_h^T / sqrt(hd) + mask) V_h;  out = concat_h O_h W_o^T + b_o

Built from existing ops (``F.linear``, ``F.scaled_dot_product_attention``,
reshape / permute / cat / pad): the layer holds no numeric code of its own.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

import minitf as _mt

from .. import functional as F
from ..tensor import Tensor
from . import init
from .linear import Linear
from .module import Module
from .parameter import empty_parameter


class NonDynamicallyQuantizableLinear(Linear):
    """``Linear`` under PyTorch's name for ``MultiheadAttention.out_proj`` (so the repr reads the same)."""


def _check_size(name, n):
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"MultiheadAttention: {name} must be an int, got {type(n).__name__} {n!r}")
    if n <= 0:
        raise ValueError(f"MultiheadAttention: {name} must be greater than 0, got {n}")
    return int(n)


class MultiheadAttention(Module):
    """Multi-head attention as ``torch.nn.MultiheadAttention`` (a torch state dict loads, strict).

    Parameters, as PyTorch's: ``in_proj_weight`` (3E, E) when kdim == vdim == embed_dim,
    else ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim);
    ``in_proj_bias`` (3E,) and ``out_proj.bias`` when ``bias``; ``out_proj.weight`` (E, E);
    ``bias_k``, ``bias_v`` (1, 1, E) with ``add_bias_kv`` (a learned key/value appended to every
    sequence). ``add_zero_attn`` appends an all-zero key and value after them. Initialised as
    PyTorch: Xavier-uniform projections, zero biases, Xavier-normal bias_k / bias_v,
    ``out_proj.weight`` as a Linear's. ``device`` / ``dtype`` as ``to()``.

    forward(query, key, value): query (L, N, E), key (S, N, kdim), value (S, N, vdim), or
    (N, L, E) ... with ``batch_first=True``, or unbatched (L, E), (S, kdim), (S, vdim). Returns
    ``(attn_output, attn_weights)``: attn_output shaped as query; attn_weights (N, L, S')
    averaged over heads (``average_attn_weights``) or (N, num_heads, L, S'), unbatched without
    the N, with S' = S + add_bias_kv + add_zero_attn; None when ``need_weights=False``.

    Masks follow PyTorch's convention, the opposite of minitf's own: a boolean
    ``key_padding_mask`` (N, S) / (S,) or ``attn_mask`` (L, S) / (N * num_heads, L, S) is True
    where attention is NOT allowed; a float mask is added to the scores. Both may be given
    (they are added, booleans as 0 / -inf). ``is_causal=True`` is a hint that ``attn_mask`` is
    the causal mask, as PyTorch: it needs ``attn_mask``, and with no ``key_padding_mask`` and
    ``need_weights=False`` the mask is not used and the causal mask is applied instead.

    Dropout (``dropout``) drops attention probabilities in training only; with
    ``need_weights`` the weights returned are the dropped ones (as PyTorch's).

    A query whose keys are all masked attends to nothing: its attention output is 0 (so its
    layer output is ``out_proj.bias``) and its weights are 0. PyTorch gives the same output
    with ``need_weights=False``, but NaN output and weights with ``need_weights=True`` (and
    on its inference fast path); minitf gives 0 in every case.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        self.embed_dim = E = _check_size("embed_dim", embed_dim)
        self.num_heads = _check_size("num_heads", num_heads)
        self.kdim = E if kdim is None else _check_size("kdim", kdim)
        self.vdim = E if vdim is None else _check_size("vdim", vdim)
        if E % self.num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({E}) must be divisible by num_heads "
                             f"({self.num_heads})")
        if not (isinstance(dropout, numbers.Real) and 0.0 <= dropout <= 1.0):  # 1: all dropped, as torch
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout!r}")
        self._qkv_same_embed_dim = self.kdim == E and self.vdim == E
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        self.head_dim = E // self.num_heads
        self.add_zero_attn = bool(add_zero_attn)

        def empty(*shape):
            return empty_parameter(*shape)
        # registration order gives PyTorch's state-dict key order
        if self._qkv_same_embed_dim:
            self.in_proj_weight = init.xavier_uniform_(empty(3 * E, E))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = init.xavier_uniform_(empty(E, E))
            self.k_proj_weight = init.xavier_uniform_(empty(E, self.kdim))
            self.v_proj_weight = init.xavier_uniform_(empty(E, self.vdim))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = init.zeros_(empty(3 * E))
        else:
            self.register_parameter("in_proj_bias", None)
        if add_bias_kv:
            self.bias_k = init.xavier_normal_(empty(1, 1, E))
            self.bias_v = init.xavier_normal_(empty(1, 1, E))
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias)
        if bias:
            init.zeros_(self.out_proj.bias)
        if device is not None or dtype is not None:
            self.to(device, dtype)

    # ------------------------------------------------------------------ checks
    def _check_inputs(self, query, key, value, key_padding_mask, attn_mask):
        """Whether the input is batched; one clear error for any shape that does not fit."""
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"MultiheadAttention: {name} must be a Tensor, got {type(t).__name__}")
        if query.ndim not in (2, 3):
            raise ValueError(f"MultiheadAttention: query must be 3-D (batched) or 2-D (unbatched), "
                             f"got shape {query.shape}")
        batched = query.ndim == 3
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"MultiheadAttention: for a {query.ndim}-D query, key and value must be "
                             f"{query.ndim}-D, got key {key.shape}, value {value.shape}")
        for name, t, d in (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim)):
            if t.shape[-1] != d:
                want = "embed_dim" if name == "query" else name[0] + "dim"
                raise ValueError(f"MultiheadAttention: {name} must have {want}={d} features on its last "
                                 f"axis, got shape {t.shape}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"MultiheadAttention: key {key.shape} and value {value.shape} differ in "
                             f"their sequence/batch dims")
        n_axis = (0 if self.batch_first else 1) if batched else None
        L, S = query.shape[1 - n_axis if batched else 0], key.shape[1 - n_axis if batched else 0]
        N = query.shape[n_axis] if batched else 1
        if batched and key.shape[n_axis] != N:
            raise ValueError(f"MultiheadAttention: query {query.shape} and key {key.shape} differ in batch "
                             f"size (batch_first={self.batch_first})")
        if key_padding_mask is not None:
            want = (N, S) if batched else (S,)
            if tuple(key_padding_mask.shape) != want:
                raise ValueError(f"MultiheadAttention: key_padding_mask must be {'(N, S)' if batched else '(S,)'}"
                                 f" = {want}, got shape {tuple(key_padding_mask.shape)}")
        if attn_mask is not None:
            shape = tuple(attn_mask.shape)
            if shape != (L, S) and shape != (N * self.num_heads, L, S):
                raise ValueError(f"MultiheadAttention: attn_mask must be (L, S) = {(L, S)} or "
                                 f"(N * num_heads, L, S) = {(N * self.num_heads, L, S)}, got shape {shape}")
        return batched, N, L, S

    @staticmethod
    def _float_mask(mask, name, like: Tensor):
        """PyTorch's boolean mask (True = not allowed) as an additive 0 / -inf float mask; a float
        mask as it is (added to the scores; differentiable)."""
        if mask is None:
            return None
        if not isinstance(mask, Tensor):
            mask = _mt.tensor(mask, device=like.device)
        if mask.device != like.device:
            raise _mt.DeviceError(f"MultiheadAttention: {name} on {mask.device}, query on {like.device}")
        kind = np.dtype(mask.dtype).kind
        if kind == "b":
            return _mt.zeros(*mask.shape, dtype=like.dtype, device=like.device).masked_fill(mask, float("-inf"))
        if kind != "f":
            raise TypeError(f"MultiheadAttention: {name} must be boolean (True = not allowed) or float "
                            f"(added to the scores), got {mask.dtype}")
        return mask

    # ------------------------------------------------------------------ forward
    def _project(self, query, key, value):
        """The input projections: (N, L, E), (N, S, kdim), (N, S, vdim) -> three (N, ., E)."""
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:   # self-attention: one GEMM, as PyTorch's packed path
                return tuple(F.linear(query, w, b).chunk(3, dim=-1))
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        batched, N, L, S = self._check_inputs(query, key, value, key_padding_mask, attn_mask)
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: is_causal=True is a hint that attn_mask is causal and needs "
                               "attn_mask (as PyTorch); pass the causal mask, e.g. "
                               "torch.triu(torch.ones(L, L, dtype=bool), 1) in PyTorch's convention")
        kpm = self._float_mask(key_padding_mask, "key_padding_mask", query)
        am = self._float_mask(attn_mask, "attn_mask", query)
        # everything below works batch-first: (N, L, E)
        same_qk, same_kv = query is key, key is value
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        if same_qk:   # keep the identities the packed self-attention projection looks for
            key = query
        if same_kv:
            value = key
        q, k, v = self._project(query, key, value)

        H, hd, E = self.num_heads, self.head_dim, self.embed_dim
        use_causal = bool(is_causal) and kpm is None and not need_weights   # PyTorch's hint rule
        if use_causal:
            am = None
        mask = None
        if am is not None:                                   # (L, S) or (N H, L, S) -> (N|1, H|1, L, S)
            mask = am if am.ndim == 2 else am.reshape(N, H, L, S)
        if kpm is not None:
            pad_mask = kpm.reshape(N, 1, 1, S)
            mask = pad_mask if mask is None else mask + pad_mask

        extra = 0
        if self.bias_k is not None:                          # one learned key/value after the sequence
            k = F.cat([k, self.bias_k.expand(N, 1, E)], axis=1)
            v = F.cat([v, self.bias_v.expand(N, 1, E)], axis=1)
            extra += 1
        q = q.reshape(N, L, H, hd).permute(0, 2, 1, 3)        # (N, H, L, hd)
        k = k.reshape(N, S + extra, H, hd).permute(0, 2, 1, 3)
        v = v.reshape(N, S + extra, H, hd).permute(0, 2, 1, 3)
        if self.add_zero_attn:                               # and one all-zero key/value (score 0)
            zeros = _mt.zeros(N, H, 1, hd, dtype=q.dtype, device=q.device)
            k, v = F.cat([k, zeros], axis=2), F.cat([v, zeros], axis=2)
            extra += 1
        if mask is not None and extra:                       # the added keys are never masked
            mask = F.pad(mask, (0, extra))

        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            # the probabilities themselves, as PyTorch's need_weights path: softmax(Q K^T / sqrt(hd)
            # + mask), dropout, then P V. (The fused op returns only P V; giving it the identity
            # as values would return P too, but costs an (L, S') x (S', S') product per head.)
            scores = (q * (1.0 / math.sqrt(hd))) @ k.transpose(-1, -2)          # (N, H, L, S')
            dead = None
            if mask is not None:
                # a row with every key masked attends to nothing (P = 0, no gradient), as the
                # fused op's rows do, instead of softmax's 0/0 = NaN
                dead = (mask == float("-inf")).all(-1, keepdim=True)
                scores = scores + mask.masked_fill(dead, 0.0)
            weights = F.softmax(scores, -1)
            if dead is not None:
                weights = weights.masked_fill(dead, 0.0)
            if p > 0.0:
                weights = F.dropout(weights, p)
            o = weights @ v
        else:
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=use_causal,
                                               training=p > 0.0)
        out = self.out_proj(o.permute(0, 2, 1, 3).reshape(N, L, E))    # merge heads: (N, L, E)
        if not batched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if weights is not None:
            if average_attn_weights:
                weights = weights.mean(axis=1)
            if not batched:
                weights = weights.squeeze(0)
        return out, weights
