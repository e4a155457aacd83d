"""torch's older top-level decompositions and norms, as thin wrappers over :mod:`minitf.linalg`
(the tensor gaps group): ``svd`` (returns V, not Vh), ``qr`` (``some``), ``cholesky`` (``upper``),
the randomized ``svd_lowrank`` and ``pca_lowrank``, ``frobenius_norm``, ``nuclear_norm`` and
``norm_except_dim``; ``lstsq`` and ``matrix_rank``, removed from torch's top level in 2.x, raise
torch 2.13's error pointing at torch.linalg.

torch 2.13 warns that ``qr``, ``cholesky``, ``frobenius_norm`` and ``nuclear_norm`` are deprecated
(once per process, from C++): minitf gives the same advice as a UserWarning on each call. All are
differentiable through the linalg functions they call.
"""
from __future__ import annotations

import warnings
from collections import namedtuple

from ..errors import ArgumentError
from ..tensor import Tensor
from ._common import check_matrix

SVD = namedtuple("svd", ["U", "S", "V"])
QR = namedtuple("qr", ["Q", "R"])


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"torch.{old} is deprecated in favor of torch.linalg.{new}: minitf.{old} is that call",
                  UserWarning, stacklevel=3)


def svd(input: Tensor, some: bool = True, compute_uv: bool = True):
    """(U, S, V) with input = U diag(S) V^T, as torch.svd: V, not linalg.svd's Vh. input:
    (..., m, n), k = min(m, n) -> U (..., m, k), S (..., k), V (..., n, k); ``some=False``: U
    (..., m, m), V (..., n, n). ``compute_uv=False``: S, with U and V zero-filled (..., m, m) and
    (..., n, n), as torch."""
    from .decompositions import svd as linalg_svd, svdvals
    check_matrix("svd", input, square=False)
    if not compute_uv:
        from .. import creation
        m, n = input.shape[-2:]
        lead = tuple(input.shape[:-2])
        zeros = (creation.zeros(lead + (k, k), dtype=input.dtype, device=input.device) for k in (m, n))
        U, V = zeros
        return SVD(U, svdvals(input), V)
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    return SVD(U, S, Vh.mT)


def qr(input: Tensor, some: bool = True):
    """(Q, R), as torch.qr: ``linalg.qr(input, "reduced" if some else "complete")``. input: (..., m, n)."""
    from .decompositions import qr as linalg_qr
    _deprecated("qr", "qr(A, 'reduced' if some else 'complete')")
    Q, R = linalg_qr(input, "reduced" if some else "complete")
    return QR(Q, R)


def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """The Cholesky factor of a symmetric positive-definite input, as torch.cholesky: L (lower) or,
    with ``upper``, U = L^T. input: (..., n, n) -> (..., n, n)."""
    from .decompositions import cholesky as linalg_cholesky
    _deprecated("cholesky", "cholesky (upper=True: its .mH)")
    return linalg_cholesky(input, upper=bool(upper))


def lstsq(input, A=None):
    """Removed from torch's top level in 2.x: torch 2.13's error (use :func:`minitf.linalg.lstsq`)."""
    raise RuntimeError("This function was deprecated since version 1.9 and is now removed. `torch.lstsq` is "
                       "deprecated in favor of `torch.linalg.lstsq` (mt.linalg.lstsq), which has reversed arguments: "
                       "X = mt.linalg.lstsq(A, B).solution")


def matrix_rank(input, tol=None, symmetric=False):
    """Removed from torch's top level in 2.x: torch 2.13's error (use :func:`minitf.linalg.matrix_rank`)."""
    raise RuntimeError("This function was deprecated since version 1.9 and is now removed. Please use the "
                       "`torch.linalg.matrix_rank` function instead (mt.linalg.matrix_rank). The parameter "
                       "'symmetric' was renamed in `torch.linalg.matrix_rank()` to 'hermitian'.")


