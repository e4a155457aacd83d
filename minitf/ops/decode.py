"""One pre-norm transformer block's decoding step over a key/value cache, fused into one call.

For the T new tokens x (B, T, C) of a block whose cache holds positions [0, start):

    h  = LayerNorm_1(x)
    q, k, v = split(h W_attn^T + b_attn)                  heads: (B, n_head, T, hd), hd = C / n_head
    K[:, :, start:start+T] = k;  V[:, :, start:start+T] = v          (the cache, written in place)
    a  = merge_h softmax(q_h K_h^T / sqrt(hd) + causal) V_h          (B, T, C)
    x' = x + a W_proj^T + b_proj
    out = x' + GELU(LayerNorm_2(x') W_fc^T + b_fc) W_mproj^T + b_mproj

These are the operations of :class:`~minitf.nn.TransformerBlock` (``norm_first=True``) with a
:class:`~minitf.nn.KVCache`, in the same order and with the same kernels' arithmetic (the
LayerNorm of :mod:`.layer_normalization`, the GELU of :mod:`.elementwise`, the cached attention of
:mod:`.multihead`), on the arrays themselves: a single-token step is one call instead of about
ten ops and modules, each with its checks, graph bookkeeping and dispatch (about 10 of the
63 op calls per generated token, per block). Nothing is recorded, so there is no backward:
this is for generation under ``no_grad``; training uses the layers.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..backend.fused import kernels_for
from ..autograd import bump_version, is_grad_enabled
from ..tensor import Tensor
from .elementwise import _SQRT1_2, _tanh_arg
from .erf import erfc as _erfc
from .half_math import kernel_half_in_float32
from .multihead import _cached_attention, check_kv_cache
from .rows import row_mean, row_sum
from ._util import is_int


def _layer_norm(xp, x, w, b, eps):
    """x: (N, C) rows -> LayerNorm'd rows (N, C); the operations of ``ops.layer_normalization.LayerNorm.forward``."""
    fused = kernels_for(xp, x, *(a for a in (w, b) if a is not None)) if x.shape[-1] else None
    if fused is not None:
        return fused.layer_norm_rows(xp.ascontiguousarray(x), w, b, eps)[0]   # its kernel on the GPU
    h = x - row_mean(xp, x)
    r = xp.einsum("nc,nc->n", h, h)[:, None]
    r /= x.shape[-1]
    r += eps
    xp.sqrt(r, out=r)
    xp.divide(1, r, out=r)
    h *= r
    if w is not None:
        h *= w
    h += b if b is not None else 0   # + 0 all the same: -0 comes out +0, as the layer's
    return h


def _linear(x, w, b):
    """x: (N, in) -> x W^T + b: (N, out), as ``ops.linear.Linear.forward``."""
    y = x @ w.T
    if b is not None:
        y += b
    return y


@kernel_half_in_float32   # float16 computed in float32 and rounded once, as the layer's
def _gelu(xp, x, approximate):
    """GELU of x, in place where the layer's kernel computes in place: the same operations as
    ``ops.elementwise.GELU`` ("tanh") and ``GELUErf`` ("none"), float16 in float32 as theirs."""
    if approximate == "tanh":
        fused = kernels_for(xp, x)
        if fused is not None:
            return fused.gelu_tanh(x)                       # its kernel on the GPU
        t = _tanh_arg(xp, x, xp.empty_like(x))
        xp.tanh(t, out=t)
        t += 1
        t *= x
        t *= 0.5                      # 0.5 x (1 + tanh(c (x + a x^3)))
        return t
    cdf = _erfc(x * x.dtype.type(-_SQRT1_2))
    cdf *= 0.5
    return x * cdf                    # x Phi(x) = 0.5 x erfc(-x / sqrt 2)


