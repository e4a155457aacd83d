"""torch.linalg's error-returning and tensor-shaped variants: solve_ex, inv_ex, cholesky_ex (with
their ``info`` tensors), cond, tensorinv, tensorsolve, vander.

The ``_ex`` functions never raise for a singular (or not positive-definite) matrix unless
``check_errors=True``; they return ``info`` (...) int32, 0 where the matrix was fine, else
LAPACK's number (getrf's first zero pivot, 1-based, from :mod:`.lu`; potrf's order of the first
leading minor that is not positive-definite). Where info != 0 torch leaves whatever LAPACK
computed (inf/NaN or a partial factor); minitf gives NaN there, and the other matrices of the
batch their exact results, differentiable as :func:`~.inverse.inv` / :func:`~.inverse.solve` /
:func:`~.decompositions.cholesky` (the failing ones get zero gradients).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..errors import ArgumentError, DtypeError, LinAlgError, ShapeError
from ..tensor import Tensor
from ._common import check_matrix, const, eye, first_failure
from .decompositions import _Pair


class _InvEx(_Pair):
    names = ("inverse", "info")


class _SolveEx(_Pair):
    names = ("result", "info")


class _CholeskyEx(_Pair):
    names = ("L", "info")


def _getrf_info(A: Tensor):
    from .lu import _lu_array
    return _lu_array(A.data)[2]


def _masked(A: Tensor, info):
    """(A with each failing matrix replaced by I, the (..., 1, 1) mask of the failing ones)."""
    bad = const(info[..., None, None] != 0)
    return A.where(~bad, eye(A.shape[-1], A)), bad


def _nan_where(X: Tensor, bad: Tensor) -> Tensor:
    xp = backend.get_array_module(X.data)
    return X.where(~bad, const(xp.asarray(np.nan, dtype=X.dtype)))


def inv_ex(A: Tensor, *, check_errors: bool = False):
    """(inverse, info), as torch.linalg.inv_ex. A: (..., n, n) -> inverse (..., n, n) (NaN for a
    singular matrix), info (...) int32 (getrf's first zero pivot, 1-based; 0 if invertible).
    ``check_errors=True``: a singular matrix raises :class:`~minitf.errors.LinAlgError`, as inv."""
    from .inverse import inv
    check_matrix("inv_ex", A, complex_ok=True)
    info = _getrf_info(A)
    if check_errors:
        _raise_inv("linalg.inv_ex", info)
    safe, bad = _masked(A, info)
    return _InvEx((_nan_where(inv(safe), bad), const(info)))


def _raise_inv(name, info):
    failed = first_failure(info)
    if failed:
        prefix, k = failed
        raise LinAlgError(f"{name}: {prefix}The diagonal element {k} is zero, the inversion could "
                          f"not be completed because the input matrix is singular.")


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False):
    """(result, info), as torch.linalg.solve_ex: :func:`~.inverse.solve`'s X (NaN for a singular
    A) and info (...) int32 as :func:`inv_ex`'s. A: (..., n, n), B as for solve -> X of B's shape."""
    from .inverse import solve
    check_matrix("solve_ex", A, complex_ok=True)
    info = _getrf_info(A)
    if check_errors:
        flat = backend.to_numpy(info).reshape(-1)
        if np.flatnonzero(flat).size:
            raise LinAlgError("torch.linalg.solve_ex: The solver failed because the input matrix is singular.")
    safe, bad = _masked(A, info)
    X = solve(safe, B, left=left)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])   # solve's rule
    return _SolveEx((_nan_where(X, bad[..., 0] if vector else bad), const(info)))


def _potrf_info(a):
    """potrf's info for each matrix of a (..., n, n): found on the host where the whole-batch
    factorisation failed (the error path only)."""
    host = backend.to_numpy(a)
    flat = host.reshape((-1,) + host.shape[-2:])
    out = np.zeros(flat.shape[0], dtype=np.int32)
    for b, m in enumerate(flat):
        for k in range(1, m.shape[-1] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                out[b] = k
                break
    xp = backend.get_array_module(a)
    return xp.asarray(out.reshape(host.shape[:-2]))


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False):
    """(L, info), as torch.linalg.cholesky_ex: :func:`~.decompositions.cholesky`'s factor (NaN for
    a matrix that is not positive-definite) and info (...) int32: 0, or the order of its first
    leading minor that is not positive-definite. A: (..., n, n) -> L (..., n, n), info (...)."""
    from .decompositions import cholesky
    check_matrix("cholesky_ex", A, complex_ok=True)
    xp = backend.get_array_module(A.data)
    try:
        backend.linalg_op("cholesky", A.data, checked=True)
        info = xp.zeros(A.shape[:-2], dtype=np.int32)
    except np.linalg.LinAlgError:
        info = _potrf_info(A.data)
    if check_errors:
        cholesky(A, upper=upper)   # raises torch's message
    safe, bad = _masked(A, info)
    return _CholeskyEx((_nan_where(cholesky(safe, upper=upper), bad), const(info)))


_COND_NORMS = (None, 2, -2, "fro", "nuc", math.inf, -math.inf, 1, -1)


def cond(A: Tensor, p=None) -> Tensor:
    """The condition number of each matrix in the norm ``p``, as torch.linalg.cond:
    p = None or 2: s_max / s_min (any (..., m, n)), -2: s_min / s_max, and for square A
    'fro', 'nuc', inf, -inf, 1, -1: ||A||_p ||A^-1||_p (inf where A is singular, as torch).
    A: (..., m, n) -> (...). Differentiable (through svdvals, or matrix_norm and inv)."""
    from .decompositions import svdvals
    from .inverse import inv
    from .norms import matrix_norm
    if p not in _COND_NORMS or isinstance(p, bool):
        raise ArgumentError(f"linalg.cond got an invalid norm type: {p}")
    if p in (None, 2, -2):
        check_matrix("cond", A, square=False, complex_ok=True)
        s = svdvals(A)
        hi, lo = s[..., 0], s[..., -1]
        return lo / hi if p == -2 else hi / lo
    check_matrix(f"cond(ord={p})", A, complex_ok=True)
    info = _getrf_info(A)
    safe, bad = _masked(A, info)
    value = matrix_norm(A, p) * matrix_norm(inv(safe), p)
    xp = backend.get_array_module(A.data)
    return value.where(~bad[..., 0, 0], const(xp.asarray(np.inf, dtype=value.dtype)))   # (real for complex A)


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of A as a map from its last dims to its first ``ind`` dims, as
    torch.linalg.tensorinv: prod(A.shape[:ind]) must equal prod(A.shape[ind:]).
    A: (*I, *J) -> (*J, *I). Differentiable (through inv)."""
    from .inverse import inv
    if not isinstance(ind, int) or ind <= 0:
        raise ArgumentError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    front, back = A.shape[:ind], A.shape[ind:]
    if math.prod(front) != math.prod(back):
        raise ShapeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                         f"prod(self.shape[:ind]), but got {math.prod(back)} != {math.prod(front)}")
    return inv(A.reshape(math.prod(front), math.prod(back))).reshape(back + front)


