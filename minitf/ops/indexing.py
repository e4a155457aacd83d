"""Index-driven selection under PyTorch's names: gather, scatter (out of place), scatter_add,
index_select, masked_select, nonzero.

gather and index_select are advanced-index reads (:class:`~minitf.ops.subscript.GetItem`, whose
backward scatter-adds: repeated indices accumulate); scatter writes with
:class:`~minitf.ops.inplace.IndexPut`. Indices must lie in [0, size) (torch's rule: no
negative indices here); the check reads their minimum and maximum from the device once.
"""
from __future__ import annotations

from ..errors import DimError, DtypeError, IndexRangeError
from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import as_tensor, check_dim, check_index_range


def _index_array(name: str, index, x: Tensor):
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}: index must be a Tensor of integers, got {type(index).__name__}")
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: index must be an integer tensor (int64), got {index.dtype}")
    if index.device != x.device:
        raise backend.DeviceError(f"{name}: index on {index.device}, tensor on {x.device}")
    return index.data


def _along(name: str, x: Tensor, dim: int, index: Tensor):
    """The advanced index that reads x at ``index`` along ``dim`` and at the same position
    elsewhere (``index``'s shape), after torch's checks. Returns (tuple of arrays, dim)."""
    idx = _index_array(name, index, x)
    if x.ndim == 0:
        raise ValueError(f"{name}: needs a tensor of at least 1 dim, got a 0-d tensor")
    d = check_dim(name, dim, x.ndim)
    if idx.ndim != x.ndim:
        raise ValueError(f"{name}: index has {idx.ndim} dims, the tensor {x.ndim}: they must be equal")
    for i, (m, n) in enumerate(zip(idx.shape, x.shape)):
        if i != d and m > n:
            raise ValueError(f"{name}: index shape {tuple(idx.shape)} is larger than the tensor's "
                             f"{x.shape} in dim {i} (only dim {d} may be)")
    try:
        check_index_range(name, "index", idx, x.shape[d], source=index)
    except IndexError as e:  # torch's RuntimeError for these ops (an IndexError still)
        raise IndexRangeError(str(e)) from None
    return along_index(idx, d), d


def along_index(idx, d: int) -> tuple:
    """The advanced index (a tuple of arrays) that reads ``idx`` along dim ``d`` and the
    element's own position in every other dim: ``a[along_index(idx, d)]`` is
    take_along_axis(a, idx, d)."""
    xp = backend.get_array_module(idx)
    full = []
    for i, m in enumerate(idx.shape):
        if i == d:
            full.append(idx)
        else:  # position i of every element, broadcasting against the index
            full.append(xp.arange(m).reshape((1,) * i + (m,) + (1,) * (idx.ndim - i - 1)))
    return tuple(full)


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j][k] = x[index[i][j][k]][j][k] (for dim 0; likewise for any dim), as torch.gather.

    x: (d_0, ..., d_{n-1}); index: integers with the same number of dims, no larger than x
    outside ``dim`` -> index's shape. Differentiable in x (repeated indices accumulate).
    """
    from .shape import GetItem
    if getattr(index, "_vmap_batched", False):   # inside vmap, a batched index
        from ..func.batching_fns import gather as batched
        return batched(x, dim, index)
    if x.ndim == 0 and isinstance(index, Tensor) and index.ndim == 0:  # torch: a 0-d x is one element along dim 0
        if dim not in (0, -1):
            raise DimError(f"gather: dim {dim} is out of range for a 0-d tensor")
        return gather(x.reshape(1), 0, index.reshape(1)).reshape(())
    from ..grad_fn_names import named
    full, _ = _along("gather", x, dim, index)
    return named(GetItem.apply(x, index=full, advanced=True), "GatherBackward0", x)


def _src(name, x: Tensor, index: Tensor, src):
    """``src`` as a tensor cut to ``index``'s shape (torch reads only that corner of it)."""
    if not isinstance(src, Tensor):
        if not isinstance(src, (int, float)) or isinstance(src, bool):
            raise TypeError(f"{name}: src must be a Tensor or a number, got {type(src).__name__}")
        return as_tensor(src, x)
    if src.device != x.device:
        raise backend.DeviceError(f"{name}: src on {src.device}, tensor on {x.device}")
    if src.ndim != index.ndim or any(m > n for m, n in zip(index.shape, src.shape)):
        raise ValueError(f"{name}: src of shape {src.shape} must have index's {index.ndim} dims and be "
                         f"at least as large as index {index.shape} in each")
    if src.shape == index.shape:
        return src
    return src[tuple(slice(0, m) for m in index.shape)]


