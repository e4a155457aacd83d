"""``embedding_bag``: the sum, mean or max of bags of embedding rows, as ``torch.nn.functional.embedding_bag``.

The bags are segments of a flat index list: a 2-D input (B, N) is B bags of N indices; a 1-D
input (M,) with ``offsets`` (B,) has bag b = input[offsets[b]:offsets[b + 1]] (the last to the
end, or to offsets[B] with ``include_last_offset``). Each index gets its bag number on the device
(a ``searchsorted`` of its position in the offsets), the rows are gathered with
:func:`minitf.functional.embedding` (its backward scatter-adds into the table) and reduced per
bag with ``index_add`` (sum, mean) or ``scatter_reduce(amax)`` (max: the gradient to each bag's
maximum): recorded ops, no loop over bags. Entries equal to ``padding_idx`` are left out of their
bag (not counted in its mean), and an empty bag gives zeros, as torch's.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..errors import ArgumentError, DtypeError, ShapeError
from ..tensor import Tensor

_MODES = ("sum", "mean", "max")


def _indices(name, x, weight):
    if isinstance(x, Tensor):
        data = x.data
    else:
        data = backend.to_device(np.asarray(x), weight.device)
    if data.dtype.kind not in "iu":
        raise DtypeError(f"{name}: expected an integer index tensor (torch: int64 or int32), got {data.dtype}")
    return data


def embedding_bag(input, weight: Tensor, offsets=None, max_norm=None, norm_type: float = 2, scale_grad_by_freq=False,
                  mode: str = "mean", sparse: bool = False, per_sample_weights=None, include_last_offset: bool = False,
                  padding_idx=None) -> Tensor:
    """Reduce bags of rows of ``weight`` (V, C), as ``torch.nn.functional.embedding_bag``.

    input: (B, N) bags of N indices, or (M,) with ``offsets`` (B,) (B + 1 with
    ``include_last_offset``), offsets[0] = 0 and non-decreasing -> (B, C). mode: 'sum', 'mean' or
    'max'. per_sample_weights: (B, N) or (M,), each row scaled before the sum ('sum' only).
    padding_idx: indices equal to it are left out of their bag. Differentiable in ``weight`` and
    ``per_sample_weights``. ``max_norm``, ``scale_grad_by_freq`` and ``sparse=True`` are not
    supported (an error).
    """
    from .nn import _padding_index, embedding
    from . import index_add, scatter_reduce
    name = "embedding_bag"
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ShapeError(f"{name}: weight must be a (V, C) Tensor, got {getattr(weight, 'shape', type(weight))}")
    if mode not in _MODES:
        raise ArgumentError(f"{name}: mode has to be one of 'sum', 'mean', 'max', got {mode!r}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise ArgumentError(f"{name}: max_norm, scale_grad_by_freq and sparse=True are not supported in minitf")
    if per_sample_weights is not None and mode != "sum":
        raise ArgumentError(f"{name}: per_sample_weights was not None. per_sample_weights is only supported for "
                            f"mode='sum' (got mode='{mode}'). Please open a feature request on GitHub.")
    idx = _indices(name, input, weight)
    xp = backend.get_array_module(weight.data)
    if idx.ndim == 2:
        if offsets is not None:
            raise ArgumentError(f"{name}: if input is 2D, then offsets has to be None, as input is treated is a "
                                f"mini-batch of fixed length sequences.")
        bags, per = idx.shape
        seg = xp.repeat(xp.arange(bags), per)
        flat = idx.reshape(-1)
        valid = None
    elif idx.ndim == 1:
        if offsets is None:
            raise ArgumentError(f"{name}: offsets has to be a 1D Tensor but got None")
        off = _indices(name, offsets, weight)
        if off.ndim != 1:
            raise ShapeError(f"{name}: offsets has to be a 1D Tensor, got {off.ndim}D")
        starts = off[:-1] if include_last_offset else off
        bags = starts.shape[0]
        if off.size and int(off[0]) != 0:
            raise ArgumentError(f"{name}: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to "
                                f"start from position 0. However, got {int(off[0])}")
        if off.size and (int(off[-1]) > idx.shape[0] or bool((off[1:] < off[:-1]).any())):
            raise ArgumentError(f"{name}: offsets must be non-decreasing and at most the input's length "
                                f"{idx.shape[0]}, got last offset {int(off[-1])}")
        # the bag of each position; with include_last_offset the last bag still runs to the input's end
        # (torch's, where offsets[-1] falls short of it)
        seg = xp.searchsorted(starts, xp.arange(idx.shape[0]), side="right") - 1
        valid = None
        flat = idx
    else:
        raise ShapeError(f"{name}: input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    V = weight.shape[0]
    if padding_idx is not None:
        padding_idx = _padding_index(name, padding_idx, V)
        keep = flat != padding_idx
        valid = keep if valid is None else valid & keep
    if valid is not None:   # the entries left out: dropped before the gather (one index on the device)
        where = xp.nonzero(valid)[0]
        flat, seg = flat[where], seg[where]
    else:
        where = None
    rows = embedding(Tensor._make(flat, None), weight)                       # (M', C)
    if per_sample_weights is not None:
        w = per_sample_weights.reshape(-1)
        if w.shape[0] != idx.size:
            raise ShapeError(f"{name}: per_sample_weights has to be of the same shape as input, got "
                             f"{tuple(per_sample_weights.shape)} for input {tuple(idx.shape)}")
        if where is not None:
            w = w[Tensor._make(where, None)]
        rows = rows * w.reshape(-1, 1)
    seg_t = Tensor._make(seg, None)
    zeros = Tensor._make(xp.zeros((bags, weight.shape[1]), dtype=rows.dtype), None)
    if mode == "max":
        out = scatter_reduce(zeros, 0, seg_t.reshape(-1, 1).expand(*rows.shape), rows, "amax", include_self=False)
        return out
    out = index_add(zeros, 0, seg_t, rows)
    if mode == "mean":
        counts = xp.zeros(bags, dtype=rows.dtype)
        backend.scatter_add(counts, seg, xp.ones(seg.shape[0], dtype=rows.dtype))
        out = out / Tensor._make(xp.maximum(counts, 1).reshape(-1, 1), None)
    return out
