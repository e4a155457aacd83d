"""The error function on arrays, for the exact GELU: NumPy has none, and minitf
does not depend on SciPy.

    erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt

On the CPU (and the fake device) it is evaluated with W. J. Cody's rational
Chebyshev approximations ("Rational Chebyshev approximations for the error
function", Math. Comp. 23 (1969) 631-638; the coefficients of his SPECFUN
routine CALERF), which are accurate beyond float64 precision, on three ranges
of y = |x|:

    y <= 0.46875:       erf(x)  = x R_1(y^2)
    0.46875 < y <= 4:   erfc(y) = exp(-y^2) R_2(y)
    y > 4:              erfc(y) = exp(-y^2) / y (1/sqrt(pi) - R_3(1/y^2) / y^2)

with R_k ratios of polynomials, and erf(x) = sign(x) (1 - erfc(y)). exp(-y^2)
is formed as exp(-s^2) exp(-(y - s)(y + s)) with s = y rounded down to a
multiple of 1/16, so that y^2 is never rounded before the exponential (its
rounding error would be multiplied by y^2). The first two ranges are evaluated
on every element, each on the input clipped into its range, and picked by a 0/1
blend (cheaper than gathering each range's elements, and than NumPy's branchy
``where`` on a mixed mask); the third only on
its own elements. float32 (and float16) input is computed in float64 by a shorter
method (:func:`_single`): erfc(y) = exp(-y^2) R(y), y^2 exact, R one ratio fitted to 1e-10,
and rounded once.
Where the array module has an erf of its own (CuPy's ``cupyx.scipy.special``)
:func:`minitf.backend.native_special` hands it over and that one is used. erfc
is evaluated on the same ranges (without forming 1 - erf).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ._util import horner

# Cody's coefficients, highest-order term last in each list as in CALERF's DATA statements
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
_SQRT_1_PI = 0.56418958354775628695   # 1/sqrt(pi)
_THRESH = 0.46875
_XBIG = 26.543                        # Cody's XBIG: erfc(y) is set to 0 beyond (the true value
                                      # is subnormal up to about 27.2, below the smallest normal)


def _ratio(z, num, den, n_loop):
    """(((num[-1] z + num[0]) z + num[1]) z ...) / ((z + den[0]) z + ...): Cody's nesting."""
    xnum, xden = num[-1] * z, z.copy()
    for i in range(n_loop):
        xnum += num[i]
        xnum *= z
        xden += den[i]
        xden *= z
    return (xnum + num[n_loop]) / (xden + den[n_loop])


def _exp_minus_square(y):
    """exp(-y^2) without rounding y^2 first: s = floor(16 y) / 16, exp(-s^2) exp(-(y - s)(y + s))."""
    xp = backend.get_array_module(y)
    s = xp.floor(y * 16) / 16
    return xp.exp(-s * s) * xp.exp(-(y - s) * (y + s))


def _cody(x, complement: bool):
    """erf (or erfc with ``complement``) of a float64 array, elementwise (see the module docstring).

    The first two ranges are evaluated on every element, each on its input clipped into its
    range, and the results picked by sign copies and a 0/1 blend: a boolean gather and scatter per range cost
    more than the arithmetic (measured: 280 of 410 us on 16,384 elements). Only the third
    range, which activations rarely reach, gathers its elements.
    """
    xp = backend.get_array_module(x)
    y = xp.abs(x)
    with backend.quiet_underflow(xp):  # exp(-y^2) and y^2 of tiny y round to 0: correct, not an error
        xs = xp.clip(x, -_THRESH, _THRESH)
        e = xs * _ratio(xs * xs, _A, _B, 3)                       # erf(x), |x| <= 0.46875
        ym = xp.clip(y, _THRESH, 4.0)
        tail = _exp_minus_square(ym) * _ratio(ym, _C, _D, 7)       # erfc(y), 0.46875 < y <= 4
        # the selects of this range by sign and of the first range are sign copies and a 0/1 blend
        # (where on a mixed mask is branchy in NumPy): the same values (x = -0 and NaN are set below)
        if complement:   # erfc(-y) = 2 - erfc(y)
            out = xp.copysign(tail, x)
            out += 2.0 * xp.signbit(x)
            e = 1.0 - e
        else:            # erf(x) = sign(x) (1 - erfc(y)), the halves keep the last bit
            out = xp.copysign((0.5 - tail) + 0.5, x)
        first = y <= _THRESH
        out *= ~first
        out += e * first
        big = y > 4.0
        if big.any():
            yp = y[big]
            # y clipped: beyond _XBIG erfc(y) is 0 in float64, and 1/y^2 or inf - inf must not warn
            yc = xp.minimum(yp, _XBIG)
            z = 1.0 / (yc * yc)
            tail = (_SQRT_1_PI - z * _ratio(z, _P, _Q, 4)) / yc * _exp_minus_square(yc)
            tail = xp.where(yp >= _XBIG, 0.0, tail)
            negative = x[big] < 0
            if complement:
                out[big] = xp.where(negative, 2.0 - tail, tail)
            else:
                out[big] = xp.where(negative, -1.0, 1.0) * ((0.5 - tail) + 0.5)
    nan = xp.isnan(x)
    if nan.any():
        out[nan] = x[nan]
    return out


