"""Modified Bessel functions and the normal-distribution helpers of torch.special, each with its
derivative beside it: i0, i0e, i1, i1e, erfcx, log_ndtr, ndtri.

Array kernels in float64 on NumPy and the fake device (no SciPy in the core; CuPy uses
``cupyx.scipy.special``'s functions of the same names through
:func:`minitf.backend.native_special`):

* I_0, I_1: the power series sum (x^2/4)^k / (k! (k+nu)!) (positive terms, 60 of them) for
  |x| <= 20, the asymptotic series e^x / sqrt(2 pi x) sum (-1)^k a_k(nu) / x^k (its smallest
  term, near k = 2|x|, is below e^-40) beyond. The scaled i0e/i1e multiply by e^-|x| inside.
* erfcx(x) = exp(x^2) erfc(x): Cody's rational forms of erfc (minitf.ops.erf) without their
  exp(-x^2) factor, so nothing under- or overflows for x > 0; erfcx(-y) = 2 exp(y^2) - erfcx(y).
* log_ndtr(x) = log Phi(x): log(erfcx(-x/sqrt 2) / 2) - x^2/2 for x < -1, log1p(-erfc(x/sqrt 2)/2)
  above (no cancellation in either tail).
* ndtri(p) = Phi^-1(p): Abramowitz & Stegun 26.2.23 (error < 4.5e-4) as the start, then five Newton
  steps on log Phi(x) - log p (the step is (log Phi(x) - log p) Phi(x)/phi(x), computed from erfcx:
  stable down to p = 1e-320); p > 1/2 by symmetry (1 - p is exact there).

Measured in float64 against torch 2.13 and mpmath (tests/test_special_gamma.py's grids):
relative error below 2e-15 for i0, i0e, i1, i1e (|x| up to 715, 1e300 for the scaled ones), 5e-16
for erfcx (torch's: 6e-14 for x < -3), 1e-15 for ndtri (p from 1e-320 to 1 - 1e-16), and for
log_ndtr 1e-15 except in the upper tail, whose value -Phi(-x) has condition number x^2 (3e-13 at
x = 37, the rounding of x / sqrt 2 alone).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import elementwise as _e
from .erf import _C, _D, _P, _Q, _SQRT_1_PI, _THRESH, _A, _B, _exp_minus_square, _ratio
from .gamma_fns import in_float64
from .more_math import _unary
from .special import _erfinv_array

_SERIES_TERMS = 60
_SWITCH = 20.0                    # series below, asymptotic expansion above
_ASYMPTOTIC_TERMS = 30
_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT1_2 = 1 / math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _bessel_series(xp, y, nu):
    """sum_k (y^2/4)^k / (k! (k+nu)!) * (y/2)^nu, y = |x| <= 20."""
    q = y * y / 4
    term = xp.ones_like(y)
    total = term
    for k in range(1, _SERIES_TERMS):
        term = term * q / (k * (k + nu))
        total = total + term
    return total * (y / 2) ** nu


def _bessel_asymptotic_scaled(xp, y, nu):
    """e^-y I_nu(y) ~ 1/sqrt(2 pi y) sum_k (-1)^k a_k / y^k, a_k = prod_j (4 nu^2 - (2j-1)^2) / (k! 8^k)."""
    mu = 4.0 * nu * nu
    term = xp.ones_like(y)
    total = term
    for k in range(1, _ASYMPTOTIC_TERMS):
        term = term * -(mu - (2 * k - 1) ** 2) / (k * 8 * y)
        total = total + term
    return total / xp.sqrt(2 * math.pi * y)


def _bessel64(xp, x, nu, scaled):
    y = xp.abs(x)
    small = xp.minimum(y, _SWITCH)
    series = _bessel_series(xp, small, nu)
    if scaled:
        series = series * xp.exp(-small)
    large = xp.maximum(y, _SWITCH)
    asym = _bessel_asymptotic_scaled(xp, large, nu)
    if not scaled:   # e^y in two halves: I_nu stays finite up to y ~ 713, where e^y alone overflows at 709.8
        half = xp.exp(large / 2)
        asym = xp.where(y == np.inf, np.inf, asym * half * half)
    out = xp.where(y <= _SWITCH, series, asym)
    if nu == 1:
        out = xp.where(x < 0, -out, out)
    return xp.where(xp.isnan(x), x, out)


_i0_array = in_float64("i0", lambda xp, x: _bessel64(xp, x, 0, False))
_i0e_array = in_float64("i0e", lambda xp, x: _bessel64(xp, x, 0, True))
_i1_array = in_float64("i1", lambda xp, x: _bessel64(xp, x, 1, False))
_i1e_array = in_float64("i1e", lambda xp, x: _bessel64(xp, x, 1, True))


def _i1_over_x(xp, x, i1):
    """I_1(x) / x, 1/2 at x = 0 (the limit)."""
    zero = x == 0
    return xp.where(zero, 0.5, i1 / xp.where(zero, 1, x))


# d i0 = i1;  d i0e = i1e - sign(x) i0e;  d i1 = i0 - i1/x;  d i1e = i0e - i1e (sign(x) + 1/x)
i0 = _unary("i0", lambda xp, x: _i0_array(xp, x), lambda xp, x, y: _i1_array(xp, x), lambda x, y: i1(x))
i0e = _unary("i0e", lambda xp, x: _i0e_array(xp, x), lambda xp, x, y: _i1e_array(xp, x) - xp.sign(x) * y,
             lambda x, y: i1e(x) - x.sign() * y)
i1 = _unary("i1", lambda xp, x: _i1_array(xp, x), lambda xp, x, y: _i0_array(xp, x) - _i1_over_x(xp, x, y),
            lambda x, y: i0(x) - _i1_over_x_graph(x, y))
i1e = _unary("i1e", lambda xp, x: _i1e_array(xp, x),
             lambda xp, x, y: _i0e_array(xp, x) - xp.sign(x) * y - _i1_over_x(xp, x, y),
             lambda x, y: i0e(x) - x.sign() * y - _i1_over_x_graph(x, y))


def _i1_over_x_graph(x, y):
    from .shape import where
    zero = Tensor._make(x.data == 0, None)
    return where(zero, 0.5, y / where(zero, 1.0, x))


i0.__doc__ = "The modified Bessel function I_0, as torch.i0 / torch.special.i0. x: any shape -> the same shape. Gradient: i1."
i0e.__doc__ = "exp(-|x|) I_0(x), as torch.special.i0e. x: any shape -> the same shape. Gradient: i1e - sign(x) i0e."
i1.__doc__ = "The modified Bessel function I_1, as torch.special.i1. x: any shape -> the same shape. Gradient: i0 - i1/x."
i1e.__doc__ = ("exp(-|x|) I_1(x), as torch.special.i1e. x: any shape -> the same shape. "
               "Gradient: i0e - i1e (sign(x) + 1/x).")


def _erfcx_positive(xp, y):
    """erfcx(y) for y >= 0: exp(y^2) erfc(y) from Cody's ranges without their exp(-y^2)."""
    ys = xp.minimum(y, _THRESH)
    near = xp.exp(ys * ys) * (1 - ys * _ratio(ys * ys, _A, _B, 3))
    ym = xp.clip(y, _THRESH, 4.0)
    mid = _ratio(ym, _C, _D, 7)
    yl = xp.maximum(y, 4.0)
    z = 1 / (yl * yl)
    far = (_SQRT_1_PI - z * _ratio(z, _P, _Q, 4)) / yl
    return xp.where(y <= _THRESH, near, xp.where(y <= 4.0, mid, far))


