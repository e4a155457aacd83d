"""Transforms onto matrix sets (``event_dim`` 2 at the matrix end): ``LowerCholeskyTransform``
(square matrices onto lower-triangular ones with a positive diagonal), ``PositiveDefiniteTransform``
(onto symmetric positive definite ones, L L^T) and ``CorrCholeskyTransform`` (a vector of
D (D - 1) / 2 reals bijectively onto the Cholesky factors of D x D correlation matrices), with
``vec_to_tril_matrix`` / ``tril_matrix_to_vec`` (a triangle's entries in row-major order, as torch's).
"""
from __future__ import annotations

import math

import numpy as np

from . import constraints
from .transforms import _Parameterless, _softplus
from .utils import finfo

__all__ = ["CorrCholeskyTransform", "LowerCholeskyTransform", "PositiveDefiniteTransform",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]


def _tril_count(n: int, diag: int) -> int:
    return int(np.tril(np.ones((n, n)), diag).sum())


def _tril_flat(n: int, diag: int):
    rows, cols = np.tril_indices(n, diag)
    return rows * n + cols


def vec_to_tril_matrix(vec, diag: int = 0):
    """vec (*batch, N) -> (*batch, n, n): the entries filling the triangle on and below diagonal
    ``diag`` row by row (zeros elsewhere); n is the size whose triangle holds N entries."""
    from .. import cat, tensor, zeros
    N = vec.shape[-1]
    n = next((m for m in range(1, N + 3) if _tril_count(m, diag) >= N), None)
    if n is None or _tril_count(n, diag) != N:
        raise ValueError(f"The size of last dimension is {N} which cannot be expressed as the lower "
                         f"triangular part of a square D x D matrix.")
    index = np.full(n * n, N, dtype=np.int64)          # N points at the appended zero
    index[_tril_flat(n, diag)] = np.arange(N)
    padded = cat([vec, zeros(vec.shape[:-1] + (1,), dtype=vec.dtype, device=vec.device)], -1)
    return padded[..., tensor(index, device=vec.device)].reshape(vec.shape[:-1] + (n, n))


def tril_matrix_to_vec(mat, diag: int = 0):
    """mat (*batch, n, n) -> (*batch, N): the entries on and below diagonal ``diag``, row by row."""
    from .. import tensor
    n = mat.shape[-1]
    flat = mat.reshape(mat.shape[:-2] + (n * n,))
    return flat[..., tensor(_tril_flat(n, diag), device=mat.device)]


def _diag(x):
    from .. import diagonal
    return diagonal(x, 0, -2, -1)


class LowerCholeskyTransform(_Parameterless):
    """x (*batch, n, n) -> its strict lower triangle plus exp of its diagonal (a Cholesky factor);
    the upper triangle is dropped, so not injective (no log-Jacobian)."""
    domain, codomain = constraints.independent(constraints.real, 2), constraints.lower_cholesky

    def _call(self, x):
        from .. import diag_embed
        return x.tril(-1) + diag_embed(_diag(x).exp())

    def _inverse(self, y):
        from .. import diag_embed
        return y.tril(-1) + diag_embed(_diag(y).log())


class PositiveDefiniteTransform(_Parameterless):
    """x (*batch, n, n) -> L L^T with L = LowerCholeskyTransform()(x); inverse through cholesky."""
    domain, codomain = constraints.independent(constraints.real, 2), constraints.positive_definite

    def _call(self, x):
        L = LowerCholeskyTransform()(x)
        return L @ L.mT

    def _inverse(self, y):
        from ..linalg import cholesky
        return LowerCholeskyTransform().inv(cholesky(y))


class CorrCholeskyTransform(_Parameterless):
    """x (*batch, D (D - 1) / 2) -> L (*batch, D, D), lower triangular with unit-norm rows (L L^T a
    correlation matrix): tanh(x) fills the strict lower triangle as partial correlations r, and row i
    is broken like a stick, L_ij = r_ij sqrt(1 - sum_{k<j} L_ik^2), the diagonal taking the rest."""
    domain, codomain, bijective, sign = constraints.real_vector, constraints.corr_cholesky, True, 1

    def _call(self, x):
        from .. import eye
        from ..nn import functional as F
        eps = float(finfo(x).eps)
        r = vec_to_tril_matrix(x.tanh().clamp(min=-1 + eps, max=1 - eps), diag=-1)
        # the remaining squared length before column j: prod_{k<j} (1 - r_ik^2)
        remaining = (1 - r.pow(2)).sqrt().cumprod(-1)
        n = r.shape[-1]
        r = r + eye(n, dtype=x.dtype, device=x.device)
        return r * F.pad(remaining[..., :-1], (1, 0), value=1.0)

    def _inverse(self, y):
        from ..nn import functional as F
        left = 1 - (y * y).cumsum(-1)
        left = F.pad(left[..., :-1], (1, 0), value=1.0)
        t = tril_matrix_to_vec(y, diag=-1) / tril_matrix_to_vec(left, diag=-1).sqrt()
        return (t.log1p() - (-t).log1p()) / 2          # atanh, written as torch's

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        # the stick-breaking step: 1/2 sum log(1 - sum_{k<j} y_ik^2) over the strict lower triangle
        # shifted by one (column j's remaining length); the tanh step: sum log(1 - tanh(x)^2)
        left = 1 - (y * y).cumsum(-1)
        stick = 0.5 * tril_matrix_to_vec(left, diag=-2).log().sum(-1)
        tanh = -2 * (x + _softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick + tanh

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        N = shape[-1]
        D = round((0.25 + 2 * N) ** 0.5 + 0.5)
        if D * (D - 1) // 2 != N:
            raise ValueError("Input is not a flattend lower-diagonal number")
        return tuple(shape[:-1]) + (D, D)

    def inverse_shape(self, shape):
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input")
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        D = shape[-1]
        return tuple(shape[:-2]) + (D * (D - 1) // 2,)
