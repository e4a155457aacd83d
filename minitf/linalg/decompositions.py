"""Matrix decompositions, as torch.linalg's: cholesky, qr, eigh / eigvalsh, svd / svdvals.

Forward is the backend's ``xp.linalg`` on the whole batch ``(..., m, n)``; backward is the
standard closed form, in minitf ops (so differentiable again). Notation: G_X is the gradient
of output X, ^T the transpose of the last two dims, Phi(M) the lower triangle of M with its
diagonal halved, and for eigenvalues L (singular values s) the matrix

    F_ij = 1 / (L_j - L_i)        (F_ij = 1 / (s_j^2 - s_i^2) for the SVD),  F_ii = 0.

F is infinite at repeated eigen/singular values: there the gradient of the vectors is not
defined (the vectors are not unique), as in torch; gradients that use only L or s are fine.
Eigen and singular vectors are defined up to sign, so only functions invariant to those
signs (U diag(s) Vh, |Q|, Q diag(w) Q^T ...) have a gradient that means anything.

Complex input (Hermitian for cholesky and eigh): the same forms with ^H for ^T, torch's gradient
(the conjugate Wirtinger derivative). Complex eigen and singular vectors are defined up to a
phase each (v -> v e^{i phi}); a loss that depends on it raises torch's error in backward (the
imaginary part of diag(Q^H G_Q), or of diag(U^H G_U + V^H G_V), not ~0), and the SVD's gradient
gains the phases' term U diag(i Im(diag(U^H G_U - V^H G_V)) / 2s) V^H. QR's R has a real
diagonal (LAPACK's), so Q's columns have no free phase: copyltu(M) keeps Re(diag(M)).
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError
from ..tensor import Tensor
from ._common import call, check_matrix, const, diag_embed, is_complex


def _right_solve(B: Tensor, R: Tensor) -> Tensor:
    """B R^-H = (R^-1 B^H)^H (R^-T for a real R)."""
    from .inverse import solve
    return solve(R, B.mH).mH


class LinalgCholesky(Function):
    """A = L L^H; with M = tril(L^H G_L), G_A = L^-H P L^-1, P = (M + tril(M, -1)^H) / 2 (for a
    real A, sym(L^-T Phi(L^T G_L) L^-1): A is symmetric, only its symmetric part can move)."""

    takes_complex = True

    @staticmethod
    def forward(ctx, A, upper):
        L = const(call("linalg.cholesky", "cholesky", A.data))
        ctx.upper = upper
        out = L.mH if upper else L
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, G):
        from .inverse import solve
        (L,) = ctx.saved_tensors
        if ctx.upper:
            L, G = L.mH, G.mH
        M = (L.mH @ G).tril()
        S = solve(L.mH, 0.5 * (M + M.tril(-1).mH))     # L^-H P
        return _right_solve(S, L.mH), None            # ... L^-1


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The Cholesky factor of symmetric positive-definite matrices, as torch.linalg.cholesky:
    L lower triangular with A = L L^T (``upper=True``: U = L^T, A = U^T U). Only A's lower
    triangle is read. A: (..., n, n) -> (..., n, n). A matrix that is not positive-definite
    raises :class:`~minitf.errors.LinAlgError` naming its failing leading minor, as torch.
    Gradient: G_A = sym(L^-T Phi(L^T G_L) L^-1), sym(M) = (M + M^T) / 2."""
    check_matrix("cholesky", A, complex_ok=True)
    return LinalgCholesky.apply(A, bool(upper))


class LinalgQR(Function):
    """A = Q R. For m >= n (Q: (m, n), R: (n, n)), with M = R G_R^T - G_Q^T Q,
    G_A = (G_Q + Q copyltu(M)) R^-T, copyltu(M) = tril(M) + tril(M, -1)^T.
    For m < n, A = [X | Y] with X = Q U square: G_Y = Q G_V and X takes the m >= n form with
    G_Q + Y G_V^T in place of G_Q (R = [U | V], G_R = [G_U | G_V]). Complex: ^H for ^T, and
    copyltu(M) = tril(M, -1) + tril(M, -1)^H + Re(diag(M)) (R's diagonal is real)."""

    takes_complex = True

    @staticmethod
    def forward(ctx, A, mode):
        ctx.mode = mode
        ctx.set_materialize_grads(False)
        if mode == "r":
            R = const(backend.linalg_op("qr", A.data, mode="r"))
            xp = backend.get_array_module(A.data)
            return const(xp.zeros((0,), dtype=A.dtype)), R
        Q, R = (const(a) for a in backend.linalg_op("qr", A.data, mode=mode))
        ctx.save_for_backward(A, Q, R)
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                               "through linalg.qr.")
        A, Q, R = ctx.saved_tensors
        m, n = A.shape[-2:]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        gQ = Q * 0 if gQ is None else gQ
        gR = R * 0 if gR is None else gR
        if m >= n:
            return _qr_tall(Q, R, gQ, gR), None
        from ..ops import cat
        U = R[..., :, :m]
        gU, gV = gR[..., :, :m], gR[..., :, m:]
        Y = A[..., :, m:]
        gX = _qr_tall(Q, U, gQ + Y @ gV.mH, gU)
        return cat([gX, Q @ gV], dim=-1), None