def frobenius_norm(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """sqrt of the sum of squares over ``dim`` (one or two dims), as torch.frobenius_norm:
    ``linalg.vector_norm(input, 2, dim, keepdim)``."""
    from .norms import vector_norm
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) > 2:
        raise ArgumentError(f"frobenius_norm: Expected at most 2 dimensions, but got {len(dims)} dimensions instead.")
    _deprecated("frobenius_norm", "vector_norm(A, 2., dim, keepdim)")
    return vector_norm(input, 2, dims, keepdim)


def nuclear_norm(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The sum of the singular values over the two dims ``dim`` (a 2-D input's two without it), as
    torch.nuclear_norm: ``linalg.matrix_norm(input, "nuc", dim, keepdim)``. ``nuclear_norm(x, True)``
    is ``keepdim=True``, as torch's overload."""
    from .norms import matrix_norm
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    if dim is None and input.ndim != 2:
        raise ArgumentError(f"nuclear_norm: Expected a tensor with 2 dimensions, but got a tensor with "
                            f"{input.ndim} dimensions instead.")
    _deprecated("nuclear_norm", "matrix_norm(A, 'nuc', dim, keepdim)")
    return matrix_norm(input, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim)


def norm_except_dim(v: Tensor, pow=2, dim: int = 0) -> Tensor:
    """The ``pow``-norm of v over every dim but ``dim``, kept as size-1 dims (weight norm's g), as
    torch.norm_except_dim: v: (..., n, ...) -> (1, ..., n, ..., 1). ``dim=-1`` (exactly) is the
    norm of the whole of v, 0-d, as torch."""
    from .. import ops
    from .norms import vector_norm
    if dim == -1:
        return vector_norm(v, pow)
    d = ops.check_dim("norm_except_dim", dim, v.ndim)
    others = tuple(i for i in range(v.ndim) if i != d)
    return vector_norm(v, pow, others, keepdim=True) if others else ops.abs(v)


def _basis(A: Tensor, q: int, niter: int):
    """An orthonormal (..., m, q) basis of A's range: the randomized range finder with ``niter``
    power iterations (Halko, Martinsson and Tropp 2011, algorithm 4.4)."""
    from .. import creation
    from .decompositions import qr as linalg_qr
    Q = linalg_qr(A @ creation.randn(A.shape[-1], q, dtype=A.dtype, device=A.device))[0]
    for _ in range(niter):
        Q = linalg_qr(A @ linalg_qr(A.mT @ Q)[0])[0]
    return Q


def svd_lowrank(A: Tensor, q: int = 6, niter: int = 2, M=None):
    """An approximate rank-q SVD (U, S, V) of A (or A - M), as torch.svd_lowrank: randomized
    (draws from the default generator), exact when rank(A) <= q. A: (..., m, n) -> U (..., m, q),
    S (..., q), V (..., n, q), q clipped to min(m, n). Differentiable through qr and svd."""
    from .decompositions import svd as linalg_svd
    check_matrix("svd_lowrank", A, square=False)
    m, n = A.shape[-2:]
    q = min(int(q), m, n)
    if M is not None:
        A = A - M
    if m < n:   # the basis of the smaller side, as torch (A^T's SVD, U and V swapped)
        Ut, S, Vt = svd_lowrank(A.mT, q, niter)
        return SVD(Vt, S, Ut)
    Q = _basis(A, q, niter)
    B = Q.mT @ A
    U, S, Vh = linalg_svd(B, full_matrices=False)
    return SVD(Q @ U, S, Vh.mT)


def pca_lowrank(A: Tensor, q=None, center: bool = True, niter: int = 2):
    """The principal components of A's rows, as torch.pca_lowrank: (U, S, V) of the (column-mean
    centred, ``center``) A by :func:`svd_lowrank`; V's columns are the directions. A: (..., m, n),
    q (default min(6, m, n)) in [0, min(m, n)] -> U (..., m, q), S (..., q), V (..., n, q)."""
    m, n = A.shape[-2:]
    q = min(6, m, n) if q is None else q
    if isinstance(q, bool) or not isinstance(q, int) or not 0 <= q <= min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if niter < 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter)
    return svd_lowrank(A - A.mean(-2, keepdim=True), q, niter)
