"""torch.linalg's norms: vector_norm, matrix_norm, norm (either), and matrix_rank.

Vector p-norms are :func:`minitf.ops.statistics.norm`'s, with ord < 0 added here
(``LinalgVectorNormNeg``). Matrix norms are compositions over the two matrix dims, moved last:
"fro" the 2-norm of the elements, "nuc" sum(s), 2 / -2 max(s) / min(s) (s = svdvals), 1 / -1
the max / min column sum of |A|, inf / -inf the max / min row sum; their gradients are those
of the ops they are made of (svdvals: U diag(G_s) V^T).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeError
from ..ops import check_dim
from ..ops._util import cast_input
from ..ops.statistics import norm as _norm
from ._common import check_matrix, const


def _cast(name: str, x, dtype):
    """x cast to ``dtype`` after torch's checks: complex stays complex and real real, and no
    narrowing (float64 to float32, complex128 to complex64); x itself for None."""
    if dtype is not None and getattr(x, "dtype", np.dtype(object)).kind in "fc":
        target = np.dtype(dtype)
        if (x.dtype.kind == "c") != (target.kind == "c"):
            kind = "complex for complex" if x.dtype.kind == "c" else "real for real"
            raise DtypeError(f"linalg.{name}: dtype should be {kind} inputs, but got {target}")
        if np.promote_types(x.dtype, target) != target:
            raise DtypeError(f"linalg.{name}: the dtype of the input ({x.dtype}) should be convertible without "
                             f"narrowing to the specified dtype ({target})")
    return cast_input(x, dtype)


class LinalgVectorNormNeg(Function):
    """y = (sum_i |x_i|^p)^(1/p) for p < 0 over ``dim``: 0 if some x_i = 0. Gradient
    dx_i = g (|x_i| / y)^(p - 1) sign(x_i), 0 where x_i = 0 or y = 0 (as torch)."""

    @staticmethod
    def forward(ctx, x, p, dim, keepdim):
        xp = backend.get_array_module(x.data)
        axis = tuple(range(x.ndim)) if dim is None else dim
        with np.errstate(divide="ignore"):
            y = xp.sum(xp.abs(x.data) ** p, axis=axis, keepdims=True) ** (1 / p)
        ctx.p, ctx.axis = p, axis
        Y = const(y)
        ctx.save_for_backward(x, Y)
        return const(y if keepdim else y.squeeze(axis) if axis else y)

    @staticmethod
    def backward(ctx, g):
        x, Y = ctx.saved_tensors
        for a in sorted(ctx.axis):
            if g.ndim < x.ndim:
                g = g.unsqueeze(a)
        xp = backend.get_array_module(x.data)
        live = const((x.data != 0) & (Y.data != 0))
        safe_x = x.where(live, const(xp.ones((), dtype=x.dtype)))
        safe_y = Y.where(live, const(xp.ones((), dtype=x.dtype)))
        d = g * (safe_x.abs() / safe_y) ** (ctx.p - 1) * safe_x.sign()
        return d.where(live, const(xp.zeros((), dtype=x.dtype))), None, None, None


def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (int, tuple or None: every element), as
    torch.linalg.vector_norm: (sum |x|^ord)^(1/ord) for any number ord (negative ones too: 0 if
    an element is 0), inf / -inf the max / min |x|, 0 the count of non-zeros. ``dtype``: x cast
    first. x: (d_0, ..., d_{n-1}) -> the reduced dims removed (kept as 1 with ``keepdim``).
    Differentiable (the 2-norm's gradient at 0 is 0, a negative ord's is 0 at zeros). Complex x:
    the norms of |x| (a real result), gradient torch's g (d norm / d|x|) z / |z|. ``dtype``
    complex for a complex x, real for a real one, and not narrower than x's (torch's errors)."""
    x = _cast("vector_norm", x, dtype)
    if x.dtype.kind == "c" and ord != 2:   # every other order is one of |x|'s (real); abs's gradient g z / |z|
        return vector_norm(x.abs(), ord, dim, keepdim)
    return _vector_norm(x, ord, dim, keepdim)


