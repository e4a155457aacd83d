"""torch's index_* writes and scatter_reduce, out of place (their in-place ``_`` forms are in
:mod:`minitf.ops.inplace_methods`): index_add, index_copy, index_fill along one dim with a
1-D index, and scatter_reduce with torch's reduce names.

Each is built on the differentiable scatters of :mod:`minitf.ops.indexing`
(:class:`ScatterAdd`, :class:`IndexPut`): the index along ``dim`` is spread over the other
dims (``along_index``), so repeated indices accumulate (index_add) or one of them wins
(index_copy, as torch leaves unspecified).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import DtypeError, ShapeError
from ..tensor import Tensor
from ._util import as_tensor, check_dim, check_index_range
from .indexing import ScatterAdd, _along, _index_array, _src, along_index


def _spread(name: str, x: Tensor, dim: int, index: Tensor, shape=None):
    """The advanced index writing ``x``'s dim ``dim`` at the 1-D ``index``, every position of
    the other dims: its shape is x's with ``len(index)`` at ``dim`` (or ``shape``)."""
    idx = _index_array(name, index, x)
    if idx.ndim > 1:
        raise ShapeError(f"{name}: index must be 1-D (or 0-d), got shape {tuple(idx.shape)}")
    d = check_dim(name, dim, x.ndim)
    idx = idx.reshape(-1)
    n = x.shape[d] if x.ndim else 1
    check_index_range(name, "index", idx, n, source=index)
    if x.ndim == 0:
        return (), 0
    shape = x.shape[:d] + (idx.shape[0],) + x.shape[d + 1:] if shape is None else shape
    xp = backend.get_array_module(idx)
    spread = xp.broadcast_to(idx.reshape((1,) * d + (-1,) + (1,) * (x.ndim - d - 1)), shape)
    return along_index(spread, d), d


