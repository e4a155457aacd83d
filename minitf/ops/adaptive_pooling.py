"""Adaptive pooling: ``adaptive_avg_pool1d``/``2d``/``3d`` and ``adaptive_max_pool1d``/``2d``/``3d`` (and
their ``*_with_indices`` names), as torch's; one implementation for every number of spatial dims.

The output size is given and the windows follow from it: along a dim of size S pooled to O,
output i covers ``[floor(i S / O), ceil((i + 1) S / O))`` (windows may overlap, or repeat
when O > S).

* average: one dim at a time; where O divides S the windows are S / O contiguous blocks (a
  reshape and a mean), else each window is read through the index table below, the padding
  repeats masked out with a where (not multiplied by 0: an inf or NaN must stay in its own
  windows, as torch's), summed and divided by its length; recorded ops, differentiable twice;
* max: each window read through an index table (rows padded by repeating their last position,
  which changes neither the max nor the first argmax), then x taken at the first argmax with
  minitf's indexing op, whose backward adds g there (twice differentiable too).

Both end in a node that also depends on x with slope zero (backward_ops.ZeroSlopeAnchor), as
torch's kernels: under ``create_graph`` the gradient of y.sum() requires grad, and its own
gradient in x is zeros. The average to a size of all 1s is torch's mean, which has no such node.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..errors import ArgumentError, DtypeNotImplemented, ShapeError
from ..tensor import Tensor
from ._util import as_result, is_int
from .backward_ops import anchored_on


def _check_nonempty(op, x, first):
    """torch's error for an empty dim among ``x``'s dims from ``first`` on."""
    for i in range(first, x.ndim):
        if x.shape[i] == 0:
            raise ShapeError(f"{op}: expected input to have non-zero size for non-batch dimensions, but input has "
                             f"sizes [{', '.join(map(str, x.shape))}] with dimension {i} being empty")


def _output_sizes(op, d, output_size) -> tuple:
    """torch's output_size: one int (or None: the input's size) for every spatial dim, or d of them."""
    sizes = (output_size,) * d if isinstance(output_size, (int, np.integer)) or output_size is None \
        else tuple(output_size)
    if len(sizes) != d:
        raise ArgumentError(f"{op}: output_size must be an int or a tuple of {d}, got {output_size!r}")
    return sizes


def _adaptive_avg(op, d, x, output_size):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (d + 1, d + 2):
        raise ShapeError(f"{op}: expected {d + 1}D or {d + 2}D input, but got input of size "
                         f"[{', '.join(map(str, x.shape))}]")
    if x.dtype.kind != "f":
        raise DtypeNotImplemented(f"{op}: not implemented for {x.dtype} input; take x.float() first")
    _check_nonempty(op, x, x.ndim - d)   # torch's adaptive_avg_pool: the pooled dims
    sizes = _output_sizes(op, d, output_size)
    from .reduction import mean, sum
    from .selection import Where
    from .shape import GetItem
    xp = backend.get_array_module(x.data)
    y = x
    for k, (n, o) in enumerate(zip(x.shape[-d:], sizes)):
        o = n if o is None else o
        if not is_int(o) or o < 0:
            raise ArgumentError(f"{op}: output_size must be ints >= 0 (or None), got {output_size!r}")
        o, axis = int(o), x.ndim - d + k
        if o == n:
            continue
        before, after = y.shape[:axis], y.shape[axis + 1:]
        if o and n % o == 0:   # contiguous blocks of n / o: no gather
            y = mean(y.reshape(before + (o, n // o) + after), axis + 1)
            continue
        idx = _adaptive_window_index(xp, n, o)                               # (o, kmax)
        i = xp.arange(o)
        length = -((-(i + 1) * n) // o) - (i * n) // o                       # each window's size
        v = GetItem.apply(y, index=(slice(None),) * axis + (idx.reshape(-1),), advanced=True)
        v = v.reshape(before + idx.shape + after)
        inside = (xp.arange(idx.shape[1]) < length[:, None]).reshape(idx.shape + (1,) * len(after))
        v = Where.apply(v, Tensor._make(xp.zeros((), dtype=x.dtype), None), cond=inside)
        y = sum(v, axis + 1) / Tensor._make(length.astype(x.dtype).reshape((o,) + (1,) * len(after)), None)
    y = y if y is not x else x * 1   # a new tensor even when nothing is pooled, as torch's
    if all(o == 1 for o in y.shape[-d:]):   # torch takes the mean here: a node that keeps nothing
        return y
    return anchored_on(y, x, "SqueezeBackward1" if d == 1 else f"AdaptiveAvgPool{d}DBackward0")


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a given length, as ``torch.nn.functional.adaptive_avg_pool1d``.

    input: (N, C, L) or (C, L) -> (N, C, output_size); output i averages the window
    [floor(i L / out), ceil((i + 1) L / out)).
    """
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a given size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    input: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out); output_size: an int, or a pair
    whose None entries keep the input's size. Windows per dim as :func:`adaptive_avg_pool1d`.
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a given size, as ``torch.nn.functional.adaptive_avg_pool3d``.

    input: (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out); output_size: an int, or a
    triple whose None entries keep the input's size. Windows per dim as :func:`adaptive_avg_pool1d`.
    """
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_window_index(xp, n: int, o: int):
    """(o, kmax) input positions of torch's adaptive windows [floor(i n / o), ceil((i + 1) n / o)), each row
    padded by repeating its last position (a repeat changes neither the max nor the first argmax)."""
    i = xp.arange(o)
    start, end = (i * n) // o, -((-(i + 1) * n) // o)
    kmax = -(-n // o) + (1 if n % o else 0) if o else 1   # the longest window (o = 0: no rows, width 1)
    return xp.minimum(start[:, None] + xp.arange(kmax)[None, :], end[:, None] - 1)


def _adaptive_max(op, d, x, output_size, return_indices):
    from .indexing import along_index
    from .pooling import window_argmax
    from .shape import GetItem
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (d + 1, d + 2):
        raise ShapeError(f"{op}: expected {d + 1}D or {d + 2}D input, but got input of size "
                         f"[{', '.join(map(str, x.shape))}]")
    sizes = _output_sizes(op, d, output_size)
    _check_nonempty(op, x, 1)   # torch's adaptive_max_pool: every dim but the first (even unbatched)
    spatial = x.shape[-d:]
    sizes = tuple(n if o is None else o for n, o in zip(spatial, sizes))
    if not all(is_int(o) and o >= 0 for o in sizes):
        raise ArgumentError(f"{op}: output_size must be ints >= 0 (or None), got {output_size!r}")
    xp = backend.get_array_module(x.data)
    # per dim the window positions (O_i, k_i), combined into flat positions (*O, *k) of the input's (*S)
    rows = [_adaptive_window_index(xp, n, int(o)) for n, o in zip(spatial, sizes)]
    flat = 0
    for i, r in enumerate(rows):
        shape = [1] * (2 * d)
        shape[i], shape[d + i] = r.shape
        flat = flat + r.reshape(shape) * math.prod(spatial[i + 1:])
    lead = x.shape[:-d]
    kk = math.prod(r.shape[1] for r in rows)
    flat = flat.reshape(sizes + (kk,))                                   # (*O, KK)
    xs = x.reshape(lead + (math.prod(spatial),))
    v = xs.data[..., flat]                                               # (*lead, *O, KK), a copy
    arg = window_argmax(v)                                               # torch's: first max, last NaN
    idx = xp.take_along_axis(xp.broadcast_to(flat, v.shape), arg[..., None], axis=-1)[..., 0]   # (*lead, *O)
    # the values are x read at idx: an indexing op, whose backward adds g at idx (first maxima)
    y = GetItem.apply(xs, index=along_index(idx.reshape(lead + (math.prod(sizes),)), len(lead)), advanced=True)
    y = anchored_on(as_result(y, lead + sizes), x, "SqueezeBackward1" if d == 1 else f"AdaptiveMaxPool{d}DBackward0")
    return (y, Tensor._make(idx, None)) if return_indices else y


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a given length, as ``torch.nn.functional.adaptive_max_pool1d``.

    input: (N, C, L) or (C, L) -> (N, C, output_size); output i is the max of the window
    [floor(i L / out), ceil((i + 1) L / out)); return_indices: also each maximum's index into L.
    The gradient goes to the first maximum of each window, as torch's.
    """
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a given size, as ``torch.nn.functional.adaptive_max_pool2d``.

    input: (N, C, H, W) or (C, H, W) -> (N, C, *output_size) (a None keeps that input size);
    windows per dim as :func:`adaptive_max_pool1d`; indices are flat into (H, W).
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a given size, as ``torch.nn.functional.adaptive_max_pool3d``.

    input: (N, C, D, H, W) or (C, D, H, W) -> (N, C, *output_size) (a None keeps that input size);
    windows per dim as :func:`adaptive_max_pool1d`; indices are flat into (D, H, W).
    """
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


# torch's *_with_indices names: the pool with return_indices=True, whatever return_indices says (as torch's)

def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """(output, indices) of :func:`adaptive_max_pool1d`: input (N, C, L) -> both (N, C, output_size)."""
    return _adaptive_max("adaptive_max_pool1d_with_indices", 1, input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """(output, indices) of :func:`adaptive_max_pool2d`: input (N, C, H, W) -> both (N, C, *output_size)."""
    return _adaptive_max("adaptive_max_pool2d_with_indices", 2, input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """(output, indices) of :func:`adaptive_max_pool3d`: input (N, C, D, H, W) -> both (N, C, *output_size)."""
    return _adaptive_max("adaptive_max_pool3d_with_indices", 3, input, output_size, True)
