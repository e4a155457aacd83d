"""Inverses, determinants and linear solves, as torch.linalg's: inv, det, slogdet, solve,
solve_triangular, matrix_power, pinv, lstsq (and torch.logdet).

Every op takes a batch ``(..., n, n)`` and works on all of it in one kernel call. Gradients
are the closed forms, with Y = A^-1 and G the gradient of the output:

    inv:     dA = -Y^T G Y^T
    det:     dA = g det(A) A^-T            (the cofactor matrix; through the SVD where A is singular)
    slogdet: dA = g_logabsdet A^-T         (sign has no gradient: it is piecewise constant)
    solve:   AX = B:  dB = A^-T G,  dA = -dB X^T
    pinv:    P = A^+:  dA = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)

each written in minitf ops (matmul, solve, ...), so it is differentiable again. Complex input
(all but logdet) takes the same forms with conjugate transposes (^H for ^T) and the conjugate of
a holomorphic function's derivative, torch's gradient (the conjugate Wirtinger derivative):
inv -Y^H G Y^H, det g conj(det A) A^-H, solve dB = A^-H G, dA = -dB X^H, pinv's with ^H.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeNotImplemented, ShapeError
from ..tensor import Tensor
from ._common import call, check_float, check_matrix, const, eye, is_complex


class LinalgInv(Function):
    """Y = A^-1; dA = -Y^H G Y^H (^H: ^T for a real A)."""

    takes_complex = True

    @staticmethod
    def forward(ctx, A):
        Y = const(call("linalg.inv", "inv", A.data))
        ctx.save_for_backward(Y)
        return Y

    @staticmethod
    def backward(ctx, G):
        (Y,) = ctx.saved_tensors
        return -(Y.mH @ G @ Y.mH)


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix, as torch.linalg.inv. A: (..., n, n) -> (..., n, n).
    A singular matrix raises :class:`~minitf.errors.LinAlgError` naming the batch element and
    LU's zero diagonal element, as torch. Gradient: dA = -Y^T G Y^T, Y = A^-1."""
    check_matrix("inv", A, complex_ok=True)
    return LinalgInv.apply(A)


def _cofactor(A: Tensor, d: Tensor) -> Tensor:
    """conj(C), C = det(A) A^-T the cofactor matrix (C itself for a real A), which stays finite
    where A is singular: with A = U diag(s) Vh, conj(C) = conj(det(U) det(Vh)) U diag(p) Vh,
    p_i = prod_{j != i} s_j (no division by s)."""
    xp = backend.get_array_module(d.data)
    if bool(xp.all(d.data != 0)):
        return d.conj().unsqueeze(-1).unsqueeze(-1) * inv(A).mH
    from .decompositions import svd
    U, s, Vh = svd(A, full_matrices=False)
    n = s.shape[-1]
    others = s.unsqueeze(-2).expand(s.shape[:-1] + (n, n))          # row i: s_0 .. s_{n-1}
    p = others.masked_fill(const(xp.eye(n, dtype=bool)), 1.0).prod(-1)   # s_i replaced by 1
    c = const(xp.conj(backend.linalg_op("det", U.data) * backend.linalg_op("det", Vh.data)))
    return c.unsqueeze(-1).unsqueeze(-1) * ((U * p.unsqueeze(-2)) @ Vh)


