"""LU with partial pivoting, as torch.linalg's lu_factor / lu_factor_ex / lu / lu_unpack / lu_solve.

NumPy and CuPy have no LU of their own in ``xp.linalg``, so the factorisation is written here:
the right-looking elimination of LAPACK's getf2 on the whole batch at once, one step a column
(k = min(m, n) steps; the batch is never looped over): pick the largest |entry| of the column
on or below the diagonal (the first on ties, as LAPACK's idamax), swap it up, store the
multipliers, update the trailing block. A zero pivot column is skipped as LAPACK skips it, and
``info`` records the first such step (1-based), as getrf's. Pivots are 1-based int32, torch's
convention: row i was swapped with row pivots[i] - 1 at step i. A = P L U.

Gradient (square A, as torch's for m = n), with L unit lower and U upper triangular and
G_L, G_U the gradients of their free parts:

    G_A = P L^-T (tril_-1(L^T G_L) + triu(G_U U^T)) U^-T

written in minitf ops (differentiable again). Rectangular A (torch differentiates it too, for
full-rank A), k = min(m, n):

* wide (m < n), U = [U1 U2] with U1 (m, m): X = tril_-1(L^T G_L - G_U U^T) U1^-T, then
  G_A = P L^-T [X + triu(G_U1), G_U2];
* tall (m > n), L = [L1; L2] with L1 (n, n): Y = L1^-T triu(G_U U^T - L^T G_L), then
  G_A = P [Y + tril_-1(G_L1); G_L2] U^-T.

Both reduce to the square formula at m = n (the free parts of G_U U^T and L^T G_L split
between the triangles). Complex A: the pivot is the largest |Re| + |Im| (LAPACK's izamax, so
torch's pivots), and the gradients take ^H for ^T (torch's conjugate Wirtinger derivative).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, LinAlgError, ShapeError
from ..tensor import Tensor
from ._common import check_matrix, const, eye, first_failure


def _lu_array(a):
    """(LU, pivots int32 (..., k), info int32 (...)) of a float or complex array (..., m, n)."""
    xp = backend.get_array_module(a)
    LU = a.copy()
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    piv = xp.zeros(batch + (k,), dtype=np.int32)
    info = xp.zeros(batch, dtype=np.int32)
    rows = xp.arange(m)
    for j in range(k):
        col = LU[..., j:, j]
        size = xp.abs(col.real) + xp.abs(col.imag) if col.dtype.kind == "c" else xp.abs(col)   # (LAPACK's)
        p = xp.argmax(size, axis=-1) + j                                    # (...)
        piv[..., j] = (p + 1).astype(np.int32)
        idx = xp.broadcast_to(p[..., None, None], batch + (1, n))
        row_p = xp.take_along_axis(LU, idx, axis=-2)                        # (..., 1, n)
        row_j = LU[..., j:j + 1, :].copy()
        LU = xp.where((rows == p[..., None])[..., None], row_j, LU)          # row p <- row j
        LU[..., j:j + 1, :] = row_p                                         # row j <- row p
        pivot = LU[..., j, j]
        zero = pivot == 0
        info = xp.where((info == 0) & zero, j + 1, info).astype(np.int32)
        mult = LU[..., j + 1:, j] / xp.where(zero, 1, pivot)[..., None]
        LU[..., j + 1:, j] = mult
        LU[..., j + 1:, j + 1:] -= mult[..., :, None] * LU[..., j:j + 1, j + 1:]
    return LU, piv, info


def _permutation(pivots, m: int, dtype):
    """P (..., m, m) with A = P L U from 1-based pivots (..., k) (the swaps applied in order)."""
    xp = backend.get_array_module(pivots)
    batch = pivots.shape[:-1]
    perm = xp.broadcast_to(xp.arange(m), batch + (m,)).copy()
    cols = xp.arange(m)
    for i in range(pivots.shape[-1]):
        j = pivots[..., i].astype(np.int64) - 1
        vi = perm[..., i].copy()
        vj = xp.take_along_axis(perm, j[..., None], axis=-1)[..., 0]
        perm = xp.where(cols == j[..., None], vi[..., None], perm)
        perm[..., i] = vj
    # row i of L U is row perm[i] of A: P^T = I[perm], so P[perm[i], i] = 1
    return xp.swapaxes(xp.eye(m, dtype=dtype)[perm], -1, -2)


def _unpack(LU: Tensor):
    m, n = LU.shape[-2:]
    k = min(m, n)
    L = LU[..., :, :k].tril(-1) + eye(m, LU)[:, :k]
    U = LU[..., :k, :].triu()
    return L, U


class LinalgLUFactor(Function):
    """(LU, pivots, info) of A; G_A = P L^-T (tril_-1(L^T G_L) + triu(G_U U^T)) U^-T (square A;
    ^H for ^T where A is complex)."""

    takes_complex = True

    @staticmethod
    def forward(ctx, A):
        ctx.set_materialize_grads(False)
        LU, piv, info = _lu_array(A.data)
        LU, piv, info = const(LU), const(piv), const(info)
        ctx.save_for_backward(LU, piv)
        return LU, piv, info

    @staticmethod
    def backward(ctx, G, g_piv=None, g_info=None):
        from .inverse import solve, solve_triangular
        from ..ops import cat
        LU, piv = ctx.saved_tensors
        if G is None:
            return None
        m, n = LU.shape[-2:]
        L, U = _unpack(LU)
        P = const(_permutation(piv.data, m, LU.dtype))
        if m == n:
            inner = (L.mH @ G.tril(-1)).tril(-1) + (G.triu() @ U.mH).triu()
            return P @ solve(U, solve(L.mH, inner).mH).mH                # P L^-T inner U^-T
        GL, GU = G[..., :, :min(m, n)].tril(-1), G[..., :min(m, n), :].triu()   # the free parts
        if m < n:   # wide: L (m, m), U = [U1 U2]
            X = solve_triangular(U[..., :, :m].mH, (L.mH @ GL - GU @ U.mH).tril(-1), upper=False, left=False)
            X = cat([X + GU[..., :, :m], GU[..., :, m:]], dim=-1)
            return P @ solve_triangular(L.mH, X, upper=True, unitriangular=True)
        # tall: L = [L1; L2], U (n, n)
        Y = solve_triangular(L[..., :n, :].mH, (GU @ U.mH - L.mH @ GL).triu(), upper=True, unitriangular=True)
        Y = cat([Y + GL[..., :n, :], GL[..., n:, :]], dim=-2)
        return P @ solve_triangular(U.mH, Y, upper=False, left=False)


def _check_pivot(name: str, pivot) -> None:
    if not pivot:   # torch's CPU has none either (its CUDA one does)
        raise ArgumentError(f"linalg.{name}: LU without pivoting is not implemented on the CPU")


def _raise_singular(name: str, info) -> None:
    failed = first_failure(info)
    if failed:
        prefix, k = failed
        raise LinAlgError(f"torch.linalg.{name}: {prefix}U[{k},{k}] is zero and using it on lu_solve would result "
                          f"in a division by zero. If you still want to perform the factorization, consider calling "
                          f"linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


class _LUFactorEx(tuple):
    LU = property(lambda self: self[0])
    pivots = property(lambda self: self[1])
    info = property(lambda self: self[2])


class _LUFactor(tuple):
    LU = property(lambda self: self[0])
    pivots = property(lambda self: self[1])


class _LU(tuple):
    P = property(lambda self: self[0])
    L = property(lambda self: self[1])
    U = property(lambda self: self[2])


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False):
    """(LU, pivots, info), as torch.linalg.lu_factor_ex: L (unit diagonal, not stored) and U packed
    in one matrix, 1-based int32 pivots, and info (...) int32: 0, or the first i with U[i, i] = 0
    (1-based, as getrf's). A: (..., m, n) -> LU (..., m, n), pivots (..., min(m, n)), info (...).
    ``check_errors``: a singular A raises :class:`~minitf.errors.LinAlgError` (one host read)."""
    check_matrix("lu_factor_ex", A, square=False, complex_ok=True)
    _check_pivot("lu_factor_ex", pivot)
    LU, piv, info = LinalgLUFactor.apply(A)
    if check_errors:
        _raise_singular("lu_factor_ex", info.data)
    return _LUFactorEx((LU, piv, info))


def lu_factor(A: Tensor, *, pivot: bool = True):
    """(LU, pivots) of A, as torch.linalg.lu_factor: :func:`lu_factor_ex` that raises
    :class:`~minitf.errors.LinAlgError` where U has a zero on its diagonal (torch's message).
    A: (..., m, n) -> LU (..., m, n), pivots (..., min(m, n)) int32 (1-based). Differentiable
    (the gradient in the module docstring; for rectangular A where it has full rank, as torch's)."""
    check_matrix("lu_factor", A, square=False, complex_ok=True)
    _check_pivot("lu_factor", pivot)
    LU, piv, info = LinalgLUFactor.apply(A)
    _raise_singular("lu_factor", info.data)
    return _LUFactor((LU, piv))


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True):
    """(P, L, U) from lu_factor's packed form, as torch.lu_unpack: A = P L U. LU_data (..., m, n),
    LU_pivots (..., min(m, n)) int32 -> P (..., m, m), L (..., m, k), U (..., k, n) (an empty
    tensor for a part not asked for). L and U are differentiable in LU_data (its triangles)."""
    check_matrix("lu_unpack", LU_data, square=False, what="LU_data", complex_ok=True)
    if not isinstance(LU_pivots, Tensor) or LU_pivots.dtype != np.int32:
        raise ArgumentError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype.")
    m, n = LU_data.shape[-2:]
    if LU_pivots.shape != LU_data.shape[:-2] + (min(m, n),):
        raise ShapeError(f"torch.lu_unpack: LU_pivots of shape {LU_pivots.shape} does not match LU_data of shape "
                         f"{LU_data.shape}")
    xp = backend.get_array_module(LU_data.data)
    empty = const(xp.zeros((0,), dtype=LU_data.dtype))
    L, U = _unpack(LU_data) if unpack_data else (empty, empty)
    P = const(_permutation(LU_pivots.data, m, LU_data.dtype)) if unpack_pivots else empty
    return _LU((P, L, U))


def lu(A: Tensor, *, pivot: bool = True):
    """(P, L, U) with A = P L U, as torch.linalg.lu: P (..., m, m), L (..., m, k) unit lower,
    U (..., k, n) upper, k = min(m, n). A singular A is fine (U has a zero on its diagonal).
    Differentiable (rectangular A too, where it has full rank)."""
    check_matrix("lu", A, square=False, complex_ok=True)
    _check_pivot("lu", pivot)
    LU, piv, _ = LinalgLUFactor.apply(A)
    return lu_unpack(LU, piv)


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False) -> Tensor:
    """The X with A X = B from A's LU factorisation, as torch.linalg.lu_solve (``adjoint``: A^H X = B;
    ``left=False``: X A = B). LU (..., n, n), pivots (..., n) int32, B (..., n, k) (``left=False``:
    (..., k, n)) -> X of B's shape, batch dims broadcast. Differentiable in LU and B (through the
    triangular solves)."""
    from .inverse import solve_triangular
    check_matrix("lu_solve", LU, what="LU", complex_ok=True)
    check_matrix("lu_solve", B, square=False, what="B", complex_ok=True)
    if not left:   # X A = B  <=>  A^H X^H = B^H (and X A^H = B <=> A X^H = B^H); ^T for real ones
        return lu_solve(LU, pivots, B.mH, left=True, adjoint=not adjoint).mH
    n = LU.shape[-1]
    if B.shape[-2] != n:
        raise ShapeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation AX = B "
                         f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    P, L, U = lu_unpack(LU, pivots)
    if not adjoint:   # X = U^-1 L^-1 P^T B
        Y = solve_triangular(L, P.mT @ B, upper=False, unitriangular=True)
        return solve_triangular(U, Y, upper=True)
    # A^H = U^H L^H P^T:  X = P L^-H U^-H B (^T for a real A)
    Y = solve_triangular(U.mH, B, upper=False)
    return P @ solve_triangular(L.mH, Y, upper=True, unitriangular=True)


__all__ = ["lu_factor", "lu_factor_ex", "lu", "lu_unpack", "lu_solve"]