def _erfcx64(xp, x):
    y = xp.abs(x)
    pos = _erfcx_positive(xp, y)
    neg = 2 / _exp_minus_square(xp.minimum(y, 27.0)) - pos        # exp(y^2) overflows past 26.6: inf
    out = xp.where(x < 0, neg, pos)
    return xp.where(xp.isnan(x), x, out)


_erfcx_array = in_float64("erfcx", _erfcx64)
_TWO_SQRT_PI = 2 / math.sqrt(math.pi)
# d erfcx = 2 x erfcx(x) - 2/sqrt(pi)
erfcx = _unary("erfcx", lambda xp, x: _erfcx_array(xp, x), lambda xp, x, y: 2 * x * y - _TWO_SQRT_PI,
               lambda x, y: 2 * x * y - _TWO_SQRT_PI)
erfcx.__doc__ = ("exp(x^2) erfc(x), as torch.special.erfcx, without overflow or underflow for x > 0. "
                 "x: any shape -> the same shape. Gradient: 2 x erfcx(x) - 2/sqrt(pi).")


def _log_ndtr64(xp, x):
    lo = xp.minimum(x, -1.0)
    lower = xp.log(_erfcx64(xp, -lo * _SQRT1_2) / 2) - lo * lo / 2
    hi = xp.maximum(x, -1.0)
    h = hi * _SQRT1_2   # erfc(h) as erfcx(h) exp(-h^2): subnormal rather than 0 past Cody's cut-off
    h = xp.minimum(h, 30.0)   # erfc(30) = 0 in float64; keeps inf * 0 out
    upper = xp.log1p(-_erfcx64(xp, h) * _exp_minus_square(xp.abs(h)) / 2)
    return xp.where(x < -1, lower, upper)


