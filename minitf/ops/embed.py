"""The out-of-place writes through a view, as torch names them: select_scatter, slice_scatter,
diagonal_scatter: ``input`` with ``src`` written where ``input.select(dim, index)``,
``input[start:end:step]`` along a dim, or a diagonal would read. Differentiable in both."""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from ._util import check_dim, check_same_device


class EmbedAt(Function):
    """``out = x`` with ``src`` at the basic index ``index`` (ints and slices: no element twice)."""
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's SelectScatterBackward0 / SliceScatterBackward0 keep dims and bounds only

    def forward(self, x, src, index):
        self.index = index
        out = x.copy()
        out[index] = src
        return out

    def backward(self, g):  # d/dx: g outside the index; d/dsrc: g at it
        gx = g.copy()
        gx[self.index] = 0
        return gx, g[self.index].copy()

    def backward_graph(self, g):
        from .shape import getitem
        zeros = Tensor._make(backend.get_array_module(g.data).zeros(self.inputs[1].shape, dtype=g.dtype), None)
        return EmbedAt.apply(g, zeros, index=self.index), getitem(g, self.index)


def _checked_src(name, input, src, slice_shape):
    from .casting import astype
    if not isinstance(src, Tensor):
        raise TypeError(f"{name}: src must be a Tensor, got {type(src).__name__}")
    check_same_device(name, [input, src])
    if tuple(src.shape) != tuple(slice_shape):
        raise ShapeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                         f"slice size = {list(slice_shape)}")
    return astype(src, input.dtype)   # written in input's dtype, as torch's


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """``input`` with ``src`` at ``index`` along ``dim``, as torch.select_scatter.
    input: (..., n, ...), src: input's shape without ``dim`` -> input's shape."""
    d = check_dim("select_scatter", dim, input.ndim)
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
                         f"dimension {d}")
    where = (slice(None),) * d + (int(index) % n,)
    src = _checked_src("select_scatter", input, src, input.shape[:d] + input.shape[d + 1:])
    return EmbedAt.apply(input, src, index=where)


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    """``input`` with ``src`` at ``start:end:step`` along ``dim`` (Python slice clamping), as
    torch.slice_scatter. src: the shape of that slice -> input's shape."""
    d = check_dim("slice_scatter", dim, input.ndim)
    if step <= 0:
        raise ArgumentError("slice step must be positive")
    s = slice(start, end, step)
    count = len(range(*s.indices(input.shape[d])))
    src = _checked_src("slice_scatter", input, src, input.shape[:d] + (count,) + input.shape[d + 1:])
    return EmbedAt.apply(input, src, index=(slice(None),) * d + (s,))


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """``input`` with ``src`` on the diagonal ``diagonal(input, offset, dim1, dim2)`` reads, as
    torch.diagonal_scatter. src: that diagonal's shape (..., k) -> input's shape."""
    from .more_shapes import DiagonalScatter
    d1, d2 = check_dim("diagonal_scatter", dim1, input.ndim), check_dim("diagonal_scatter", dim2, input.ndim)
    if d1 == d2:
        raise ArgumentError(f"diagonal_scatter: dim1 and dim2 cannot be the same dim ({dim1})")
    args = (int(offset), d1, d2)
    src = _checked_src("diagonal_scatter", input, src, backend.diagonal_view(input.data, *args).shape)
    return DiagonalScatter.apply(input, src, args=args)
