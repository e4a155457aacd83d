"""Multi-head attention from its weights, as torch's: ``F.multi_head_attention_forward``, and the
forward that ``nn.MultiheadAttention`` runs on its parameters (one code path for both, as torch's
layer calls its functional form).

    Q = query W_q^T + b_q,  K = key W_k^T + b_k,  V = value W_v^T + b_v      (N, L|S, E)
    heads split E contiguously: head h owns channels h*hd .. (h+1)*hd        (N, H, L|S, hd)
    O_h = softmax(Q_h K_h^T / sqrt(hd) + mask) V_h;  out = concat_h O_h W_o^T + b_o

Built from existing ops (``linear``, ``scaled_dot_product_attention``, softmax, reshape /
permute / cat / pad): no numeric code of its own.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor


def check_inputs(name, query, key, value, key_padding_mask, attn_mask, embed_dim, kdim, vdim, num_heads,
                 batch_first, src_len=None):
    """Whether the input is batched, and (N, L, S); one clear error for any shape that does not fit.
    ``src_len``: the keys' length when static keys replace the projected ones."""
    for arg, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {arg} must be a Tensor, got {type(t).__name__}")
    if query.ndim not in (2, 3):
        raise ValueError(f"{name}: query must be 3-D (batched) or 2-D (unbatched), got shape {query.shape}")
    batched = query.ndim == 3
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"{name}: for a {query.ndim}-D query, key and value must be {query.ndim}-D, got key "
                         f"{key.shape}, value {value.shape}")
    for arg, t, d in (("query", query, embed_dim), ("key", key, kdim), ("value", value, vdim)):
        if t.shape[-1] != d:
            want = "embed_dim" if arg == "query" else arg[0] + "dim"
            raise ValueError(f"{name}: {arg} must have {want}={d} features on its last axis, got shape {t.shape}")
    if key.shape[:-1] != value.shape[:-1]:
        raise ValueError(f"{name}: key {key.shape} and value {value.shape} differ in their sequence/batch dims")
    n_axis = (0 if batch_first else 1) if batched else None
    L, S = query.shape[1 - n_axis if batched else 0], key.shape[1 - n_axis if batched else 0]
    S = S if src_len is None else src_len
    N = query.shape[n_axis] if batched else 1
    if batched and key.shape[n_axis] != N:
        raise ValueError(f"{name}: query {query.shape} and key {key.shape} differ in batch size "
                         f"(batch_first={batch_first})")
    if key_padding_mask is not None:
        want = (N, S) if batched else (S,)
        if tuple(key_padding_mask.shape) != want:
            raise ValueError(f"{name}: key_padding_mask must be {'(N, S)' if batched else '(S,)'} = {want}, got "
                             f"shape {tuple(key_padding_mask.shape)}")
    if attn_mask is not None:
        shape = tuple(attn_mask.shape)
        if shape != (L, S) and shape != (N * num_heads, L, S):
            raise ValueError(f"{name}: attn_mask must be (L, S) = {(L, S)} or (N * num_heads, L, S) = "
                             f"{(N * num_heads, L, S)}, got shape {shape}")
    return batched, N, L, S


def float_mask(mask, name, like: Tensor, op: str = "MultiheadAttention"):
    """PyTorch's boolean mask (True = not allowed) as an additive 0 / -inf float mask; a float
    mask as it is (added to the scores; differentiable)."""
    from ..creation import tensor, zeros
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        mask = tensor(mask, device=like.device)
    if mask.device != like.device:
        raise backend.DeviceError(f"{op}: {name} on {mask.device}, query on {like.device}")
    kind = np.dtype(mask.dtype).kind
    if kind == "b":
        return zeros(*mask.shape, dtype=like.dtype, device=like.device).masked_fill(mask, float("-inf"))
    if kind != "f":
        raise TypeError(f"{op}: {name} must be boolean (True = not allowed) or float (added to the scores), "
                        f"got {mask.dtype}")
    return mask


