"""Counting values and broadcasting shapes: ``bincount``, ``unique``, ``broadcast_to``,
``broadcast_tensors`` (torch's names, signatures and checks).

``bincount`` and ``unique`` are not differentiable (torch records them but has no backward),
and their output's size depends on the values, so on a GPU they read a little back to the
host (``bincount``: the smallest and largest value; ``unique``: the number of distinct ones),
as torch's do. ``broadcast_*`` are differentiable views.
"""
from __future__ import annotations

import numpy as np

from ..errors import broadcast_error
from .. import autograd as _engine, backend
from ..tensor import Tensor
from ._util import check_dim, refuse_complex
from .views import expand


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ... occurs in ``input`` (1-D, non-negative integers).

    input: (N,) -> (max(input.max() + 1, minlength),): int64 counts, or with ``weights``
    (N,) the sums of the weights per value (float32 for float32 weights, else float64).
    """
    name = "bincount"
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
    if input.dtype.kind not in "iu":
        raise TypeError(f"{name}: input must be a tensor of integers, got {input.dtype}")
    if input.ndim != 1:
        raise RuntimeError(f"{name}: only supports 1-d non-negative integral inputs, got shape {input.shape}")
    if isinstance(minlength, bool) or not isinstance(minlength, (int, np.integer)):
        raise TypeError(f"{name}: minlength must be an integer, got {minlength!r}")
    if minlength < 0:
        raise RuntimeError(f"{name}: minlength should be >= 0, got {minlength}")
    xp = backend.get_array_module(input.data)
    w = None
    if weights is not None:
        if not isinstance(weights, Tensor):
            raise TypeError(f"{name}: weights must be a Tensor, got {type(weights).__name__}")
        if weights.device != input.device:
            raise backend.DeviceError(f"{name}: input on {input.device}, weights on {weights.device}")
        if weights.shape != input.shape:
            raise RuntimeError(f"{name}: weights should be 1-d and have the same length as input "
                               f"(input {input.shape}, weights {weights.shape})")
        out_dtype = np.float32 if weights.dtype == np.float32 else np.float64
        w = weights.data.astype(np.float64)
    else:
        out_dtype = np.int64
    length = int(minlength)
    if input.shape[0]:
        lo, hi = (int(v) for v in backend.to_numpy(xp.stack([input.data.min(), input.data.max()])))
        if lo < 0:
            raise RuntimeError(f"{name}: only supports 1-d non-negative integral inputs, got the value {lo}")
        length = max(length, hi + 1)
        counts = xp.bincount(input.data.astype(np.int64), weights=w, minlength=length).astype(out_dtype)
    else:  # nothing to count (and nothing to read back)
        counts = xp.zeros((length,), dtype=out_dtype)
    return Tensor._make(counts, None)


def slice_rows(name: str, input: Tensor, dim):
    """(xp, a, rows, d) for unique and unique_consecutive: ``a`` the input's array with ``dim``
    moved first (dim None: flattened), ``rows`` it as (n, rest), one row per value or slice, d
    the dim made non-negative (None for dim None)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
    if _engine._hooks:
        refuse_complex(name, input)
    xp = backend.get_array_module(input.data)
    a = input.data
    if dim is None:
        return xp, a.reshape(-1), a.reshape(-1, 1), None
    d = check_dim(name, dim, input.ndim)
    if input.ndim == 0:  # no slices to compare, as torch (IndexError)
        raise IndexError(f"{name}: dim {dim} was given but the tensor has no dimensions (0-d); "
                         f"use dim=None for its one value")
    a = xp.moveaxis(a, d, 0)
    return xp, a, a.reshape(a.shape[0], int(np.prod(a.shape[1:], dtype=np.int64))), d


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None):
    """The distinct values of ``input``, in ascending order (also with ``sorted=False``, as
    torch's CPU); each NaN counts as distinct, as in torch.

    dim=None: input of any shape -> values (U,), inverse of input's shape, counts (U,).
    dim=d: the distinct slices along ``d``, in lexicographic order -> values with U slices
    along d, inverse (input.shape[d],), counts (U,). Returns ``values``, or a tuple adding
    ``inverse`` / ``counts`` (int64) where asked for.
    """
    name = "unique"
    xp, a, rows, d = slice_rows(name, input, dim)
    if dim is not None and a.shape[0] and 0 in a.shape[1:]:
        raise RuntimeError(f"{name}: there are 0-sized dims besides dim {dim} (shape {input.shape}), "
                           f"so unique cannot be applied")
    n = rows.shape[0]
    if n == 0:
        values = rows[:0]
        inverse = xp.zeros((0,), dtype=np.int64)
        counts = xp.zeros((0,), dtype=np.int64)
    else:
        # sort the rows (lexicographically: the first column the primary key), then a new value
        # starts wherever a row differs from the one before it (NaN != NaN: each its own)
        order = xp.argsort(rows[:, 0]) if rows.shape[1] == 1 else xp.lexsort(rows.T[::-1])
        srt = rows[order]
        new = xp.concatenate([xp.ones((1,), dtype=bool), (srt[1:] != srt[:-1]).any(axis=1)])
        group = xp.cumsum(new).astype(np.int64) - 1  # the value index of each sorted row
        starts = xp.nonzero(new)[0]  # its length, U, is read by the device
        values = srt[starts]
        inverse = xp.zeros((n,), dtype=np.int64)
        inverse[order] = group
        counts = xp.diff(xp.concatenate([starts, xp.full((1,), n, dtype=starts.dtype)])).astype(np.int64)
    if dim is None:
        values = values.reshape(-1)
        inverse = inverse.reshape(input.shape)
    else:
        values = xp.moveaxis(values.reshape((values.shape[0],) + a.shape[1:]), 0, d)
    out = [Tensor._make(xp.ascontiguousarray(values), None)]
    if return_inverse:
        out.append(Tensor._make(inverse, None))
    if return_counts:
        out.append(Tensor._make(counts, None))
    return out[0] if len(out) == 1 else tuple(out)


def broadcast_to(input: Tensor, shape) -> Tensor:
    """``input`` broadcast to ``shape`` (-1 keeps a dim), a read-only view: as ``expand``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"broadcast_to: expected a Tensor, got {type(input).__name__}")
    return expand(input, tuple(shape))


def broadcast_tensors(*tensors):
    """The tensors broadcast to their common shape (read-only views), as a tuple."""
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"broadcast_tensors: expected Tensors, got {type(t).__name__}")
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        raise broadcast_error("broadcast_tensors", *(t.shape for t in tensors)) from None
    return tuple(expand(t, shape) for t in tensors)