class LinalgDet(Function):
    """d = det(A); dA = g conj(C), C = det(A) A^-T the cofactor matrix (backward reads one flag from
    the device: whether every d is non-zero, to take A^-H or the SVD)."""

    takes_complex = True

    @staticmethod
    def forward(ctx, A):
        d = const(backend.linalg_op("det", A.data))
        ctx.save_for_backward(A, d)
        return d

    @staticmethod
    def backward(ctx, g):
        A, d = ctx.saved_tensors
        return g.unsqueeze(-1).unsqueeze(-1) * _cofactor(A, d)


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix, as torch.linalg.det. A: (..., n, n) -> (...).
    Gradient: dA = g det(A) A^-T (the cofactor matrix, also defined where A is singular)."""
    check_matrix("det", A, complex_ok=True)
    return LinalgDet.apply(A)


class LinalgSlogdet(Function):
    """(sign, logabsdet) of det(A); d logabsdet / dA = A^-T, a real sign has none (piecewise
    constant). A complex A: with l = log det(A) (holomorphic, dl = tr(A^-1 dA)), logabsdet = Re l
    and sign = exp(i Im l), so the gradient of l is g_lad - i Im(conj(g_sign) sign) and
    dA = that times A^-H. (For a complex A logabsdet is returned in the complex dtype, its real
    part taken by :func:`slogdet`: one Function's outputs share a dtype.)"""

    takes_complex = True

    @staticmethod
    def forward(ctx, A):
        sign, lad = backend.linalg_op("slogdet", A.data)
        ctx.complex = is_complex(A)
        sign, lad = const(sign), const(lad.astype(A.dtype) if ctx.complex else lad)
        ctx.save_for_backward(A, sign)
        return sign, lad

    @staticmethod
    def backward(ctx, g_sign, g_lad):
        A, sign = ctx.saved_tensors
        if ctx.complex:
            g_lad = g_lad.real - 1j * (g_sign.conj() * sign).imag
        return g_lad.unsqueeze(-1).unsqueeze(-1) * inv(A).mH


def slogdet(A: Tensor):
    """(sign, logabsdet) with det(A) = sign exp(logabsdet), as torch.linalg.slogdet (a tuple;
    also ``.sign``, ``.logabsdet``). A: (..., n, n) -> two (...) tensors; a singular matrix
    gives sign 0 and logabsdet -inf. Gradient of logabsdet: A^-T g; sign's is zero."""
    check_matrix("slogdet", A, complex_ok=True)
    sign, lad = LinalgSlogdet.apply(A)
    return _SlogdetResult(sign, lad.real)


class _SlogdetResult(tuple):
    def __new__(cls, sign, logabsdet):
        return super().__new__(cls, (sign, logabsdet))

    sign = property(lambda self: self[0])
    logabsdet = property(lambda self: self[1])


def logdet(A: Tensor) -> Tensor:
    """log det(A), as torch.logdet: NaN where det(A) < 0, -inf where it is 0. A: (..., n, n) -> (...).
    Gradient A^-T g (that of logabsdet). Complex A: the principal log, logabsdet + i angle(sign)
    (holomorphic: gradient g A^-H, through :func:`slogdet`'s)."""
    check_matrix("logdet", A, complex_ok=True)
    if is_complex(A):
        sign, lad = slogdet(A)
        return lad + 1j * sign.angle()
    sign, lad = LinalgSlogdet.apply(A)
    xp = backend.get_array_module(A.data)
    return lad.where(const(sign.data >= 0), const(xp.asarray(np.nan, dtype=A.dtype)))


class LinalgSolve(Function):
    """X = A^-1 B for A (..., n, n), B (..., n, k), batch dims broadcast;
    dB = A^-H G, dA = -dB X^H (each summed down to its input's batch shape by the engine)."""

    takes_complex = True

    @staticmethod
    def forward(ctx, A, B):
        xp = backend.get_array_module(A.data)
        batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
        a = xp.broadcast_to(A.data, batch + A.shape[-2:])
        b = xp.broadcast_to(B.data, batch + B.shape[-2:])
        X = const(call("linalg.solve", "solve", a, b))
        ctx.save_for_backward(A, X)
        return X

    @staticmethod
    def backward(ctx, G):
        A, X = ctx.saved_tensors
        gB = solve(A.mH, G)
        return -(gB @ X.mH), gB


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """The X with A X = B (``left=False``: X A = B), as torch.linalg.solve.

    A: (..., n, n); B: (..., n, k), or a batch of vectors (..., n) when B is 1-D or has A's
    batch shape exactly (torch's rule), -> X of B's shape; batch dims broadcast. A singular
    matrix raises :class:`~minitf.errors.LinAlgError`. Gradient: dB = A^-T G, dA = -dB X^T.
    """
    check_matrix("solve", A, complex_ok=True)
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.solve: B must be a Tensor, got {type(B).__name__}")
    check_float("solve", B, complex_ok=True)
    if A.dtype != B.dtype:
        raise ArgumentError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                            f"{A.dtype} and B of type {B.dtype} instead")
    if not left:   # X A = B  <=>  A^T X^T = B^T
        if B.ndim < 2:
            raise ShapeError("linalg.solve: The input tensor B must have at least 2 dimensions (left=False).")
        return solve(A.mT, B.mT).mT
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != A.shape[-1]:
        raise ShapeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                         f"({A.shape[-2]}x{A.shape[-1]} and {Bm.shape[-2]}x{Bm.shape[-1]})")
    try:
        np.broadcast_shapes(A.shape[:-2], Bm.shape[:-2])
    except ValueError:
        raise ShapeError(f"linalg.solve: the batch shapes of A {A.shape} and B {B.shape} do not broadcast") from None
    X = LinalgSolve.apply(A, Bm)
    return X.squeeze(-1) if vector else X


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """The X with T X = B (``left=False``: X T = B), T the upper (``upper=True``) or lower
    triangle of A (its diagonal taken as ones with ``unitriangular``), as
    torch.linalg.solve_triangular. A: (..., n, n), B: (..., n, k) -> (..., n, k).

    T is masked out of A with tril/triu, so the gradient of A lies in that triangle (zero
    diagonal if unitriangular); it is :func:`solve`'s gradient otherwise. A zero on T's
    diagonal raises :class:`~minitf.errors.LinAlgError` (torch returns inf/NaN there).
    """
    check_matrix("solve_triangular", A, complex_ok=True)
    check_matrix("solve_triangular", B, square=False, what="B", complex_ok=True)
    T = A.triu() if upper else A.tril()
    if unitriangular:
        I = eye(A.shape[-1], A)
        T = T * (1 - I) + I
    return solve(T, B, left=left)


