"""Reductions over the last axis of an array, in the form each array module runs fastest.

NumPy reduces a short contiguous axis one row at a time: ``a.sum(axis=-1)`` over rows
of 64-256 elements runs 3-4x slower than ``einsum`` summing each row on its own. On a
device one reduction is one kernel, so there these are the plain reductions. Every
result has the shape (..., 1), ready to broadcast back over its rows.

The row maximum stays ``a.max(axis=-1, keepdims=True)``: halving the axis with
elementwise maxima, log2(k) times, beat it on lone arrays of some shapes but lost
inside the attention kernel (measured at (12, 4, 64, 64): 1.65 against 1.47 ms per
forward).
"""
from __future__ import annotations

import numpy as np


# rows longer than this are summed by NumPy's pairwise sum: einsum's running sums (a few per
# row, one per SIMD lane) lose digits on long float32 rows (measured at (64, 50257): 1.4e-6
# relative against 6.9e-8); up to here the two agree (1.2e-7 at 65)
_EINSUM_MAX_ROW = 1024


def row_sum(xp, a, b=None):
    """a: (..., k) -> the sum over the last axis of a (or of a * b), (..., 1).

    ``einsum`` on the CPU for rows up to 1024 elements: each row summed on its own, 3-4x
    faster than ``a.sum(axis=-1)`` at attention's shapes (measured (12, 4, 64, 64): 14 against
    64 us; with b, 27 against 87) and without the a * b temporary."""
    if xp is not np or a.shape[-1] > _EINSUM_MAX_ROW:
        return (a if b is None else a * b).sum(axis=-1, keepdims=True)
    s = np.einsum("...k->...", a) if b is None else np.einsum("...k,...k->...", a, b)
    return s[..., None]


def row_mean(xp, a):
    """a: (..., C) -> its means over the last axis, (..., 1): :func:`row_sum` / C.

    LayerNorm's means; at (3072, 128) float32 47 us where ``a.mean(axis=-1)`` takes 184-228.
    A gemv with ones would take 30, but OpenBLAS rounds a row differently depending on where
    it falls in its block, so a threaded result would differ from the single-threaded one;
    einsum sums each row on its own."""
    return row_sum(xp, a) / a.shape[-1]
