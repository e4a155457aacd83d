"""The LDL^T factorisation of symmetric (or Hermitian) indefinite matrices, as torch.linalg's
ldl_factor, ldl_factor_ex and ldl_solve.

A = P L D L^T P^T (L^H for ``hermitian=True``) by Bunch-Kaufman diagonal pivoting: D is block
diagonal with 1x1 and 2x2 blocks, L unit lower triangular. The result is LAPACK sytrf's compact
form (lower, ``uplo="L"``), which torch returns and users index: LD holds L below the diagonal
and D on it (a 2x2 block's off-diagonal element at LD[k+1, k]), zeros above; pivots (..., n)
int32, 1-based: pivots[k] = p > 0 a 1x1 block after rows/columns k and p-1 were swapped,
pivots[k] = pivots[k+1] = -p < 0 a 2x2 block after k+1 and p-1 were. The kernels below follow
LAPACK's unblocked sytf2 / hetf2 and sytrs / hetrs (the same pivot choices as sytrf's blocked
form up to rounding: LAPACK uses the unblocked form for n up to its block size, 64), on the
host (NumPy and CuPy have no sytrf: :func:`minitf.backend.on_host`), one matrix of the batch
at a time. Pivot sizes are compared as LAPACK does: |x| for real matrices, |Re x| + |Im x| for
complex ones (the diagonal of a Hermitian one: |Re x|).

Neither function has a gradient, as torch's (its backward raises "derivative ... is not
implemented"); ``info`` is sytf2's: the first (1-based) k with a zero 1x1 block D[k, k].
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..errors import ArgumentError, LinAlgError, ShapeError
from ..tensor import Tensor
from ._common import _no_derivative, check_float, check_matrix, const, first_failure
from .decompositions import _Pair

_ALPHA = (1 + math.sqrt(17)) / 8   # Bunch-Kaufman's threshold


class _LDLFactor(_Pair):
    names = ("LD", "pivots")


class _LDLFactorEx(_Pair):
    names = ("LD", "pivots", "info")


def _size(x):
    """LAPACK's pivot measure: |x|, or |Re x| + |Im x| (cabs1) for complex x."""
    return np.abs(x.real) + np.abs(x.imag) if np.iscomplexobj(x) else np.abs(x)


def _sytf2(a, hermitian: bool):
    """(LD, pivots, info) of one matrix a (n, n) from its lower triangle, as LAPACK's sytf2 / hetf2."""
    herm = hermitian and np.iscomplexobj(a)
    cj = np.conj if herm else (lambda x: x)
    A = np.tril(a).astype(a.dtype, copy=True)
    n = A.shape[0]
    piv = np.zeros(n, dtype=np.int32)
    info = 0
    k = 0
    while k < n:
        step = 1
        absakk = abs(A[k, k].real) if herm else _size(A[k, k])
        if k + 1 < n:
            imax = k + 1 + int(np.argmax(_size(A[k + 1:, k])))
            colmax = _size(A[imax, k])
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or np.isnan(absakk):
            info = info or k + 1
            kp = k
            if herm:
                A[k, k] = A[k, k].real
        else:
            if absakk >= _ALPHA * colmax:
                kp = k
            else:
                rowmax = _size(A[imax, k:imax]).max()                 # row imax left of the diagonal
                if imax + 1 < n:
                    rowmax = max(rowmax, _size(A[imax + 1:, imax]).max())
                diag = abs(A[imax, imax].real) if herm else _size(A[imax, imax])
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif diag >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp, step = imax, 2
            kk = k + step - 1
            if kp != kk:   # swap rows and columns kk and kp of the trailing lower triangle
                A[kp + 1:, [kk, kp]] = A[kp + 1:, [kp, kk]]
                seg = A[kk + 1:kp, kk].copy()
                A[kk + 1:kp, kk] = cj(A[kp, kk + 1:kp])
                A[kp, kk + 1:kp] = cj(seg)
                if herm:
                    A[kp, kk] = np.conj(A[kp, kk])
                A[kk, kk], A[kp, kp] = A[kp, kp], A[kk, kk]
                if step == 2:
                    A[k + 1, k], A[kp, k] = A[kp, k], A[k + 1, k]
            if herm:
                A[k, k] = A[k, k].real
                if step == 2:
                    A[k + 1, k + 1] = A[k + 1, k + 1].real
            if step == 1:
                if k + 1 < n:
                    x = A[k + 1:, k].copy()
                    d = 1 / (A[k, k].real if herm else A[k, k])
                    A[k + 1:, k + 1:] -= np.tril(d * np.outer(x, cj(x)))
                    A[k + 1:, k] = d * x
            elif k + 2 < n:
                W = _block_update(A, k, herm)
                A[k + 2:, k:k + 2] = W
        if step == 1:
            piv[k] = kp + 1
        else:
            piv[k] = piv[k + 1] = -(kp + 1)
        k += step
    if herm:
        A[np.diag_indices(n)] = A.diagonal().real
    return A, piv, info