def _qr_tall(Q, R, gQ, gR):
    M = R @ gR.mH - gQ.mH @ Q
    low = M.tril(-1)
    return _right_solve(gQ + Q @ (low + low.mH + diag_embed(M.diagonal(0, -2, -1).real)), R)


class _Pair(tuple):
    """A tuple with torch's field names for its two parts."""
    names = ()

    def __getattr__(self, name):
        try:
            return self[type(self).names.index(name)]
        except ValueError:
            raise AttributeError(name) from None


class _QRResult(_Pair):
    names = ("Q", "R")


class _EighResult(_Pair):
    names = ("eigenvalues", "eigenvectors")


class _SVDResult(tuple):
    U = property(lambda self: self[0])
    S = property(lambda self: self[1])
    Vh = property(lambda self: self[2])


def qr(A: Tensor, mode: str = "reduced"):
    """The QR decomposition A = Q R, as torch.linalg.qr: Q with orthonormal columns, R upper
    triangular. A: (..., m, n), k = min(m, n); mode "reduced": Q (..., m, k), R (..., k, n);
    "complete": Q (..., m, m), R (..., m, n); "r": Q empty, R (..., k, n). Differentiable for
    "reduced", and "complete" when m <= n (the gradient is in :class:`LinalgQR`). Complex too."""
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                            f"'r', or 'complete'")
    check_matrix("qr", A, square=False, complex_ok=True)
    return _QRResult(LinalgQR.apply(A, mode))


def _F(L: Tensor) -> Tensor:
    """F_ij = 1 / (L_j - L_i) off the diagonal, 0 on it. L: (..., n) -> (..., n, n)."""
    E = L.unsqueeze(-2) - L.unsqueeze(-1)          # E_ij = L_j - L_i
    xp = backend.get_array_module(L.data)
    off = const(~xp.eye(L.shape[-1], dtype=bool))
    return (1 / E.where(off, const(xp.ones((), dtype=L.dtype)))).where(off, const(xp.zeros((), dtype=L.dtype)))


class LinalgEigh(Function):
    """A = Q diag(L) Q^H; G_A = herm(Q (diag(G_L) + F o (Q^H G_Q)) Q^H) (o: elementwise,
    herm(M) = (M + M^H) / 2), torch's form; complex: torch's phase check first."""

    takes_complex = True

    @staticmethod
    def forward(ctx, A, UPLO):
        ctx.set_materialize_grads(False)
        L, Q = backend.linalg_op("eigh", A.data, UPLO=UPLO)
        L, Q = const(L.astype(Q.dtype, copy=False)), const(Q)   # (one dtype: see _real_parts)
        ctx.save_for_backward(L, Q)
        return L, Q

    @staticmethod
    def backward(ctx, gL, gQ):
        L, Q = ctx.saved_tensors
        L, gL = L.real, (None if gL is None else gL.real)
        inner = 0 * Q if gL is None else diag_embed(gL).to(dtype=Q.dtype)   # (real gL: matmul takes one dtype)
        if gQ is not None:
            QhgQ = Q.mH @ gQ
            _check_phase("linalg_eigh_backward", "eigenvectors", QhgQ.diagonal(0, -2, -1))
            inner = inner + _F(L) * QhgQ
        gA = Q @ inner @ Q.mH
        return 0.5 * (gA + gA.mH), None     # Hermitian part, as torch's (A is Hermitian)


def _real_parts(outputs, k: int) -> tuple:
    """The outputs with output k (eigen or singular values: real) as its real part. For a complex
    input the Function returns it in the complex dtype, the one of its other outputs (a custom
    Function's floating outputs share one dtype), and backward reads the real part of its gradient."""
    return tuple(o.real if i == k else o for i, o in enumerate(outputs))


def _check_phase(name: str, what: str, d: Tensor) -> None:
    """torch's error where a loss depends on complex vectors' phases: Im(d) not ~0 (one device read)."""
    if is_complex(d):
        xp = backend.get_array_module(d.data)
        if not bool(xp.allclose(d.data.imag, 0, rtol=1e-2, atol=1e-2)):
            phase = "this quantity" if what == "eigenvectors" else "this phase term, making it"
            raise RuntimeError(f"{name}: The {what} in the complex case are specified up to multiplication by "
                               f"e^{{i phi}}. The specified loss function depends on {phase}"
                               f"{', so it is' if what == 'eigenvectors' else ''} ill-defined.")


