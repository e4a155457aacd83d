"""The gamma family, each with its derivative beside it: lgamma (torch.special.gammaln),
digamma (psi), polygamma(n, x), the Hurwitz zeta(x, q) and the multivariate mvlgamma.

minitf's core has no SciPy, so on NumPy (and the fake device) the array kernels are written
here, in float64 (float32/16 inputs are computed in float64 and rounded once):

* lgamma: Stirling's series (8 Bernoulli terms) at x >= 10; below, the recurrence moves x into
  [1.5, 2.5) (downward, adding log((x-1)...(x-k)), or one or two steps up), where the Taylor series
  of lgamma(2 + z) takes over; -10 < x < 0 (and x within 0.01 of a pole above -20) up by the
  recurrence to (0, 1), the product of the steps a double-double; the other x < 0 by the reflection
  lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x) (sin's argument reduced exactly), whose two
  terms do not nearly cancel there.
* digamma: the asymptotic series at w >= 10 with psi(x) = psi(x + k) - sum 1/(x + j);
  x < 0 by psi(x) = psi(1 - x) - pi / tan(pi x).
* zeta(s, q) = sum_k (q + k)^-s by Euler-Maclaurin: at least 9 terms (until q + k >= 9),
  then the integral, the half term and 12 Bernoulli corrections.
* polygamma(n, x) = (-1)^(n+1) n! zeta(n + 1, x) for n >= 1.

Measured in float64 against torch 2.13 and mpmath (tests/test_special_gamma.py's grids:
1e-300 .. 1e300 and negative non-integers; lgamma in tests/test_special_lgamma.py):
lgamma relative error <= 6e-16 for x > 0 (torch's, the C library's: 2.2e-16; minitf's was 5e-14
before the series at 2 replaced a shift up to 10, whose log(prod) ~ 14 cancelled), 9.1e-16 for x < 0
where |lgamma| > 0.1 (torch 2.0e-16; the reflection alone, used for every x < 0 before: 6.4e-15 on
(-10, -1), 1.2e-14 at -15 - 1e-12), absolute 1.5e-16 near the zeros (before: 1e-15). digamma:
relative <= 4e-15, absolute <= 7e-16 near its root 1.4616... polygamma(1, x) is good to 7e-16
(torch's trigamma to 5e-10 only), polygamma(n >= 2) and zeta to 1e-14. On CuPy,
``cupyx.scipy.special``'s gammaln, digamma, polygamma and zeta are used
(:func:`minitf.backend.native_special`), and the recurrence for x < 0 above runs a fixed 20 steps
with a select (no host sync). On NumPy lgamma runs in chunks of 16384 over threads, each chunk's
recurrence entries compressed and sorted by step count (benchmarks/lgamma_speed.py: 1M values in
(-10, 0) in 70-90 ms, from ~420; positive x 50-75 ms, from ~110; results bit-identical).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError
from ..tensor import Tensor
from ._util import float_input
from .more_math import _unary

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# B_2k / (2k (2k - 1)): Stirling's series for lgamma;  B_2k / 2k: digamma's asymptotic series
_STIRLING = (0.08333333333333333, -0.002777777777777778, 0.0007936507936507937, -0.0005952380952380953,
             0.0008417508417508417, -0.0019175269175269176, 0.00641025641025641, -0.029550653594771242)
_DIGAMMA = (0.08333333333333333, -0.008333333333333333, 0.003968253968253968, -0.004166666666666667,
            0.007575757575757576, -0.021092796092796094, 0.08333333333333333, -0.4432598039215686)
# (-1)^k (zeta(k) - 1) / k, k = 2..27 (from mpmath at 200 bits): lgamma's Taylor series at 2
_ONE_MINUS_EULER = 0.42278433509846713
_NEAR2 = (0.3224670334241132, -0.0673523010531981, 0.020580808427784546, -0.007385551028673986,
          0.0028905103307415234, -0.001192753911703261, 0.0005096695247430425, -0.00022315475845357939,
          9.945751278180853e-05, -4.492623673813314e-05, 2.050721277567069e-05, -9.439488275268397e-06,
          4.374866789907488e-06, -2.039215753801366e-06, 9.55141213040742e-07, -4.492469198764566e-07,
          2.1207184805554665e-07, -1.0043224823968099e-07, 4.7698101693639804e-08, -2.2711094608943164e-08,
          1.0838659214896955e-08, -5.183475041970047e-09, 2.4836745438024785e-09, -1.1921401405860912e-09,
          5.731367241678862e-10, -2.7595228851242334e-10)
# B_2j / (2j)!: the Euler-Maclaurin corrections of zeta
_EM = (0.08333333333333333, -0.001388888888888889, 3.306878306878307e-05, -8.267195767195768e-07,
       2.08767569878681e-08, -5.284190138687493e-10, 1.3382536530684679e-11, -3.3896802963225827e-13,
       8.586062056277845e-15, -2.174868698558062e-16, 5.5090028283602295e-18, -1.3954464685812522e-19)


def in_float64(name: str, kernel):
    """An array function ``f(xp, x, *rest)`` in x's dtype from ``kernel(xp, x64, *rest)`` on float64,
    or the array module's own ``name`` where it has one (CuPy's cupyx.scipy.special; None: always ours)."""
    def f(xp, x, *rest):
        native = None if name is None else backend.native_special(xp, name)
        if native is not None:
            return native(*rest, x) if name in ("polygamma",) else native(x, *rest)
        with backend.quiet_fp_warnings():   # poles give inf, outside the domain NaN, silently as torch
            return kernel(xp, x.astype(np.float64), *rest).astype(x.dtype, copy=False)
    return f


def _sin_pi_abs(xp, x):
    """|sin(pi x)| with the argument reduced exactly (x - round(x) is exact): 0 at integers."""
    return xp.abs(xp.sin(math.pi * (x - xp.round(x))))


def _shift_up(xp, x, combine, start, to=10.0, steps=10):
    """(x < 0, w, acc): x reflected to 1 - x where negative, then w = that + k >= ``to`` (at most
    ``steps`` steps from 0.5) and acc = combine(... combine(start, v_0) ..., v_(k-1)) over the values
    v_j = that + j passed on the way, for the recurrences."""
    neg = x < 0
    w = xp.where(neg, 1 - x, x)
    acc = xp.full(x.shape, start)
    for _ in range(steps):
        m = w < to
        acc = xp.where(m, combine(acc, xp.where(m, w, 1)), acc)
        w = xp.where(m, w + 1, w)
    return neg, w, acc


def _lgamma_near2(xp, z):
    """lgamma(2 + z) for |z| <= 1/2: the Taylor series z ((1 - gamma) + sum_k (-1)^k (zeta(k) - 1) z^(k-1) / k),
    whose k-th term is below (1/4)^k / k (26 terms: under float64's rounding). Relative accuracy at 2 + z
    (z = 0 is exactly 0), where the value itself is small."""
    series = xp.zeros_like(z)
    for c in reversed(_NEAR2):
        series = series * z + c
    return z * (_ONE_MINUS_EULER + z * series)


_CHUNK = 16384   # elements per step on the CPU: the temporaries of one step stay in cache


def _lgamma64(xp, x):
    """log|Gamma(x)| of a float64 array: :func:`_lgamma64_block` chunk by chunk (and over threads) on
    the CPU, where ~100 full-size temporaries would cost more in memory traffic than the arithmetic."""
    if xp is not np or x.size <= _CHUNK:
        return _lgamma64_block(xp, x)
    flat = x.reshape(-1)
    out = np.empty_like(flat)

    def kernel(lo, hi):
        with backend.quiet_fp_warnings():   # NumPy's error state is per thread
            for s in range(lo, hi, _CHUNK):
                e = min(s + _CHUNK, hi)
                out[s:e] = _lgamma64_block(xp, flat[s:e])

    backend.parallel_rows(xp, kernel, flat.size, _CHUNK)
    return out.reshape(x.shape)


def _lgamma64_block(xp, x):
    """lgamma of float64 ``x``: :func:`_lgamma_neg_up` where it applies, :func:`_lgamma64_general`
    elsewhere; on NumPy each on its compressed subset (a mask's count costs nothing on the host),
    else both everywhere and a select (no host sync)."""
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


def _lgamma64_general(xp, x):
    """log|Gamma(x)|, float64. No step subtracts two values much larger than the result (the old
    form lgamma(x + k) - log(prod), ~14 - ~14 for x near 1 or 2, lost two digits there): x >= 10
    by Stirling; 0 < x < 10 moved into [1.5, 2.5) by lgamma(x) = lgamma(x - k) + log((x-1)...(x-k))
    (both terms >= about -0.12 and one of them >= 0.28: no cancellation) or lgamma(x) =
    lgamma(x + 1) - log(x) (+ log(x + 1) below 1/2), then the series at 2; x < 0 by reflection."""
    neg = x < 0
    w = xp.where(neg, 1 - x, x)
    # Stirling for w >= 10
    ws = xp.maximum(w, 10.0)
    inv = 1 / ws
    inv2 = inv * inv
    series = xp.zeros_like(ws)
    for c in reversed(_STIRLING):
        series = series * inv2 + c
    big = xp.where(ws == np.inf, np.inf, (ws - 0.5) * xp.log(ws) - ws + _HALF_LOG_2PI + series * inv)
    # 1.5 <= w < 10: down to z = w - k - 2 in [-1/2, 1/2) (w - k exact: k an integer below w)
    wm = xp.clip(w, 1.5, 10.0)
    k = xp.floor(wm - 1.5)
    prod = xp.ones_like(wm)
    for j in range(1, 9):
        prod = xp.where(k >= j, prod * (wm - j), prod)
    # w < 1.5: lgamma(w) = lgamma(2 + z) - log1p(z) with z = w - 1 (exact) at w >= 1/2, z = w below
    wl = xp.minimum(w, 1.5)
    upper_half = wl >= 0.5
    z_low = xp.where(upper_half, wl - 1, wl)
    # one series at 2 for both ranges, on the z each entry needs
    near2 = _lgamma_near2(xp, xp.where(w >= 1.5, wm - k - 2, z_low))
    mid = near2 + xp.log(prod)
    low = near2 - xp.log1p(z_low) - xp.where(upper_half, 0.0, xp.log(xp.where(upper_half, 1.0, wl)))
    out = xp.where(w >= 10, big, xp.where(w >= 1.5, mid, low))
    out = xp.where(neg, math.log(math.pi) - xp.log(_sin_pi_abs(xp, x)) - out, out)
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
    # GPU, milliseconds of host time) even for inputs with no entry in (-17, 0), the common case
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


def _digamma64(xp, x):
    neg, w, acc = _shift_up(xp, x, lambda acc, v: acc + 1 / v, 0.0)
    inv2 = 1 / (w * w)
    series = xp.zeros_like(w)
    for c in reversed(_DIGAMMA):
        series = series * inv2 + c
    out = xp.log(w) - 0.5 / w - series * inv2 - acc
    r = x - xp.round(x)                                  # tan(pi x) = tan(pi r), exact reduction
    out = xp.where(neg, out - math.pi / xp.tan(math.pi * r), out)
    out = xp.where(neg & (r == 0), np.nan, out)           # poles at the negative integers: NaN, as torch
    out = xp.where(x == 0, xp.where(xp.signbit(x), np.inf, -np.inf), out)   # psi(+-0) = -+inf, as torch
    return xp.where(x == -np.inf, np.nan, out)


def _zeta64(xp, q, s):
    """Hurwitz zeta(s, q), s > 1 (s = 1: inf; s < 1: NaN); q <= 0 integer: inf; q < 0 needs s integer."""
    s = xp.broadcast_to(s, xp.broadcast_shapes(s.shape, q.shape)).astype(np.float64)
    q = xp.broadcast_to(q, s.shape)
    finite_q = xp.where(xp.isfinite(q), q, 1.0)
    lowest = float(finite_q.min()) if finite_q.size else 1.0
    n_terms = max(9, int(math.ceil(9 - lowest)) + 1)       # until q + k >= 9 (one host read)
    need = xp.maximum(9.0, xp.ceil(9 - finite_q))
    total = xp.zeros_like(s)
    for k in range(n_terms):
        m = k < need
        total = total + xp.where(m, (q + k) ** -s, 0.0)
    a = q + need
    a_s = a ** -s
    total = total + a * a_s / (s - 1) + 0.5 * a_s
    P = s * a_s / a                                        # s (s+1) ... (s+2j-2) a^(-s-2j+1), j = 1
    a2 = a * a
    for j, c in enumerate(_EM, start=1):
        total = total + c * P
        P = P * (s + 2 * j - 1) * (s + 2 * j) / a2
    out = xp.where(s == np.inf, q ** -s, total)
    out = xp.where(q == np.inf, 0.0, out)
    integer_q = (q <= 0) & (q == xp.floor(q))
    out = xp.where((q < 0) & (s != xp.floor(s)), np.nan, out)
    out = xp.where(integer_q, np.inf, out)
    out = xp.where(s == 1, np.inf, xp.where(s < 1, np.nan, out))
    return xp.where(xp.isnan(s) | xp.isnan(q), np.nan, out)


def _polygamma64(xp, x, n):
    if n == 0:
        return _digamma64(xp, x)
    sign = 1.0 if n % 2 else -1.0
    return sign * float(math.factorial(n)) * _zeta64(xp, x, xp.asarray(float(n + 1)))


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


_digamma_array = in_float64("digamma", _digamma64)
_polygamma_array = in_float64("polygamma", _polygamma64)


class Polygamma(Function):
    """y = polygamma(n, x); dy/dx = polygamma(n + 1, x) (n has none: an integer)."""

    def forward(self, x, n):
        self.x = x
        return _polygamma_array(backend.get_array_module(x), x, n)

    def backward(self, g):
        return (g * _polygamma_array(backend.get_array_module(g), self.x, self.params["n"] + 1),)

    def backward_graph(self, g):
        (x,) = self.inputs
        return (g * polygamma(self.params["n"] + 1, x),)


def polygamma(n: int, x: Tensor) -> Tensor:
    """The n-th derivative of digamma, as torch.polygamma(n, x): (-1)^(n+1) n! zeta(n + 1, x) for
    n >= 1, digamma for n = 0. x: any shape -> the same shape (integers give the default float
    dtype). Gradient: polygamma(n + 1, x). At the poles x = 0, -1, -2, ... the value is inf
    (torch's trigamma gives huge finite values there, from sin(pi x) rounding off zero)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma: n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ArgumentError("polygamma(n, x) does not support negative n.")
    if not isinstance(x, Tensor):
        raise TypeError(f"polygamma: x must be a Tensor, got {type(x).__name__}")
    return Polygamma.apply(float_input(x), n=int(n))


# d lgamma = digamma;  d digamma = polygamma(1)
lgamma = _unary("lgamma", lambda xp, x: _lgamma_array(xp, x), lambda xp, x, y: _digamma_array(xp, x),
                lambda x, y: digamma(x))
digamma = _unary("digamma", lambda xp, x: _digamma_array(xp, x),
                 lambda xp, x, y: _polygamma_array(xp, x, 1), lambda x, y: polygamma(1, x))
lgamma.__doc__ = """log|Gamma(x)|, as torch.lgamma / torch.special.gammaln (inf at 0, -1, -2, ...).
    x: any shape -> the same shape. Gradient: digamma(x). Accuracy: see the module docstring."""
digamma.__doc__ = """psi(x) = d/dx log Gamma(x), as torch.digamma / torch.special.digamma / psi:
    -inf at +0 (inf at -0), NaN at the negative integers, as torch. x: any shape -> the same
    shape. Gradient: polygamma(1, x)."""
gammaln, psi = lgamma, digamma


class Zeta(Function):
    """y = zeta(s, q) = sum_k (q + k)^-s; dy/dq = -s zeta(s + 1, q). s gets no gradient (torch has none)."""

    def forward(self, s, q):
        xp = backend.get_array_module(q)
        self.s, self.q = s, q
        native = backend.native_special(xp, "zeta")
        if native is not None:
            return native(s, q)
        with backend.quiet_fp_warnings():
            return _zeta64(xp, q.astype(np.float64), s.astype(np.float64)).astype(q.dtype, copy=False)

    def backward(self, g):
        if self.inputs[0]._requires_grad:
            raise NotImplementedError("the derivative for 'special_zeta: self' is not implemented (as torch)")
        dq = -self.s * Zeta().forward(self.s + 1, self.q)
        return None, g * dq

    def backward_graph(self, g):
        if self.inputs[0]._requires_grad:
            raise NotImplementedError("the derivative for 'special_zeta: self' is not implemented (as torch)")
        s, q = self.inputs
        s = s.detach()
        return None, g * (-s * Zeta.apply(s + 1, q))


def zeta(x, q) -> Tensor:
    """The Hurwitz zeta function sum_{k >= 0} (q + k)^-x, as torch.special.zeta (x > 1; x = 1
    gives inf, x < 1 NaN; q a non-positive integer gives inf). x, q: tensors or numbers,
    broadcast -> their broadcast shape, promoted to a float dtype. Gradient w.r.t. q:
    -x zeta(x + 1, q); w.r.t. x torch has none, and neither has minitf (an error in backward)."""
    from .promotion import promote_operands
    if not isinstance(x, Tensor) and not isinstance(q, Tensor):
        raise TypeError("zeta: expected at least one Tensor argument")
    x, q = promote_operands(x, q)
    x, q = float_input(x), float_input(q)
    if x.dtype != q.dtype:
        x, q = x.to(dtype=np.result_type(x.dtype, q.dtype)), q.to(dtype=np.result_type(x.dtype, q.dtype))
    return Zeta.apply(x, q)


def mvlgamma(x: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma log Gamma_p(x) = p(p-1)/4 log(pi) + sum_{i<p} lgamma(x - i/2),
    as torch.mvlgamma / torch.special.multigammaln. Every element must exceed (p - 1)/2.
    x: any shape -> the same shape. Gradient: sum_{i<p} digamma(x - i/2)."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise ArgumentError(f"mvlgamma: p has to be greater than or equal to 1, got {p!r}")
    x = float_input(x)
    if x.data.size and not bool((x.data > (p - 1) / 2).all()):
        raise ArgumentError(f"All elements must be greater than (p-1)/2, p = {p}")
    xp = backend.get_array_module(x.data)
    halves = Tensor._make(xp.arange(p, dtype=x.dtype) / 2, None)
    return lgamma(x.unsqueeze(-1) - halves).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


multigammaln = mvlgamma

__all__ = ["lgamma", "gammaln", "digamma", "psi", "polygamma", "zeta", "mvlgamma", "multigammaln"]
