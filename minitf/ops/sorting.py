"""Sorting under PyTorch's names: sort, argsort, topk, with (values, indices) namedtuples.

Values are differentiable (a gather of the input: the gradient goes back to the position
each value came from); indices are int64 and outside the graph. NaN sorts as larger than
every number, as in torch. Ties: equal values keep their original order (lower index
first, in ascending and descending order alike), i.e. always torch's ``stable=True``
order; torch leaves the order of ties unspecified without ``stable=True`` (and for topk).
The order is computed from keys that never tie, so it is the same on every backend
whatever the backend's sort algorithm.
"""
from __future__ import annotations

from collections import namedtuple

from .. import autograd as _engine, backend
from ..tensor import Tensor
from ._util import check_dim, refuse_complex

sort_return = namedtuple("sort", ["values", "indices"])
topk_return = namedtuple("topk", ["values", "indices"])


def stable_order(a, axis: int, descending: bool):
    """The indices that sort array ``a`` along ``axis`` (int64), ties in index order, NaN largest."""
    xp = backend.get_array_module(a)
    a = xp.moveaxis(a, axis, -1)
    n = a.shape[-1]
    order = xp.argsort(a, axis=-1)            # NaN last; the order of ties is the backend's
    if n > 1:
        v = xp.take_along_axis(a, order, axis=-1)
        same = v[..., 1:] == v[..., :-1]
        if v.dtype.kind in "fc":
            same |= xp.isnan(v[..., 1:]) & xp.isnan(v[..., :-1])
        # run r of equal values (0, 1, ... in ascending order): key r * n + index never ties
        run = xp.concatenate([xp.zeros(v.shape[:-1] + (1,), dtype="int64"),
                              xp.cumsum(~same, axis=-1, dtype="int64")], axis=-1)
        if descending:
            run = run[..., -1:] - run
        key = run * n + order
        order = xp.take_along_axis(order, xp.argsort(key, axis=-1), axis=-1)
    return xp.moveaxis(order.astype("int64"), -1, axis)


def _order(name: str, x: Tensor, dim: int, descending: bool):
    if _engine._hooks:
        refuse_complex(name, x)
    if x.ndim == 0:
        check_dim(name, dim, 0)
        return None, 0
    d = check_dim(name, dim, x.ndim)
    return stable_order(x.data, d, bool(descending)), d


def _values(x: Tensor, d: int, idx) -> Tensor:
    """x read at ``idx`` along ``d`` (indices made here: in range, no check needed)."""
    from .indexing import along_index
    from .shape import GetItem
    return GetItem.apply(x, index=along_index(idx, d), advanced=True)


def sort(x: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """``(values, indices)`` of ``x`` sorted along ``dim``, as torch.sort (ties in index
    order, whatever ``stable``). x: any shape -> both of x's shape; indices int64."""
    if x._vmap_batched:   # inside vmap: along the example's dim
        from ..func.batching_fns import along
        return along(sort, x, dim, descending=descending, stable=stable)
    idx, d = _order("sort", x, dim, descending)
    if idx is None:  # a 0-d tensor: itself, index 0
        xp = backend.get_array_module(x.data)
        from ..grad_fn_names import named_copy
        return sort_return(named_copy(x, "SortBackward0"), Tensor._make(xp.zeros((), dtype="int64"), None))
    return sort_return(_values(x, d, idx), Tensor._make(idx, None))


def argsort(x: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    """The int64 indices that sort ``x`` along ``dim``, as torch.argsort (ties in index order)."""
    if x._vmap_batched:   # inside vmap: along the example's dim
        from ..func.batching_fns import along
        return along(argsort, x, dim, descending=descending, stable=stable)
    idx, _ = _order("argsort", x, dim, descending)
    if idx is None:
        return Tensor._make(backend.get_array_module(x.data).zeros((), dtype="int64"), None)
    return Tensor._make(idx, None)


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``(values, indices)`` of the ``k`` largest (or smallest) entries along ``dim``, as
    torch.topk; always in sorted order (torch's ``sorted=False`` leaves the order open), ties
    lower index first. x: (..., d, ...) -> (..., k, ...)."""
    if not isinstance(k, int) or isinstance(k, bool):
        raise TypeError(f"topk: k must be an int, got {type(k).__name__}")
    if x._vmap_batched:   # inside vmap: along the example's dim
        from ..func.batching_fns import along
        return along(topk, x, dim, k=k, largest=largest, sorted=sorted)
    size = x.shape[check_dim("topk", dim, x.ndim)] if x.ndim else 1
    if not 0 <= k <= size or (x.ndim == 0 and k != 1):
        raise ValueError(f"topk: k = {k} is out of range [{int(x.ndim == 0)}, {size}] for dim {dim} "
                         f"of shape {x.shape}")
    idx, d = _order("topk", x, dim, largest)
    if idx is None:  # a 0-d tensor: itself
        return topk_return(*sort(x))
    idx = idx[(slice(None),) * d + (slice(0, k),)]
    from ..grad_fn_names import named
    return topk_return(named(_values(x, d, idx), "TopkBackward0", x), Tensor._make(idx, None))
