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
* polygamma(n, x) = (-1)^(n+1) n! zeta(n + 1, x) for n >= 2; polygamma(1, x) (digamma's gradient)
  by its own recurrence to w >= 10, asymptotic series and reflection (:func:`_trigamma64`).

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
with a select, after one read-back of whether any entry needs it. On NumPy lgamma, digamma and
polygamma run in chunks of 8192 over threads (:func:`minitf.ops.lgamma_kernel.chunked`; 2^16 float64
values in (0, 20): lgamma 27 -> 6 ms, digamma 22 -> 8, polygamma(1) 43 -> 8, benchmarks/special_speed.py
for the torch ratios); before that lgamma ran in chunks of 16384, each chunk's recurrence entries compressed and sorted by step count
(benchmarks/lgamma_speed.py: 1M values in (-10, 0) in 70-90 ms, from ~420; positive x 50-75 ms,
from ~110; results bit-identical). lgamma's kernel is :mod:`minitf.ops.lgamma_kernel`.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError
from ..tensor import Tensor
from ._util import float_input, horner
from .more_math import _unary
from .lgamma_kernel import _lgamma_array, chunked

# B_2k / 2k: digamma's asymptotic series
_DIGAMMA = (0.08333333333333333, -0.008333333333333333, 0.003968253968253968, -0.004166666666666667,
            0.007575757575757576, -0.021092796092796094, 0.08333333333333333, -0.4432598039215686)
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


def _shift_up(xp, x, term, to=10.0, steps=10):
    """(x < 0, w, acc): x reflected to 1 - x where negative, then w = that + k >= ``to`` (at most
    ``steps`` steps from 0.5) and acc = term(v_0) + ... + term(v_(k-1)) over the values v_j = that + j
    passed on the way, for the recurrences.

    Each step adds m term(w) and m to w, m = (w < to) as 0/1: the same sums as a select (acc + 0 is
    acc), without one (NumPy's where on a mixed mask is branchy: ~5x a multiply-add, measured);
    term(w) is finite or +-inf wherever m is 0 (w >= to > 0 there, or NaN, which stays NaN)."""
    neg = x < 0
    w = xp.where(neg, 1 - x, x)
    acc = xp.zeros(x.shape)
    for _ in range(steps):
        m = w < to
        if xp is np and not m.any():   # (on a device the read-back would cost more than the step)
            break
        acc += term(w) * m
        w += m
    return neg, w, acc


def _digamma64(xp, x):
    neg, w, acc = _shift_up(xp, x, lambda v: 1 / v)
    inv2 = 1 / (w * w)
    series = horner(inv2, _DIGAMMA)
    out = xp.log(w) - 0.5 / w - series * inv2 - acc
    r = x - xp.round(x)                                  # tan(pi x) = tan(pi r), exact reduction
    if xp is not np or neg.any():
        out = xp.where(neg, out - math.pi / xp.tan(math.pi * r), out)
        out = xp.where(neg & (r == 0), np.nan, out)       # poles at the negative integers: NaN, as torch
    out = xp.where(x == 0, xp.where(xp.signbit(x), np.inf, -np.inf), out)   # psi(+-0) = -+inf, as torch
    return xp.where(x == -np.inf, np.nan, out)


# B_2k, k = 1..8: trigamma's asymptotic series psi1(w) ~ 1/w + 1/(2 w^2) + sum_k B_2k / w^(2k+1); at
# w >= 10 the first omitted term (B_18 / w^19) is below 6e-18 of the value
_TRIGAMMA = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def _trigamma64(xp, x):
    """polygamma(1, x) of float64 x: psi1(x) = psi1(x + k) + sum_j 1/(x + j)^2 up to x + k >= 10, the
    asymptotic series there; x < 0 by psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x), whose second term
    is below 1.7 and the first above 9.8 (no cancellation). inf at the poles 0, -1, -2, ...; as
    :func:`_zeta64`'s sum (the general polygamma) but without its 21 powers per element."""
    neg, w, acc = _shift_up(xp, x, lambda v: 1 / (v * v))
    inv = 1 / w
    inv2 = inv * inv
    series = horner(inv2, _TRIGAMMA)
    out = acc + inv * (1 + inv * (0.5 + inv * series))   # 1/w + 1/(2 w^2) + sum B_2k w^-(2k+1)
    if xp is not np or neg.any():
        s = xp.sin(math.pi * (x - xp.round(x)))       # sin(pi x) up to sign, the argument reduced exactly
        out = xp.where(neg, math.pi ** 2 / (s * s) - out, out)
    out = xp.where(xp.isinf(x), xp.where(x > 0, 0.0, np.nan), out)
    return xp.where(xp.isnan(x), x, out)


def _zeta64(xp, q, s):
    """Hurwitz zeta(s, q), s > 1 (s = 1: inf; s < 1: NaN); q <= 0 integer: inf; q < 0 needs s integer."""
    s = xp.broadcast_to(s, xp.broadcast_shapes(s.shape, q.shape)).astype(np.float64)
    q = xp.broadcast_to(q, s.shape)
    # the elements whose value the sum gives (the others are set below): a q below -2^52 is an
    # integer (inf), so no q makes the loop run forever where the answer is known
    summed = xp.isfinite(q) & (s > 1) & (s < np.inf) & ~((q <= 0) & (q == xp.floor(q))) \
        & ((q > 0) | (s == xp.floor(s)))
    finite_q = xp.where(summed, q, 1.0)
    need = xp.maximum(9.0, xp.ceil(9 - finite_q))          # terms until q + k >= 9
    total = xp.zeros_like(s)
    for k in range(9):
        total = total + (q + k) ** -s
    total = xp.where(summed, total, 0.0) + _far_terms(xp, finite_q, s, need)
    a = finite_q + need
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


def _far_terms(xp, q, s, need):
    """sum over k = 9 .. need - 1 of (q + k)^-s, per element: nonzero only for q < 0 (integer s),
    where q + 9 < 9. One host read finds those elements; each one's terms are summed as an
    array, in blocks (a negative q of size 10^6 is 10^6 terms: one array op, not 10^6)."""
    far = xp.zeros_like(s)
    deep = need > 9
    if not bool(deep.any()):
        return far
    for i in backend.to_numpy(xp.nonzero(deep.reshape(-1))[0]).tolist():
        qi, si, n = float(q.reshape(-1)[i]), float(s.reshape(-1)[i]), int(need.reshape(-1)[i])
        acc = 0.0
        for start in range(9, n, _FAR_BLOCK):
            k = xp.arange(start, min(n, start + _FAR_BLOCK), dtype=np.float64)
            acc += float(((qi + k) ** -si).sum())
        far.reshape(-1)[i] = acc
    return far


_FAR_BLOCK = 1 << 20


def _polygamma64(xp, x, n):
    if n == 0:
        return _digamma64(xp, x)
    if n == 1:
        return _trigamma64(xp, x)
    sign = 1.0 if n % 2 else -1.0
    return sign * float(math.factorial(n)) * _zeta64(xp, x, xp.asarray(float(n + 1)))


_digamma_array = in_float64("digamma", lambda xp, x: chunked(xp, _digamma64, x))
_polygamma_array = in_float64("polygamma", lambda xp, x, n: chunked(xp, lambda xp, c: _polygamma64(xp, c, n), x))


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
    x, q = promote_operands(x, q, true_division=True)   # straight to floats: a uint8 beside an int8 -1 does not wrap
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