def scatter(x: Tensor, dim: int, index: Tensor, src, *, reduce=None) -> Tensor:
    """A copy of ``x`` with out[index[i][j]][j] = src[i][j] (for dim 0), as torch.scatter
    (out of place); ``src`` a tensor of x's dtype (its corner of index's shape is read) or a number.

    Where ``index`` repeats a position, one of the values lands there (torch leaves which
    unspecified; here the last). Differentiable in x (0 where written) and src. ``reduce``
    "add" or "multiply": torch's older accumulating forms (:mod:`minitf.ops.scatter_prod`).
    """
    if reduce is not None:
        from .scatter_prod import scatter_with_reduce
        return scatter_with_reduce(x, dim, index, src, reduce)
    from .inplace import IndexPut
    full, _ = _along("scatter", x, dim, index)
    if isinstance(src, Tensor) and src.dtype != x.dtype:  # torch refuses too (no silent cast)
        raise DtypeError(f"scatter: src is {src.dtype} but the tensor is {x.dtype}; they must match")
    return IndexPut.apply(x, _src("scatter", x, index, src), index=full)


class ScatterAdd(Function):
    """out = x, then out[index...] += src, repeated positions accumulating."""

    saves_inputs = saves_output = False

    def forward(self, x, src, index):
        self.index = index
        out = x.copy()
        backend.scatter_add(out, index, src)
        return out

    def backward(self, g):  # d/dx: g;  d/dsrc: g read at the positions src was added to
        return g, g[self.index]

    def backward_graph(self, g):
        from .shape import GetItem
        return g, GetItem.apply(g, index=self.index, advanced=True)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``x`` with out[index[i][j]][j] += src[i][j] (for dim 0), repeated indices
    accumulating, as torch.scatter_add. Differentiable in x and src."""
    full, _ = _along("scatter_add", x, dim, index)
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
    src = _src("scatter_add", x, index, src)
    if src.dtype != x.dtype:
        raise DtypeError(f"scatter_add: src is {src.dtype} but the tensor is {x.dtype}; they must match")
    return ScatterAdd.apply(x, src, index=full)


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``x`` at the positions ``index`` (1-D integers) along ``dim``, as
    torch.index_select. x: (..., d, ...) -> (..., len(index), ...). Differentiable in x."""
    from .shape import GetItem
    if getattr(index, "_vmap_batched", False):   # inside vmap, a batched index
        from ..func.batching_fns import index_select as batched
        return batched(x, dim, index)
    idx = _index_array("index_select", index, x)
    if idx.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D (or 0-d), got shape {tuple(idx.shape)}")
    if x.ndim == 0:
        check_dim("index_select", dim, 0)
        check_index_range("index_select", "index", idx, 1, source=index)
        return GetItem.apply(x.reshape(1), index=idx.reshape(-1), advanced=True).reshape(())
    d = check_dim("index_select", dim, x.ndim)
    check_index_range("index_select", "index", idx, x.shape[d], source=index)
    from ..grad_fn_names import named
    return named(GetItem.apply(x, index=(slice(None),) * d + (idx.reshape(-1),), advanced=True),
                 "IndexSelectBackward0", x)


def masked_select(x: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``x`` where the boolean ``mask`` is true, in order, as a 1-D tensor;
    x and mask broadcast against each other, as torch.masked_select (on a GPU the size is
    read from the device). Differentiable in x."""
    import numpy as np

    from .backward_ops import broadcast_to
    from .shape import getitem
    if not isinstance(mask, Tensor) or mask.dtype.kind != "b":
        raise DtypeError(f"masked_select: mask must be a bool tensor, got "
                        f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}")
    if mask._vmap_batched:   # inside vmap: a size per example
        from ..func.batched_tensor import refuse_data_dependent
        refuse_data_dependent("masked_select with a batched mask")
    if mask.device != x.device:
        raise backend.DeviceError(f"masked_select: mask on {mask.device}, tensor on {x.device}")
    shape = np.broadcast_shapes(x.shape, mask.shape)
    m = mask.data if mask.shape == shape else backend.get_array_module(mask.data).broadcast_to(mask.data, shape)
    return getitem(broadcast_to(x, shape), Tensor._make(m, None))


def nonzero(x: Tensor, *, as_tuple: bool = False):
    """The indices of the nonzero elements, as torch.nonzero: an (n, ndim) int64 tensor, one
    row per element in row-major order, or with ``as_tuple=True`` a tuple of ndim 1-D index
    tensors (usable as ``x[...]``). Not differentiable; on a GPU n is read from the device."""
    if x._vmap_batched:   # inside vmap: a size per example
        from ..func.batched_tensor import refuse_data_dependent
        refuse_data_dependent("nonzero of a batched tensor")
    xp = backend.get_array_module(x.data)
    where = xp.argwhere(x.data).astype("int64")
    if not as_tuple:
        return Tensor._make(where, None)
    if x.ndim == 0:  # torch: one index tensor for the 0-d tensor's single "dim"
        return (Tensor._make(xp.zeros((where.shape[0],), dtype="int64"), None),)
    return tuple(Tensor._make(xp.ascontiguousarray(where[:, i]), None) for i in range(x.ndim))