def _block_update(A, k, herm):
    """The trailing update after a 2x2 pivot at k: A[k+2:, k+2:] -= X D^-1 X^H (lower triangle),
    with X = A[k+2:, k:k+2]; returns W = X D^-1, the two columns of L."""
    X = A[k + 2:, k:k + 2].copy()
    if herm:   # hetf2's form: D = [[d22, conj(d21)], [d21, d11]] scaled by |d21|
        r = abs(A[k + 1, k])
        d11, d22 = A[k + 1, k + 1].real / r, A[k, k].real / r
        d21 = A[k + 1, k] / r
        t = (1 / (d11 * d22 - 1)) / r
        W = np.stack([t * (d11 * X[:, 0] - d21 * X[:, 1]), t * (d22 * X[:, 1] - np.conj(d21) * X[:, 0])], axis=1)
        A[k + 2:, k + 2:] -= np.tril(X[:, :1] * np.conj(W[:, 0]) + X[:, 1:] * np.conj(W[:, 1]))
    else:      # sytf2's
        d21 = A[k + 1, k]
        d11, d22 = A[k + 1, k + 1] / d21, A[k, k] / d21
        t = (1 / (d11 * d22 - 1)) / d21
        W = np.stack([t * (d11 * X[:, 0] - X[:, 1]), t * (d22 * X[:, 1] - X[:, 0])], axis=1)
        A[k + 2:, k + 2:] -= np.tril(X[:, :1] * W[:, 0] + X[:, 1:] * W[:, 1])
    return W


def _count(batch) -> int:
    """The number of matrices in a batch shape (reshape's -1 is ambiguous for an empty matrix)."""
    return int(np.prod(batch, dtype=np.int64))


def _factor_batch(a, hermitian):
    flat = a.reshape((_count(a.shape[:-2]),) + a.shape[-2:])
    out = [_sytf2(m, hermitian) for m in flat]
    LD = np.stack([o[0] for o in out]).reshape(a.shape) if out else np.zeros(a.shape, a.dtype)
    piv = np.stack([o[1] for o in out]).reshape(a.shape[:-1]) if out else np.zeros(a.shape[:-1], np.int32)
    info = np.array([o[2] for o in out], dtype=np.int32).reshape(a.shape[:-2])
    return LD, piv, info


def _sytrs(LD, piv, B, hermitian):
    """X with A X = B for one factored matrix (LD (n, n), piv (n,)) and B (n, k), as sytrs / hetrs."""
    herm = hermitian and np.iscomplexobj(LD)
    cj = np.conj if herm else (lambda x: x)
    X = B.astype(np.result_type(LD.dtype, B.dtype), copy=True)
    n = LD.shape[0]
    k = 0
    while k < n:                   # L D Y = P^T B, forwards
        if piv[k] > 0:
            p = piv[k] - 1
            X[[k, p]] = X[[p, k]]
            X[k + 1:] -= np.outer(LD[k + 1:, k], X[k])
            X[k] /= LD[k, k].real if herm else LD[k, k]
            k += 1
        else:
            p = -piv[k] - 1
            X[[k + 1, p]] = X[[p, k + 1]]
            X[k + 2:] -= np.outer(LD[k + 2:, k], X[k]) + np.outer(LD[k + 2:, k + 1], X[k + 1])
            e = LD[k + 1, k]
            akm1, ak = LD[k, k] / cj(e), LD[k + 1, k + 1] / e
            denom = akm1 * ak - 1
            bkm1, bk = X[k] / cj(e), X[k + 1] / e
            X[k], X[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:                  # L^T P^T X = Y (L^H for Hermitian), backwards
        if piv[k] > 0:
            X[k] -= cj(LD[k + 1:, k]) @ X[k + 1:]
            p = piv[k] - 1
            X[[k, p]] = X[[p, k]]
            k -= 1
        else:
            X[k] -= cj(LD[k + 1:, k]) @ X[k + 1:]
            X[k - 1] -= cj(LD[k + 1:, k - 1]) @ X[k + 1:]
            p = -piv[k] - 1
            X[[k, p]] = X[[p, k]]
            k -= 2
    return X


def _solve_batch(LD, piv, B, hermitian):
    batch = np.broadcast_shapes(LD.shape[:-2], B.shape[:-2])
    count = _count(batch)
    LDb = np.broadcast_to(LD, batch + LD.shape[-2:]).reshape((count,) + LD.shape[-2:])
    pb = np.broadcast_to(piv, batch + piv.shape[-1:]).reshape((count,) + piv.shape[-1:])
    Bb = np.broadcast_to(B, batch + B.shape[-2:]).reshape((count,) + B.shape[-2:])
    out = np.empty(Bb.shape, dtype=np.result_type(LD.dtype, B.dtype))
    for i in range(Bb.shape[0]):
        out[i] = _sytrs(LDb[i], pb[i], Bb[i], hermitian)
    return out.reshape(batch + B.shape[-2:])


def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False):
    """(LD, pivots, info), as torch.linalg.ldl_factor_ex: A's Bunch-Kaufman LDL^T in LAPACK
    sytrf's compact form (the module docstring), from A's lower triangle. A: (..., n, n) float or
    complex -> LD (..., n, n), pivots (..., n) int32, info (...) int32 (0, or the first k, 1-based,
    with D[k, k] = 0: A is singular). ``hermitian=True``: A = L D L^H for a complex A. No gradient,
    as torch. ``check_errors=True`` raises :class:`~minitf.errors.LinAlgError` where info != 0."""
    check_matrix("ldl_factor_ex", A, complex_ok=True)
    LD, piv, info = backend.on_host(lambda a: _factor_batch(a, bool(hermitian)), A.data)
    if check_errors:
        _raise_singular("torch.linalg.ldl_factor_ex", info)
    LD, piv, info = const(LD), const(piv), const(info)
    return _LDLFactorEx(_no_derivative("linalg_ldl_factor_ex", (LD, piv, info), A))


