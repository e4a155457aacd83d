"""The matrix exponential, as torch.linalg.matrix_exp (and torch.matrix_exp).

Forward: scaling and squaring with the [13/13] Pade approximant (Higham 2005): each matrix of
the batch is scaled by 2^-s, s = max(0, ceil(log2(||A||_1 / 5.37))), so that the approximant
r(X) = (V - U)^-1 (V + U) (U, V its odd and even parts) is exact to float64 rounding, and then
squared s times (every matrix of the batch in one matmul; a matrix already done is kept by a
mask). float32/16 are computed in float64 and rounded once, complex64 in complex128.

Backward: the gradient of <G, exp(A)> is the adjoint of exp's Frechet derivative at A, L(A^T, G),
read off the upper-right block of the exponential of the block-triangular matrix

    exp([[A^T, G], [0, A^T]]) = [[exp(A^T), L(A^T, G)], [0, exp(A^T)]]

(Mathias 1996), built with minitf ops and so differentiable again (gradgradcheck). For a
complex A (exp is holomorphic) the gradient is L(A^H, G), torch's conjugate Wirtinger one.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._common import check_matrix, const

# b_k = (26 - k)! 13! / (26! k! (13 - k)!): the [13/13] Pade coefficients of exp
_B = (1.0, 0.5, 0.12, 0.018333333333333333, 0.0019927536231884057, 0.00016304347826086958,
      1.0351966873706003e-05, 5.175983436853002e-07, 2.0431513566525008e-08, 6.306022705717595e-10,
      1.48377004840414e-11, 2.529153491597966e-13, 2.8101705462199623e-15, 1.5440497506703088e-17)
_THETA13 = 5.371920351148152   # the largest ||X||_1 at which r_13 is exact to float64's unit roundoff


def _expm_array(a):
    """exp of each matrix of a float or complex array (..., n, n), in its dtype."""
    xp = backend.get_array_module(a)
    A = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    n = A.shape[-1]
    if A.size == 0:
        return A.astype(a.dtype)
    norm = xp.abs(A).sum(-2).max(-1)                                  # ||A||_1 of each matrix
    with backend.quiet_fp_warnings():
        s = xp.ceil(xp.log2(norm / _THETA13))
    s = xp.where(xp.isfinite(s) & (s > 0), s, 0.0)
    A = A / (2.0 ** s)[..., None, None]
    eye = xp.eye(n, dtype=A.dtype)
    A2 = A @ A
    A4 = A2 @ A2
    A6 = A4 @ A2
    b = _B
    U = A @ (A6 @ (b[13] * A6 + b[11] * A4 + b[9] * A2) + b[7] * A6 + b[5] * A4 + b[3] * A2 + b[1] * eye)
    V = A6 @ (b[12] * A6 + b[10] * A4 + b[8] * A2) + b[6] * A6 + b[4] * A4 + b[2] * A2 + b[0] * eye
    X = backend.linalg_op("solve", V - U, V + U)
    steps = int(s.max()) if s.size else 0                             # one host read
    for i in range(steps):
        X = xp.where((s > i)[..., None, None], X @ X, X)
    return X.astype(a.dtype, copy=False)


class MatrixExp(Function):
    """Y = exp(A); dA = L(A^H, G), the upper-right block of exp([[A^H, G], [0, A^H]])."""

    takes_complex = True

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return const(_expm_array(A.data))

    @staticmethod
    def backward(ctx, G):
        from ..ops import cat
        (A,) = ctx.saved_tensors
        n = A.shape[-1]
        At = A.mH
        top = cat([At, G], dim=-1)
        bottom = cat([At * 0, At], dim=-1)
        big = matrix_exp(cat([top, bottom], dim=-2))
        return big[..., :n, n:]


def matrix_exp(A: Tensor) -> Tensor:
    """exp(A) = sum_k A^k / k! of each square matrix, as torch.linalg.matrix_exp.
    A: (..., n, n) -> (..., n, n). Gradient: L(A^T, G), the adjoint Frechet derivative, through
    the block-triangular exponential (see the module docstring); twice differentiable."""
    check_matrix("matrix_exp", A, complex_ok=True)
    return MatrixExp.apply(A)


__all__ = ["matrix_exp"]
