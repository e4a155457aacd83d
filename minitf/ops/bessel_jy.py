"""Bessel functions of the first and second kind of orders 0 and 1 (torch.special.bessel_j0,
bessel_j1, bessel_y0, bessel_y1) and the spherical j0, as float64 array kernels (NumPy has none,
and minitf's core no SciPy; CuPy uses ``cupyx.scipy.special``'s j0, j1, y0, y1 through
:func:`minitf.backend.native_special`). Float32 inputs are computed in float64 and rounded once.

Three ranges, each without a subtraction of large terms:

* |x| <= 2: the power series, J_nu = (x/2)^nu sum_k (-x^2/4)^k / (k! (k+nu)!) and, for Y,
  (pi/2) Y_0 = (log(x/2) + gamma) J_0 + sum_k (-1)^(k+1) H_k (x^2/4)^k / k!^2 and
  (pi/2) Y_1 = -1/x + log(x/2) J_1 - (x/4) sum_k (psi(k+1) + psi(k+2)) (-x^2/4)^k / (k! (k+1)!).
* 2 < |x| <= 20: Miller's backward recurrence J_(k-1) = (2k/x) J_k - J_(k+1) from k = 60 (where
  J_60(20) ~ 1e-22), normalised by J_0 + 2 sum J_2k = 1; then Neumann's series
  (pi/2) Y_0 = (log(x/2) + gamma) J_0 - 2 sum_k (-1)^k J_2k / k and its derivative
  (pi/2) Y_1 = (log(x/2) + gamma) J_1 - J_0/x + sum_k (-1)^k (J_(2k-1) - J_(2k+1)) / k.
* |x| > 20: Hankel's expansion sqrt(2/(pi x)) (P cos chi -+ Q sin chi), chi = x - (2 nu + 1) pi/4,
  36 terms (the smallest, near k = 2x, is below e^-40); cos chi from cos x and sin x (exact
  argument reduction however large x is; torch's x - pi/4 rounds, so its values at x ~ 1e10 are
  good to ~1e-6 only).

Measured in float64 against mpmath (tests/test_bessel.py's grids, x from 1e-300 to 1e300): the
error is below 2.3e-15 times max(|f(x)|, the envelope sqrt(2/(pi x))) for all four (the largest in
the Miller range, x ~ 15-20); relative 6e-15 where |f| > 0.05. torch 2.13's own values are off by up
to 2.4e-6 (relative to that scale) for 2 < x < 20 against mpmath (its coefficients there), and by
O(1) past x ~ 1e17 (its rounded x - pi/4): that bounds the agreement with torch. At the infinities J
and Y are 0 (torch: NaN); Y is NaN for x < 0 and -inf at 0, as torch. None of these has a gradient in
torch (the result is outside the graph), nor in minitf.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..tensor import Tensor
from .gamma_fns import in_float64

_EULER = 0.5772156649015329
_SERIES_TERMS = 24          # (x^2/4)^k / k!^2 at x = 2: 1 / k!^2 < 1e-47 by k = 24
_MILLER_START = 60
_HANKEL_TERMS = 36
_SMALL, _LARGE = 2.0, 20.0
_2_PI = 2 / math.pi


def _series(xp, x):
    """(J0, J1, Y0, Y1) by their power series, 0 < x <= 2 (x = 0: J exact, Y -inf)."""
    q = x * x / 4
    t0 = xp.ones_like(x)           # (-q)^k / k!^2
    t1 = xp.ones_like(x)           # (-q)^k / (k! (k+1)!)
    j0, j1 = t0.copy(), t1.copy()
    s0 = xp.zeros_like(x)          # sum (-1)^(k+1) H_k q^k / k!^2
    s1 = t1 * (1 - 2 * _EULER)     # sum (psi(k+1) + psi(k+2)) (-q)^k / (k! (k+1)!), psi(k+1) = H_k - gamma
    h = 0.0
    for k in range(1, _SERIES_TERMS):
        t0 = t0 * -q / (k * k)
        t1 = t1 * -q / (k * (k + 1))
        h_next = h + 1 / k
        j0 = j0 + t0
        j1 = j1 + t1
        s0 = s0 - h_next * t0
        s1 = s1 + (h_next + h_next + 1 / (k + 1) - 2 * _EULER) * t1
        h = h_next
    j1 = j1 * x / 2
    log_half = xp.log(x / 2)
    y0 = _2_PI * ((log_half + _EULER) * j0 + s0)
    y1 = _2_PI * (-1 / x + log_half * j1 - x / 4 * s1)
    return j0, j1, y0, y1


def _miller(xp, x):
    """(J0, J1, Y0, Y1) by the backward recurrence and Neumann's series, 2 <= x <= 20."""
    cur, nxt, nxt2 = xp.full(x.shape, 1e-30), xp.zeros_like(x), xp.zeros_like(x)   # J_k, J_(k+1), J_(k+2), unnormalised
    norm = xp.zeros_like(x)                 # 2 sum_(m >= 1) J_2m
    ysum0 = xp.zeros_like(x)                # -2 sum (-1)^m J_2m / m
    ysum1 = xp.zeros_like(x)                # sum (-1)^m (J_(2m-1) - J_(2m+1)) / m
    two_over_x = 2 / x
    for k in range(_MILLER_START, 0, -1):
        m = (k + 1) // 2
        sign = -1.0 if m % 2 else 1.0
        if k % 2 == 0:
            norm = norm + 2 * cur
            ysum0 = ysum0 - (2 * sign / m) * cur
        else:
            ysum1 = ysum1 + (sign / m) * (cur - nxt2)
        cur, nxt, nxt2 = k * two_over_x * cur - nxt, cur, nxt
    scale = 1 / (cur + norm)
    j0, j1 = cur * scale, nxt * scale
    lg = xp.log(x / 2) + _EULER
    y0 = _2_PI * (lg * j0 + ysum0 * scale)
    y1 = _2_PI * (lg * j1 - j0 / x + ysum1 * scale)
    return j0, j1, y0, y1


