"""torch's top-level linear-algebra names that predate torch.linalg, on :mod:`minitf.linalg`:
matrix_exp, lu, lu_unpack, lu_solve, cholesky_solve, cholesky_inverse, triangular_solve (torch.vander:
minitf/ops/diag_build.py).

torch 2.13 deprecates ``torch.lu`` and ``torch.triangular_solve`` with a UserWarning (once per
process, from C++ for triangular_solve); minitf gives the same advice as a UserWarning each call
and implements the current semantics. The argument orders are torch's old ones (B first).
"""
from __future__ import annotations

import warnings

from ..tensor import Tensor
from ._common import check_matrix
from .lu import LinalgLUFactor, _raise_singular, lu_solve as _lu_solve, lu_unpack  # noqa: F401
from .matrix_exp import matrix_exp  # noqa: F401


class _Triangular(tuple):
    solution = property(lambda self: self[0])
    cloned_coefficient = property(lambda self: self[1])


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False):
    """torch.lu (deprecated in torch for linalg.lu_factor, warned here too): (LU, pivots), or
    (LU, pivots, info) with ``get_infos``; without it a singular A raises, as torch.
    A: (..., m, n) -> LU (..., m, n), pivots (..., min(m, n)) int32."""
    from .lu import _check_pivot
    warnings.warn("torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex; "
                  "minitf.lu is minitf.linalg.lu_factor(A, pivot=...) (with get_infos: lu_factor_ex)",
                  UserWarning, stacklevel=2)
    check_matrix("lu", A, square=False)
    _check_pivot("lu_factor", pivot)
    LU, piv, info = LinalgLUFactor.apply(A)
    if get_infos:
        return LU, piv, info
    _raise_singular("lu_factor", info.data)
    return LU, piv


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """torch.lu_solve(b, LU_data, LU_pivots): :func:`minitf.linalg.lu_solve` with torch's old
    argument order. b: (..., n, k) -> (..., n, k)."""
    return _lu_solve(LU_data, LU_pivots, b)


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """The X with A X = B for A = L L^T (``upper``: A = U^T U), as torch.cholesky_solve.
    B: (..., n, k), L: (..., n, n) -> (..., n, k), batch dims broadcast. Differentiable in B and L
    (two triangular solves)."""
    from .inverse import solve_triangular
    check_matrix("cholesky_solve", L, what="L")
    check_matrix("cholesky_solve", B, square=False, what="B")
    if upper:
        Y = solve_triangular(L.mT, B, upper=False)
        return solve_triangular(L, Y, upper=True)
    Y = solve_triangular(L, B, upper=False)
    return solve_triangular(L.mT, Y, upper=True)


def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """(L L^T)^-1 from a Cholesky factor (``upper``: (U^T U)^-1), as torch.cholesky_inverse.
    L: (..., n, n) -> (..., n, n). Differentiable."""
    from ._common import eye
    check_matrix("cholesky_inverse", L, what="L")
    return cholesky_solve(eye(L.shape[-1], L) + L * 0, L, upper)


def triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False):
    """torch.triangular_solve (deprecated in torch for linalg.solve_triangular, warned here too):
    (solution, cloned_coefficient), X solving op(T) X = b, T A's upper (or lower) triangle,
    op(T) = T^T with ``transpose``. b: (..., n, k), A: (..., n, n) -> X (..., n, k) and a copy of A
    (broadcast to the batch, as torch). Differentiable in b and A."""
    from .inverse import solve_triangular
    warnings.warn("torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangular; "
                  "X = minitf.triangular_solve(B, A).solution is minitf.linalg.solve_triangular(A, B, upper=True)",
                  UserWarning, stacklevel=2)
    check_matrix("triangular_solve", A)
    check_matrix("triangular_solve", b, square=False, what="b")
    T = A.triu() if upper else A.tril()
    X = solve_triangular(T.mT if transpose else T, b, upper=upper != transpose, unitriangular=unitriangular)
    batch = X.shape[:-2]
    return _Triangular((X, A.expand(batch + A.shape[-2:]).clone()))


__all__ = ["matrix_exp", "lu", "lu_unpack", "lu_solve", "cholesky_solve", "cholesky_inverse", "triangular_solve"]