def tensorsolve(A: Tensor, B: Tensor, dims=None) -> Tensor:
    """The X with tensordot(A, X, X.ndim) = B, as torch.linalg.tensorsolve (``dims``: A's dims moved
    to the end first). A: (*B.shape, *X.shape), B -> X (A.shape[B.ndim:]). Differentiable."""
    from .inverse import solve
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        rest = [d for d in range(A.ndim) if d not in dims]
        A = A.permute(*(rest + dims))
    out_shape = A.shape[B.ndim:]
    if A.shape[:B.ndim] != B.shape or math.prod(B.shape) != math.prod(out_shape):
        raise ShapeError(f"Expected self to satisfy the requirement prod(result.shape) == prod(other.shape) "
                         f"with A of shape {A.shape} and B of shape {B.shape}")
    return solve(A.reshape(math.prod(B.shape), math.prod(out_shape)), B.reshape(-1)).reshape(out_shape)


def vander(x: Tensor, *, N=None) -> Tensor:
    """The Vandermonde matrix of increasing powers, as torch.linalg.vander: x (..., n) ->
    (..., n, N), column j = x^j (N defaults to n; N > 1, as torch). Differentiable (products of x)."""
    N = (x.shape[-1] if x.ndim else 1) if N is None else N
    if N <= 1:
        raise ArgumentError("N must be greater than 1.")
    return _powers(x, N)


def _powers(x: Tensor, N: int) -> Tensor:
    """x (..., n) -> (..., n, N): x^0 ... x^(N-1) (N >= 0)."""
    from ..ops import cat
    if x.ndim < 1:
        raise ShapeError("vander: x must have at least 1 dimension.")
    ones = x.unsqueeze(-1) * 0 + 1
    cols = [ones]
    for _ in range(1, N):   # N columns of one product each: N - 1 multiplications, no x^j / x
        cols.append(cols[-1] * x.unsqueeze(-1))
    return cat(cols[:N], dim=-1) if N else ones[..., :0]





def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T with v_i column i of A below
    the diagonal and 1 on it (the Q of a geqrf factorisation), as torch.linalg.householder_product.
    A: (..., m, n), m >= n; tau: (..., k), k <= n -> (..., m, n). Built from minitf ops, so
    differentiable in A and tau (one rank-1 update per reflector, applied right to left). Complex
    A and tau: H_i = I - tau_i v_i v_i^H, as torch."""
    check_matrix("householder_product", A, square=False, complex_ok=True)
    m, n = A.shape[-2:]
    if m < n:
        raise ShapeError("torch.linalg.householder_product: input.shape[-2] must be greater than or equal to "
                         "input.shape[-1]")
    if tau.ndim < 1 or tau.shape[-1] > n:
        raise ShapeError("torch.linalg.householder_product: input.shape[-1] must be greater than or equal to "
                         "tau.shape[-1]")
    if tau.dtype != A.dtype:
        raise DtypeError(f"torch.linalg.householder_product: tau dtype {tau.dtype} does not match input dtype "
                         f"{A.dtype}")
    if tau.shape[:-1] != A.shape[:-2]:
        raise ShapeError(f"torch.linalg.householder_product: Expected batch dimensions of tau to be equal to "
                         f"input.shape[:-2], but got {tau.shape[:-1]}")
    xp = backend.get_array_module(A.data)
    rows = xp.arange(m)
    Q = A[..., :, :n] * 0 + eye(m, A)[:, :n]
    for i in reversed(range(tau.shape[-1])):
        below = const((rows > i).astype(A.dtype))
        v = A[..., :, i] * below + const((rows == i).astype(A.dtype))      # (..., m)
        w = (v.conj().unsqueeze(-1) * Q).sum(-2)                            # v^H Q: (..., n)
        Q = Q - tau[..., i, None, None] * v.unsqueeze(-1) * w.unsqueeze(-2)
    return Q
__all__ = ["inv_ex", "solve_ex", "cholesky_ex", "cond", "tensorinv", "tensorsolve", "vander", "householder_product"]
