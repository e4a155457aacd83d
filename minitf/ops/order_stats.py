"""torch's order statistics along a dim: kthvalue, mode, nanmedian, aminmax, msort and
unique_consecutive.

Values are differentiable (a gather of the input through :func:`~minitf.ops.sorting.sort`, so
the gradient goes to the element chosen); indices are int64 and outside the graph. NaN sorts
as larger than every number, as in torch. Ties: kthvalue and nanmedian give the position of
the chosen value in a stable sort (the lowest index among equal values); torch's CPU kernel
uses a quickselect whose tie index is unspecified (``kthvalue([3, 1, 2, 1, 3, 1, 3], 1)`` gives
index 3 there, 1 here), so only their values are torch's. mode follows torch exactly: the most
frequent value (ties: the smallest), at its last index.
"""
from __future__ import annotations

from collections import namedtuple

from .. import autograd as _engine, backend
from ..errors import DtypeNotImplemented, IndexRangeError
from ..tensor import Tensor
from ._util import check_dim, is_int, refuse_complex

kthvalue_return = namedtuple("kthvalue", ["values", "indices"])   # torch.return_types.kthvalue
mode_return = namedtuple("mode", ["values", "indices"])
nanmedian_return = namedtuple("nanmedian", ["values", "indices"])
aminmax_return = namedtuple("aminmax", ["min", "max"])


def _pick(x: Tensor, d: int, position, keepdim: bool, name: str):
    """(values, indices) of x's stable sort along ``d`` read at ``position`` (an int64 array of
    x's shape without ``d``): the sorted value (differentiable) and its original index."""
    from .sorting import sort
    from .indexing import gather
    xp = backend.get_array_module(x.data)
    values, indices = sort(x, d)
    k = Tensor._make(xp.expand_dims(position, d), None)
    v, i = gather(values, d, k), gather(indices, d, k)
    if not keepdim:
        v, i = v.squeeze(d), i.squeeze(d)
    return v, i


def _reduction_dim(name: str, x: Tensor, dim) -> int:
    d = check_dim(name, dim, max(x.ndim, 1))
    if x.ndim and x.shape[d] == 0:
        raise IndexRangeError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    return d