def matrix_power(A: Tensor, n: int) -> Tensor:
    """A^n for an integer n, as torch.linalg.matrix_power: repeated squaring with matmul
    (n < 0: of inv(A); n = 0: the identity, whose gradient is zero). A: (..., m, m) -> (..., m, m).
    Integer matrices too for n >= 0 (bool ones for n <= 1), as torch."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {type(n).__name__}")
    if n < 0 or (isinstance(A, Tensor) and A.dtype.kind in "fc"):
        check_matrix("matrix_power", A, complex_ok=True)
    else:
        check_matrix("matrix_power", A, floating=False)
        if A.dtype == np.bool_ and n > 1:   # torch's matmul has no bool kernel
            raise DtypeNotImplemented("linalg.matrix_power: not implemented for bool tensors with n > 1 (as torch)")
    if n == 0:
        if A.dtype.kind not in "fc":
            xp = backend.get_array_module(A.data)
            return const(xp.broadcast_to(xp.eye(A.shape[-1], dtype=A.dtype), A.shape).copy())
        return A * 0 + eye(A.shape[-1], A)
    base = inv(A) if n < 0 else A
    n, out = abs(int(n)), None
    while True:
        if n & 1:
            out = base if out is None else out @ base
        n >>= 1
        if not n:
            return out
        base = base @ base


def tolerance(s_max: Tensor, shape, dtype, atol, rtol):
    """torch's pinv/matrix_rank threshold: max(atol, rtol * s_max), rtol = eps max(m, n) when
    neither is given (and 0 when only atol is). s_max: (...) -> (...) array."""
    xp = backend.get_array_module(s_max)
    if rtol is None:
        rtol = np.finfo(dtype).eps * max(shape[-2:]) if atol is None or _all_zero(atol) else 0.0
    atol = 0.0 if atol is None else atol
    atol = atol.data if isinstance(atol, Tensor) else atol
    rtol = rtol.data if isinstance(rtol, Tensor) else rtol
    return xp.maximum(xp.asarray(atol, dtype=s_max.dtype), xp.asarray(rtol, dtype=s_max.dtype) * s_max)


def _all_zero(atol) -> bool:
    return bool((atol.data == 0).all()) if isinstance(atol, Tensor) else atol == 0


class LinalgPinv(Function):
    """P = A^+ = V diag(1/s, for s > tol) U^H; the gradient is the Golub-Pereyra closed form
    dA = -P^H G P^H + (I - A P) G^H P P^H + P^H P G^H (I - P A), valid where the rank is constant."""

    takes_complex = True

    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian=False):
        xp = backend.get_array_module(A.data)
        a = A.data
        if hermitian:   # the Hermitian matrix of A's lower triangle: its diagonal's real part (as eigh reads it)
            low = xp.tril(a, -1)
            a = low + xp.conj(xp.swapaxes(low, -1, -2))
            n = a.shape[-1]
            a[..., range(n), range(n)] = xp.diagonal(A.data, 0, -2, -1).real
        u, s, vh = backend.linalg_op("svd", a, full_matrices=False)
        tol = tolerance(s[..., :1], A.shape, A.dtype, atol, rtol) if s.shape[-1] else s[..., :1]
        keep = s > tol
        sinv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(A.dtype, copy=False)
        P = const(xp.matmul(xp.conj(vh.swapaxes(-1, -2)) * sinv[..., None, :], xp.conj(u.swapaxes(-1, -2))))
        ctx.save_for_backward(A, P)
        return P

    @staticmethod
    def backward(ctx, G):
        A, P = ctx.saved_tensors
        Gt = G.mH
        PtP = P.mH @ P
        return (-(P.mH @ G @ P.mH) + (Gt @ P @ P.mH) - A @ (P @ (Gt @ P @ P.mH))
                + (PtP @ Gt) - ((PtP @ Gt) @ P) @ A), None, None, None


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse through the SVD, as torch.linalg.pinv: singular values
    at or below max(atol, rtol * s_max) are dropped (rtol = eps max(m, n) when neither is given).
    A: (..., m, n) -> (..., n, m). ``hermitian=True``: the value from A's lower triangle and the
    real part of its diagonal (as torch), the gradient that of A as given. Gradient: the closed form in :class:`LinalgPinv`."""
    check_matrix("pinv", A, square=hermitian, complex_ok=True)
    return LinalgPinv.apply(A, atol, rtol, bool(hermitian))


