"""torch's ``index_reduce``, ``masked_scatter`` and ``put``, out of place and in place.

``index_reduce`` is :func:`minitf.scatter_reduce` with the 1-D index spread over the source's
other dims (one function: its values and gradients are scatter_reduce's); ``put`` is
``index_put`` (``index_add`` with ``accumulate``) on x seen as 1-D. ``masked_scatter`` is an op of its own: the i-th true
place of the mask (in row-major order) takes the source's i-th element. ``nonzero_static`` is
:func:`minitf.nonzero` cut or padded to a fixed number of rows; ``segment_reduce`` is scatter_reduce
over consecutive segments.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeError, IndexRangeError, ShapeError
from ..tensor import Tensor
from ._util import check_dim, check_index_range, check_same_device

_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


def index_reduce(x: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """x with ``source[..., i, ...]`` reduced into ``x[..., index[i], ...]`` along ``dim``, as
    torch.index_reduce: ``reduce`` "prod", "mean" (an integer mean rounds down), "amax" or "amin";
    ``include_self`` counts x's value at the places an index names (others keep x's value).
    x: (..., n, ...), index: (k,) integers in [0, n), source: (..., k, ...) of x's dtype.
    Differentiable in x and source (scatter_reduce's gradients)."""
    from .index_ops import scatter_reduce
    if reduce not in _INDEX_REDUCTIONS:
        raise ValueError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    for what, t in (("index", index), ("source", source)):
        if not isinstance(t, Tensor):
            raise TypeError(f"index_reduce(): {what} must be a Tensor, got {type(t).__name__}")
    if index.dtype.kind not in "iu":
        raise DtypeError(f"index_reduce(): index must be an integer tensor, got {index.dtype}")
    if index.ndim > 1:
        raise IndexRangeError(f"index_reduce_(): Index is supposed to be a vector, but got dim: {index.ndim} "
                              f"with size: {list(index.shape)}")
    check_same_device("index_reduce", [x, index, source])
    if source.dtype != x.dtype:
        raise DtypeError(f"index_reduce_(): self ({x.dtype}) and source ({source.dtype}) must have the same "
                         f"scalar type")
    d = check_dim("index_reduce", dim, x.ndim)
    k = index.numel()
    want = x.shape[:d] + (k,) + x.shape[d + 1:] if x.ndim else ()
    if source.shape != want:
        raise ShapeError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                         f"Got self.shape = {list(x.shape)} source.shape = {list(source.shape)}")
    idx = index.data.reshape(-1)
    check_index_range("index_reduce", "index", idx, x.shape[d] if x.ndim else 1, source=index)
    if x.ndim == 0:   # one place: (x reduced with source's one value) as a 1-element scatter
        return scatter_reduce(x.reshape(1), 0, Tensor._make(idx.astype(np.int64), None), source.reshape(1),
                              reduce, include_self=include_self).reshape(())
    xp = backend.get_array_module(idx)
    spread = xp.broadcast_to(idx.astype(np.int64).reshape((1,) * d + (-1,) + (1,) * (x.ndim - d - 1)), source.shape)
    return scatter_reduce(x, d, Tensor._make(xp.ascontiguousarray(spread), None), source, reduce,
                          include_self=include_self)


def _inplace(name, op):
    from .inplace_methods import from_op
    return from_op(name, op)


def index_reduce_(x: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                  include_self: bool = True) -> Tensor:
    """In place: :func:`index_reduce` written into x."""
    return _inplace("index_reduce_", lambda a: index_reduce(a, dim, index, source, reduce,
                                                            include_self=include_self))(x)


# ------------------------------------------------------------------ masked_scatter

class MaskedScatter(Function):
    """out = x with its i-th masked place (row-major) set to source's i-th element."""
    saves_inputs = saves_output = False

    def forward(self, x, source, mask, count):
        xp = backend.get_array_module(x)
        self.mask, self.count, self.source_shape = mask, count, source.shape
        pos = xp.cumsum(mask.reshape(-1), dtype=np.int64) - 1   # the source element each masked place takes
        flat = source.reshape(-1)
        picked = flat[xp.clip(pos, 0, max(flat.size - 1, 0))] if flat.size else xp.zeros(pos.shape, x.dtype)
        return xp.where(mask, picked.reshape(x.shape), x)

    def backward(self, g):  # dx: g off the mask; dsource[i]: g at the i-th masked place, 0 past count
        xp = backend.get_array_module(g)
        gs = xp.zeros(int(np.prod(self.source_shape)), dtype=g.dtype)
        gs[:self.count] = g[self.mask]
        return xp.where(self.mask, g.dtype.type(0), g), gs.reshape(self.source_shape)

    def backward_graph(self, g):
        from .indexing import masked_select
        from .joining import cat
        from .shape import where
        from ..creation import zeros
        m = Tensor._make(self.mask, None)
        gs = masked_select(g, m)
        n = int(np.prod(self.source_shape))
        if n > self.count:
            gs = cat([gs, zeros(n - self.count, dtype=g.dtype, device=g.device)])
        return where(m, 0.0, g), gs.reshape(self.source_shape)


