"""Scans and a scattered product, where NumPy has a ufunc method and CuPy may not.

NumPy's ufuncs have ``accumulate`` (``np.maximum.accumulate``, ``np.logaddexp.accumulate``)
and ``at`` (``np.multiply.at``). CuPy's ufuncs are not NumPy's: ``cupyx`` offers
scatter_add / scatter_max / scatter_min but no scattered product, and minitf does not rely
on a CuPy ``ufunc.accumulate``. Off NumPy (CuPy and the fake device that imitates it) both
are built from slices and elementwise ufuncs in log2(n) steps, with no loop over elements.
"""
from __future__ import annotations

import numpy as np

from .. import backend


def accumulate(name: str, x, axis: int):
    """The inclusive scan of the associative binary ufunc ``name`` ("maximum", "minimum",
    "logaddexp") along ``axis``: out_j = x_0 op x_1 op ... op x_j. x: any shape -> the same."""
    xp = backend.get_array_module(x)
    op = getattr(xp, name)
    if xp is np:
        return op.accumulate(x, axis=axis)
    # Hillis-Steele: after the step with shift k each element holds the scan of the 2k elements
    # ending at it (fewer at the start); ceil(log2 n) steps
    out = xp.moveaxis(x, axis, -1).copy()
    n, k = out.shape[-1], 1
    while k < n:
        out[..., k:] = op(out[..., k:], out[..., :-k].copy())
        k *= 2
    return xp.moveaxis(out, -1, axis)


def scatter_multiply(target, index, values) -> None:
    """In place ``target[index] *= values`` (``target`` contiguous, ``index`` a tuple of integer
    arrays, one per dim), every repeated index taking part (np.multiply.at).

    Off NumPy: the linear target positions are sorted, the values multiplied within each run of
    equal positions by a segmented Hillis-Steele scan (log2(n) steps), and each run's product
    (at its last element) multiplied into the target once (a run's positions are distinct)."""
    xp = backend.get_array_module(target)
    if xp is np:
        np.multiply.at(target, index, values)
        return
    index = xp.broadcast_arrays(*index)
    lin = xp.zeros(index[0].shape, dtype=np.int64)
    for i, n in zip(index, target.shape):   # row-major linear position: one pass per dim of target
        lin = lin * n + i
    vals = xp.broadcast_to(values, lin.shape).reshape(-1)
    lin = lin.reshape(-1)
    if lin.size == 0:
        return
    order = xp.argsort(lin)
    pos, run = lin[order], vals[order].copy()
    k = 1
    while k < pos.size:
        same = pos[k:] == pos[:-k]          # sorted: equal k apart means one run between
        run[k:] = xp.where(same, run[k:] * run[:-k], run[k:])
        k *= 2
    last = xp.concatenate([pos[1:] != pos[:-1], xp.ones(1, dtype=bool)])
    flat = target.reshape(-1)
    flat[pos[last]] *= run[last]
