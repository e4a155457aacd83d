"""torch.special's classical orthogonal polynomials of degree n at x: Chebyshev T, U, V, W (and
shifted to [0, 1]), physicists' and probabilists' Hermite H and He, Laguerre L and Legendre P.

Each is ``f(x, n)`` as torch's: ``x`` and ``n`` tensors or numbers (at least one a Tensor),
broadcast; the result dtype is their promoted one (integers and bools give the default float
dtype); ``n`` is truncated to an integer (2.7 -> 2, -0.5 -> 0), and a NaN, infinite or huge n
counts as negative (torch's conversion to int64 gives INT64_MIN there); n < 0 gives 0.

Values by the three-term recurrence in the result's dtype, as torch, with torch's special cases:
for |x| < 1 and n above 6 (T) or 8 (U, V, W) the trigonometric forms (T_n(cos t) = cos(n t),
U_n = sin((n+1) t) / sin t, V_n = cos((n+1/2) t) / cos(t/2), W_n = sin((n+1/2) t) / sin(t/2)), and
the closed values at x = +-1. So the recurrence runs to the largest n among the elements that need
it (a loop over degrees, each step one array operation on every element).

Measured in float64 against torch 2.13 (tests/test_orthopoly.py: x in [-3, 3] with the +-1 and 0
edges, inf, NaN; n from -3 to 40, 60 and 300): |difference| / max(|value|, 1) below 3e-13 for the
Chebyshev, Laguerre and Legendre families (largest at n = 300, from the rounding of n acos(x) and
the recurrence's growth) and 1.7e-12 for Hermite H (near its roots at n ~ 50, where terms of 1e37
cancel); the same special cases, infinities and NaNs as torch's. For NaN x with n >= 2 torch's
scalar-x path returns uninitialised memory; minitf gives NaN. No gradient: torch's results are
outside the graph (requires_grad False), and so are minitf's.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor

_INT64_LIMIT = 2.0 ** 63


def _operands(name, x, n):
    """(x array, integer degree array, result dtype): broadcast, promoted as torch's."""
    from ..creation import get_default_dtype
    from .promotion import promote_operands
    if not isinstance(x, Tensor) and not isinstance(n, Tensor):
        raise TypeError(f"{name}(): expected x or n to be a Tensor, got {type(x).__name__} and {type(n).__name__}")
    x, n = promote_operands(x, n, true_division=True)   # straight to floats, as torch: int8 -1 beside uint8 stays -1
    if x.dtype.kind == "c":   # (the cast below would keep the real part: torch has no complex kernel)
        from ..complex_guard import refuse
        refuse(name, x, why="torch's kernels are real")
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(get_default_dtype())
    xp = backend.get_array_module(x.data)
    xa, na = xp.broadcast_arrays(x.data.astype(dtype), n.data)
    if na.dtype.kind == "f":   # torch's static_cast<int64_t>: truncation; NaN, inf and overflow -> INT64_MIN
        bad = ~xp.isfinite(na) | (xp.abs(na) >= _INT64_LIMIT)
        na = xp.where(bad, -1, xp.trunc(xp.where(bad, 0, na))).astype(np.int64)
    return xa, na.astype(np.int64), dtype


def _recurrence(xp, x, n, first, step, todo):
    """p_n(x) by p_k = step(k, x, p_(k-1), p_(k-2)) from p_0 = 1 and p_1 = first(x), for the elements
    in ``todo`` (others: 1 where n = 0, anything else where n < 0; the caller overwrites them)."""
    p = xp.ones_like(x)
    q = first(x)
    out = xp.where(n == 1, q, p)
    top = int(n[todo].max()) if bool(todo.any()) else 1
    for k in range(2, top + 1):
        p, q = q, step(k, x, q, p)
        out = xp.where(n == k, q, out)
    return out


def _finish(xp, n, value, dtype):
    return Tensor._make(xp.where(n < 0, 0, value).astype(dtype, copy=False), None)


def _odd(n):
    return n % 2 == 1