def _check_uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise ArgumentError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A: Tensor, UPLO: str = "L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices, as
    torch.linalg.eigh: A = Q diag(L) Q^T, reading only A's lower (``UPLO="L"``) or upper
    triangle. A: (..., n, n) -> (L (..., n), Q (..., n, n)). Gradient: G_A = sym(Q (diag(G_L) +
    F o (Q^T G_Q)) Q^T), sym(M) = (M + M^T) / 2, F_ij = 1 / (L_j - L_i): undefined at repeated eigenvalues (see the module)."""
    _check_uplo(UPLO)
    check_matrix("eigh", A, complex_ok=True)
    return _EighResult(_real_parts(LinalgEigh.apply(A, UPLO), 0))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues of symmetric matrices, ascending, as torch.linalg.eigvalsh.
    A: (..., n, n) -> (..., n). Gradient: G_A = Q diag(G_L) Q^T (defined everywhere)."""
    _check_uplo(UPLO)
    check_matrix("eigvalsh", A, complex_ok=True)
    return LinalgEigh.apply(A, UPLO)[0].real


class LinalgSVD(Function):
    """A = U diag(s) Vh, V = Vh^T, k = min(m, n), F_ij = 1 / (s_j^2 - s_i^2):

        G_A = U [F o (U^T G_U - G_U^T U) S + diag(G_s) + S F o (V^T G_V - G_V^T V)] V^T
              + (I_m - U U^T) G_U S^-1 V^T + U S^-1 G_V^T (I_n - V V^T)

    (Townsend 2016), on the first k columns of U and V (``full_matrices``: torch ignores the rest).
    Complex: ^H for ^T, and the phases' term U diag(i Im(diag(U^H G_U - V^H G_V)) / 2s) V^H."""

    takes_complex = True

    @staticmethod
    def forward(ctx, A, full_matrices):
        ctx.set_materialize_grads(False)
        U, s, Vh = backend.linalg_op("svd", A.data, full_matrices=full_matrices)
        U, s, Vh = const(U), const(s.astype(U.dtype, copy=False)), const(Vh)   # (one dtype: see _real_parts)
        ctx.save_for_backward(U, s, Vh)
        return U, s, Vh

    @staticmethod
    def backward(ctx, gU, gs, gVh):
        U, s, Vh = ctx.saved_tensors
        s, gs = s.real, (None if gs is None else gs.real)
        k = s.shape[-1]
        U, Vh = U[..., :, :k], Vh[..., :k, :]
        V = Vh.mH
        inner = 0 * U[..., :k, :] if gs is None else diag_embed(gs.to(U.dtype))
        if gU is None and gVh is None:
            return U @ inner @ Vh, None
        F = _F(s * s)
        S, sinv = s.unsqueeze(-2), (1 / s).unsqueeze(-2)     # right-multiplying by diag(s), diag(1/s)
        out, phases, both = 0, 0, 0
        if gU is not None:
            gU = gU[..., :, :k]
            UtgU = U.mH @ gU
            inner = inner + (F * (UtgU - UtgU.mH)) * S
            out = out + ((gU - U @ UtgU) * sinv) @ Vh                 # (I - U U^H) G_U S^-1 V^H
            phases = both = UtgU.diagonal(0, -2, -1)
        if gVh is not None:
            gV = gVh[..., :k, :].mH
            VtgV = V.mH @ gV
            inner = inner + s.unsqueeze(-1) * (F * (VtgV - VtgV.mH))
            out = out + (U * sinv) @ (gV - V @ VtgV).mH               # U S^-1 G_V^H (I - V V^H)
            phases, both = phases - VtgV.diagonal(0, -2, -1), both + VtgV.diagonal(0, -2, -1)
        if is_complex(U):
            _check_phase("svd_backward", "singular vectors", both)
            inner = inner + diag_embed(phases.imag.to(U.dtype) * 0.5j / s)
        return U @ inner @ Vh + out, None


def svd(A: Tensor, full_matrices: bool = True):
    """The singular value decomposition A = U diag(S) Vh, as torch.linalg.svd (S descending).
    A: (..., m, n), k = min(m, n) -> U (..., m, m), S (..., k), Vh (..., n, n), or U (..., m, k)
    and Vh (..., k, n) with ``full_matrices=False``. Gradient: :class:`LinalgSVD`'s closed form,
    undefined at repeated singular values (and, for U and Vh, at zero ones when m != n)."""
    check_matrix("svd", A, square=False, complex_ok=True)
    return _SVDResult(_real_parts(LinalgSVD.apply(A, bool(full_matrices)), 1))


def svdvals(A: Tensor) -> Tensor:
    """The singular values, descending, as torch.linalg.svdvals. A: (..., m, n) -> (..., min(m, n)).
    Gradient: G_A = U diag(G_s) V^T (defined wherever the singular values are distinct or G_s
    treats equal ones alike)."""
    check_matrix("svdvals", A, square=False, complex_ok=True)
    return LinalgSVD.apply(A, False)[1].real
