"""More of torch's unary elementwise math, each with its derivative beside it: the inverse
trigonometric and hyperbolic functions (acos, acosh, asinh, atanh), erfc, erfinv, sinc, entr,
deg2rad, rad2deg, frac, and the sign queries sgn and signbit.

Integer and bool inputs give the default float dtype, as torch (:func:`float_input`), except
sgn (keeps the dtype), signbit (bool) and frac (refused for integers, as torch). Each
differentiable op is made by :func:`minitf.ops.more_math._unary` from the array function, its
derivative on arrays and the same derivative in Tensor ops (for ``create_graph``).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..errors import DtypeNotImplemented
from ..tensor import Tensor
from . import elementwise as _e, unary as _u
from .erf import erf as _erf_array, erfc as _erfc_array
from .half_math import kernel_half_in_float32
from .more_math import _unary, erf

_SQRT_PI_2 = math.sqrt(math.pi) / 2   # d erfinv(x) = sqrt(pi)/2 exp(erfinv(x)^2)
_C = 2 / math.sqrt(math.pi)           # d erf(x) = 2/sqrt(pi) exp(-x^2)
_DEG = math.pi / 180


def _erfinv_array(y):
    """The inverse error function of a float array, elementwise, in its dtype: NumPy has none.

    Winitzki's closed form (relative error about 2e-3) as the start, then three Halley steps
    on f(x) = erf(x) - |y| (cubic convergence: 2e-3 -> 1e-8 -> below float64's rounding).
    For |y| > 0.5 the residual is formed as (1 - |y|) - erfc(x) (1 - |y| is exact there), so
    that it keeps its digits as |y| -> 1. erfinv(+-1) = +-inf and |y| > 1 gives NaN, as torch.
    Where the array module has its own (CuPy's cupyx.scipy.special.erfinv), that one is used.
    """
    xp = backend.get_array_module(y)
    native = backend.native_special(xp, "erfinv")
    if native is not None:
        return native(y)
    z = xp.abs(y).astype(np.float64)
    inside = z < 1
    zc = xp.where(inside, z, 0.5)                      # the edges are filled in at the end
    a = 0.147
    ln = xp.log1p(-zc * zc)
    t = 2 / (math.pi * a) + ln / 2
    x = xp.sqrt(xp.sqrt(t * t - ln / a) - t)
    tail = zc > 0.5
    one_minus = 1.0 - zc
    for _ in range(3):
        r = xp.where(tail, one_minus - _erfc_array(x), _erf_array(x) - zc)   # erf(x) - |y|
        d = _C * xp.exp(-x * x)
        step = r / d
        x = x - step / (1 + x * step)                  # Halley: f'' / f' = -2x
    x = xp.where(inside, x, xp.where(z == 1, np.inf, np.nan))
    return xp.copysign(x, y).astype(y.dtype)   # (erfinv(-0) = -0, as torch)


# d acos = -1 / sqrt(1 - x^2);  d acosh = 1 / sqrt(x^2 - 1);  d asinh = 1 / sqrt(x^2 + 1);
# d atanh = 1 / (1 - x^2)  (torch's formulas, so the values at the poles agree too)
acos = _unary("acos", lambda xp, x: xp.arccos(x), lambda xp, x, y: -1 / xp.sqrt(1 - x * x),
              lambda x, y: -_u.rsqrt(1 - x * x))
acosh = _unary("acosh", lambda xp, x: xp.arccosh(x), lambda xp, x, y: 1 / xp.sqrt(x * x - 1),
               lambda x, y: _u.rsqrt(x * x - 1))
asinh = _unary("asinh", lambda xp, x: xp.arcsinh(x), lambda xp, x, y: 1 / xp.sqrt(x * x + 1),
               lambda x, y: _u.rsqrt(x * x + 1))
atanh = _unary("atanh", lambda xp, x: xp.arctanh(x), lambda xp, x, y: 1 / (1 - x * x),
               lambda x, y: 1 / (1 - x * x))
arccos, arccosh, arcsinh, arctanh = acos, acosh, asinh, atanh   # torch's aliases
# d erfc = -2/sqrt(pi) exp(-x^2)
erfc = _unary("erfc", lambda xp, x: _erfc_array(x), lambda xp, x, y: -_C * xp.exp(-x * x),
              lambda x, y: -_C * _e.exp(-x * x))
erfinv = _unary("erfinv", lambda xp, x: _erfinv_array(x), lambda xp, x, y: _SQRT_PI_2 * xp.exp(y * y),
                lambda x, y: _SQRT_PI_2 * _e.exp(y * y))
# d (x pi/180) = pi/180;  d (x 180/pi) = 180/pi
deg2rad = _unary("deg2rad", lambda xp, x: x * x.dtype.type(_DEG), lambda xp, x, y: x.dtype.type(_DEG),
                 lambda x, y: _DEG)
rad2deg = _unary("rad2deg", lambda xp, x: x * x.dtype.type(1 / _DEG), lambda xp, x, y: x.dtype.type(1 / _DEG),
                 lambda x, y: 1 / _DEG)
deg2rad.function.saves_tensors = rad2deg.function.saves_tensors = False   # (torch's nodes: a constant factor only)


# float16 in float32, rounded once, as torch's half kernels (their opmath type): pi x rounded to
# float16 first put sinc(1) at 3e-4, not 0
@kernel_half_in_float32
def _sinc_array(xp, x):
    px = x * x.dtype.type(math.pi)
    zero = x == 0
    return xp.where(zero, x.dtype.type(1), xp.sin(px) / xp.where(zero, x.dtype.type(1), px))


# (px cos px - sin px) / px = sum over n >= 1 of c_n px^(2n), c_n = (-1)^n 2n / (2n + 1)!: to n = 9
# its truncation is below float64's rounding for |px| < 1, where the closed form cancels (at
# px = 1e-4 the float32 difference of px cos px and sin px is all rounding: 3 eps / px^2 relative)
_SINC_SERIES = tuple((-1) ** n * 2 * n / math.factorial(2 * n + 1) for n in range(1, 10))


def _sinc_series(px2):
    """sum c_n px^(2n-2) by Horner's rule in px^2 (works on arrays and on Tensors)."""
    acc = _SINC_SERIES[-1]
    for c in reversed(_SINC_SERIES[:-1]):
        acc = acc * px2 + c
    return acc


@kernel_half_in_float32
def _sinc_slope(xp, x, y):
    """d sinc = (pi x cos(pi x) - sin(pi x)) / (pi x^2) = pi (px cos px - sin px) / px^2, px = pi x:
    its series below |px| = 1 (0 at x = 0, torch's masked_fill), the closed form above."""
    t = x.dtype.type
    px = x * t(math.pi)
    small = xp.abs(px) < 1
    safe = xp.where(small, t(1), px)   # the closed form only where it is used: no 0/0 at 0
    closed = t(math.pi) * (safe * xp.cos(safe) - xp.sin(safe)) / (safe * safe)
    series = t(math.pi) * px * _sinc_series(px * px).astype(x.dtype, copy=False)
    return xp.where(small, series, closed)


def _sinc_slope_graph(x, y):
    from .shape import where
    if x.dtype == np.float16:   # in float32, as the plain slope (recorded casts)
        return _sinc_slope_graph(x.float(), None).half()
    px = x * math.pi
    small = Tensor._make(backend.get_array_module(x.data).abs(px.data) < 1, None)
    safe = where(small, 1.0, px)
    closed = math.pi * (safe * _u.cos(safe) - _u.sin(safe)) / (safe * safe)
    return where(small, math.pi * px * _sinc_series(px * px), closed)


sinc = _unary("sinc", _sinc_array, _sinc_slope, _sinc_slope_graph)


def _entr_array(xp, x):
    """-x log x for x > 0, 0 at 0, -inf below (torch.special.entr); NaN stays NaN."""
    pos = x > 0
    safe = xp.where(pos, x, x.dtype.type(1))
    out = xp.where(pos, -x * xp.log(safe), xp.where(x == 0, x.dtype.type(0), x.dtype.type(-np.inf)))
    return xp.where(x != x, x, out)


# d entr = -(1 + log x): inf at 0, NaN below 0, as torch's
entr = _unary("entr", _entr_array, lambda xp, x, y: -(1 + xp.log(x)), lambda x, y: -(1 + _e.log(x)))


class _Frac(_u._Elementwise):
    f = staticmethod(lambda xp, x: x - xp.trunc(x))
    slope = staticmethod(lambda xp, x, y: xp.ones_like(x))   # d (x - trunc x) = 1 (trunc's slope is 0)
    slope_graph = staticmethod(lambda x: 1.0)


_Frac.__name__ = _Frac.__qualname__ = "Frac"
_Frac.saves_tensors = False   # torch's FracBackward0 keeps nothing: backward can run again


def frac(x: Tensor) -> Tensor:
    """x - trunc(x), keeping x's sign (frac(-1.5) = -0.5), as torch.frac; gradient 1. Floating
    tensors only (torch refuses integers). x: any shape -> the same shape."""
    if x.dtype.kind != "f":
        raise DtypeNotImplemented(f"frac: not implemented for {x.dtype} tensors (as torch); convert with "
                                  f"x.float() first")
    return _Frac.apply(x)


class _Sgn(_u.Sign):
    saves_tensors = True   # torch's real SgnBackward0 saves x and its result (sign's node nothing): freed by a backward


_Sgn.__name__ = _Sgn.__qualname__ = "Sgn"


def sgn(x: Tensor) -> Tensor:
    """torch.sgn: for real tensors the same as :func:`minitf.sign` (-1, 0 or 1; 0 for NaN; the
    dtype kept; gradient 0); for complex ones z / |z| (0 at 0), with torch's gradient.
    x: any shape -> the same shape."""
    if isinstance(x, Tensor) and x.dtype.kind == "c":
        from .complex_backward import Sgn
        return Sgn.apply(x)
    return _Sgn.apply(x)


def signbit(x: Tensor) -> Tensor:
    """Whether each element's sign bit is set (True for -0.0 and negative NaNs, as torch.signbit);
    a bool tensor, outside the graph. x: any shape -> the same shape."""
    xp = backend.get_array_module(x.data)
    a = x.data
    if a.dtype.kind == "f":
        return Tensor._make(xp.signbit(a), None)
    if a.dtype.kind == "b":
        return Tensor._make(xp.zeros(a.shape, dtype=bool), None)
    if a.dtype.kind == "c":
        from ..complex_guard import refuse
        refuse("signbit", a, why="a complex number has no sign bit")
    return Tensor._make(a < 0, None)


__all__ = ["acos", "acosh", "asinh", "atanh", "arccos", "arccosh", "arcsinh", "arctanh", "erfc", "erfinv",
           "deg2rad", "rad2deg", "sinc", "entr", "frac", "sgn", "signbit", "erf"]