def _chebyshev(name, kind, x, n, shifted=False):
    """T, U, V, W (kind) at x, or at 2x - 1 (shifted): torch's branches, then the recurrence."""
    xa, na, dtype = _operands(name, x, n)
    xp = backend.get_array_module(xa)
    with backend.quiet_fp_warnings():
        y = xa + xa - 1 if shifted else xa
        one = dtype.type(1)
        # the first-degree polynomials: T_1 = y, U_1 = 2y, V_1 = 2y - 1, W_1 = 2y + 1
        first = {"t": lambda v: v, "u": lambda v: v + v, "v": lambda v: v + v - one, "w": lambda v: v + v + one}[kind]
        trig_from = 6 if kind == "t" else 8
        trig = (na > trig_from) & (xp.abs(y) < 1)
        at_one = xp.abs(y) == 1
        rec = _recurrence(xp, y, na, first, lambda k, v, q, p: (v + v) * q - p, ~trig & ~at_one & (na > 1))
        t = xp.arccos(xp.where(trig, y, 0))
        nf = na.astype(dtype)
        plus = xp.where(y > 0, one, xp.where(_odd(na), -one, one))       # (+-1)^n at y = +-1
        if kind == "t":
            closed, trig_v = plus, xp.cos(nf * t)
        elif kind == "u":
            closed = plus * (nf + 1)
            s = xp.sin(t)
            trig_v = xp.where(s != 0, xp.sin((nf + 1) * t) / xp.where(s != 0, s, 1),
                              (nf + 1) * xp.cos((nf + 1) * t) / y)
        elif kind == "v":
            closed = xp.where(y > 0, one, plus * (nf + nf + 1))
            c = xp.cos(t / 2)
            trig_v = xp.where(xp.sin(t / 2) != 1, xp.cos((nf + 0.5) * t) / c, plus * (nf + nf + 1))
        else:
            closed = xp.where(y > 0, nf + nf + 1, plus)
            s = xp.sin(t / 2)
            trig_v = xp.where(xp.cos(t / 2) != 1, xp.sin((nf + 0.5) * t) / xp.where(s != 0, s, 1),
                              xp.where(y > 0, nf + nf + 1, plus))
        out = xp.where(at_one, closed, xp.where(trig, trig_v, rec))
        return _finish(xp, na, out, dtype)


_KINDS = {"t": "of the first kind T_n (T_n(cos t) = cos(n t))", "u": "of the second kind U_n",
          "v": "of the third kind V_n", "w": "of the fourth kind W_n"}


def _chebyshev_function(kind: str, shifted: bool):
    name = f"{'shifted_' if shifted else ''}chebyshev_polynomial_{kind}"

    def f(x, n) -> Tensor:
        return _chebyshev(name, kind, x, n, shifted)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"The Chebyshev polynomial {_KINDS[kind]}" + (" at 2x - 1 (orthogonal on [0, 1])" if shifted else "")
                 + f", as torch.special.{name}. x, n: tensors or numbers (at least one a Tensor), broadcast -> "
                 "their broadcast shape; no gradient (as torch).")
    return f


chebyshev_polynomial_t, chebyshev_polynomial_u, chebyshev_polynomial_v, chebyshev_polynomial_w = (
    _chebyshev_function(k, False) for k in "tuvw")
(shifted_chebyshev_polynomial_t, shifted_chebyshev_polynomial_u, shifted_chebyshev_polynomial_v,
 shifted_chebyshev_polynomial_w) = (_chebyshev_function(k, True) for k in "tuvw")


def _by_recurrence(name, x, n, first, step, at_one=None, at_zero=None):
    xa, na, dtype = _operands(name, x, n)
    xp = backend.get_array_module(xa)
    with backend.quiet_fp_warnings():
        out = _recurrence(xp, xa, na, first, step, na > 1)
        if at_one is not None:
            out = xp.where(xp.abs(xa) == 1, at_one(xp, xa, na, dtype), out)
        if at_zero is not None:
            out = xp.where(xa == 0, dtype.type(1), out)
        return _finish(xp, na, out, dtype)


def hermite_polynomial_h(x, n) -> Tensor:
    """The physicists' Hermite polynomial H_n(x) (H_(k+1) = 2x H_k - 2k H_(k-1)), as
    torch.special.hermite_polynomial_h. x, n: tensors or numbers, broadcast -> their shape."""
    return _by_recurrence("hermite_polynomial_h", x, n, lambda v: v + v,
                          lambda k, v, q, p: (v + v) * q - 2 * (k - 1) * p)


def hermite_polynomial_he(x, n) -> Tensor:
    """The probabilists' Hermite polynomial He_n(x) (He_(k+1) = x He_k - k He_(k-1)), as
    torch.special.hermite_polynomial_he. x, n: tensors or numbers, broadcast -> their shape."""
    return _by_recurrence("hermite_polynomial_he", x, n, lambda v: v, lambda k, v, q, p: v * q - (k - 1) * p)


def laguerre_polynomial_l(x, n) -> Tensor:
    """The Laguerre polynomial L_n(x) ((k+1) L_(k+1) = (2k + 1 - x) L_k - k L_(k-1); 1 at x = 0), as
    torch.special.laguerre_polynomial_l. x, n: tensors or numbers, broadcast -> their shape."""
    return _by_recurrence("laguerre_polynomial_l", x, n, lambda v: 1 - v,
                          lambda k, v, q, p: ((2 * k - 1 - v) * q - (k - 1) * p) / k, at_zero=True)


def legendre_polynomial_p(x, n) -> Tensor:
    """The Legendre polynomial P_n(x) ((k+1) P_(k+1) = (2k+1) x P_k - k P_(k-1); (+-1)^n at +-1), as
    torch.special.legendre_polynomial_p. x, n: tensors or numbers, broadcast -> their shape."""
    def at_one(xp, v, m, dtype):
        return xp.where((v > 0) | (m % 2 == 0), dtype.type(1), dtype.type(-1))
    return _by_recurrence("legendre_polynomial_p", x, n, lambda v: v,
                          lambda k, v, q, p: ((2 * k - 1) * v * q - (k - 1) * p) / k, at_one=at_one)


__all__ = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
           "legendre_polynomial_p"]
