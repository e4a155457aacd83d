"""torch.histogram and torch.histogramdd: counts (or weights) of a tensor's elements (of its
points, in D dims) in bins given by their number (equal bins over a range) or their edges.
Outside the graph: torch has no derivative for them.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from .. import backend
from ..errors import ArgumentError, DtypeError, DtypeNotImplemented, ShapeError
from ..tensor import Tensor
from ._util import check_same_device, is_int
from .binning import sorted_search

histogram_return = namedtuple("histogram", ["hist", "bin_edges"])   # torch.return_types.histogram
histogramdd_return = namedtuple("histogramdd", ["hist", "bin_edges"])


def histogram(input: Tensor, bins=100, *, range=None, weight: Tensor | None = None, density: bool = False):
    """``(hist, bin_edges)`` of ``input``'s elements, as torch.histogram.

    bins: an int (that many equal bins over ``range``, by default the data's [min, max], widened
    by 0.5 each way when those are equal; [0, 1] for an empty input) or a 1-D tensor of
    increasing edges (then ``range`` is not taken). A value v is in bin i where edges[i] <= v <
    edges[i + 1], the last bin also holding v = edges[-1]; values outside the edges and NaNs are
    not counted. ``weight`` (input's shape) adds its values instead of ones; ``density`` divides
    by the total and by each bin's width. input: floating, any shape -> hist (B,) and bin_edges
    (B + 1,), both of input's dtype.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"histogram(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dtype.kind != "f":
        raise DtypeNotImplemented(f"histogram: not implemented for {input.dtype} tensors (floating only, as torch)")
    xp = backend.get_array_module(input.data)
    a = input.data.reshape(-1)
    if isinstance(bins, Tensor):
        if range is not None:
            raise TypeError("histogram(): range is taken with an int number of bins only (as torch)")
        if bins.ndim != 1:
            raise ShapeError(f"histogram: bins tensor should have one dimension, but got {bins.ndim} dimensions")
        if bins.dtype != input.dtype:
            raise DtypeError(f"histogram: input tensor and bins tensor should have the same dtype, but got "
                             f"input with dtype {input.dtype} and bins with dtype {bins.dtype}")
        check_same_device("histogram", [input, bins])
        edges = bins.data
    elif is_int(bins):
        if bins <= 0:
            raise ArgumentError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
        edges = _linspace(xp, *_outer_edges(xp, a, range), int(bins) + 1, input.dtype)
    else:
        raise TypeError(f"histogram(): argument 'bins' must be int or Tensor, not {type(bins).__name__}")
    w = None
    if weight is not None:
        if not isinstance(weight, Tensor) or weight.shape != input.shape:
            raise ShapeError(f"histogram: weight should have the same shape as the input tensor, but got input "
                             f"with shape {list(input.shape)} and weight with shape "
                             f"{list(getattr(weight, 'shape', ()))}")
        check_same_device("histogram", [input, weight])
        w = weight.data.reshape(-1).astype(input.dtype, copy=False)
    hist = _count(xp, [_bin_of(xp, a, edges)], [max(edges.shape[0] - 1, 0)], w, input.dtype)
    if density:
        hist = hist / (hist.sum() * (edges[1:] - edges[:-1]))
    return histogram_return(Tensor._make(hist.astype(input.dtype, copy=False), None),
                            Tensor._make(xp.asarray(edges).copy(), None))


def _bin_of(xp, a, edges):
    """The bin of each value of ``a`` among the increasing ``edges`` (int64): i with edges[i] <= v
    < edges[i + 1], the last bin holding v = edges[-1]; -1 outside (and for NaN)."""
    n_bins = edges.shape[0] - 1
    if n_bins <= 0:
        return xp.full(a.shape, -1, dtype=np.int64)
    pos = sorted_search(xp, edges, a, "right") - 1           # edges[pos] <= v < edges[pos + 1]
    pos = xp.where(a == edges[-1], n_bins - 1, pos)          # the last edge: the last bin
    inside = (pos >= 0) & (pos < n_bins) & (a <= edges[-1])   # (NaN: searchsorted puts it past the end)
    return xp.where(inside, pos, -1)


def _count(xp, positions, n_bins, w, dtype):
    """The (weighted) counts in the grid of ``n_bins`` bins per dim, from each dim's bin of each
    point (-1: the point is left out): one bincount over the row-major flat bin."""
    total = int(np.prod(n_bins, dtype=np.int64))
    flat = xp.zeros(positions[0].shape, dtype=np.int64) if positions else None
    outside = xp.zeros(positions[0].shape, dtype=bool)
    for pos, n in zip(positions, n_bins):   # a loop over the (few) dims, not the data
        flat = flat * n + pos
        outside |= pos < 0
    flat = xp.where(outside, total, flat)   # left out: one extra bin, dropped below
    counts = xp.bincount(flat, weights=w, minlength=total + 1)[:total]
    return counts.astype(dtype).reshape(tuple(n_bins))


def histogramdd(input: Tensor, bins=10, *, range=None, weight: Tensor | None = None, density: bool = False):
    """``(hist, bin_edges)`` of points in D dims, as torch.histogramdd: input (..., D), each row a
    point -> hist (B_0, ..., B_{D-1}) and a tuple of D edge tensors (B_d + 1,).

    bins: an int (for every dim), D ints, or D 1-D tensors of increasing edges. range: None (each
    dim's data [min, max], widened by 0.5 each way when equal) or 2D floats [lo_0, hi_0, lo_1,
    ...]. weight: input.shape[:-1]; density divides by the total and each bin's volume. The bin
    rule per dim is :func:`histogram`'s. Outside the graph."""
    if not isinstance(input, Tensor):
        raise TypeError(f"histogramdd(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dtype.kind != "f":
        raise DtypeNotImplemented(f"histogramdd: not implemented for {input.dtype} tensors (floating only, as torch)")
    if input.ndim < 1:
        raise ShapeError("histogramdd: input tensor should have at least 1 dimension, but got 0")
    xp = backend.get_array_module(input.data)
    D = input.shape[-1]
    pts = input.data.reshape(-1, D)
    per_dim = [bins] * D if is_int(bins) else list(bins)
    if len(per_dim) != D:
        raise ShapeError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
    if range is not None and len(range) != 2 * D:
        raise ShapeError(f"histogramdd: for {D} dims, range should have {2 * D} elements, but got {len(range)}")
    all_edges = []
    for d, b in enumerate(per_dim):
        if isinstance(b, Tensor):
            if b.ndim != 1 or b.dtype != input.dtype:
                raise ShapeError(f"histogramdd: bins tensor {d} should be 1-D of the input's dtype {input.dtype}")
            all_edges.append(b.data)
        elif is_int(b) and b > 0:
            lim = None if range is None else range[2 * d: 2 * d + 2]
            all_edges.append(_linspace(xp, *_outer_edges(xp, pts[:, d], lim), int(b) + 1, input.dtype))
        else:
            raise ArgumentError(f"torch.histogramdd(): bins must be > 0, but got {b} for dimension {d}")
    w = None
    if weight is not None:
        if not isinstance(weight, Tensor) or weight.shape != input.shape[:-1]:
            raise ShapeError(f"histogramdd: weight should have the shape of the input without its last dim "
                             f"{list(input.shape[:-1])}, got {list(getattr(weight, 'shape', ()))}")
        w = weight.data.reshape(-1).astype(input.dtype, copy=False)
    n_bins = [e.shape[0] - 1 for e in all_edges]
    hist = _count(xp, [_bin_of(xp, pts[:, d], e) for d, e in enumerate(all_edges)], n_bins, w, input.dtype)
    if density:
        volume = xp.ones((), dtype=input.dtype)
        for d, e in enumerate(all_edges):   # the outer product of the widths, one dim at a time
            shape = [1] * D
            shape[d] = n_bins[d]
            volume = volume * (e[1:] - e[:-1]).reshape(shape)
        hist = hist / (hist.sum() * volume)
    return histogramdd_return(Tensor._make(hist.astype(input.dtype, copy=False), None),
                              tuple(Tensor._make(xp.asarray(e).copy(), None) for e in all_edges))


def _linspace(xp, lo: float, hi: float, steps: int, dtype):
    """torch's CPU linspace in ``dtype``'s arithmetic (the step in the dtype; the first half
    from ``lo``, the second from ``hi``), so the edges, and the bins of values on them, are torch's."""
    t = np.dtype(dtype).type
    lo_t, hi_t = t(lo), t(hi)
    step = (hi_t - lo_t) / t(steps - 1)
    i = xp.arange(steps, dtype=dtype)
    return xp.where(i < steps // 2, lo_t + i * step, hi_t - (t(steps - 1) - i) * step).astype(dtype)


def _outer_edges(xp, a, range):
    """The first and last edge of equal bins: ``range``, or the data's min and max (one device
    read), widened by 0.5 each way when equal; an empty input without a range: [0, 1]."""
    if range is not None:
        lo, hi = (float(v) for v in range)
    elif a.size:
        lo, hi = (float(v) for v in backend.to_numpy(xp.stack([a.min(), a.max()])))
    else:
        lo, hi = 0.0, 1.0
    if lo > hi:
        raise ArgumentError(f"torch.histogram: min should not exceed max, but got min {lo} max {hi}")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ArgumentError(f"torch.histogram: range [{lo}, {hi}] is not finite")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


__all__ = ["histogram", "histogramdd"]
