"""lgamma's float64 array kernel (the op is :func:`minitf.ops.gamma_fns.lgamma`, whose docstring
gives the methods and their measured accuracy): Stirling's series at x >= 10, the recurrence into
[1.5, 2.5) and the Taylor series at 2 below, the reflection for most x < 0, and for -10 < x < 0 (and
x near a pole above -20) the recurrence up into (0, 1) with its product kept as a double-double.
On NumPy it runs in chunks over threads; on CuPy, its gammaln with those negative entries redone.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ._util import horner

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# B_2k / (2k (2k - 1)): Stirling's series for lgamma
_STIRLING = (0.08333333333333333, -0.002777777777777778, 0.0007936507936507937, -0.0005952380952380953,
             0.0008417508417508417, -0.0019175269175269176, 0.00641025641025641, -0.029550653594771242)
# (-1)^k (zeta(k) - 1) / k, k = 2..27 (from mpmath at 200 bits): lgamma's Taylor series at 2
_ONE_MINUS_EULER = 0.42278433509846713
_NEAR2 = (0.3224670334241132, -0.0673523010531981, 0.020580808427784546, -0.007385551028673986,
          0.0028905103307415234, -0.001192753911703261, 0.0005096695247430425, -0.00022315475845357939,
          9.945751278180853e-05, -4.492623673813314e-05, 2.050721277567069e-05, -9.439488275268397e-06,
          4.374866789907488e-06, -2.039215753801366e-06, 9.55141213040742e-07, -4.492469198764566e-07,
          2.1207184805554665e-07, -1.0043224823968099e-07, 4.7698101693639804e-08, -2.2711094608943164e-08,
          1.0838659214896955e-08, -5.183475041970047e-09, 2.4836745438024785e-09, -1.1921401405860912e-09,
          5.731367241678862e-10, -2.7595228851242334e-10)
def _sin_pi_abs(xp, x):
    """|sin(pi x)| with the argument reduced exactly (x - round(x) is exact): 0 at integers."""
    return xp.abs(xp.sin(math.pi * (x - xp.round(x))))


def _lgamma_near2(xp, z):
    """lgamma(2 + z) for |z| <= 1/2: the Taylor series z ((1 - gamma) + sum_k (-1)^k (zeta(k) - 1) z^(k-1) / k),
    whose k-th term is below (1/4)^k / k (26 terms: under float64's rounding). Relative accuracy at 2 + z
    (z = 0 is exactly 0), where the value itself is small."""
    series = horner(z, _NEAR2)
    series *= z
    series += _ONE_MINUS_EULER
    series *= z
    return series


def lgamma1p(xp, a):
    """lgamma(1 + a) of a float64 array without rounding 1 + a: lgamma(2 + a) - log1p(a) for |a| <= 1/2
    (relative accuracy near a = 0, where the value is about -0.577 a), lgamma(1 + a) elsewhere."""
    small = xp.abs(a) <= 0.5
    z = xp.where(small, a, 0.0)
    return xp.where(small, _lgamma_near2(xp, z) - xp.log1p(z), _lgamma64(xp, xp.where(small, 1.0, 1.0 + a)))


# elements per step on the CPU: the temporaries of one step stay in cache, and below glibc's 128 KiB
# threshold for mapping fresh pages (a 16384-element float64 temporary is exactly that large: each one
# was an mmap and its page faults, which made a 26-term Horner loop 10x slower than on 8192)
_CHUNK = 8192


def chunked(xp, fn, x):
    """``fn(xp, x)``, an elementwise kernel of a float64 array, chunk by chunk (and over threads) on
    the CPU, where full-size temporaries would cost more in memory traffic than the arithmetic."""
    if xp is not np or x.size <= _CHUNK:
        return fn(xp, x)
    flat = x.reshape(-1)
    out = np.empty_like(flat)

    def kernel(lo, hi):
        with backend.quiet_fp_warnings():   # NumPy's error state is per thread
            for s in range(lo, hi, _CHUNK):
                e = min(s + _CHUNK, hi)
                out[s:e] = fn(xp, flat[s:e])

    backend.parallel_rows(xp, kernel, flat.size, _CHUNK)
    return out.reshape(x.shape)


def _lgamma64(xp, x):
    """log|Gamma(x)| of a float64 array: :func:`_lgamma64_block` in chunks (:func:`chunked`)."""
    return chunked(xp, _lgamma64_block, x)


def _lgamma64_block(xp, x):
    """lgamma of float64 ``x``: :func:`_lgamma_neg_up` where it applies, :func:`_lgamma64_general`
    elsewhere; on NumPy each on its compressed subset (a mask's count costs nothing on the host),
    else both everywhere and a select (one host read-back, of whether any entry needs the former:
    :func:`_patch_neg_up`)."""
    up = _neg_up_mask(xp, x)
    if xp is not np:
        return _patch_neg_up(xp, x, _lgamma64_general(xp, x), up)
    if not up.any():
        return _lgamma64_general(xp, x)
    out = np.empty_like(x)
    rest = ~up
    out[rest] = _lgamma64_general(xp, x[rest])
    sub = x[up]
    out[up] = _lgamma_neg_up(xp, sub, int(-sub.min()))
    return out


def _in_range(xp, w, mask, lo, hi):
    """The entries of w in the range [lo, hi) (``mask``) for that range's formula: on NumPy those
    entries alone (a gather); elsewhere every entry, clipped into the range (for a select after: a
    gather's size would be read back to the host)."""
    return w[mask] if xp is np else xp.clip(w, lo, hi)


def _put(xp, out, mask, values):
    """``out`` with ``values`` (from :func:`_in_range`) where ``mask``."""
    if xp is np:
        out[mask] = values
        return out
    return xp.where(mask, values, out)


def _lgamma64_general(xp, x):
    """log|Gamma(x)|, float64. No step subtracts two values much larger than the result (the old
    form lgamma(x + k) - log(prod), ~14 - ~14 for x near 1 or 2, lost two digits there): x >= 10
    by Stirling; 0 < x < 10 moved into [1.5, 2.5) by lgamma(x) = lgamma(x - k) + log((x-1)...(x-k))
    (both terms >= about -0.12 and one of them >= 0.28: no cancellation) or lgamma(x) =
    lgamma(x + 1) - log(x) (+ log(x + 1) below 1/2), then the series at 2; x < 0 by reflection.

    On NumPy each range is evaluated on its own entries only (a boolean gather and scatter): float64
    log, log1p and sin are the C library's, 5 to 40 ns an element here, far more than the gather
    (each range on every entry and a select cost 3x as much, measured on 2^16 values in (0, 20))."""
    neg = x < 0
    w = xp.where(neg, 1 - x, x)
    out = xp.empty_like(w)
    big_range = w >= 10
    above = w >= 1.5
    # Stirling for w >= 10
    ws = _in_range(xp, w, big_range, 10.0, None)
    inv = 1 / ws
    inv2 = inv * inv
    series = xp.zeros_like(ws)
    for c in reversed(_STIRLING):
        series = series * inv2 + c
    out = _put(xp, out, big_range,
               xp.where(ws == np.inf, np.inf, (ws - 0.5) * xp.log(ws) - ws + _HALF_LOG_2PI + series * inv))
    # 1.5 <= w < 10: down to z = w - k - 2 in [-1/2, 1/2) (w - k exact: k an integer below w)
    mid_range = above & ~big_range
    wm = _in_range(xp, w, mid_range, 1.5, 10.0)
    k = xp.floor(wm - 1.5)
    prod = xp.ones_like(wm)
    for j in range(1, 9):
        # times wm - j where k >= j, else 1: a product with a 0/1 mask, the same values exactly (wm - j - 1
        # is exact, and 0 + 1 is 1) without NumPy's where, branchy on a mixed mask (~5x a multiply-add)
        factor = wm - (j + 1)
        factor *= k >= j
        factor += 1
        prod *= factor
    out = _put(xp, out, mid_range, _lgamma_near2(xp, wm - k - 2) + xp.log(prod))
    # w < 1.5 (and NaN): lgamma(w) = lgamma(2 + z) - log1p(z) with z = w - 1 (exact) at w >= 1/2, z = w
    # below, and there - log(w) too
    low_range = ~above
    wl = _in_range(xp, w, low_range, None, 1.5)
    upper_half = wl >= 0.5
    z_low = wl - upper_half
    out = _put(xp, out, low_range, _lgamma_near2(xp, z_low) - xp.log1p(z_low)
               - xp.log(wl + upper_half * (1 - wl)))     # log 1 = 0 at w >= 1/2 (1 - wl is exact)
    if xp is not np:
        out = xp.where(neg, math.log(math.pi) - xp.log(_sin_pi_abs(xp, x)) - out, out)
    elif neg.any():
        out[neg] = math.log(math.pi) - xp.log(_sin_pi_abs(xp, x[neg])) - out[neg]
    # the poles: inf, as torch; a huge one (|x| ~ 1e308) is inf - inf in the reflection above
    out = xp.where(neg & (x == xp.round(x)), np.inf, out)
    return xp.where(xp.isnan(x), x, out)


# -_NEG_UP < x < 0 goes up by the recurrence instead of the reflection, whose two terms there are up to
# ~15 each (lgamma(1 - x) ~ 12.8 at x = -9) for a result near 0 around every pole: 6e-15 relative;
# so does x within 0.01 of a pole above -_NEG_UP_POLES: log(pi / |sin(pi x)|) ~ lgamma(1 - x) where
# |x - round(x)| ~ 1 / |x|!, still a float64 for |x| < 18 (1.2e-14 at -15 - 1e-12); farther than 0.01
# from a pole, |lgamma(x)| > 0.69 lgamma(1 - x) for x <= -10: the reflection loses < 1.5x there
_NEG_UP = 10.0
_NEG_UP_POLES = 20.0
_SPLIT = 134217729.0   # 2^27 + 1: Veltkamp's split of a float64 into two 26-bit halves


def _two_prod(xp, a, b):
    """(p, e) with p = fl(a b) and p + e = a b exactly (Dekker; NumPy has no fma). |a|, |b| < 2^996."""
    p = a * b
    sa, sb = _SPLIT * a, _SPLIT * b
    ah, bh = sa - (sa - a), sb - (sb - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _neg_up_mask(xp, x):
    """Where :func:`_lgamma_neg_up` replaces the reflection (x float64)."""
    dist = xp.abs(x - xp.round(x))   # (exact) from the nearest pole
    return (x < 0) & (dist > 0) & ((x > -_NEG_UP) | ((x > -_NEG_UP_POLES) & (dist < 0.01)))


def _dd_times(xp, hi, lo, factor):
    """The double-double hi + lo times the float64 ``factor``, renormalised."""
    p, e = _two_prod(xp, hi, factor)
    e = e + lo * factor
    hi = p + e
    return hi, e - (hi - p)


def _neg_up_product_sorted(xs, steps, small_f, z):
    """NumPy: :func:`_lgamma_neg_up`'s product x (x + 1) ... (x + steps) (times z where ``small_f``)
    as (hi, lo), the same operations in the same order as its masked loop, but on the entries sorted
    by their step count, so that those still multiplying at step j are a suffix: each step works on
    a slice, with no select and no work for the entries already done (half of them on (-10, 0))."""
    order = np.argsort(steps.astype(np.int8), kind="stable")   # a radix sort: steps < 20
    xs_s, steps_s = xs[order], steps[order]
    hi, lo = xs_s.copy(), np.zeros_like(xs_s)
    for j, s0 in enumerate(np.searchsorted(steps_s, np.arange(1, int(steps_s.max(initial=0)) + 1)), start=1):
        hi[s0:], lo[s0:] = _dd_times(np, hi[s0:], lo[s0:], xs_s[s0:] + j)
    last = small_f[order]
    hi[last], lo[last] = _dd_times(np, hi[last], lo[last], z[order][last])
    out_hi, out_lo = np.empty_like(hi), np.empty_like(lo)
    out_hi[order], out_lo[order] = hi, lo
    return out_hi, out_lo


def _patch_neg_up(xp, x, out, up=None):
    """``out`` (lgamma of the float64 ``x``, any method, any float dtype) with :func:`_lgamma_neg_up`
    selected where x is in its range: computed everywhere, a fixed number of steps (no step count
    is read back), after one read-back of whether any entry is in that range at all."""
    up = _neg_up_mask(xp, x) if up is None else up
    # the one sync: without it every call ran the fixed steps (about 530 more kernel launches on a
    # GPU, milliseconds of host time) even for inputs with no entry in (-20, 0), the common case
    if not bool(up.any()):
        return out
    better = _lgamma_neg_up(xp, xp.where(up, x, -0.5), int(_NEG_UP_POLES) - 1)
    return xp.where(up, better.astype(out.dtype, copy=False), out)


def _lgamma_neg_up(xp, x, max_steps):
    """log|Gamma(x)| for -_NEG_UP_POLES < x < 0, x not an integer (every entry such, x >= -1 - max_steps): lgamma(x) = lgamma(f) - log|x (x + 1) ... (x + n - 1)|, f = x + n in (0, 1).

    Every factor x + j is exact (it is no larger than |x| and a multiple of its ulp), and so is
    g = x + n - 1 in (-1, 0), the last one; lgamma(f) = lgamma(2 + z) - log1p(z) with z = g
    (f >= 1/2), or z = f = 1 + g (exact: Sterbenz) minus log f (f < 1/2, f joins the product). The
    product is kept as a double-double (hi + lo), so log|prod| = log|hi| + lo / hi is rounded once,
    or, when |hi| is near 1 and the result may be small, log1p of (hi - 1) + lo (hi - 1 exact)."""
    xs = x
    steps = xp.floor(-xs)                 # n - 1
    g = xs + steps
    small_f = g < -0.5
    z = xp.where(small_f, g + 1, g)
    if xp is np:
        hi, lo = _neg_up_product_sorted(xs, steps, small_f, z)
    else:   # a fixed number of steps, times 1 (exactly the identity) where an entry is done
        hi, lo = xs, xp.zeros_like(xs)
        for j in range(1, max_steps + 2):  # times x + j while j <= n - 1, then f if f < 1/2
            # x + j (exact) is <= g < 0 for j <= n - 1, f = z at j = n, >= 1 beyond: below 1/2
            # exactly where it is a factor
            factor = xs + j
            hi, lo = _dd_times(xp, hi, lo, xp.where(factor < 0.5, factor, 1.0))
    near_one = (xp.abs(hi) > 0.5) & (xp.abs(hi) < 2.0)
    mag = xp.abs(hi)
    log_prod = xp.where(near_one, xp.log1p((mag - 1) + xp.where(hi < 0, -lo, lo)),
                        xp.log(mag) + lo / hi)
    return _lgamma_near2(xp, z) - xp.log1p(z) - log_prod


def _lgamma_array(xp, x):
    """lgamma in x's dtype: CuPy's gammaln where it has one, whose x < 0 is the reflection (cephes'),
    with the entries that :func:`_patch_neg_up` covers recomputed; else :func:`_lgamma64`."""
    native = backend.native_special(xp, "gammaln")
    if native is None:
        with backend.quiet_fp_warnings():
            return _lgamma64(xp, x.astype(np.float64)).astype(x.dtype, copy=False)
    out = native(x)
    with backend.quiet_fp_warnings():
        return _patch_neg_up(xp, x.astype(np.float64), out)