def _source(name: str, x: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    if not isinstance(source, Tensor):
        raise TypeError(f"{name}: source must be a Tensor, got {type(source).__name__}")
    if source.device != x.device:
        raise backend.DeviceError(f"{name}: source on {source.device}, tensor on {x.device}")
    if source.dtype != x.dtype:  # torch refuses a mix too
        raise DtypeError(f"{name}: source is {source.dtype} but the tensor is {x.dtype}; they must match")
    d = check_dim(name, dim, x.ndim)
    k = index.numel()
    want = x.shape[:d] + (k,) + x.shape[d + 1:] if x.ndim else ((k,) if source.ndim else ())
    if source.shape != want and not (x.ndim == 0 and source.numel() == 1):
        raise ShapeError(f"{name}: source of shape {source.shape} must be the tensor's shape {x.shape} with "
                         f"len(index) = {k} at dim {d}, i.e. {want}")
    return source if x.ndim else source.reshape(())


def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``x`` with out[..., index[i], ...] += alpha * source[..., i, ...] along ``dim``,
    repeated indices accumulating, as torch.index_add. x: (..., n, ...), index: (k,),
    source: (..., k, ...). Differentiable in x and source."""
    src = _source("index_add", x, dim, index, source)
    full, _ = _spread("index_add", x, dim, index)
    if alpha != 1:
        src = src * alpha
    if x.ndim == 0:
        return x + src
    return ScatterAdd.apply(x, src, index=full)


def index_copy(x: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``x`` with out[..., index[i], ...] = source[..., i, ...] along ``dim``, as
    torch.index_copy (a repeated index: one of its values lands). Differentiable in both."""
    from .inplace import IndexPut
    src = _source("index_copy", x, dim, index, source)
    full, _ = _spread("index_copy", x, dim, index)
    return IndexPut.apply(x, src, index=full if x.ndim else ())


def index_fill(x: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of ``x`` with ``value`` (a number or a 0-d tensor) at the positions ``index``
    along ``dim``, as torch.index_fill. Differentiable in x (0 where filled) and a tensor value."""
    from .inplace import IndexPut
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"index_fill: only supports a 0-dimensional value tensor, got shape {value.shape}")
    full, _ = _spread("index_fill", x, dim, index)
    if x.dtype.kind != "c" and (value.dtype.kind == "c" if isinstance(value, Tensor) else
                                isinstance(value, (complex, np.complexfloating))):
        # (the cast below would drop the imaginary part; torch refuses any complex value here)
        raise DtypeError("index_fill: converting a complex value to the non-complex type "
                         f"{x.dtype} is not supported (as torch)")
    from .fill_values import fill_number
    v = as_tensor(fill_number("index_fill", value, x.dtype), x)
    if v.dtype != x.dtype:
        v = v.to(dtype=x.dtype)
    return IndexPut.apply(x, v, index=full if x.ndim else ())


_REDUCTIONS = ("sum", "mean", "amax", "amin")


class ScatterExtreme(Function):
    """out = x (or, without include_self, the identity where an index lands), then each
    position the max (min) of it and the src values scattered there. Gradient as torch's:
    shared evenly by every element equal to the result (x's own counted in the share even
    without include_self, which then gets none of it)."""

    saves_inputs = saves_output = False

    def forward(self, x, src, index, kind, include_self, hit):
        xp = backend.get_array_module(x)
        out = x.copy()
        if not include_self:
            # the reduction's identity: -inf / +inf for floats (so all -inf sources give -inf, as torch)
            if x.dtype.kind == "f":
                out[hit] = -np.inf if kind == "max" else np.inf
            else:
                info = np.iinfo(x.dtype)
                out[hit] = info.min if kind == "max" else info.max
        backend.scatter_extreme(out, index, src, kind)
        self_is = (x == out).astype(x.dtype)
        src_is = (src == out[index]).astype(x.dtype)
        count = self_is.copy()
        backend.scatter_add(count, index, src_is)
        self.index = index
        self.w_self = (self_is if include_self else xp.where(hit, 0, self_is).astype(x.dtype)) / count
        self.w_src, self.count = src_is, count
        return out

    def backward(self, g):  # d/dx: g / N where x is the result; d/dsrc: (g / N)[index] where src is
        return g * self.w_self, (g / self.count)[self.index] * self.w_src

    def backward_graph(self, g):
        from .shape import GetItem
        c = lambda a: Tensor._make(a, None)  # noqa: E731  (constants: masks and counts)
        return g * c(self.w_self), GetItem.apply(g / c(self.count), index=self.index, advanced=True) * c(self.w_src)


def scatter_reduce(x: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """``x`` with src's values reduced into it at ``index`` along ``dim`` (positions as
    :func:`minitf.scatter`), as torch.scatter_reduce; ``reduce`` "sum", "mean" (counting x's
    value when ``include_self``; an integer mean rounds down, as torch), "amax" or "amin" (the
    gradient shared by the elements equal to the result, as torch). Positions no index names
    keep x's value; "prod" (x's value counted with ``include_self``; the gradient with zeros as
    torch's, see :mod:`minitf.ops.scatter_prod`). Differentiable in x and src."""
    if reduce not in _REDUCTIONS and reduce != "prod":
        raise RuntimeError(f"scatter_reduce: reduce argument must be one of sum, prod, mean, amax, amin, "
                           f"got {reduce!r}")
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce: src must be a Tensor, got {type(src).__name__}")
    full, _ = _along("scatter_reduce", x, dim, index)
    src = _src("scatter_reduce", x, index, src)
    if src.dtype != x.dtype:
        raise DtypeError(f"scatter_reduce: src is {src.dtype} but the tensor is {x.dtype}; they must match")
    xp = backend.get_array_module(x.data)
    hit = xp.zeros(x.shape, dtype=bool)
    hit[full] = True  # the positions some index names
    if reduce == "prod":  # (minitf.ops.scatter_prod: the product and torch's gradient with zeros)
        from .scatter_prod import scatter_prod
        return scatter_prod(x, src, full, include_self, hit)
    if reduce in ("amax", "amin"):
        return ScatterExtreme.apply(x, src, index=full, kind=reduce[1:], include_self=bool(include_self), hit=hit)
    # x's values dropped where an index hits: a where (x * 0 is NaN at inf and -0. at negatives)
    from .shape import where
    base = x if include_self else where(Tensor._make(hit, None), 0, x)
    total = ScatterAdd.apply(base, src, index=full)
    if reduce == "sum":
        return total
    count = xp.zeros(x.shape, dtype=x.dtype)
    backend.scatter_add(count, full, xp.ones(index.shape, dtype=x.dtype))
    count = count + (1 if include_self else 0)
    count = xp.where(hit, xp.maximum(count, 1), 1).astype(x.dtype)
    if x.dtype.kind in "iu":
        return Tensor._make(xp.floor_divide(total.data, count), None)
    return total / Tensor._make(count, None)