def _attend_one(xp, qkv, k_cache, v_cache, n_head, start, scale):
    """One new token (T = 1) of :func:`.multihead._cached_attention`: qkv (B, 1, 3C) -> (B, 1, C).

    With one query there is no mask to add (its causal row allows every cached key) and the
    heads' merge is a reshape; the products, softmax and their order are the attention op's."""
    B, _, C3 = qkv.shape
    hd = C3 // (3 * n_head)
    heads = qkv.reshape(B, 3, n_head, 1, hd)          # T = 1: (B, T, 3, H, hd) is (B, 3, H, T, hd)
    end = start + 1
    k_cache[:, :, start:end] = heads[:, 1]
    v_cache[:, :, start:end] = heads[:, 2]
    s = xp.matmul(heads[:, 0], k_cache[:, :, :end].swapaxes(-1, -2))    # (B, H, 1, end): q K^T
    fused = kernels_for(xp, s)
    if fused is not None and s.flags.c_contiguous:
        fused.attention_softmax(s, scale, 1, False, 0)                  # the lines below in one kernel
    else:
        s *= scale
        s -= s.max(axis=-1, keepdims=True)
        xp.exp(s, out=s)
        s /= row_sum(xp, s)                                             # P = softmax(S)
    return xp.matmul(s, v_cache[:, :, :end]).reshape(B, 1, C3 // 3)      # (B, H, 1, hd) = (B, 1, C)


def block_step_arrays(xp, x, k_cache, v_cache, start, n_head, params, eps, gelu_approximate):
    """The arrays of :func:`transformer_block_step`; ``params`` are arrays (or None), ``eps`` a pair."""
    ln1_w, ln1_b, attn_w, attn_b, proj_w, proj_b, ln2_w, ln2_b, fc_w, fc_b, mproj_w, mproj_b = params
    B, T, C = x.shape
    x2 = x.reshape(B * T, C)
    qkv = _linear(_layer_norm(xp, x2, ln1_w, ln1_b, eps[0]), attn_w, attn_b).reshape(B, T, 3 * C)
    scale = x.dtype.type(1.0 / math.sqrt(C // n_head))
    if T == 1:
        a = _attend_one(xp, qkv, k_cache, v_cache, n_head, start, scale)
    else:
        a = _cached_attention(qkv, k_cache, v_cache, n_head, start, scale)
    x2 = x2 + _linear(a.reshape(B * T, C), proj_w, proj_b)                       # x' = x + attention
    f = _gelu(xp, _linear(_layer_norm(xp, x2, ln2_w, ln2_b, eps[1]), fc_w, fc_b), gelu_approximate)
    x2 += _linear(f, mproj_w, mproj_b)                                           # x' + FFN(LN_2(x'))
    return x2.reshape(B, T, C)


_NAMES = ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
          "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
          "mlp.c_proj.weight", "mlp.c_proj.bias")


_REQUIRED = (2, 4, 8, 10)   # the four Linear weights; LayerNorm weights and every bias may be None


def _expected_shapes(C, d_ff):
    return ((C,), (C,), (3 * C, C), (3 * C,), (C, C), (C,), (C,), (C,), (d_ff, C), (d_ff,), (C, d_ff), (C,))


def transformer_block_step(x: Tensor, k_cache: Tensor, v_cache: Tensor, start: int, n_head: int,
                           params, eps=(1e-5, 1e-5), gelu_approximate: str = "tanh") -> Tensor:
    """A pre-norm transformer block's step for T new tokens after ``start`` cached ones.

    x: (B, T, C), the new tokens' inputs to the block. k_cache, v_cache: (B, n_head, L, hd),
    hd = C / n_head, buffers whose positions [0, start) hold the earlier tokens' keys and
    values; the new ones are written at [start, start + T) (L >= start + T). ``params``: the
    twelve weights in the order of :class:`~minitf.nn.TransformerBlock`'s state dict, with
    d_ff the FFN's width::

        ln_1.weight (C,), ln_1.bias (C,), attn.c_attn.weight (3C, C), attn.c_attn.bias (3C,),
        attn.c_proj.weight (C, C), attn.c_proj.bias (C,), ln_2.weight (C,), ln_2.bias (C,),
        mlp.c_fc.weight (d_ff, C), mlp.c_fc.bias (d_ff,), mlp.c_proj.weight (C, d_ff),
        mlp.c_proj.bias (C,)

    each a Tensor or None (a LayerNorm without weight or bias, a Linear without bias).
    ``eps``: the two LayerNorms' epsilons; ``gelu_approximate``: "tanh" or "none", as
    :func:`~minitf.functional.gelu`. Returns the block's output (B, T, C): the formula of the
    module docstring, new token i (position start + i) attending keys 0..start + i.

    Not differentiable (the buffers change in place and nothing is recorded): with grad
    enabled no input may require grad (call it under ``minitf.no_grad()``). Dropout is not
    applied: it is the step of a block in eval mode (or with dropout 0).
    """
    tensors = (x, k_cache, v_cache) + tuple(params)
    if len(tensors) != 15:
        raise ValueError(f"transformer_block_step: params must be the block's 12 weights (or None), "
                         f"got {len(tensors) - 3}")
    if is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        raise RuntimeError("transformer_block_step writes the cache in place and has no backward: call "
                           "it under minitf.no_grad() (or on tensors that do not require grad)")
    if gelu_approximate not in ("tanh", "none"):
        raise ValueError(f"transformer_block_step: gelu_approximate must be 'tanh' or 'none', "
                         f"got {gelu_approximate!r}")
    if not is_int(n_head) or n_head < 1:
        raise ValueError(f"transformer_block_step: n_head must be an int >= 1, got {n_head!r}")
    if not (isinstance(start, (int, np.integer)) and not isinstance(start, bool) and start >= 0):
        raise ValueError(f"transformer_block_step: start must be an int >= 0, got {start!r}")
    if x.ndim != 3 or x.shape[-1] % n_head or x.dtype.kind != "f":
        raise ValueError(f"transformer_block_step: x must be floating (B, T, C) with C divisible by "
                         f"n_head={n_head}, got {x.dtype} {x.shape}")
    B, T, C = x.shape
    if params[8] is None or params[8].ndim != 2:
        raise ValueError("transformer_block_step: mlp.c_fc.weight must be a (d_ff, C) Tensor")
    dt, kind = x.data.dtype, type(x.data)
    # one pass, in the per-token loop of generation: only what a wrong argument would break
    for i, (p, shape) in enumerate(zip(params, _expected_shapes(C, params[8].shape[0]))):
        if p is None:
            if i in _REQUIRED:
                raise ValueError(f"transformer_block_step: {_NAMES[i]} is required")
        elif p.data.shape != shape or p.data.dtype != dt or type(p.data) is not kind:
            if type(p.data) is not kind:
                raise backend.DeviceError(f"transformer_block_step: {_NAMES[i]} on {p.device}, x on {x.device}")
            raise ValueError(f"transformer_block_step: {_NAMES[i]} must be {x.dtype} {shape} for x {x.shape}, "
                             f"got {p.dtype} {p.shape}")
    check_kv_cache("transformer_block_step", k_cache, v_cache, x, "x", B, n_head, C // n_head, start, T)
    xp = backend.get_array_module(x.data)
    arrays = tuple(None if p is None else p.data for p in params)
    out = block_step_arrays(xp, x.data, k_cache.data, v_cache.data, int(start), int(n_head), arrays,
                            (float(eps[0]), float(eps[1])), gelu_approximate)
    for c in (k_cache, v_cache):
        bump_version(c)
    return Tensor._make(out, None)