def kthvalue(x: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest value (k from 1) along ``dim`` and its index, as torch.kthvalue.
    x: (..., n, ...) -> values and indices (..., ...) (``keepdim``: n kept as 1); NaN is larger
    than every number. The index of tied values is the lowest (torch's is unspecified)."""
    if not is_int(k):
        raise TypeError(f"kthvalue(): argument 'k' must be int, not {type(k).__name__}")
    if x.dtype.kind == "b":
        raise DtypeNotImplemented("kthvalue: not implemented for bool tensors (as torch)")
    d = check_dim("kthvalue", dim, max(x.ndim, 1))
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise IndexRangeError(f"kthvalue(): selected number k out of range for dimension {d} "
                              f"(k = {k}, size {n})")
    if x.ndim == 0:
        from ..grad_fn_names import named_copy
        return kthvalue_return(named_copy(x, "KthvalueBackward0"), x.new_zeros((), dtype="int64"))
    if _engine._hooks:   # (after the 0-d case: torch returns a complex 0-d tensor itself)
        refuse_complex("kthvalue", x)
    xp = backend.get_array_module(x.data)
    pos = xp.full(x.shape[:d] + x.shape[d + 1:], k - 1, dtype="int64")
    return kthvalue_return(*_pick(x, d, pos, keepdim, "kthvalue"))


def nanmedian(x: Tensor, dim=None, keepdim: bool = False):
    """The lower median of the non-NaN values, as torch.nanmedian: ``nanmedian(x)`` a 0-d
    value; ``nanmedian(x, dim)`` a (values, indices) namedtuple along ``dim``. A slice of NaNs
    only gives NaN (its first index). Integer tensors: :func:`median` (no NaN)."""
    from .more_reductions import median
    if x.dtype.kind != "f":
        return median(x, dim, keepdim) if dim is None else nanmedian_return(*median(x, dim, keepdim))
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            return flat.sum() * float("nan")   # torch's NaN
        return _pick(flat, 0, _nan_median_position(flat.data, 0), False, "nanmedian")[0]
    d = check_dim("nanmedian", dim, max(x.ndim, 1))
    if x.ndim == 0:
        from ..grad_fn_names import named_copy
        return nanmedian_return(named_copy(x, "NanmedianBackward1"), x.new_zeros((), dtype="int64"))
    _reduction_dim("nanmedian", x, dim)
    return nanmedian_return(*_pick(x, d, _nan_median_position(x.data, d), keepdim, "nanmedian"))


def _nan_median_position(a, d: int):
    """The sorted position of the lower median of the m non-NaN values along ``d``: (m - 1) // 2
    (NaN sorts last), 0 for a slice of NaNs only (its first NaN, as torch)."""
    xp = backend.get_array_module(a)
    m = (~xp.isnan(a)).sum(axis=d).astype("int64")
    return xp.maximum(m - 1, 0) // 2


def mode(x: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (of several equally frequent, the smallest) and the
    last index holding it, as torch.mode. x: (..., n, ...) -> (..., ...); each NaN counts as
    distinct. The value's gradient goes to the element at that index."""
    from .indexing import gather
    d = check_dim("mode", dim, max(x.ndim, 1))
    if x.ndim == 0:
        from ..grad_fn_names import named_copy
        return mode_return(named_copy(x, "ModeBackward0"), x.new_zeros((), dtype="int64"))
    _reduction_dim("mode", x, dim)
    if _engine._hooks:
        refuse_complex("mode", x)
    xp = backend.get_array_module(x.data)
    from .sorting import stable_order
    order = xp.moveaxis(stable_order(x.data, d, False), d, -1)       # (M..., n)
    s = xp.take_along_axis(xp.moveaxis(x.data, d, -1), order, axis=-1)
    lead, n = s.shape[:-1], s.shape[-1]
    s, order = s.reshape(-1, n), order.reshape(-1, n)
    # runs of equal sorted values (NaN != NaN: each its own run); a run's end holds its length
    differs = s[:, 1:] != s[:, :-1]
    edge = xp.ones((s.shape[0], 1), dtype=bool)
    start = xp.concatenate([edge, differs], axis=1).reshape(-1)
    end = xp.concatenate([differs, edge], axis=1).reshape(-1)
    starts, ends = xp.nonzero(start)[0], xp.nonzero(end)[0]         # paired: runs never cross rows
    length = xp.zeros(s.size, dtype="int64")
    length[ends] = ends - starts + 1
    # the first longest run is the smallest value; its end is the last original index (stable sort)
    best = xp.argmax(length.reshape(-1, n), axis=1)
    idx = xp.take_along_axis(order, best[:, None], axis=1).reshape(lead)
    i = Tensor._make(xp.expand_dims(idx, d), None)
    v = gather(x, d, i)
    if not keepdim:
        v, i = v.squeeze(d), i.squeeze(d)
    return mode_return(v, i)


def aminmax(x: Tensor, *, dim=None, keepdim: bool = False):
    """``(min, max)`` over ``dim`` (None: all elements), as torch.aminmax; each as
    :func:`amin` / :func:`amax` (tied extremes share the gradient)."""
    from .extrema import amax, amin
    if dim is None and x.numel() == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation "
                           "has no identity.")
    if dim is not None:
        if not is_int(dim):
            raise TypeError(f"aminmax(): argument 'dim' must be int, not {type(dim).__name__}")
        _reduction_dim("aminmax", x, dim)
        if x.ndim == 0:
            from ..grad_fn_names import named_copy
            return aminmax_return(named_copy(x, "AminmaxBackward0"), named_copy(x, "AminmaxBackward0"))
    # (two nodes here, one with two outputs in torch: both named as torch's)
    from ..grad_fn_names import named
    return aminmax_return(*named((amin(x, dim, keepdim), amax(x, dim, keepdim)), "AminmaxBackward0", x))


def msort(x: Tensor) -> Tensor:
    """x sorted along its first dim, as torch.msort (``sort(x, 0).values``)."""
    from .sorting import sort
    return sort(x, 0).values


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim=None):
    """The first of each run of equal consecutive values (or slices along ``dim``), as
    torch.unique_consecutive. dim=None: input of any shape -> values (U,) of the flattened
    input, inverse of input's shape, counts (U,). dim=d: runs of equal slices along d -> values
    with U slices along d, inverse (input.shape[d],), counts (U,). Returns ``values`` or a
    tuple adding ``inverse`` / ``counts`` (int64) where asked; outside the graph."""
    from .counting import slice_rows
    xp, a, rows, d = slice_rows("unique_consecutive", input, dim)
    n = rows.shape[0]
    new = xp.ones((n,), dtype=bool)
    if n > 1:   # a run starts where a row differs from the one before it (NaN != NaN)
        new[1:] = (rows[1:] != rows[:-1]).any(axis=1) if rows.shape[1] else False
    starts = xp.nonzero(new)[0]
    values = a[starts]
    if dim is not None:
        values = xp.moveaxis(values, 0, d)
    out = [Tensor._make(xp.ascontiguousarray(values), None)]
    if return_inverse:
        inverse = (xp.cumsum(new) - 1).astype("int64")
        out.append(Tensor._make(inverse.reshape(input.shape if dim is None else (n,)), None))
    if return_counts:
        bounds = xp.concatenate([starts, xp.asarray([n], dtype=starts.dtype)])
        out.append(Tensor._make((bounds[1:] - bounds[:-1]).astype("int64"), None))
    return out[0] if len(out) == 1 else tuple(out)


__all__ = ["kthvalue", "mode", "nanmedian", "aminmax", "msort", "unique_consecutive"]
