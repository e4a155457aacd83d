"""The regularized incomplete gamma functions, torch.special.gammainc / gammaincc (torch.igamma /
igammac), with the derivative in x beside them:

    P(a, x) = 1/Gamma(a) int_0^x t^(a-1) e^-t dt,   Q(a, x) = 1 - P(a, x),
    dP/dx = x^(a-1) e^-x / Gamma(a) = -dQ/dx.

torch has no derivative in a (its backward raises), and neither has minitf: the same error.

Array kernel (float64, NumPy and the fake device; CuPy's cupyx.scipy.special gammainc /
gammaincc through :func:`minitf.backend.native_special`): with the prefactor
f = exp(a log x - x - lgamma(a)),

* x < a + 1: the series P = f sum_n x^n / (a (a+1) ... (a+n));
* x >= a + 1: Legendre's continued fraction for Q, by the modified Lentz method;

the other one as the complement (the one computed is the smaller, so 1 - it keeps its digits).
Both run on the whole array, checking convergence every 16 steps (one host read); the number of
steps grows like sqrt(a) near x = a. Where x <= 1.1, Q has a series of its own, from integrating
the series of e^-t term by term (int_0^x t^(a-1) (-t)^n / n! dt = (-1)^n x^(a+n) / (n! (a + n))):

    Q = -expm1(u) - a e^u S,   u = a log x - lgamma(1 + a),   S = sum_{n>=1} (-x)^n / (n! (a + n)),

(24 terms), with lgamma(1 + a) not rounding 1 + a (:func:`~minitf.ops.lgamma_kernel.lgamma1p`): for
a small a, Q is then no longer the complement of a P within rounding of 1 (which gave Q(1e-8, 0.5)
to 1e-8 relative, and 2e-16 for the true 6e-301 at a = 1e-300; torch's are as far off). For a < 1
the continued fraction's prefactor is a x^a e^-x / Gamma(1 + a), so that the size of lgamma(a) ~
-log a is not in its exponent (6e-14 relative at a = 1e-255). Measured in float64 against mpmath (a,
x in 1e-3 .. 1e3, tests/test_special_gamma.py): relative error below 1.2e-12 where the value is
above 1e-300 (the prefactor's exponent, about a log a, costs digits for large a: ~1e-16 a log(a));
torch 2.13's error there is up to 2e-9 (its asymptotic series for large a). Q on a grid of a from
1e-300 to 1.5 and x from 1e-20 to 1.5: below 2e-15 where x <= 1.1 (it was up to 1e-9 relative at
a = 1e-10, and 1 - P gave 2e-16 for 6e-301), below 1.2e-14 beyond (9e-14 before the prefactor above).
Both are clipped to [0, 1].
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError
from ..tensor import Tensor
from .gamma_fns import lgamma
from .lgamma_kernel import _lgamma64, lgamma1p

_EPS = 4.5e-16   # two ulps of 1: |delta - 1| of a converged step is 0 or one ulp, never below
_TINY = 1e-300
_MAX_STEPS = 100_000
_Q_SERIES_X = 1.1   # Q's own series where x <= this; its terms x^n / n! are below 1.6e-23 after 24
_Q_SERIES_TERMS = 24


def _gammainc64(xp, a, x, upper: bool):
    a, x = xp.broadcast_arrays(a, x)
    valid = (a >= 0) & (x >= 0) & ~xp.isnan(a) & ~xp.isnan(x)
    regular = valid & (a > 0) & (x > 0) & xp.isfinite(a) & xp.isfinite(x)
    aa = xp.where(regular, a, 1.0)
    xx = xp.where(regular, x, 1.0)
    lg1p = lgamma1p(xp, aa)   # lgamma(a + 1)
    log_xa_ex = aa * xp.log(xx) - xx                    # log(x^a e^-x)
    f1 = xp.exp(log_xa_ex - lg1p)                       # x^a e^-x / Gamma(a + 1)
    # x^a e^-x / Gamma(a): from f1 for a < 1 (lgamma(a) ~ -log a would carry its size's rounding
    # into the exponent), from its own exponent above (a f1 would underflow first)
    f = xp.where(aa < 1, aa * f1, xp.exp(log_xa_ex - _lgamma64(xp, aa)))
    series = xx < aa + 1
    # the series (where x < a + 1; elsewhere run on a harmless x = 0.5 a so every element converges),
    # as x^a e^-x / Gamma(a + 1) (1 + x / (a + 1) + ...): its first term 1 / a overflowed for a
    # subnormal a, where P is 1 (x^a = 1) and the prefactor with Gamma(a) ~ 1 / a underflows
    xs = xp.where(series, xx, 0.5 * aa)
    term = xp.ones_like(aa)
    total = term.copy()
    n = 0
    while n < _MAX_STEPS:
        for _ in range(16):
            n += 1
            term = term * xs / (aa + n)
            total = total + term
        if not bool(xp.any(xp.abs(term) > _EPS * xp.abs(total))):
            break
    P_series = f1 * total
    # the continued fraction (where x >= a + 1; elsewhere on x = a + 2)
    xc = xp.where(series, aa + 2, xx)
    b = xc + 1 - aa
    c = xp.full(b.shape, 1 / _TINY)
    d = 1 / b
    h = d
    i = 0
    while i < _MAX_STEPS:
        for _ in range(16):
            i += 1
            an = -i * (i - aa)
            b = b + 2
            d = an * d + b
            d = xp.where(xp.abs(d) < _TINY, _TINY, d)
            c = b + an / c
            c = xp.where(xp.abs(c) < _TINY, _TINY, c)
            d = 1 / d
            delta = d * c
            h = h * delta
        if not bool(xp.any(xp.abs(delta - 1) > _EPS)):
            break
    Q_cf = f * h
    # each in [0, 1]: the complement of a value that rounded to just past 1 (a tiny a) is no negative
    P = xp.clip(xp.where(series, P_series, 1 - Q_cf), 0.0, 1.0)
    Q = xp.where(series, 1 - P_series, Q_cf)
    near0 = xx <= _Q_SERIES_X
    if bool(xp.any(near0)):   # Q's own series (the module docstring), on x = 0.5 elsewhere
        xq = xp.where(near0, xx, 0.5)
        term = xp.ones_like(xq)
        S = xp.zeros_like(xq)
        for n in range(1, _Q_SERIES_TERMS + 1):
            term = term * -xq / n
            S = S + term / (aa + n)
        u = aa * xp.log(xq) - lg1p
        Q = xp.where(near0, -xp.expm1(u) - xp.exp(u) * aa * S, Q)
    Q = xp.clip(Q, 0.0, 1.0)
    out = Q if upper else P
    # the edges, as torch: P(a, 0) = 0 for a > 0, P(0, x) = 1 for x > 0, P(a, inf) = 1, P(inf, x) = 0
    lo, hi = (1.0, 0.0) if upper else (0.0, 1.0)
    out = xp.where(valid & (x == 0) & (a > 0), lo, out)
    out = xp.where(valid & (a == 0) & (x > 0), hi, out)
    out = xp.where(valid & (x == np.inf) & xp.isfinite(a), hi, out)
    out = xp.where(valid & (a == np.inf) & xp.isfinite(x), lo, out)
    undefined = ~valid | ((a == 0) & (x == 0)) | ((a == np.inf) & (x == np.inf))
    return xp.where(undefined, np.nan, out)


def _evaluate(a, x, upper: bool):
    xp = backend.get_array_module(x)
    native = backend.native_special(xp, "gammaincc" if upper else "gammainc")
    if native is not None:
        return native(a, x)
    with backend.quiet_fp_warnings():
        return _gammainc64(xp, a.astype(np.float64), x.astype(np.float64), upper).astype(x.dtype, copy=False)


class _IncompleteGamma(Function):
    """y = P(a, x) (or Q); dy/dx = +-x^(a-1) e^-x / Gamma(a); no derivative in a (as torch)."""
    upper = False

    def forward(self, a, x):
        self.a, self.x = a, x
        return _evaluate(a, x, self.upper)

    def _check(self):
        if self.inputs[0]._requires_grad:
            name = "igammac" if self.upper else "igamma"
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented (as torch).")

    def backward(self, g):
        self._check()
        xp = backend.get_array_module(g)
        a, x = self.a, self.x
        with backend.quiet_fp_warnings():
            slope = xp.exp((a - 1) * xp.log(x) - x - _lgamma64(xp, a.astype(np.float64)).astype(a.dtype))
        return None, g * (-slope if self.upper else slope)

    def backward_graph(self, g):
        self._check()
        a, x = self.inputs
        slope = ((a - 1) * x.log() - x - lgamma(a)).exp()
        return None, g * (-slope if self.upper else slope)


class Igamma(_IncompleteGamma):
    upper = False


class Igammac(_IncompleteGamma):
    upper = True


def _operands(name, a, x):
    from .promotion import promote_operands
    if not isinstance(a, Tensor) or not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected two Tensors (as torch), got {type(a).__name__} and {type(x).__name__}")
    a, x = promote_operands(a, x, true_division=True)   # straight to floats: a uint8 beside an int8 -1 does not wrap
    try:
        np.broadcast_shapes(a.shape, x.shape)
    except ValueError:
        raise ArgumentError(f"{name}: the shapes {a.shape} and {x.shape} do not broadcast") from None
    return a, x


def gammainc(input: Tensor, other: Tensor) -> Tensor:
    """The regularized lower incomplete gamma P(a, x), as torch.special.gammainc / torch.igamma
    (a = ``input`` >= 0, x = ``other`` >= 0; NaN outside). a, x broadcast -> their shape, promoted
    to a float dtype. Gradient in x: x^(a-1) e^-x / Gamma(a); in a: an error, as torch."""
    return Igamma.apply(*_operands("gammainc", input, other))


def gammaincc(input: Tensor, other: Tensor) -> Tensor:
    """The regularized upper incomplete gamma Q(a, x) = 1 - P(a, x), as torch.special.gammaincc /
    torch.igammac. a, x broadcast -> their shape. Gradient in x: -x^(a-1) e^-x / Gamma(a)."""
    return Igammac.apply(*_operands("gammaincc", input, other))


igamma, igammac = gammainc, gammaincc

__all__ = ["gammainc", "gammaincc", "igamma", "igammac"]
