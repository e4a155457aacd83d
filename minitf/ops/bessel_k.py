"""Modified Bessel functions of the second kind of orders 0 and 1, plain and scaled by e^x
(torch.special.modified_bessel_k0, modified_bessel_k1, scaled_modified_bessel_k0/k1), and
torch.special's modified_bessel_i0/i1 (minitf.ops.bessel_ndtr's I kernels, outside the graph).

Float64 array kernels (float32 computed in float64 and rounded once; CuPy uses
``cupyx.scipy.special``'s k0, k1, k0e, k1e through :func:`minitf.backend.native_special`):

* 0 < x <= 1: the power series K_0 = -(log(x/2) + gamma) I_0 + sum_k H_k (x^2/4)^k / k!^2 and
  K_1 = 1/x + log(x/2) I_1 - (x/4) sum_k (psi(k+1) + psi(k+2)) (x^2/4)^k / (k! (k+1)!).
* 1 < x <= 20: e^x K_nu(x) = int_0^inf exp(-x (cosh t - 1)) cosh(nu t) dt by the trapezoidal rule,
  step 0.1 on [0, 5] (the integrand is analytic in the strip |Im t| < 1, where it is below e^(0.46 x),
  so the rule's error is below e^(0.46 x - 2 pi / 0.1) < e^-53; its tail past t = 5 is below e^-70).
* x > 20: the asymptotic series sqrt(pi/(2x)) sum_k a_k(nu) / x^k (smallest term, near k = 2x,
  below e^-40). K itself is the scaled value times e^-x (0 once that underflows).

Measured in float64 against mpmath (tests/test_bessel.py's grid, x from 1e-300 to 1e4): relative
error below 1.5e-15 for K0, K1 and the scaled ones; against torch 2.13 5e-15 where torch is finite.
K is NaN for x < 0, inf at 0 and 0 at inf, as torch; at x = 5e-324 K0 is 745.1 and K1 inf (torch: inf
and NaN). No gradient, as torch (the results are outside the graph).
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .bessel_jy import _EULER, _no_graph
from .bessel_ndtr import _bessel64
from .gamma_fns import in_float64

_SERIES_TERMS = 20        # (x^2/4)^k / k!^2 at x = 1: below 1e-50 by k = 20
_STEP, _NODES = 0.1, 51   # the trapezoidal rule on [0, 5]
_ASYMPTOTIC_TERMS = 36


def _series(xp, x, nu):
    """K_nu(x), 0 < x <= 1."""
    q = x * x / 4
    i_nu = _bessel64(xp, x, nu, False)
    t = xp.ones_like(x)                 # q^k / (k! (k+nu)!)
    h = 0.0
    total = t * (0.0 if nu == 0 else 1 - 2 * _EULER)
    for k in range(1, _SERIES_TERMS):
        t = t * q / (k * (k + nu))
        h_next = h + 1 / k
        total = total + (h_next if nu == 0 else h_next + h_next + 1 / (k + 1) - 2 * _EULER) * t
        h = h_next
    log_half = xp.log(x / 2)
    if nu == 0:
        return -(log_half + _EULER) * i_nu + total
    return 1 / x + log_half * i_nu - x / 4 * total


def _trapezoid_scaled(xp, x, nu):
    """e^x K_nu(x), 1 <= x <= 20."""
    total = 0.5 * xp.ones_like(x)       # the t = 0 node, halved
    for j in range(1, _NODES):
        t = j * _STEP
        total = total + xp.exp(-x * (math.cosh(t) - 1)) * math.cosh(nu * t)
    return _STEP * total


def _asymptotic_scaled(xp, x, nu):
    """e^x K_nu(x), x >= 20."""
    mu = 4.0 * nu * nu
    term = xp.ones_like(x)
    total = term
    for k in range(1, _ASYMPTOTIC_TERMS):
        term = term * (mu - (2 * k - 1) ** 2) / (k * 8 * x)
        total = total + term
    return total * xp.sqrt(math.pi / (2 * x))


def _k64(xp, x, nu, scaled):
    lo = xp.clip(x, 1e-300, 1.0)
    small = _series(xp, lo, nu)
    if scaled:
        small = small * xp.exp(lo)
    mid = _trapezoid_scaled(xp, xp.clip(x, 1.0, 20.0), nu)
    big = _asymptotic_scaled(xp, xp.where(xp.isfinite(x), xp.maximum(x, 20.0), 20.0), nu)
    far = xp.where(x <= 20, mid, big)
    if not scaled:
        far = far * xp.exp(-xp.where(x <= 1, 1.0, x))
    out = xp.where(x <= 1, small, far)
    tiny = (x > 0) & (x < 1e-300)        # below the series' clip: the leading terms, exactly
    t = xp.where(tiny, x, 1.0)
    out = xp.where(tiny, math.log(2) - xp.log(t) - _EULER if nu == 0 else 1 / t, out)
    out = xp.where(x == 0, np.inf, xp.where(x < 0, np.nan, xp.where(x == np.inf, 0.0, out)))
    return xp.where(xp.isnan(x), x, out)


_ARRAYS = {"k0": in_float64("k0", lambda xp, x: _k64(xp, x, 0, False)),
           "k1": in_float64("k1", lambda xp, x: _k64(xp, x, 1, False)),
           "k0e": in_float64("k0e", lambda xp, x: _k64(xp, x, 0, True)),
           "k1e": in_float64("k1e", lambda xp, x: _k64(xp, x, 1, True)),
           "i0": in_float64("i0", lambda xp, x: _bessel64(xp, x, 0, False)),
           "i1": in_float64("i1", lambda xp, x: _bessel64(xp, x, 1, False))}


def modified_bessel_k0(x: Tensor) -> Tensor:
    """The modified Bessel function of the second kind K_0, as torch.special.modified_bessel_k0: inf
    at 0, NaN for x < 0. x: any shape -> the same shape. No gradient (as torch)."""
    return _no_graph("modified_bessel_k0", x, _ARRAYS["k0"])


def modified_bessel_k1(x: Tensor) -> Tensor:
    """The modified Bessel function of the second kind K_1, as torch.special.modified_bessel_k1: inf
    at 0, NaN for x < 0. x: any shape -> the same shape. No gradient (as torch)."""
    return _no_graph("modified_bessel_k1", x, _ARRAYS["k1"])


def scaled_modified_bessel_k0(x: Tensor) -> Tensor:
    """e^x K_0(x), finite for large x (x = 1e300: 1.25e-150), as torch.special.scaled_modified_bessel_k0.
    x: any shape -> the same shape. No gradient (as torch)."""
    return _no_graph("scaled_modified_bessel_k0", x, _ARRAYS["k0e"])


def scaled_modified_bessel_k1(x: Tensor) -> Tensor:
    """e^x K_1(x), as torch.special.scaled_modified_bessel_k1. x: any shape -> the same shape. No
    gradient (as torch)."""
    return _no_graph("scaled_modified_bessel_k1", x, _ARRAYS["k1e"])


def modified_bessel_i0(x: Tensor) -> Tensor:
    """I_0, as torch.special.modified_bessel_i0: minitf.special.i0's values (see minitf/ops/bessel_ndtr.py),
    outside the graph as torch's (use mt.special.i0 for a gradient). x: any shape -> the same shape."""
    return _no_graph("modified_bessel_i0", x, _ARRAYS["i0"])


def modified_bessel_i1(x: Tensor) -> Tensor:
    """I_1, as torch.special.modified_bessel_i1: minitf.special.i1's values, outside the graph as
    torch's (use mt.special.i1 for a gradient). x: any shape -> the same shape."""
    return _no_graph("modified_bessel_i1", x, _ARRAYS["i1"])


__all__ = ["modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "modified_bessel_i0", "modified_bessel_i1"]