def _raise_singular(name, info):
    failed = first_failure(info)
    if failed:
        prefix, k = failed
        raise LinAlgError(f"{name}: {prefix}The factorization could not be completed because the input is singular: "
                          f"the diagonal block D[{k},{k}] is zero.")


def ldl_factor(A: Tensor, *, hermitian: bool = False):
    """(LD, pivots), as torch.linalg.ldl_factor: :func:`ldl_factor_ex`'s first two, and a
    singular A raises :class:`~minitf.errors.LinAlgError` naming its zero block D[k, k] (torch
    2.13 fails there with an internal assertion, "Unknown error code"). No gradient."""
    check_matrix("ldl_factor", A, complex_ok=True)
    LD, piv, info = ldl_factor_ex(A, hermitian=hermitian)
    _raise_singular("torch.linalg.ldl_factor", info.data)
    return _LDLFactor((LD, piv))


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor:
    """X with A X = B from :func:`ldl_factor`'s (LD, pivots) of A, as torch.linalg.ldl_solve
    (LAPACK sytrs' two triangular solves and D's blocks, on the host). LD: (..., n, n), pivots
    (..., n) integer, B (..., n, k) of LD's dtype; batch dims broadcast -> X (..., n, k).
    No gradient, as torch."""
    check_matrix("ldl_solve", LD, what="LD", complex_ok=True)
    if not isinstance(B, Tensor) or B.ndim < 2:
        raise ShapeError("torch.linalg.ldl_solve: The input tensor B must have at least 2 dimensions.")
    if pivots.shape != LD.shape[:-1]:
        raise ShapeError(f"torch.linalg.ldl_solve: Expected LD.shape[:-1] and pivots.shape to be the same, but got "
                         f"pivots with shape {pivots.shape} instead")
    if pivots.dtype.kind not in "iu":
        raise ArgumentError(f"torch.linalg.ldl_solve: Expected pivots to be integers. Got {pivots.dtype}")
    check_float("ldl_solve", B, complex_ok=True)
    if B.dtype != LD.dtype:
        raise ArgumentError(f"Expected b and A to have the same dtype, but found b of type {B.dtype} and A of type "
                            f"{LD.dtype} instead.")
    if B.shape[-2] != LD.shape[-1]:
        raise ShapeError(f"Incompatible matrix sizes for torch.linalg.ldl_solve: each A matrix is {LD.shape[-2]} by "
                         f"{LD.shape[-1]} but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    try:
        np.broadcast_shapes(LD.shape[:-2], B.shape[:-2])
    except ValueError:
        raise ShapeError(f"torch.linalg.ldl_solve: the batch shapes of LD {LD.shape} and B {B.shape} do not "
                         f"broadcast") from None
    X = const(backend.on_host(lambda a, p, b: _solve_batch(a, p, b, bool(hermitian)), LD.data, pivots.data, B.data))
    return _no_derivative("linalg_ldl_solve", (X,), LD, B)


__all__ = ["ldl_factor", "ldl_factor_ex", "ldl_solve"]