def _vector_norm(x, ord, dim, keepdim):
    """vector_norm of a real (or, for ord 2, complex) x."""
    if ord == math.inf or (isinstance(ord, (int, float)) and ord < 0):   # no identity: torch refuses empty ones
        dims = range(x.ndim) if dim is None else ([dim] if isinstance(dim, int) else dim)
        if x.numel() == 0 and (dim is None or any(x.shape[d] == 0 for d in dims)):
            raise ArgumentError(f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor (shape "
                                f"{x.shape}) because the operation does not have an identity (as torch)")
    if isinstance(ord, (int, float)) and not isinstance(ord, bool) and ord < 0 and ord != -math.inf:
        if x.dtype.kind != "f":
            raise TypeError(f"linalg.vector_norm: expected a floating point input, got {x.dtype}")
        dims = None if dim is None else tuple(sorted(check_dim("linalg.vector_norm", d, x.ndim)
                                                     for d in ((dim,) if isinstance(dim, int) else dim)))
        return LinalgVectorNormNeg.apply(x, float(ord), dims, bool(keepdim))
    return _norm(x, ord, dim, keepdim)


_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None):
    """The matrix norm over the two dims ``dim``, as torch.linalg.matrix_norm: "fro" (default)
    sqrt(sum A_ij^2), "nuc" sum(s), 2 max(s), -2 min(s) (s the singular values), 1 / -1 the max /
    min over columns of sum_i |A_ij|, inf / -inf the max / min over rows of sum_j |A_ij|.
    A: (..., m, n) -> (...) (the two dims kept as 1 with ``keepdim``). Differentiable; complex A
    too (a real result: |A_ij|'s sums, the 2-norm of the elements, svdvals)."""
    from .decompositions import svdvals
    if ord not in _MATRIX_ORDS:
        raise ArgumentError(f"linalg.matrix_norm: Order {ord} not supported.")
    A = _cast("matrix_norm", A, dtype)
    check_matrix("matrix_norm", A, square=False, complex_ok=True)
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ArgumentError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (check_dim("linalg.matrix_norm", d, A.ndim) for d in dim)
    if d0 == d1:
        raise ArgumentError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return _norm(A, 2, (d0, d1), keepdim)
    M = A.movedim((d0, d1), (-2, -1))
    # the max of no (non-negative) values is 0 for torch, as their sum is; their min is an error
    vals = svdvals(M) if ord in ("nuc", 2, -2) else M.abs().sum(-2 if ord in (1, -1) else -1)
    if ord == "nuc" or (ord > 0 and vals.shape[-1] == 0):
        out = vals.sum(-1)
    else:
        out = vals.amax(-1) if ord > 0 else vals.amin(-1)
    if keepdim:
        for d in sorted((d0, d1)):
            out = out.unsqueeze(d)
    return out


def norm(x, ord=None, dim=None, keepdim: bool = False, *, dtype=None):
    """torch.linalg.norm: a matrix norm (:func:`matrix_norm`) when ``dim`` is a 2-tuple, or is
    None with a 2-D x and ``ord`` given; else a vector norm (:func:`vector_norm`; ord None is the
    2-norm of the elements over ``dim``, or all of them). x: any shape -> the reduced dims removed."""
    two = (isinstance(dim, (tuple, list)) and len(dim) == 2) or (dim is None and x.ndim == 2 and ord is not None)
    x = _cast("matrix_norm" if two else "vector_norm", x, dtype)
    if two:
        return matrix_norm(x, "fro" if ord is None else ord, (-2, -1) if dim is None else tuple(dim), keepdim)
    if ord in ("fro", "nuc"):
        raise ArgumentError(f"linalg.norm: the matrix norm ord={ord!r} needs a 2-D input or a 2-tuple dim, got "
                            f"shape {x.shape} and dim {dim}")
    if ord is None:
        return _norm(x, 2, dim, keepdim)
    if dim is None and x.ndim != 1:
        raise ArgumentError(f"linalg.norm: input must be 1-D or 2-D when dim is None and ord is given, got "
                            f"{x.ndim}-D")
    return vector_norm(x, ord, dim, keepdim)


def matrix_rank(A, *, atol=None, rtol=None, hermitian: bool = False):
    """The number of singular values above max(atol, rtol * s_max), as torch.linalg.matrix_rank
    (rtol = eps max(m, n) when neither is given). A: (..., m, n) -> int64 (...). No gradient.
    ``hermitian=True`` reads only A's lower triangle and uses the eigenvalues' magnitudes."""
    from .inverse import tolerance
    check_matrix("matrix_rank", A, square=hermitian, complex_ok=True)
    a = A.data
    if hermitian:
        L = backend.linalg_op("eigvalsh", a, UPLO="L")
        xp = backend.get_array_module(a)
        s = xp.sort(xp.abs(L), axis=-1)[..., ::-1]
    else:
        s = backend.linalg_op("svd", a, compute_uv=False)
    if s.shape[-1] == 0:
        return const(backend.get_array_module(a).zeros(A.shape[:-2], dtype=np.int64))
    tol = tolerance(s[..., :1], A.shape, A.dtype, atol, rtol)
    return const((s > tol).sum(-1).astype(np.int64))
