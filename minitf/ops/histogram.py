"""torch.histogram: counts (or weights) of a tensor's elements in bins given by their number
(equal bins over a range) or their edges. Outside the graph: torch has no derivative for it.
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
    n_bins = max(edges.shape[0] - 1, 0)
    w = None
    if weight is not None:
        if not isinstance(weight, Tensor) or weight.shape != input.shape:
            raise ShapeError(f"histogram: weight should have the same shape as the input tensor, but got input "
                             f"with shape {list(input.shape)} and weight with shape "
                             f"{list(getattr(weight, 'shape', ()))}")
        check_same_device("histogram", [input, weight])
        w = weight.data.reshape(-1).astype(input.dtype, copy=False)
    if n_bins == 0:
        hist = xp.zeros((0,), dtype=input.dtype)
    else:
        pos = sorted_search(xp, edges, a, "right") - 1           # edges[pos] <= v < edges[pos + 1]
        pos = xp.where(a == edges[-1], n_bins - 1, pos)          # the last edge: the last bin
        inside = (pos >= 0) & (pos < n_bins) & (a <= edges[-1])   # (NaN: searchsorted puts it past the end)
        pos = xp.where(inside, pos, n_bins)                      # outside: one extra bin, dropped below
        counts = xp.bincount(pos, weights=None if w is None else w, minlength=n_bins + 1)[:n_bins]
        hist = counts.astype(input.dtype)
    if density:
        widths = edges[1:] - edges[:-1]
        hist = hist / (hist.sum() * widths)
    return histogram_return(Tensor._make(hist.astype(input.dtype, copy=False), None),
                            Tensor._make(xp.asarray(edges).copy(), None))


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


__all__ = ["histogram"]