def _hankel(xp, x, nu):
    """(J_nu, Y_nu) by Hankel's asymptotic expansion, x >= 20."""
    mu = 4.0 * nu * nu
    term = xp.ones_like(x)
    p, q = term.copy(), xp.zeros_like(x)
    for k in range(1, _HANKEL_TERMS):
        term = term * (mu - (2 * k - 1) ** 2) / (k * 8 * x)
        if k % 2:
            q = q + (term if k % 4 == 1 else -term)
        else:
            p = p + (term if k % 4 == 0 else -term)
    c, s = xp.cos(x), xp.sin(x)
    r = 1 / math.sqrt(2.0)
    if nu == 0:     # chi = x - pi/4
        cos_chi, sin_chi = (c + s) * r, (s - c) * r
    else:           # chi = x - 3 pi/4
        cos_chi, sin_chi = (s - c) * r, -(s + c) * r
    amp = xp.sqrt(_2_PI / x)
    return amp * (p * cos_chi - q * sin_chi), amp * (p * sin_chi + q * cos_chi)


def _jy64(xp, x, which):
    """which in "j0", "j1", "y0", "y1": the function at x (float64)."""
    nu = int(which[1])
    y = xp.abs(x)
    small = _series(xp, xp.clip(y, 1e-300, _SMALL))
    mid = _miller(xp, xp.clip(y, _SMALL, _LARGE))
    big_x = xp.where(xp.isfinite(y), xp.maximum(y, _LARGE), _LARGE)
    big = _hankel(xp, big_x, nu)
    pick = {"j0": 0, "j1": 1, "y0": 2, "y1": 3}[which]
    out = xp.where(y <= _SMALL, small[pick], xp.where(y <= _LARGE, mid[pick], big[pick // 2]))
    out = xp.where(y == np.inf, 0.0, out)
    if which[0] == "j":
        if nu == 1:
            out = xp.where(x < 0, -out, xp.where(y == 0, x, out))    # odd, and J1(+-0) = +-0
        else:
            out = xp.where(y == 0, 1.0, out)
    else:
        out = xp.where(y == 0, -np.inf, xp.where(x < 0, np.nan, out))
        if nu == 1:   # Y1 ~ -2/(pi x): -inf once that overflows (the clip to 1e-300 above hides it)
            out = xp.where((y > 0) & (y < 1e-300), -_2_PI / xp.where(y > 0, y, 1.0), out)
        else:
            log_y = xp.log(xp.where(y > 0, y, 1.0))
            out = xp.where((y > 0) & (y < 1e-300), _2_PI * (log_y - math.log(2) + _EULER), out)
    return xp.where(xp.isnan(x), x, out)


_ARRAYS = {w: in_float64(w, lambda xp, x, w=w: _jy64(xp, x, w)) for w in ("j0", "j1", "y0", "y1")}


def _no_graph(name, x, kernel):
    from ._util import float_input
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.dtype.kind == "c":   # (the float64 kernels would keep the real part: torch has no complex kernel)
        from ..complex_guard import refuse
        refuse(name, x, why="torch's kernels are real")
    x = float_input(x)
    return Tensor._make(kernel(backend.get_array_module(x.data), x.data), None)


def bessel_j0(x: Tensor) -> Tensor:
    """The Bessel function of the first kind J_0, as torch.special.bessel_j0 (J_0(+-inf) = 0; torch: NaN).
    x: any shape -> the same shape. No gradient (as torch): the result is outside the graph."""
    return _no_graph("bessel_j0", x, _ARRAYS["j0"])


def bessel_j1(x: Tensor) -> Tensor:
    """The Bessel function of the first kind J_1 (odd), as torch.special.bessel_j1 (0 at +-inf).
    x: any shape -> the same shape. No gradient (as torch)."""
    return _no_graph("bessel_j1", x, _ARRAYS["j1"])


def bessel_y0(x: Tensor) -> Tensor:
    """The Bessel function of the second kind Y_0, as torch.special.bessel_y0: -inf at 0, NaN for x < 0,
    0 at inf (torch: NaN). x: any shape -> the same shape. No gradient (as torch)."""
    return _no_graph("bessel_y0", x, _ARRAYS["y0"])


def bessel_y1(x: Tensor) -> Tensor:
    """The Bessel function of the second kind Y_1, as torch.special.bessel_y1: -inf at 0, NaN for x < 0,
    0 at inf (torch: NaN). x: any shape -> the same shape. No gradient (as torch)."""
    return _no_graph("bessel_y1", x, _ARRAYS["y1"])


def _spherical_j0_array(xp, x):
    zero = x == 0
    out = xp.where(zero, x.dtype.type(1), xp.sin(x) / xp.where(zero, x.dtype.type(1), x))
    return xp.where(xp.isinf(x), x.dtype.type(0), out)     # sin(inf) / inf is NaN; the limit is 0, as torch


def spherical_bessel_j0(x: Tensor) -> Tensor:
    """The spherical Bessel function j_0(x) = sin(x) / x (1 at 0, 0 at +-inf), as
    torch.special.spherical_bessel_j0; in x's dtype, relative error that of sin (1 ulp), except near
    its zeros k pi. x: any shape -> the same shape. No gradient (as torch)."""
    def kernel(xp, a):
        with backend.quiet_fp_warnings():
            return _spherical_j0_array(xp, a)
    return _no_graph("spherical_bessel_j0", x, kernel)


__all__ = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "spherical_bessel_j0"]
