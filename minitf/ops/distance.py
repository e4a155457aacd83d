"""Pairwise distances under torch's names: cdist (p-norm distances between two sets of row
vectors, batched) and pdist (within one set), each Function's backward beside its forward.

Two computations, as torch's:

* the matrix-product expansion for p = 2, ``||a - b||^2 = ||a||^2 - 2 a.b + ||b||^2``, one
  matmul of [-2 x1, ||x1||^2, 1] with [x2, 1, ||x2||^2] (clamped at 0, then sqrt): fast, but
  a distance of nearly identical rows keeps only about the square root of float precision.
  Chosen by ``compute_mode`` as torch's: always ("use_mm_for_euclid_dist"), never
  ("donot_use_mm_for_euclid_dist"), or when either set has more than 25 rows (the default);
* the direct one on every difference x1_i - x2_j, (..., P, R, M) in memory, for any p >= 0
  (0: the count of differing coordinates; inf: the largest |difference|).

Gradients as torch's: 0 where a distance is 0 (and, for p < 2, at a zero coordinate
difference); for p = inf the whole gradient to every coordinate tying for the largest.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeError, ShapeError
from ..tensor import Tensor

_MODES = {"use_mm_for_euclid_dist_if_necessary": 0, "use_mm_for_euclid_dist": 1, "donot_use_mm_for_euclid_dist": 2}


class EuclidMM(Function):
    """sqrt(max(0, ||x1_i||^2 - 2 x1_i.x2_j + ||x2_j||^2)) by one matmul (torch's _euclidean_dist).
    Backward (torch's _euclidean_dist_backward): with r = g / d (0 where d == 0),
    d/dx1 = x1 * sum_j r_ij - r @ x2, d/dx2 = x2 * sum_i r_ij - r^T @ x1."""

    def forward(self, x1, x2):
        xp = backend.get_array_module(x1)
        n1 = (x1 * x1).sum(-1, keepdims=True)
        n2 = (x2 * x2).sum(-1, keepdims=True)
        a = xp.concatenate([x1 * x1.dtype.type(-2), n1, xp.ones_like(n1)], axis=-1)
        b = xp.concatenate([x2, xp.ones_like(n2), n2], axis=-1)
        self.x1, self.x2 = x1, x2
        self.d = xp.sqrt(xp.maximum(xp.matmul(a, xp.swapaxes(b, -1, -2)), x1.dtype.type(0)))
        return self.d

    def backward(self, g):
        xp = backend.get_array_module(g)
        zero = self.d == 0
        r = xp.where(zero, g.dtype.type(0), g / xp.where(zero, g.dtype.type(1), self.d))
        return (self.x1 * r.sum(-1)[..., None] - xp.matmul(r, self.x2),
                self.x2 * r.sum(-2)[..., None] - xp.matmul(xp.swapaxes(r, -1, -2), self.x1))

    def backward_graph(self, g):
        from .shape import where
        x1, x2 = self.inputs
        d = EuclidMM.apply(x1, x2)
        zero = Tensor._make(d.data == 0, None)
        r = where(zero, 0.0, g / where(zero, 1.0, d))
        rt = r.swapaxes(-1, -2)
        return x1 * r.sum(-1).unsqueeze(-1) - r @ x2, x2 * r.sum(-2).unsqueeze(-1) - rt @ x1


def _array_ns(xp):
    return SimpleNamespace(abs=xp.abs, sign=xp.sign, where=xp.where, const=lambda m: m,
                           unsqueeze=lambda a: a[..., None], zeros=xp.zeros_like)


def _tensor_ns():
    from .pointwise import abs
    from .shape import where
    from .unary import sign
    return SimpleNamespace(abs=abs, sign=sign, where=where, const=lambda m: Tensor._make(m, None),
                           unsqueeze=lambda t: t.unsqueeze(-1),
                           zeros=lambda t: Tensor._make(backend.get_array_module(t.data).zeros_like(t.data), None))


def _masks(diff, dist):
    """(dist == 0, diff == 0, |diff| == dist) on the arrays, dist's as (..., P, R, 1)."""
    xp = backend.get_array_module(diff)
    d = dist[..., None]
    return d == 0, diff == 0, xp.abs(diff) == d


def _direct_grad(ns, diff, dist, g, p, masks):
    """g * d dist / d diff for every difference (diff: (..., P, R, M), dist and g: (..., P, R)),
    torch's _cdist_backward formulas, in array ops (``ns`` of the module) or in Tensor ops; the
    masks (:func:`_masks`) become constants by ``ns.const``."""
    d_zero, diff_zero, at_max = (ns.const(m) for m in masks)
    gd, dd = ns.unsqueeze(g), ns.unsqueeze(dist)
    if p == 0:                       # a count: piecewise constant
        return ns.zeros(diff)
    if p == 1:
        return gd * ns.sign(diff)
    if p == math.inf:                # the whole gradient to every coordinate at the maximum
        return ns.where(at_max, gd * ns.sign(diff), 0.0)
    safe_d = ns.where(d_zero, 1.0, dd)
    if p == 2:                       # diff / dist
        return ns.where(d_zero, 0.0, gd * diff / safe_d)
    # sign(diff) |diff|^(p-1) / dist^(p-1); 0 at a zero distance (and a zero diff, for p < 2)
    safe_diff = ns.where(diff_zero, 1.0, diff)
    step = ns.sign(diff) * ns.abs(safe_diff) ** (p - 1) * gd / safe_d ** (p - 1)
    mask = masks[0] | masks[1] if p < 2 else masks[0]
    return ns.where(ns.const(mask), 0.0, step)


class CdistDirect(Function):
    """The p-norm of every difference x1_i - x2_j (x1: (..., P, M), x2: (..., R, M) -> (..., P, R));
    the backward of each difference, summed over the other set (see :func:`_direct_grad`)."""

    def forward(self, x1, x2, p):
        xp = backend.get_array_module(x1)
        diff = x1[..., :, None, :] - x2[..., None, :, :]
        a = xp.abs(diff)
        if p == 0:
            d = (a != 0).sum(-1).astype(x1.dtype)
        elif p == 1:
            d = a.sum(-1)
        elif p == 2:
            d = xp.sqrt((a * a).sum(-1))
        elif p == math.inf:
            d = a.max(-1) if a.shape[-1] else xp.zeros(a.shape[:-1], dtype=a.dtype)
        else:
            d = (a ** p).sum(-1) ** (1 / p)
        self.diff, self.d, self.p = diff, d, p
        return d

    def backward(self, g):
        xp = backend.get_array_module(g)
        step = _direct_grad(_array_ns(xp), self.diff, self.d, g, self.p, _masks(self.diff, self.d))
        return step.sum(-2), -step.sum(-3)

    def backward_graph(self, g):
        x1, x2 = self.inputs
        diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
        d = CdistDirect.apply(x1, x2, p=self.p)
        step = _direct_grad(_tensor_ns(), diff, d, g, self.p, _masks(diff.data, d.data))
        return step.sum(-2), -step.sum(-3)


def _check_p(name, p):
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"{name}: p must be a number, got {type(p).__name__}")
    if not p >= 0:
        raise ArgumentError(f"{name} only supports non-negative p values, got {p}")
    return float(p)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distance between each row of x1 and each row of x2, as torch.cdist.

    x1: (..., P, M), x2: (..., R, M) (batch dims broadcast) -> (..., P, R). ``p`` >= 0 (inf
    allowed). For p = 2, ``compute_mode`` picks the matrix-product expansion as torch's (see the
    module docstring). Floating tensors of one dtype. Differentiable in both (0 at a zero
    distance, as torch).
    """
    for k, t in (("x1", x1), ("x2", x2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"cdist(): argument '{k}' must be Tensor, not {type(t).__name__}")
        if t.ndim < 2:
            raise ShapeError(f"cdist only supports at least 2D tensors, {k.upper()} got: {t.ndim}D")
        if t.dtype.kind != "f":
            raise DtypeError(f"cdist only supports floating-point dtypes, {k.upper()} got: {t.dtype}")
    if x1.dtype != x2.dtype:
        raise DtypeError(f"cdist: x1 is {x1.dtype} but x2 is {x2.dtype}; they must have the same dtype (as torch)")
    if x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if compute_mode not in _MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode (one of {', '.join(_MODES)})")
    p = _check_p("cdist", p)
    try:
        np.broadcast_shapes(x1.shape[:-2], x2.shape[:-2])
    except ValueError:
        raise ShapeError(f"cdist: the batch dims of x1 {x1.shape} and x2 {x2.shape} do not broadcast") from None
    mode = _MODES[compute_mode]
    empty = x1.numel() == 0 or x2.numel() == 0
    if p == 2 and not empty and (mode == 1 or (mode == 0 and (x1.shape[-2] > 25 or x2.shape[-2] > 25))):
        return EuclidMM.apply(x1, x2)
    return CdistDirect.apply(x1, x2, p=p)


def pdist(x: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distance between each pair of rows of x, as torch.nn.functional.pdist:
    x: (N, M) -> (N (N - 1) / 2,), the pairs (i, j) with i < j in row-major order. Differentiable
    (0 at a zero distance, as torch)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"pdist(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.ndim != 2:
        raise ShapeError(f"pdist only supports 2D tensors, got: {x.ndim}D")
    if x.dtype.kind != "f":
        raise DtypeError(f"pdist only supports floating-point dtypes, got: {x.dtype}")
    p = _check_p("pdist", p)
    n = x.shape[0]
    from ._util import remember_index_bounds
    from .indexing import index_select
    xp = backend.get_array_module(x.data)
    # the pair indices built on x's device (no host -> device copy per call), in [0, n) by
    # construction, so index_select need not read their range back
    i, j = (remember_index_bounds(Tensor._make(k.astype(np.int64), None), 0, max(n - 1, 0))
            for k in xp.triu_indices(n, 1))
    # the pairs' differences only (not the N x N of cdist(x, x)): x[i] and x[j] as batches of one row
    rows = lambda k: index_select(x, 0, k).unsqueeze(-2)  # noqa: E731
    d = CdistDirect.apply(rows(i), rows(j), p=p)
    return d.reshape(-1)


__all__ = ["cdist", "pdist"]