def pinverse(A: Tensor, rcond: float = 1e-15) -> Tensor:
    """torch.pinverse: :func:`pinv` with rtol = rcond. A: (..., m, n) -> (..., n, m)."""
    check_matrix("pinverse", A, square=False)
    return LinalgPinv.apply(A, None, rcond, False)


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    """The least-squares solution X minimising ||A X - B|| (minimum norm if A is rank-deficient),
    as torch.linalg.lstsq: a tuple (solution, residuals, rank, singular_values).

    A: (..., m, n), B: (..., m, k) -> solution (..., n, k) = pinv(A) B (rtol = ``rcond``, by
    default eps max(m, n)), differentiable through :func:`pinv`; B (..., m) is a batch of vectors
    when it has one dim fewer than A (torch's rule). The other fields as torch's for each
    ``driver``: "gelsy" (default) an int64 rank (...), residuals and singular_values empty;
    "gelsd"/"gelss" also A's singular values and, for m > n and full-rank A, the residuals
    sum((A X - B)^2) over m, (..., k); "gels" the residuals for m > n, rank empty."""
    check_matrix("lstsq", A, square=False, complex_ok=True)
    check_float("lstsq", B, complex_ok=True)
    if A.dtype != B.dtype:
        raise ArgumentError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got input's "
                            f"dtype {A.dtype} and other's dtype {B.dtype}")
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise ArgumentError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss), "
                            f"got {driver}")
    vector = B.ndim == A.ndim - 1      # torch's rule: a batch of vectors (..., m)
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.ndim < 2 or Bm.shape[-2] != A.shape[-2]:
        raise ShapeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2), got {A.shape} "
                         f"and {B.shape}")
    X = LinalgPinv.apply(A, None, rcond, False) @ Bm
    xp = backend.get_array_module(A.data)
    s = backend.linalg_op("svd", A.data, compute_uv=False)
    tol = tolerance(s[..., :1], A.shape, A.dtype, None, rcond) if s.shape[-1] else s[..., :1]
    rank = const((s > tol).sum(-1).astype(np.int64))
    empty = const(xp.zeros((0,), dtype=A.dtype))
    residuals, values = empty, empty
    m, n = A.shape[-2:]
    if driver == "gels":   # QR, which assumes full rank: no rank, residuals whenever m > n
        rank = const(xp.zeros((0,), dtype=np.int64))
    if driver in ("gelsd", "gelss"):
        values = const(s)
    full = driver == "gels" or (driver in ("gelsd", "gelss") and bool(xp.all(rank.data == n)))
    if m > n and full:
        residuals = ((A @ X - Bm).abs() ** 2 if is_complex(A) else (A @ X - Bm) ** 2).sum(-2)
    return _LstsqResult(X.squeeze(-1) if vector else X, residuals, rank, values)


class _LstsqResult(tuple):
    def __new__(cls, solution, residuals, rank, singular_values):
        return super().__new__(cls, (solution, residuals, rank, singular_values))

    solution = property(lambda self: self[0])
    residuals = property(lambda self: self[1])
    rank = property(lambda self: self[2])
    singular_values = property(lambda self: self[3])
