"""The eigen-decomposition of general square matrices, as torch.linalg.eig / eigvals.

A = V diag(L) V^-1 with L and V complex always (a real matrix has complex eigenvalues in
conjugate pairs): LAPACK geev's output through :func:`minitf.backend.linalg_eig` (on the host
for a device array: CuPy has no geev that matches torch's order and normalisation), each
eigenvector of unit 2-norm with its largest component real, as torch's.

Eigenvectors are defined up to a complex phase each (v -> v e^{i phi}), so only losses that do
not see that phase have a gradient. With E_ij = conj(L_j - L_i) (1 on the diagonal) and the
gradients G_L, G_V, the gradient of A (torch's, the conjugate Wirtinger derivative) is

    G_A = V^-H (diag(G_L) + offdiag((V^H G_V - V^H V Re(diag(V^H G_V))) / E)) V^H,

the second term's projection removing the component of G_V that would only change the columns'
norms (fixed at 1). The phase invariance means Im(diag(V^H G_V)) = 0; where it is not (up to
torch's tolerance, 1e-2), backward raises torch's error. A real input takes the real part of
G_A. Repeated eigenvalues make E zero off the diagonal: the gradient of V is undefined there,
as torch's (inf/NaN); eigvals' gradient, V^-H diag(G_L) V^H, needs only a diagonalisable A.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..complex_guard import arm
from ..errors import ArgumentError, LinAlgError
from ..tensor import Tensor
from ._common import check_matrix, const, diag_embed, is_complex
from .decompositions import _Pair


class _EigResult(_Pair):
    names = ("eigenvalues", "eigenvectors")


def _eig_arrays(name: str, a):
    try:
        return backend.linalg_eig(a)
    except ValueError:
        raise ArgumentError(f"torch.{name}: input tensor should not contain infs or NaNs.") from None
    except np.linalg.LinAlgError:
        raise LinAlgError(f"torch.{name}: The algorithm failed to converge because the input matrix is "
                          f"ill-conditioned or has too many repeated eigenvalues.") from None


class LinalgEig(Function):
    """(L, V) = eig(A); the gradient in the module docstring."""

    takes_complex = True

    @staticmethod
    def forward(ctx, A, name):
        ctx.set_materialize_grads(False)
        L, V = (const(a) for a in _eig_arrays(name, A.data))
        ctx.real_input = not is_complex(A)
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        from .inverse import solve
        L, V = ctx.saved_tensors
        Vh = V.mH
        xp = backend.get_array_module(L.data)
        n = L.shape[-1]
        if gV is None:
            inner = diag_embed(gL)
        else:
            VhgV = Vh @ gV
            d = VhgV.diagonal(0, -2, -1)
            if not bool(xp.allclose(d.data.imag, 0, rtol=1e-2, atol=1e-2)):   # one read from the device
                raise RuntimeError("linalg_eig_backward: The eigenvectors in the complex case are specified up to "
                                   "multiplication by e^{i phi}. The specified loss function depends on this "
                                   "quantity, so it is ill-defined.")
            off = const(~xp.eye(n, dtype=bool))
            E = (L.unsqueeze(-2) - L.unsqueeze(-1)).conj()                # E_ij = conj(L_j - L_i)
            E = E.where(off, const(xp.ones((), dtype=L.dtype)))
            inner = (VhgV - Vh @ (V * d.real.unsqueeze(-2))) / E
            inner = inner.where(off, const(xp.zeros((), dtype=L.dtype)))
            if gL is not None:
                inner = inner + diag_embed(gL)
        gA = solve(Vh, inner @ Vh)
        return (gA.real if ctx.real_input else gA), None


def eig(A: Tensor):
    """The eigenvalues and right eigenvectors of general square matrices, as torch.linalg.eig:
    A V = V diag(L). A: (..., n, n) float or complex -> (eigenvalues (..., n), eigenvectors
    (..., n, n)), complex always (complex64 for float32 input); a named tuple. The vectors have
    unit 2-norm and their largest component real, in LAPACK geev's order, as torch's. Gradient:
    the module docstring's; a loss that depends on the vectors' phases raises torch's error in
    backward."""
    check_matrix("eig", A, complex_ok=True)
    arm()   # complex results: from now on every op checks for complex input (minitf/complex_guard.py)
    return _EigResult(LinalgEig.apply(A, "linalg.eig"))


def eigvals(A: Tensor) -> Tensor:
    """The eigenvalues of general square matrices, as torch.linalg.eigvals, in :func:`eig`'s order.
    A: (..., n, n) -> (..., n) complex. Gradient: G_A = V^-H diag(G_L) V^H (the real part for a
    real A)."""
    check_matrix("eigvals", A, complex_ok=True)
    arm()
    return LinalgEig.apply(A, "linalg.eigvals")[0]


__all__ = ["eig", "eigvals"]
