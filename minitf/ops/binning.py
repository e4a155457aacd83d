"""Counting into bins under torch's names: histc (a histogram of equal-width bins) and
bucketize (the bin of each value among given boundaries). Both are outside the graph, as
torch's (histc has no derivative; bucketize gives integer indices).
"""
from __future__ import annotations

import math

import numpy as np

from .. import autograd as _engine, backend
from ..errors import ArgumentError, DtypeNotImplemented, ShapeError
from ..tensor import Tensor
from ._util import as_tensor, check_same_device, refuse_complex


def histc(x: Tensor, bins: int = 100, min=0, max=0) -> Tensor:
    """The histogram of x's elements in ``bins`` equal bins over [min, max], as torch.histc:
    x: any shape -> (bins,), in x's dtype (floating tensors only, as torch).

    min == max (the default 0, 0): the data's own minimum and maximum (widened by 1 each way
    when those are equal too). Elements outside the range, and NaNs, are not counted; an element
    equal to max goes in the last bin. The bin of x is floor((x - min) * bins / (max - min)),
    computed in x's dtype as torch's kernel does (so values on a bin edge land as torch's).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"histc(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.dtype.kind != "f":
        raise DtypeNotImplemented(f"histc: not implemented for {x.dtype} tensors (as torch); convert with "
                                  f"x.float() first")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)):
        raise TypeError(f"histc: bins must be an int, got {type(bins).__name__}")
    if bins <= 0:
        raise ArgumentError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    xp = backend.get_array_module(x.data)
    a = x.data.reshape(-1)
    if lo == hi and a.size:
        lo, hi = (float(v) for v in backend.to_numpy(xp.stack([a.min(), a.max()])))   # one device read
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise ArgumentError("torch.histc: max must be larger than min")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ArgumentError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    t = x.dtype.type
    lo_t, hi_t = t(lo), t(hi)
    inside = (a >= lo_t) & (a <= hi_t)          # False for NaN
    if hi_t - lo_t == 0:
        # a range widened by 1 that the dtype cannot tell apart (a value near 1e17 or beyond):
        # its one value is the centre of [v - 1, v + 1], bin bins // 2, where torch puts it
        pos = xp.full(a.shape, bins // 2, dtype=np.int64)
    else:
        pos = xp.where(inside, (a - lo_t) * t(bins) / (hi_t - lo_t), t(0)).astype(np.int64)
    pos = xp.where(inside, xp.minimum(pos, bins - 1), bins)   # outside: one extra bin, dropped below
    counts = xp.bincount(pos, minlength=bins + 1)[:bins]
    return Tensor._make(counts.astype(x.dtype), None)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The index of the bucket of each value among the sorted 1-D ``boundaries``, as
    torch.bucketize: i with boundaries[i-1] < v <= boundaries[i] (``right``: boundaries[i-1] <= v
    < boundaries[i]). input: a tensor of any shape (or a number: a 0-d result) -> its shape,
    int64 (int32 with ``out_int32``)."""
    if not isinstance(boundaries, Tensor):
        raise TypeError(f"bucketize(): argument 'boundaries' must be Tensor, not {type(boundaries).__name__}")
    if boundaries.ndim != 1:
        raise ShapeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    v = input if isinstance(input, Tensor) else as_tensor(input, boundaries)
    check_same_device("bucketize", [v, boundaries])
    if _engine._hooks:
        refuse_complex("bucketize", v, boundaries)
    xp = backend.get_array_module(v.data)
    # a value v's bucket with right=False is the number of boundaries < v: searchsorted's left side
    out = sorted_search(xp, boundaries.data, v.data, "right" if right else "left")
    return Tensor._make(xp.asarray(out).astype(np.int32 if out_int32 else np.int64), None)


__all__ = ["histc", "bucketize", "apply_sorter", "sorted_search"]


def sorted_search(xp, s, v, side: str):
    """torch.searchsorted's kernel on arrays: s (L,) or (..., L) sorted along its last dim, v any
    shape for a 1-D s, else (..., K) with s's leading dims -> v's shape, the positions (int64).

    torch's binary search itself, every value at once: L.bit_length() halving steps of gathers
    and wheres, so no loop over rows or values, and torch's answers also where s holds NaNs (no
    entry of them is >= a value, so where a search lands depends on the midpoints it visits).
    "left": the first i with s[i] >= v; "right": the first with s[i] > v."""
    L = s.shape[-1] if s.ndim else 0
    if s.ndim == 0:
        return xp.searchsorted(s, v, side=side)   # NumPy's and CuPy's error for a 0-d sequence
    start = xp.zeros(v.shape, dtype=np.int64)
    end = xp.full(v.shape, L, dtype=np.int64)
    for _ in range(L.bit_length()):
        mid = (start + end) // 2
        probe = xp.minimum(mid, L - 1)
        mid_val = s[probe] if s.ndim == 1 else xp.take_along_axis(s, probe, axis=-1)
        go_right = ~(mid_val > v) if side == "right" else ~(mid_val >= v)
        active = start < end
        start = xp.where(active & go_right, mid + 1, start)
        end = xp.where(active & ~go_right, mid, end)
    return start


def apply_sorter(sequence: Tensor, sorter: Tensor) -> Tensor:
    """``sequence`` reordered along its last dim by the argsort indices ``sorter``, after
    torch.searchsorted's checks on them (int64, the sequence's shape, in range)."""
    from ._util import check_index_range
    if not isinstance(sorter, Tensor):
        raise TypeError(f"searchsorted(): sorter must be a Tensor, not {type(sorter).__name__}")
    if sorter.dtype != np.int64:
        raise ArgumentError(f"torch.searchsorted(): sorter must be a tensor of long dtype but got dtype {sorter.dtype}")
    if sorter.shape != sequence.shape:
        raise ShapeError(f"torch.searchsorted(): boundary and sorter must have the same size, but got boundary "
                         f"tensor {list(sequence.shape)} and got sorter tensor {list(sorter.shape)}")
    check_same_device("searchsorted", [sequence, sorter])
    n = sequence.shape[-1] if sequence.ndim else 1
    try:
        check_index_range("searchsorted", "sorter", sorter.data, n, source=sorter)
    except IndexError:
        raise ArgumentError("torch.searchsorted(): sorter index out of range") from None
    xp = backend.get_array_module(sequence.data)
    return Tensor._make(xp.take_along_axis(sequence.data, sorter.data, axis=-1), None)