def project(query, key, value, E, in_proj_weight, in_proj_bias, q_proj_weight, k_proj_weight, v_proj_weight):
    """The input projections: (N, L, E), (N, S, kdim), (N, S, vdim) -> three (N, ., E); packed
    (``in_proj_weight`` (3E, E)) or separate weights."""
    from .linear import linear
    b = in_proj_bias
    bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
    if in_proj_weight is not None:
        w = in_proj_weight
        if query is key and key is value:   # self-attention: one GEMM, as PyTorch's packed path
            return tuple(linear(query, w, b).chunk(3, dim=-1))
        wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
    else:
        wq, wk, wv = q_proj_weight, k_proj_weight, v_proj_weight
    return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)


def _static(name, t, arg, N, H, hd):
    """A static key or value (N * H, S', hd) as (N, H, S', hd)."""
    if not isinstance(t, Tensor) or t.ndim != 3 or t.shape[0] != N * H or t.shape[2] != hd:
        shape = t.shape if isinstance(t, Tensor) else type(t).__name__
        raise ShapeError(f"{name}: {arg} must be (N * num_heads, S, head_dim) = ({N * H}, S, {hd}), got {shape}")
    return t.reshape(N, H, t.shape[1], hd)


def attention_forward(query, key, value, *, embed_dim, kdim, vdim, num_heads, batch_first, in_proj_weight,
                      in_proj_bias, q_proj_weight, k_proj_weight, v_proj_weight, bias_k, bias_v, add_zero_attn,
                      dropout_p, out_proj_weight, out_proj_bias, key_padding_mask, need_weights, attn_mask,
                      average_attn_weights, is_causal, static_k=None, static_v=None, name="MultiheadAttention"):
    """(attn_output, attn_weights or None) of multi-head attention with these weights; the layout and
    mask rules of :class:`minitf.nn.MultiheadAttention` (whose docstring states them)."""
    from .. import functional as F
    from ..creation import zeros
    H, E = num_heads, embed_dim
    hd = E // H
    src_len = None
    if static_k is not None:
        src_len = static_k.shape[1] if isinstance(static_k, Tensor) and static_k.ndim == 3 else None
    batched, N, L, S = check_inputs(name, query, key, value, key_padding_mask, attn_mask, E, kdim, vdim, H,
                                    batch_first, src_len)
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{name}: is_causal=True is a hint that attn_mask is causal and needs attn_mask (as "
                           f"PyTorch); pass the causal mask, e.g. torch.triu(torch.ones(L, L, dtype=bool), 1) in "
                           f"PyTorch's convention")
    kpm = float_mask(key_padding_mask, "key_padding_mask", query, name)
    am = float_mask(attn_mask, "attn_mask", query, name)
    # everything below works batch-first: (N, L, E)
    same_qk, same_kv = query is key, key is value
    if not batched:
        query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
    elif not batch_first:
        query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
    if same_qk:   # keep the identities the packed self-attention projection looks for
        key = query
    if same_kv:
        value = key
    q, k, v = project(query, key, value, E, in_proj_weight, in_proj_bias, q_proj_weight, k_proj_weight,
                      v_proj_weight)

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
    if bias_k is not None:                               # one learned key/value after the sequence
        if static_k is not None or static_v is not None:
            raise ArgumentError(f"{name}: bias_k / bias_v cannot be added to a static key or value (as torch's)")
        k = F.cat([k, bias_k.expand(N, 1, E)], axis=1)
        v = F.cat([v, bias_v.expand(N, 1, E)], axis=1)
        extra += 1
    q = q.reshape(N, L, H, hd).permute(0, 2, 1, 3)        # (N, H, L, hd)
    k = _static(name, static_k, "static_k", N, H, hd) if static_k is not None else \
        k.reshape(N, k.shape[1], H, hd).permute(0, 2, 1, 3)
    v = _static(name, static_v, "static_v", N, H, hd) if static_v is not None else \
        v.reshape(N, v.shape[1], H, hd).permute(0, 2, 1, 3)
    if add_zero_attn:                                    # and one all-zero key/value (score 0)
        zero = zeros(N, H, 1, hd, dtype=q.dtype, device=q.device)
        k, v = F.cat([k, zero], axis=2), F.cat([v, zero], axis=2)
        extra += 1
    if mask is not None and extra:                       # the added keys are never masked
        mask = F.pad(mask, (0, extra))

    p = float(dropout_p)
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
    out = F.linear(o.permute(0, 2, 1, 3).reshape(N, L, E), out_proj_weight, out_proj_bias)   # merge heads
    if not batched:
        out = out.squeeze(0)
    elif not batch_first:
        out = out.transpose(0, 1)
    if weights is not None:
        if average_attn_weights:
            weights = weights.mean(axis=1)
        if not batched:
            weights = weights.squeeze(0)
    return out, weights


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight: Tensor, out_proj_bias, training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None, use_separate_proj_weight: bool = False,
                                 q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True, is_causal: bool = False):
    """Multi-head attention from its weights, as ``torch.nn.functional.multi_head_attention_forward``.

    query (L, N, E), key (S, N, kdim), value (S, N, vdim) (sequence first, as torch's), or unbatched
    (L, E), (S, kdim), (S, vdim). in_proj_weight (3E, E) (or, with ``use_separate_proj_weight``,
    q_proj_weight (E, E), k_proj_weight (E, kdim), v_proj_weight (E, vdim)), in_proj_bias (3E,),
    bias_k / bias_v (1, 1, E), out_proj_weight (E, E), out_proj_bias (E,); static_k / static_v
    (N * num_heads, S', E / num_heads) replace the projected keys / values. Masks as
    :class:`minitf.nn.MultiheadAttention`'s (True = not allowed). dropout_p applies when
    ``training``. Returns (attn_output (L, N, E), attn_weights (N, L, S') averaged over heads, or
    (N, num_heads, L, S'); None when ``need_weights=False``). Differentiable in every tensor.
    """
    name = "multi_head_attention_forward"
    if not isinstance(query, Tensor):
        raise TypeError(f"{name}: query must be a Tensor, got {type(query).__name__}")
    embed_dim = query.shape[-1]
    if embed_dim != embed_dim_to_check:
        raise ShapeError(f"{name}: was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    if embed_dim % num_heads:
        raise ArgumentError(f"{name}: embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        for arg, w in (("q_proj_weight", q_proj_weight), ("k_proj_weight", k_proj_weight),
                       ("v_proj_weight", v_proj_weight)):
            if w is None:
                raise ArgumentError(f"{name}: use_separate_proj_weight is True but {arg} is None")
        in_proj_weight = None
    elif in_proj_weight is None:
        raise ArgumentError(f"{name}: use_separate_proj_weight is False but in_proj_weight is None")
    if (bias_k is None) != (bias_v is None):
        raise ArgumentError(f"{name}: bias_k and bias_v must be given together, got only "
                            f"{'bias_k' if bias_v is None else 'bias_v'}")
    return attention_forward(query, key, value, embed_dim=embed_dim, kdim=key.shape[-1], vdim=value.shape[-1],
                             num_heads=int(num_heads), batch_first=False, in_proj_weight=in_proj_weight,
                             in_proj_bias=in_proj_bias, q_proj_weight=q_proj_weight, k_proj_weight=k_proj_weight,
                             v_proj_weight=v_proj_weight, bias_k=bias_k, bias_v=bias_v,
                             add_zero_attn=bool(add_zero_attn), dropout_p=dropout_p if training else 0.0,
                             out_proj_weight=out_proj_weight, out_proj_bias=out_proj_bias,
                             key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
                             average_attn_weights=average_attn_weights, is_causal=is_causal, static_k=static_k,
                             static_v=static_v, name=name)
