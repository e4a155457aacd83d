"""More of torch's shape and index helpers, composed of differentiable ops where values flow:
hstack, vstack, diagonal, trace, tensordot, diff, meshgrid; and integer helpers (no
gradient): triu_indices, tril_indices, isin, searchsorted."""
from __future__ import annotations

import numpy as np

from .. import autograd as _engine, backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeNotImplemented, ShapeError
from ..tensor import Tensor
from ._util import check_dim, is_int, share_storage, refuse_complex
from .product_dtypes import check_tensordot


def hstack(tensors) -> Tensor:
    """Join along dim 1 (dim 0 for 1-D tensors; 0-d ones count as 1-D), as torch.hstack."""
    from .shape import concatenate
    tensors = [t.reshape(1) if t.ndim == 0 else t for t in tensors]
    return concatenate(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Join along dim 0, 1-D tensors first made rows (1, n), as torch.vstack."""
    from .shape import concatenate
    return concatenate([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


class Diagonal(Function):
    """The (d1, d2) diagonal as the last dim, a view sharing x's memory (torch's)."""
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again
    is_view = True

    def forward(self, x, shape, args):
        self.shape, self.args = shape, args
        return backend.diagonal_view(x, *args)

    def backward(self, g):  # zeros with g on the diagonal
        gx = backend.get_array_module(g).zeros(self.shape, dtype=g.dtype)
        backend.diagonal_view(gx, *self.args)[...] = g
        return (gx,)

    def backward_graph(self, g):
        zeros = Tensor._make(backend.get_array_module(g.data).zeros(self.shape, dtype=g.dtype), None)
        return (DiagonalScatter.apply(zeros, g, args=self.args),)


class DiagonalScatter(Function):
    """``out = x`` with ``src`` on its (d1, d2) diagonal (torch.diagonal_scatter): the
    out-of-place form of a write through a diagonal view."""
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, src, args):
        self.args = args
        out = x.copy()
        backend.diagonal_view(out, *args)[...] = src
        return out

    def backward(self, g):  # d/dx: g off the diagonal; d/dsrc: g's diagonal
        gx = g.copy()
        backend.diagonal_view(gx, *self.args)[...] = 0
        return gx, backend.diagonal_view(g, *self.args).copy()

    def backward_graph(self, g):
        x, src = self.inputs
        zeros = Tensor._make(backend.get_array_module(g.data).zeros(src.shape, dtype=g.dtype), None)
        return DiagonalScatter.apply(g, zeros, args=self.args), Diagonal.apply(g, shape=g.shape, args=self.args)


class _DiagonalOf:
    """How an in-place change of a diagonal view is recorded on its base (the ``_view_of``
    index of :mod:`minitf.ops.inplace`): base = diagonal_scatter(base, new), then the view
    read again."""
    __slots__ = ("args",)

    def __init__(self, args):
        self.args = args

    def write(self, base: Tensor, new: Tensor, op_name: str) -> None:
        from .. import autograd
        from .inplace import _check_writable, _needs_graph, _record
        _check_writable(base, op_name)
        if _needs_graph(base, new):
            _record(base, new, op_name, lambda a, b: DiagonalScatter.apply(a, b, args=self.args))
        else:
            backend.diagonal_view(base.data, *self.args)[...] = new.data
            autograd.bump_version(base)

    def read(self, base: Tensor) -> Tensor:
        return _diagonal_view(base, self.args)


def _diagonal_view(x: Tensor, args) -> Tensor:
    out = share_storage(Diagonal.apply(x, shape=x.shape, args=args), x)
    if getattr(out, "_base", None) is not None:
        out._view_of = (x, _DiagonalOf(args))  # an in-place change of it is recorded on x
    return out


def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (dim1, dim2) planes, as the last dim (torch.diagonal); ``offset``
    > 0 above the main diagonal. x: (..., n, m, ...) -> (..., k). A view, as torch's: it
    shares x's memory and version counter, and a write into it (``x.diagonal().fill_(1)``)
    changes x, recorded for autograd. Differentiable."""
    d1, d2 = check_dim("diagonal", dim1, x.ndim), check_dim("diagonal", dim2, x.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 cannot be the same dim ({dim1})")
    return _diagonal_view(x, (int(offset), d1, d2))


def trace(x: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor, as torch.trace."""
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, got a tensor of shape {x.shape}")
    if x.dtype.kind == "b":
        raise DtypeNotImplemented("trace: not implemented for bool tensors (as torch)")
    return diagonal(x).sum()


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Sum over the last ``dims`` dims of ``a`` and the first of ``b`` (an int), or over the
    pairs ``dims = (dims_a, dims_b)``, as torch.tensordot. Differentiable (a matmul)."""
    from .arithmetic import matmul
    check_tensordot(a, b)
    if isinstance(dims, int):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da = [check_dim("tensordot", d, a.ndim) for d in da]
    db = [check_dim("tensordot", d, b.ndim) for d in db]
    if len(da) != len(db) or any(a.shape[i] != b.shape[j] for i, j in zip(da, db)):
        raise RuntimeError(f"tensordot: contracted dims {da} of {a.shape} and {db} of {b.shape} do not match")
    free_a = [i for i in range(a.ndim) if i not in da]
    free_b = [j for j in range(b.ndim) if j not in db]
    k = int(np.prod([a.shape[i] for i in da]))
    am = a.permute(free_a + da).reshape(-1, k)
    bm = b.permute(db + free_b).reshape(k, -1)
    return matmul(am, bm).reshape(tuple(a.shape[i] for i in free_a) + tuple(b.shape[j] for j in free_b))


def diff(x: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``prepend``/``append`` joined first), as
    torch.diff; of a bool tensor, the xor of neighbours (torch's); ``n=0``: x itself, nothing
    joined (torch's). Differentiable."""
    from .layout import narrow
    from .shape import concatenate
    if x.ndim == 0:
        raise ShapeError("diff expects input to be at least one-dimensional (a 0-d tensor)")
    d = check_dim("diff", dim, x.ndim)
    if not is_int(n):
        raise TypeError(f"diff(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:   # (a negative n ran no step: x itself, where torch refuses)
        raise ArgumentError(f"diff: order n must be non-negative, got {n}")
    if n == 0:
        return x
    parts = [t for t in (prepend, x, append) if t is not None]
    y = concatenate(parts, d) if len(parts) > 1 else x
    for _ in range(n):
        m = y.shape[d]
        if m == 0:
            break
        hi, lo = narrow(y, d, 1, m - 1), narrow(y, d, 0, m - 1)
        y = (hi != lo) if y.dtype.kind == "b" else hi - lo
    return y


def meshgrid(*tensors, indexing: str = "ij"):
    """Coordinate grids from 1-D tensors, as torch.meshgrid (``indexing`` "ij", torch's
    default, or "xy"). A tuple of expanded (read-only) views; differentiable."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = list(tensors)
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.numel() for t in ts)
    out = [t.reshape((1,) * i + (-1,) + (1,) * (len(ts) - i - 1)).expand(shape) for i, t in enumerate(ts)]
    if swap:  # "xy" is "ij" of the first two swapped, the first two outputs swapped back
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def _tri_indices(name, fn, row, col, offset, dtype, device):
    from ..creation import tensor
    for what, n in (("row", row), ("col", col)):
        if n < 0:
            raise ArgumentError(f"{name}: {what} must be non-negative, got {n}")
    r, c = fn(row, offset, col)
    return tensor(np.stack([r, c]).astype(np.int64), dtype=dtype or "int64", device=device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device="cpu") -> Tensor:
    """The (2, N) row and column indices of the upper triangle of a row x col matrix, as torch."""
    return _tri_indices("triu_indices", np.triu_indices, row, col, offset, dtype, device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device="cpu") -> Tensor:
    """The (2, N) row and column indices of the lower triangle of a row x col matrix, as torch."""
    return _tri_indices("tril_indices", np.tril_indices, row, col, offset, dtype, device)


def isin(elements, test_elements, *, invert: bool = False) -> Tensor:
    """Whether each element is among ``test_elements`` (bool, elements' shape), as torch.isin.
    Two tensors on different devices: a DeviceError, as torch's."""
    from ._util import as_tensor, check_same_device
    e = elements if isinstance(elements, Tensor) else as_tensor(elements, test_elements)
    t = test_elements if isinstance(test_elements, Tensor) else as_tensor(test_elements, e)
    check_same_device("isin", [e, t])
    if _engine._hooks:   # (torch's isin sorts: no complex)
        refuse_complex("isin", e, t)
    xp = backend.get_array_module(e.data)
    return Tensor._make(xp.isin(e.data, t.data, invert=invert), None)


def searchsorted(sorted_sequence: Tensor, values, *, right: bool = False, side=None, out_int32=False,
                 sorter=None) -> Tensor:
    """Where ``values`` would go in the (last-dim) sorted ``sorted_sequence`` to keep it sorted,
    as torch.searchsorted (``right``/``side="right"``: after equal entries). int64 (or int32).
    ``sorter``: int64 indices that sort an unsorted ``sorted_sequence`` along its last dim
    (argsort's), of its shape, as torch's."""
    from ._util import as_tensor
    if sorter is not None:
        from .binning import apply_sorter
        sorted_sequence = apply_sorter(sorted_sequence, sorter)
    v = values if isinstance(values, Tensor) else as_tensor(values, sorted_sequence)
    if side not in (None, "left", "right"):
        raise ArgumentError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if right and side == "left":
        raise ArgumentError("searchsorted: side and right can't be set to opposites, got side='left' "
                            "while right=True")
    which = "right" if right or side == "right" else "left"
    if _engine._hooks:
        refuse_complex("searchsorted", sorted_sequence, v)
    xp = backend.get_array_module(sorted_sequence.data)
    s = sorted_sequence.data
    if s.ndim > 1 and s.shape[:-1] != v.shape[:-1]:
        raise RuntimeError(f"searchsorted: boundaries {s.shape} and values {v.shape} differ outside the last dim")
    from .binning import sorted_search
    out = sorted_search(xp, s, v.data, which)
    return Tensor._make(out.astype(np.int32 if out_int32 else np.int64), None)
