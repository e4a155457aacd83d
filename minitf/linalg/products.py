"""torch.linalg's products: cross, vecdot, multi_dot, and its ``diagonal``: compositions of
minitf ops (roll, mul, sum, matmul, diagonal), whose gradients they take."""
from __future__ import annotations

import warnings

import numpy as np

from ..errors import ShapeError
from ..ops import check_dim
from ..tensor import Tensor


def cross(a: Tensor, b: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim``, as torch.linalg.cross: c = a x b,
    c_i = a_{i+1} b_{i+2} - a_{i+2} b_{i+1} (indices mod 3). a, b: broadcastable, of one number of
    dims, size 3 at ``dim`` -> their broadcast shape."""
    if a.ndim != b.ndim:
        raise ShapeError("linalg.cross: inputs must have the same number of dimensions.")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"linalg.cross: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
    d = check_dim("linalg.cross", dim, len(shape))
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise ShapeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[d]} and {b.shape[d]}")
    if a.dtype != b.dtype:
        a, b = (t.to(dtype=np.result_type(a.dtype, b.dtype)) for t in (a, b))
    a, b = a.expand(shape), b.expand(shape)
    return a.roll(-1, d) * b.roll(-2, d) - a.roll(-2, d) * b.roll(-1, d)


def torch_cross(input: Tensor, other: Tensor, dim=None) -> Tensor:
    """torch.cross: :func:`cross` along ``dim``; without it, along the first dim of size 3
    (torch's deprecated default, with its warning)."""
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated. Please either pass the dim "
                      "explicitly or simply use torch.linalg.cross.", UserWarning, stacklevel=2)
        shape = np.broadcast_shapes(input.shape, other.shape)
        dim = next((i for i, n in enumerate(shape) if n == 3), -1)
    return cross(input, other, dim=dim)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of vectors along ``dim``, as torch.linalg.vecdot (real inputs):
    sum(x * y, dim). x, y: broadcastable -> their broadcast shape without ``dim``."""
    return (x * y).sum(dim)


def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices, as torch.linalg.multi_dot: the first may be a 1-D
    row vector and the last a 1-D column vector (their dim is dropped from the result). The
    products are taken left to right (torch picks the cheapest order; the value is the same up
    to rounding). tensors: [(a?, n0), (n0, n1), ..., (n_{k-1}, b?)] -> (a?, b?)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise ShapeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        ok = t.ndim == 2 or (t.ndim == 1 and i in (0, len(tensors) - 1))
        if not ok:
            where = "first and last" if t.ndim == 1 else "all"
            raise ShapeError(f"multi_dot(): tensor {i} must be 2D (1D allowed for the {where} tensors) but got "
                             f"{t.ndim}D")
    out = tensors[0]
    for t in tensors[1:]:
        out = out @ t
    return out


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """torch.linalg.diagonal: :func:`minitf.diagonal` with the last two dims as default.
    A: (..., n, m) -> (..., k). A view."""
    from ..ops.more_shapes import diagonal as _diagonal
    return _diagonal(A, offset, dim1, dim2)