# float32 (and float16) input: erfc(y) = exp(-y^2) R(y) on 0 <= y <= 10.5 (beyond, erfc rounds to 0 in float32),
# R(y) = exp(y^2) erfc(y) as a ratio of degrees 5 and 6 in y (lowest-order term first), fitted for minitf
# by iteratively reweighted least squares on 3000 Chebyshev points against mpmath: relative error
# 1.1e-10, far below float32's 6e-8, so the float64 result still rounds to within one float32 ulp
# of the true value (a near-tie aside, to the correctly rounded one). With y^2 exact in float64 (y
# holds a float32 value) that is one exponential and a dozen multiply-adds per element, against
# Cody's two ranges of 19 and 9 terms, a select between them and the second exponential.
_R_NUM = (0.9999999998919755, 1.442168785816282, 1.0107579443715615, 0.40851662867832494,
          0.09480669757219762, 0.010313757117463962)
_R_DEN = (1.0, 2.5705479386069503, 2.911310990860812, 1.875281602131706, 0.7332374826941189,
          0.1680395589729548, 0.0182806777768878)
_R_TOP = 10.5
# erf of |x| <= 0.46875 is Cody's first range (as for float64): 1 - erfc(|x|) there would lose
# 1/erf(x) of erfc's accuracy to cancellation


def _single(x, complement: bool):
    """(erf or erfc of x, exp(-x^2)) for a float64 array holding float32 (or float16) values, to
    within about 2e-10 relative (erfc: everywhere, down its tail; erf: with Cody's first range near 0)."""
    xp = backend.get_array_module(x)
    y = xp.abs(x)
    e = y * y                       # exact: y has at most 24 significant bits
    xp.negative(e, out=e)
    xp.exp(e, out=e)                # underflows to 0 beyond y = 27 (quiet: the caller's context)
    yc = xp.minimum(y, _R_TOP)
    r = horner(yc, _R_NUM)
    r /= horner(yc, _R_DEN)
    r *= e                          # erfc(|x|)
    if complement:                  # erfc(x) = 2 - erfc(-x) for x < 0 (-0 included: 2 - 1), without a select
        out = xp.copysign(r, x)
        out += 2.0 * xp.signbit(x)
        return out, e
    xp.subtract(1.0, r, out=r)
    xp.copysign(r, x, out=r)        # erf(x) for |x| > 0.46875
    xs = xp.clip(x, -_THRESH, _THRESH)
    small = xs * _ratio(xs * xs, _A, _B, 3)   # Cody's first range, erf(x) for |x| <= 0.46875
    near0 = y <= _THRESH            # an exact blend: one product is 0, the other the value (a + m (b - a)
    small *= near0                  # would round a tiny erf away against a larger 1 - erfc)
    r *= ~near0
    r += small
    return r, e


_CHUNK = 8192   # elements per step: the temporaries of one step stay in cache and are reused (8192
                # measured fastest for float32 input, 20% ahead of 16384, on 2^16 elements)


def _evaluate(x, name: str, want_exp: bool = False):
    """erf or erfc of x in its dtype; with ``want_exp`` (erfc only) the pair (erfc(x), exp(-x^2)),
    the second None where the array module's own erfc is used or x is float64."""
    xp = backend.get_array_module(x)
    native = backend.native_special(xp, name)
    if native is not None:
        return (native(x), None) if want_exp else native(x)
    # chunk by chunk (and over threads on the CPU): a dozen fresh full-size temporaries would cost
    # more in page faults than the arithmetic (measured 10x on 2^20 float64 elements)
    flat = x.reshape(-1)
    out = xp.empty(flat.shape, dtype=x.dtype)
    single = x.dtype != np.float64
    exp_out = xp.empty(flat.shape, dtype=x.dtype) if want_exp and single else None
    complement = name == "erfc"

    chunk = backend.chunk_elements(xp, flat.size, _CHUNK)   # the fake device: one step

    def kernel(lo, hi):
        for s in range(lo, hi, chunk):
            e = min(s + chunk, hi)
            with backend.quiet_underflow(xp):  # a tiny erfc rounds to a float32 subnormal or 0
                if single:
                    out[s:e], ex = _single(flat[s:e].astype(np.float64), complement)
                    if exp_out is not None:
                        exp_out[s:e] = ex
                else:
                    out[s:e] = _cody(flat[s:e], complement)

    backend.parallel_rows(xp, kernel, flat.size, _CHUNK)
    if want_exp:
        return out.reshape(x.shape), None if exp_out is None else exp_out.reshape(x.shape)
    return out.reshape(x.shape)


def erf(x):
    """The error function of a float array, elementwise, in its dtype.

    Accurate to 2 ulp in float64; float32/16 rounded once from a float64 value good to 2e-10
    relative (:func:`_single`): within an ulp of the true value, mostly the correctly rounded one.
    x: any shape -> the same shape.
    """
    return _evaluate(x, "erf")


def erfc(x):
    """The complementary error function 1 - erf(x), without the cancellation of 1 - erf(x) for x >> 0.

    x: any shape -> the same shape, in its dtype.
    """
    return _evaluate(x, "erfc")


def erfc_and_exp(x):
    """(erfc(x), exp(-x^2)) of a float array, both x's shape and dtype; the second is the kernel's own
    intermediate for float32/16 input on NumPy and the fake device (None otherwise: compute it)."""
    return _evaluate(x, "erfc", want_exp=True)
