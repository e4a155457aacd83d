"""Matrices built from vectors, under torch's names: diag_embed, diagflat, vander; and
unravel_index (flat indices to coordinates). The first three are differentiable (a diagonal
scatter, a diag, a running product); unravel_index gives integers outside the graph.
"""
from __future__ import annotations

import operator

from .. import backend
from ..errors import ArgumentError, DtypeError, ShapeError
from ..tensor import Tensor
from ._util import check_dim, is_int


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices with the last dim of ``input`` on their diagonal ``offset`` in the plane
    (dim1, dim2), zeros elsewhere, as torch.diag_embed: input (..., n) -> (..., m, ..., m, ...)
    with m = n + |offset| (dim1, dim2 index the output, ndim + 1 dims). The gradient is the
    diagonal of the output's gradient."""
    from .embed import diagonal_scatter
    if not is_int(offset):
        raise TypeError(f"diag_embed(): argument 'offset' must be int, not {type(offset).__name__}")
    if input.ndim == 0:
        raise ShapeError("diag_embed: the input must have at least 1 dimension (its last is the diagonal)")
    nd = input.ndim + 1
    d1, d2 = check_dim("diag_embed", dim1, nd), check_dim("diag_embed", dim2, nd)
    if d1 == d2:
        raise ArgumentError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
    m = input.shape[-1] + abs(int(offset))
    batch = list(input.shape[:-1])
    shape = []
    for i in range(nd):   # the batch dims in order, m at dim1 and dim2
        shape.append(m if i in (d1, d2) else batch.pop(0))
    base = input.new_zeros(tuple(shape))
    return diagonal_scatter(base, input, int(offset), d1, d2)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened ``input`` on diagonal ``offset`` of a square matrix, as torch.diagflat:
    input (any shape, n elements) -> (n + |offset|, n + |offset|)."""
    from .layout import diag
    return diag(input.reshape(-1), offset)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of the 1-D ``x``, as torch.vander: x (n,) -> (n, N) (N = n by
    default), column j holding x ** (N - 1 - j) (``increasing``: x ** j). Integer and bool
    inputs give int64. Differentiable: a running product of x, so x = 0 is no special case
    (torch 2.13's own vander backward fails with an in-place error, so no torch gradient is
    there to compare with)."""
    from .cumulative import cumprod
    from .joining import cat
    if not isinstance(x, Tensor):
        raise TypeError(f"vander(): argument 'x' must be Tensor, not {type(x).__name__}")
    if x.ndim != 1:
        raise ShapeError("vander: x must be a one-dimensional tensor.")
    if N is None:
        N = x.shape[0]
    if not is_int(N):
        raise TypeError(f"vander(): argument 'N' must be int, not {type(N).__name__}")
    if N < 0:
        raise ArgumentError("vander: N must be non-negative.")
    if x.dtype.kind in "biu":
        x = x.to(dtype="int64")
    col = x.reshape(-1, 1)
    if N == 0:
        out = col[:, :0]
    else:
        ones = x.new_ones((x.shape[0], 1))
        out = cumprod(cat([ones, col.expand(x.shape[0], N - 1)], 1), 1) if N > 1 else ones
    return out if increasing else out.flip(1)


def unravel_index(indices: Tensor, shape):
    """The coordinates in a tensor of ``shape`` of each flat (row-major) index, as
    torch.unravel_index: a tuple of len(shape) int64 tensors of ``indices``' shape. Indices
    wrap modulo the number of elements, negative ones from the end, as torch's (no range
    check there either)."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"unravel_index(): expected 'indices' to be a Tensor, got {type(indices).__name__}")
    if indices.dtype.kind not in "iu":
        raise DtypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    dims = (shape,) if is_int(shape) else tuple(shape)
    try:
        dims = tuple(operator.index(n) for n in dims)
    except TypeError:
        raise TypeError(f"unravel_index(): expected 'shape' to be int or sequence of ints, got {shape!r}") from None
    if any(n < 0 for n in dims):
        raise ArgumentError(f"'shape' cannot have negative values, but got {tuple(dims)}")
    if 0 in dims:
        raise ArgumentError(f"unravel_index: 'shape' {tuple(dims)} has no elements to index")
    xp = backend.get_array_module(indices.data)
    flat = indices.data.astype("int64")
    out, step = [], 1
    for n in reversed(dims):   # a loop over the (few) dims, not over data
        out.append(Tensor._make((flat // step) % n, None))
        step *= n
    return tuple(reversed(out))


__all__ = ["diag_embed", "diagflat", "vander", "unravel_index"]
