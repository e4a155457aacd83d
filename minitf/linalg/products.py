"""torch.linalg's products: cross, vecdot, multi_dot, and its ``diagonal``: compositions of
minitf ops (roll, mul, sum, matmul, diagonal), whose gradients they take."""
from __future__ import annotations

import warnings

import numpy as np

from ..errors import DtypeError, ShapeError
from ..ops import check_dim
from ..ops.product_dtypes import cpp_type_name
from ..tensor import Tensor


def cross(a: Tensor, b: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim``, as torch.linalg.cross: c = a x b,
    c_i = a_{i+1} b_{i+2} - a_{i+2} b_{i+1} (indices mod 3). a, b: broadcastable, of one number of
    dims, size 3 at ``dim`` -> their broadcast shape. Complex too (no conjugation, as torch)."""
    if a.ndim != b.ndim:
        raise ShapeError("linalg.cross: inputs must have the same number of dimensions.")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"linalg.cross: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
    d = check_dim("linalg.cross", dim, len(shape))
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise ShapeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[d]} and {b.shape[d]}")
    if a.dtype != b.dtype:   # (torch promotes no mix, complex with real included)
        raise DtypeError(f"linalg.cross: expected input and other of one dtype, but got {a.dtype} and {b.dtype}")
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
    """The dot product of vectors along ``dim``, as torch.linalg.vecdot: sum(conj(x) * y, dim)
    (x conjugated, as torch; sum(x * y) for real x). x, y: broadcastable -> their broadcast shape
    without ``dim``; of one dtype (torch's error otherwise)."""
    if x.dtype != y.dtype:
        raise DtypeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type {x.dtype} and "
                         f"y of type {y.dtype} instead")
    return (x.conj() * y).sum(dim)


def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices, as torch.linalg.multi_dot: the first may be a 1-D
    row vector and the last a 1-D column vector (their dim is dropped from the result). The
    products are taken in the order of fewest multiplications (the matrix-chain dynamic
    programme, as torch). tensors: [(a?, n0), (n0, n1), ..., (n_{k-1}, b?)] -> (a?, b?)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise ShapeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        end = {0: "first", len(tensors) - 1: "last"}.get(i)
        if end is not None and t.ndim not in (1, 2):
            raise ShapeError(f"multi_dot(): the {end} tensor must be 1D or 2D but got {t.ndim}D")
        if end is None and t.ndim != 2:
            raise ShapeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
        if t.dtype != tensors[0].dtype:   # (matmul would promote complex with real; torch refuses any mix)
            raise DtypeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                             f"{cpp_type_name(tensors[0].dtype)} and tensor {i} {cpp_type_name(t.dtype)}")
    first, last = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = [t.unsqueeze(0) if first and i == 0 else t for i, t in enumerate(tensors)]
    mats[-1] = mats[-1].unsqueeze(-1) if last else mats[-1]
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise ShapeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(tensors[i].shape)} and "
                             f"{list(tensors[i + 1].shape)} cannot be multiplied")
    dims = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    split = _chain_order(dims)

    def product(i, j):   # mats[i] ... mats[j], split where it costs least
        if i == j:
            return mats[i]
        k = split[i][j]
        return product(i, k) @ product(k + 1, j)

    out = product(0, len(mats) - 1)
    if first:
        out = out.squeeze(0)
    return out.squeeze(-1) if last else out


def _chain_order(dims):
    """split[i][j]: where to split the product of matrices i..j (matrix k is dims[k] x dims[k+1])
    for the fewest scalar multiplications."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j], split[i][j] = min((cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1], k)
                                          for k in range(i, j))
    return split


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """torch.linalg.diagonal: :func:`minitf.diagonal` with the last two dims as default.
    A: (..., n, m) -> (..., k). A view."""
    from ..ops.more_shapes import diagonal as _diagonal
    return _diagonal(A, offset, dim1, dim2)