def _mills64(xp, x):
    """Phi(x) / phi(x) = sqrt(pi/2) erfcx(-x/sqrt 2), finite wherever Phi is."""
    return math.sqrt(math.pi / 2) * _erfcx64(xp, -x * _SQRT1_2)


def _log_ndtr_slope64(xp, x):
    """d log Phi = phi / Phi: 1 / mills for x < 0, phi(x) / Phi(x) (no overflow) above."""
    phi = xp.exp(-x * x / 2) / _SQRT_2PI
    return xp.where(x < 0, 1 / _mills64(xp, xp.minimum(x, 0.0)), phi / xp.exp(_log_ndtr64(xp, xp.maximum(x, 0.0))))


_log_ndtr_array = in_float64("log_ndtr", _log_ndtr64)
_log_ndtr_slope = in_float64(None, _log_ndtr_slope64)
log_ndtr = _unary("log_ndtr", lambda xp, x: _log_ndtr_array(xp, x), lambda xp, x, y: _log_ndtr_slope(xp, x),
                  lambda x, y: _e.exp(-x * x / 2 - y) / _SQRT_2PI)
log_ndtr.__doc__ = ("log of the standard normal CDF, as torch.special.log_ndtr, accurate in both tails "
                    "(log_ndtr(-40) = -804.6). x: any shape -> the same shape. Gradient: phi(x) / Phi(x).")


def _ndtri64(xp, p):
    q = xp.minimum(p, 1 - p)                       # 1 - p is exact for p >= 1/2
    inside = (q > 0) & (p <= 1)
    qs = xp.where(inside, q, 0.5)
    t = xp.sqrt(-2 * xp.log(qs))
    x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t
                                                             + 0.001308 * t * t * t))
    log_q = xp.log(qs)
    for _ in range(5):
        x = x - (_log_ndtr64(xp, x) - log_q) * _mills64(xp, x)
    x = xp.where(p > 0.5, -x, x)
    # near p = 1/2 the log-space residual cancels; there sqrt(2) erfinv(2p - 1) (2p - 1 exact) keeps x's digits
    center = (p >= 0.25) & (p <= 0.75)
    x = xp.where(center, math.sqrt(2) * _erfinv_array(xp.where(center, 2 * p - 1, 0.0)), x)
    x = xp.where(inside, x, xp.where(p == 0, -np.inf, xp.where(p == 1, np.inf, np.nan)))
    return xp.where(xp.isnan(p), p, x)


_ndtri_array = in_float64("ndtri", _ndtri64)
# d ndtri = 1 / phi(y) = sqrt(2 pi) exp(y^2 / 2)
ndtri = _unary("ndtri", lambda xp, x: _ndtri_array(xp, x), lambda xp, x, y: _SQRT_2PI * xp.exp(y * y / 2),
               lambda x, y: _SQRT_2PI * _e.exp(y * y / 2))
ndtri.__doc__ = ("The inverse of the standard normal CDF, as torch.special.ndtri: -inf at 0, inf at 1, "
                 "NaN outside [0, 1]. p: any shape -> the same shape. Gradient: sqrt(2 pi) exp(ndtri(p)^2 / 2).")

__all__ = ["i0", "i0e", "i1", "i1e", "erfcx", "log_ndtr", "ndtri"]