def _check_source(name, x, other, source, dtype_message):
    """source a Tensor of x's dtype, on x's device (as ``other``, the mask or index)."""
    if not isinstance(source, Tensor):
        raise TypeError(f"{name}: source must be a Tensor, got {type(source).__name__}")
    check_same_device(name, [x, other, source])
    if source.dtype != x.dtype:
        raise DtypeError(dtype_message)


def _check_mask(name, x, mask, source):
    if not isinstance(mask, Tensor) or mask.dtype.kind != "b":
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise DtypeError(f"{name} only supports boolean masks, but got mask with dtype {got}")
    _check_source(name, x, mask, source, f"{name}: expected self and source to have same dtypes but got {x.dtype} "
                                         f"and {source.dtype}")


def masked_scatter(x: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """x with the places where ``mask`` is true filled, in row-major order, by source's elements
    (its first ``mask.sum()``, in its own row-major order), as torch.masked_scatter. x and the
    bool mask broadcast together (-> their broadcast shape); source: any shape, x's dtype, at least
    as many elements as the mask has true places. Differentiable in x and source."""
    from .backward_ops import broadcast_to
    _check_mask("masked_scatter", x, mask, source)
    try:
        shape = np.broadcast_shapes(x.shape, mask.shape)
    except ValueError:
        raise ShapeError(f"masked_scatter: the mask of shape {mask.shape} doesn't broadcast with the tensor's "
                         f"{x.shape}") from None
    return _masked_scatter(broadcast_to(x, shape) if x.shape != shape else x, mask, source, shape)


def _masked_scatter(x, mask, source, shape):
    xp = backend.get_array_module(x.data)
    m = mask.data if mask.shape == shape else xp.ascontiguousarray(xp.broadcast_to(mask.data, shape))
    count = int(backend.to_numpy(m.sum()))   # one read: the check needs the number of true places
    if count > source.numel():
        raise ShapeError(f"masked_scatter: Number of elements of source < number of ones in mask "
                         f"({source.numel()} < {count})")
    return MaskedScatter.apply(x, source, mask=m, count=count)


def masked_scatter_(x: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """In place: :func:`masked_scatter` into x; the mask must broadcast to x's shape."""
    _check_mask("masked_scatter_", x, mask, source)
    try:
        ok = np.broadcast_shapes(x.shape, mask.shape) == x.shape
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(f"masked_scatter_: the mask of shape {mask.shape} must broadcast to the tensor's shape "
                         f"{x.shape}")
    return _inplace("masked_scatter_", lambda a: _masked_scatter(a, mask, source, x.shape))(x)


# ------------------------------------------------------------------ put

def _flat_index(name, x, index, source):
    if not isinstance(index, Tensor) or index.dtype != np.int64:
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise DtypeError(f"{name}(): Expected a long tensor for index, but got {got}")
    _check_source(name, x, index, source, f"{name}(): self and source expected to have the same dtype, but got "
                                          f"self.dtype = {x.dtype} and source.dtype = {source.dtype}")
    if source.numel() != index.numel():
        raise IndexRangeError(f"{name}(): Expected source and index to have the same number of elements, but got "
                              f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    n, idx = x.numel(), index.data.reshape(-1)
    if idx.size:
        xp = backend.get_array_module(idx)
        lo, hi = (int(v) for v in backend.to_numpy(xp.stack([idx.min(), idx.max()])))   # one read
        bad = lo if lo < -n else hi if hi >= n else None
        if bad is not None:
            raise IndexRangeError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
        idx = xp.where(idx < 0, idx + n, idx)
    return Tensor._make(idx, None)


def put(x: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """x with ``x.view(-1)[index] = source`` (``+=`` with every repeat counted, ``accumulate``),
    out of place, as torch.put. x: any shape -> x's shape; index: int64, any shape, in
    [-numel, numel); source: index's number of elements, x's dtype. Differentiable in x and source."""
    idx = _flat_index("put", x, index, source)
    return _put(x, idx, source, accumulate)


def _put(x, idx, source, accumulate):
    from .index_ops import index_add
    from .inplace import index_put
    flat, src = x.reshape(-1), source.reshape(-1)
    out = index_add(flat, 0, idx, src) if accumulate else index_put(flat, (idx,), src)
    return out.reshape(x.shape)


def put_(x: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """In place: :func:`put` written into x."""
    idx = _flat_index("put_", x, index, source)
    return _inplace("put_", lambda a: _put(a, idx, source, accumulate))(x)


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """The indices of the non-zero elements, as :func:`minitf.nonzero`, in exactly ``size`` rows:
    the first ``size`` of them, or all of them followed by rows of ``fill_value``, as
    torch.nonzero_static. input: any shape (n dims) -> (size, n) int64."""
    from .indexing import nonzero
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
        raise ValueError(f"nonzero_static: 'size' must be an non-negative integer, got {size!r}")
    found = nonzero(input)
    if found.ndim == 1:   # (minitf's nonzero of a 0-d tensor)
        found = found.reshape(-1, 0)
    xp = backend.get_array_module(found.data)
    rows = found.data[:size]
    if rows.shape[0] < size:
        pad = xp.full((size - rows.shape[0], rows.shape[1]), fill_value, dtype=np.int64)
        rows = xp.concatenate([rows, pad])
    return Tensor._make(xp.ascontiguousarray(rows), None)


# ------------------------------------------------------------------ segment_reduce

_SEGMENT = {"sum": ("sum", 0.0), "prod": ("prod", 1.0), "mean": ("mean", float("nan")), "max": ("amax", -np.inf),
            "amax": ("amax", -np.inf), "min": ("amin", np.inf), "amin": ("amin", np.inf)}


def segment_reduce(data: Tensor, reduce: str, *, lengths=None, indices=None, offsets=None, axis: int = 0,
                   unsafe: bool = False, initial=None) -> Tensor:
    """Reduce consecutive segments of ``data`` along ``axis``, as torch.segment_reduce: segment i
    holds ``lengths[i]`` elements (or ``offsets[i]`` to ``offsets[i + 1]``). data: (..., n, ...),
    lengths: (k,) summing to n -> (..., k, ...). ``reduce`` "sum", "prod", "mean", "max" / "amax",
    "min" / "amin"; ``initial`` joins every segment (the mean divides by the length alone, as
    torch's), and an empty segment is ``initial`` or the reduction's identity (0, 1, NaN for the
    mean, -inf, inf). Float data; differentiable in data (scatter_reduce's gradients: ties of max
    share it). 1-D lengths / offsets only, so ``axis`` 0 (torch's axis is the last of lengths' dims)."""
    from .index_ops import scatter_reduce
    from ..creation import full
    if reduce not in _SEGMENT:
        raise ValueError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if indices is not None:
        raise NotImplementedError("segment_reduce(): indices based reduction is not supported yet.")
    if (lengths is None) == (offsets is None):
        raise ValueError("segment_reduce(): Either lengths or offsets must be defined (one of them).")
    given = lengths if lengths is not None else offsets
    if not isinstance(given, Tensor) or given.dtype.kind not in "iu" or given.ndim != 1:
        raise ArgumentError("segment_reduce: lengths / offsets must be a 1-D integer tensor (minitf handles "
                             "one row of segments)")
    if data.dtype.kind != "f":
        from ..errors import DtypeNotImplemented
        raise DtypeNotImplemented(f"segment_reduce: defined for floating data (as torch), got {data.dtype}")
    d = check_dim("segment_reduce", axis, data.ndim)
    if d != 0:   # torch: axis is the last dim of lengths, so 0 for the 1-D lengths minitf takes
        raise ArgumentError(f"segment_reduce(): Expected axis to be the last dimension of "
                            f"{'lengths' if lengths is not None else 'offsets'} but got {axis}.")
    host = backend.to_numpy(given.data).astype(np.int64)
    counts = host if lengths is not None else np.diff(host)
    if (counts < 0).any():
        raise ValueError("lengths contains negative value!")
    if not unsafe and int(counts.sum()) != data.shape[d]:
        raise ShapeError(f"segment_reduce(): Expected all rows of lengths along axis to sum to data.size({d}) "
                         f"= {data.shape[d]} when !unsafe (they sum to {int(counts.sum())})")
    start = 0 if lengths is not None else int(host[0]) if host.size else 0
    if start:
        data = data.narrow(d, start, int(counts.sum()))
    xp = backend.get_array_module(data.data)
    ids = xp.asarray(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
    shape = data.shape[:d] + (counts.size,) + data.shape[d + 1:]
    index = xp.ascontiguousarray(xp.broadcast_to(ids.reshape((1,) * d + (-1,) + (1,) * (data.ndim - d - 1)),
                                                 data.shape))
    kind, identity = _SEGMENT[reduce]
    index = Tensor._make(index, None)
    if initial is None:
        base = full(shape, identity, dtype=data.dtype, device=data.device)
        return scatter_reduce(base, d, index, data, kind, include_self=False)
    base = full(shape, float(initial), dtype=data.dtype, device=data.device)
    if kind != "mean":
        return scatter_reduce(base, d, index, data, kind, include_self=True)
    total = scatter_reduce(base, d, index, data, "sum", include_self=True)   # initial + the sum, over the length
    size = xp.asarray(np.maximum(counts, 1).astype(data.dtype)).reshape((1,) * d + (-1,) + (1,) * (data.ndim - d - 1))
    return total / Tensor._make(size, None)
