"""Scaled dot-product attention as matrix products, with a fused analytic backward.

    S = Q K^T / sqrt(d_k)            scores         (..., T_q, T_k)
    P = softmax(S + mask)            attention      (masked keys get probability 0)
    O = P V                          output         (..., T_q, d_v)

Every query row is computed at once: no position waits for another (docs/attention.md).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..backend.fused import kernels_for
from ..autograd import Function
from ..generator import resolve
from ..errors import ArgumentError
from ..tensor import Tensor
from ._util import check_same_dtype, differentiable
from .rows import row_sum

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


def _causal_allowed(xp, t_q, t_k, top_left=False):
    # bottom-right: query i is position t_k - t_q + i; top-left (PyTorch's is_causal): position i
    return xp.tril(xp.ones((t_q, t_k), dtype=bool), k=0 if top_left else t_k - t_q)


def _causal_bias(xp, t_q, t_k, dtype, top_left=False):
    """Additive 0 / -inf mask, cached: causal attention adds it instead of a where()."""
    key = (xp.__name__, t_q, t_k, np.dtype(dtype).str, top_left)
    bias = _bias_cache.get(key)
    if bias is None:
        if len(_bias_cache) > 64:
            _bias_cache.clear()
        allowed = _causal_allowed(xp, t_q, t_k, top_left)
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
    """``add`` (or an extra input, when it requires grad) is a float mask added to the scores;
    ``top_left`` aligns the causal mask as PyTorch's ``is_causal``."""
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, q, k, v, *add_in, mask, causal, scale, keep, add=None, top_left=False):
        xp = backend.get_array_module(q)
        add = add_in[0] if add_in else add
        self.n_add = len(add_in)
        t_q, t_k = q.shape[-2], k.shape[-2]
        lead = tuple(np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2],
                                         () if mask is None else mask.shape[:-2],
                                         () if add is None else add.shape[:-2]))
        p = xp.empty(lead + (t_q, t_k), dtype=q.dtype)
        pd = p if keep is None else xp.empty_like(p)
        out = xp.empty(lead + (t_q, v.shape[-1]), dtype=q.dtype)
        bias = _causal_bias(xp, t_q, t_k, q.dtype, top_left) if causal else None
        # every query row has an allowed key under a plain causal mask with T_k >= T_q (or top-left)
        guard = mask is not None or add is not None or (causal and t_k < t_q and not top_left)

        nd, n = len(lead) + 2, (lead[0] if lead else 0)
        # measured on the CPU only; a GPU runs the whole (T, T) in one launch
        # (a float mask, added whole, keeps one chunk: it may broadcast along either axis)
        chunks = _query_chunks(t_q, t_k, causal and mask is None and add is None and xp is np)
        # the GPU: the softmax below in one kernel (minitf/backend/fused.py), for a plain causal mask or none
        plain = not guard and add is None and mask is None and len(chunks) == 1
        fused = kernels_for(xp, p) if plain else None
        shift = 0 if top_left else t_k - t_q

        def kernel(lo, hi):
            rows = slice(lo, hi) if lead else Ellipsis
            qb, kb, vb = (_block(a, rows, nd, n) for a in (q, k, v))
            kpb = None if keep is None else _block(keep, rows, nd, n)
            addb = None if add is None else _block(add, rows, nd, n)
            for a, b, nk in chunks:  # queries a..b see keys 0..nk: the rest of their row is P = 0
                qs, ks, vs = qb[..., a:b, :], kb[..., :nk, :], vb[..., :nk, :]
                ps, pds, outs = p[rows][..., a:b, :nk], pd[rows][..., a:b, :nk], out[rows][..., a:b, :]
                if nk < t_k:
                    p[rows][..., a:b, nk:] = 0
                    if keep is not None:
                        pd[rows][..., a:b, nk:] = 0
                xp.matmul(qs, ks.swapaxes(-1, -2), out=ps)        # S = Q K^T
                if fused is not None and ps.flags.c_contiguous:
                    fused.attention_softmax(ps, scale, t_q, causal, shift)   # as the lines below
                else:
                    ps *= scale
                    if bias is not None:
                        ps += bias[a:b, :nk]
                    if addb is not None:
                        ps += addb                                 # S + float mask (one chunk: see chunks)
                    if mask is not None:
                        ps[...] = xp.where(_block(mask, rows, nd, n), ps, ps.dtype.type(-np.inf))
                    m = ps.max(axis=-1, keepdims=True)
                    if guard:
                        m = xp.where(xp.isfinite(m), m, m.dtype.type(0))  # fully masked row: e = 0 below, no NaN
                    ps -= m
                    xp.exp(ps, out=ps)
                    z = row_sum(xp, ps)
                    if guard:
                        z = xp.where(z == 0, z.dtype.type(1), z)   # fully masked row -> P = 0, O = 0
                    ps /= z                                        # P = softmax(S + mask)
                if keep is not None:
                    xp.multiply(ps, kpb[..., a:b, :nk], out=pds)
                xp.matmul(pds, vs, out=outs)                       # O = Pd V

        if t_k:
            self._run(xp, kernel, lead, q, k, v, t_q * t_k)
        else:   # no keys at all: every query attends to nothing, O = 0, as a fully masked row (torch's)
            out[...] = 0
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
        dadd = xp.empty(p.shape, dtype=g.dtype) if self.n_add else None  # d loss / d float mask = dS

        nd, n = len(lead) + 2, (lead[0] if lead else 0)

        chunks = self.chunks
        whole = len(chunks) == 1
        fused = kernels_for(xp, p, g) if dadd is None else None   # the GPU: dS in one kernel (backend/fused.py)

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
                if fused is not None and ds.flags.c_contiguous and ps.flags.c_contiguous:
                    fused.attention_softmax_backward(ds, ps, self.scale)   # as the lines below
                else:
                    ds -= row_sum(xp, ds, ps)
                    ds *= ps
                    if dadd is not None:
                        dadd[rows] = ds                            # the mask is added to S unscaled (one chunk)
                    ds *= self.scale                               # dS, with the 1/sqrt(d_k) of S folded in
                xp.matmul(ds, ks, out=dqs[..., a:b, :])
                if whole:
                    xp.matmul(ds.swapaxes(-1, -2), qs, out=dks)
                else:
                    dks[..., :nk, :] += ds.swapaxes(-1, -2) @ qs

        self._run(xp, kernel, lead, q, k, v, p.shape[-2] * p.shape[-1])
        return (dq, dk, dv, dadd) if self.n_add else (dq, dk, dv)


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None, *, mask=None,
                                 causal: bool = False, training: bool = True, generator=None) -> Tensor:
    """softmax(Q K^T scale + mask) V, every query at once, as ``torch.nn.functional.scaled_dot_product_attention``.

    q: (..., T_q, d_k), k: (..., T_k, d_k), v: (..., T_k, d_v) -> (..., T_q, d_v);
    batch dims broadcast (PyTorch's layout is (B, H, T, D)). ``scale``
    defaults to 1/sqrt(d_k).

    ``attn_mask``, broadcastable to (..., T_q, T_k): boolean, True where a
    query may attend a key (PyTorch's convention), or float, added to the
    scores (0 keeps, -inf masks; differentiable). ``mask`` is minitf's
    earlier name for a boolean ``attn_mask``.

    ``is_causal=True`` (PyTorch's): query i attends keys j <= i, the mask
    aligned at the top left. ``causal=True`` (minitf's, for key/value caches):
    the queries are the *last* T_q of the T_k positions, query i attends keys
    j <= T_k - T_q + i, aligned at the bottom right (:func:`causal_mask`). The
    two agree when T_q == T_k; see docs/attention.md for T_q < T_k.

    ``dropout_p`` drops attention probabilities (inverted dropout) while
    ``training`` is True (PyTorch applies it whenever dropout_p > 0: pass 0.0
    in evaluation, or training=False).

    A query row whose keys are all masked attends to nothing: its output is 0
    and it passes no gradient (as PyTorch 2.13; not the NaN of a 0/0 softmax).
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"scaled_dot_product_attention: q {q.shape} and k {k.shape} differ in d_k")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: k {k.shape} and v {v.shape} differ in T_k")
    check_same_dtype("scaled_dot_product_attention", q=q, k=k, v=v)
    if attn_mask is not None and mask is not None:
        raise TypeError("scaled_dot_product_attention: got both attn_mask and mask (its earlier name); pass one")
    attn_mask = mask if attn_mask is None else attn_mask
    if is_causal and causal:
        raise ValueError("scaled_dot_product_attention: is_causal (top-left aligned) and causal (bottom-right "
                         "aligned) both set; pass one")
    if is_causal and attn_mask is not None:
        raise ArgumentError("scaled_dot_product_attention: attn_mask and is_causal=True both set (as PyTorch, "
                         "pass one: build the causal part into the mask)")
    if causal and q.shape[-2] > k.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: causal needs T_q <= T_k, got q {q.shape}, k {k.shape}"
                         f" (is_causal=True aligns the mask at the top left instead)")
    if any(getattr(t, "_vmap_batched", False) for t in (q, k, v, attn_mask)):   # inside vmap
        from ..func.batching_fns import scaled_dot_product_attention as batched
        return batched(q, k, v, attn_mask, dict(dropout_p=dropout_p, is_causal=is_causal, scale=scale,
                                                causal=causal, training=training, generator=generator))
    m = add = None
    add_in = ()
    if attn_mask is not None:
        a = attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask
        if type(a) is not type(q.data):
            raise backend.DeviceError(f"scaled_dot_product_attention: mask on {backend.device_of(a)}, "
                                      f"q on {q.device}")
        if a.dtype.kind == "b":
            m = a
        elif a.dtype.kind == "f":
            if isinstance(attn_mask, Tensor) and differentiable(attn_mask):   # (or a dual: forward AD)
                add_in = (attn_mask if attn_mask.dtype == q.dtype else attn_mask.to(dtype=q.dtype),)
            else:
                add = a.astype(q.dtype, copy=False)
        else:
            raise TypeError(f"scaled_dot_product_attention: attn_mask must be boolean (True = attend) or float "
                            f"(added to the scores), got {a.dtype}")
    mshape = None if attn_mask is None else tuple(attn_mask.shape)
    try:  # batch dims of q, k, v and the mask must broadcast to the scores (..., T_q, T_k)
        scores = np.broadcast_shapes(q.shape[:-2] + (1, 1), k.shape[:-2] + (1, 1), v.shape[:-2] + (1, 1),
                                     (q.shape[-2], k.shape[-2]), *(() if mshape is None else (mshape,)))
        if scores[-2:] != (q.shape[-2], k.shape[-2]):  # a mask may not grow T_q or T_k
            raise ValueError
    except ValueError:
        raise ValueError(f"scaled_dot_product_attention: q {q.shape}, k {k.shape}, v {v.shape}"
                         + ("" if mshape is None else f" and mask {mshape}")
                         + " do not broadcast (batch dims must broadcast; mask to (..., T_q, T_k))") from None
    keep = None
    if training and dropout_p > 0.0:
        if not dropout_p <= 1.0:
            raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], got {dropout_p}")
        gen = resolve(generator, q.device, "scaled_dot_product_attention")
        shape = tuple(np.broadcast_shapes(q.shape[:-1], k.shape[:-2] + (1,))) + (k.shape[-2],)
        if mshape is not None:  # a mask with batch dims of its own widens the probabilities
            shape = tuple(np.broadcast_shapes(shape, mshape))
        if dropout_p == 1.0:  # everything dropped (zeros, and zero gradients), no 1/(1-p), as torch
            keep = backend.get_array_module(q.data).zeros(shape, dtype=q.dtype)
        else:
            keep = (gen.random(shape, dtype=q.dtype) >= dropout_p) * q.dtype.type(1.0 / (1.0 - dropout_p))
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return ScaledDotProductAttention.apply(q, k, v, *add_in, mask=m, causal=bool(causal or is_causal),
                                           scale=q.dtype.type(scale), keep=keep, add=add,
                                           top_left=bool(is_causal))
