"""The Airy function Ai(x), as torch.special.airy_ai, as a float64 array kernel (float32 computed
in float64 and rounded once; on CuPy too, in its array functions).

* |x| <= 9.25: the Taylor series of Ai about the nearest of the nodes -9, -8.5, ..., 9, whose Ai and
  Ai' are tabulated below (mpmath at 200 bits): the coefficients follow from Ai'' = x Ai,
  (n+2)(n+1) a_(n+2) = x0 a_n + a_(n-1), and with |x - x0| <= 1/4 thirty terms are below 1e-25 of
  the first. Evaluating the series at one point involves no stepping, so nothing grows from node
  to point (the recessive Ai for x > 0 included).
* x > 9.25: Ai = e^-z / (2 sqrt(pi) x^(1/4)) sum_k (-1)^k u_k / z^k, z = 2/3 x^(3/2) (smallest term,
  near k = 2z, below e^-37); 0 past x ~ 104 (underflow).
* x < -9.25: Ai(x) = (sin(z + pi/4) P - cos(z + pi/4) Q) / (sqrt(pi) |x|^(1/4)), P and Q the even and
  odd terms of the same series; its phase z + pi/4 carries the rounding of z (condition number z),
  so the error grows as |x|^(3/2) eps, as in every float64 evaluation.

Measured in float64 against mpmath (tests/test_bessel.py: x from -200 to 105): relative error 8e-16
on |x| <= 9.25 where |Ai| > 0.05 (absolute 4e-16 near the zeros); beyond, the rounding of z (in e^-z,
or in the phase) dominates: 1.8e-13 relative at x = 100, and 1.6e-16 |x|^(3/2) times the envelope
|x|^(-1/4) / sqrt(pi) for x < -9.25 (torch's: 1.7e-16 there). torch 2.13's own airy_ai is off by up
to 2e-5 relative near x = -2 (against mpmath), which bounds the agreement with it. Ai(+-inf) = 0
(torch: NaN). No gradient (as torch).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..tensor import Tensor
from .bessel_jy import _no_graph

_NODE_STEP, _NODE_LO, _NODE_HI = 0.5, -9.0, 9.0
# Ai(x0) and Ai'(x0) at x0 = -9, -8.5, ..., 9
_AI = (-0.022133721547341403, -0.33029023763020887, -0.0527050503563862, 0.3217757163806479,
       0.18428083525050565, -0.2380203019971158, -0.3291451736298231, 0.017781541276574976,
       0.35076100902411433, 0.2921527810559595, -0.07026553294928951, -0.37553382314043193,
       -0.37881429367765806, -0.11232506769296609, 0.22740742820168558, 0.4642565777488694, 0.5355608832923521,
       0.4757280916105396, 0.3550280538878172, 0.23169360648083348, 0.13529241631288141, 0.07174949700810541,
       0.03492413042327438, 0.01572592338047049, 0.006591139357460719, 0.002584098786989635,
       0.0009515638512048018, 0.00033025032351430896, 0.00010834442813607442, 3.368531190859981e-05,
       9.947694360252889e-06, 2.7958823432049136e-06, 7.492128863997167e-07, 1.9172560675134309e-07,
       4.6922076160992316e-08, 1.0997009755195506e-08, 2.47116843087249e-09)
_AIP = (-0.9756639809263316, -0.03231334828463914, 0.9355609381983065, 0.3188095066985546, -0.7710081684101265,
       -0.6749524925132022, 0.3459354872813429, 0.8641972177713984, 0.32719281855444315, -0.5233625323157477,
       -0.7906285753685813, -0.34344343345404815, 0.3145837692165988, 0.6788527342647943, 0.618259020741691,
       0.3091869672024104, -0.01016056711664521, -0.20408167033954738, -0.2588194037928068,
       -0.2249105326646839, -0.1591474412967932, -0.09738201284230132, -0.05309038443365363,
       -0.026250881035903232, -0.011912976705951319, -0.005004413967952583, -0.001958640950204179,
       -0.0007178665675575089, -0.0002474138908684625, -8.046339130556515e-05, -2.4765200397034955e-05,
       -7.231931466601793e-06, -2.008150894738792e-06, -5.312713959720545e-07, -1.3414392979067865e-07,
       -3.237725440447602e-08, -7.480641389658946e-09)
_ASYMPTOTIC_TERMS = 30
_TAYLOR_TERMS = 30


def _u_coefficients():
    """u_k = (2k+1)(2k+3)...(6k-1) / (216^k k!): u_k = u_(k-1) (6k-5)(6k-3)(6k-1) / (216 k (2k-1))."""
    u = [1.0]
    for k in range(1, _ASYMPTOTIC_TERMS):
        u.append(u[-1] * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / (216 * k * (2 * k - 1)))
    return u


def _taylor(xp, x):
    """Ai(x), |x| <= 9.25, from the nearest tabulated node."""
    idx = xp.clip(xp.round((x - _NODE_LO) / _NODE_STEP), 0, len(_AI) - 1).astype(np.int64)
    x0 = _NODE_LO + _NODE_STEP * idx
    h = x - x0
    a_prev2 = xp.zeros_like(x)                 # a_(n-1) (a_(-1) = 0)
    a0 = xp.asarray(_AI, dtype=np.float64)[idx]
    a1 = xp.asarray(_AIP, dtype=np.float64)[idx]
    total = a0 + a1 * h
    hn = h
    a_n_minus1, a_n, a_n1 = a_prev2, a0, a1    # a_(n-1), a_n, a_(n+1) for n = 0
    for n in range(0, _TAYLOR_TERMS):
        a_n2 = (x0 * a_n + a_n_minus1) / ((n + 2) * (n + 1))
        hn = hn * h
        total = total + a_n2 * hn
        a_n_minus1, a_n, a_n1 = a_n, a_n1, a_n2
    return total


def _asymptotic(xp, x):
    """Ai(x) for |x| >= 9.25 (both sides)."""
    y = xp.abs(x)
    z = 2.0 / 3.0 * y * xp.sqrt(y)
    inv = 1 / z
    term = xp.ones_like(x)
    total = term.copy()                        # sum (-1)^k u_k / z^k  (x > 0)
    p, q = term.copy(), xp.zeros_like(x)       # sum (-1)^k u_2k / z^2k, sum (-1)^k u_(2k+1) / z^(2k+1)
    for k, u in enumerate(_u_coefficients()[1:], start=1):
        term = term * inv
        piece = u * term
        total = total + (-piece if k % 2 else piece)
        if k % 2:
            q = q + (piece if k % 4 == 1 else -piece)
        else:
            p = p + (piece if k % 4 == 0 else -piece)
    root = xp.sqrt(xp.sqrt(y))
    positive = xp.exp(-z) / (2 * math.sqrt(math.pi) * root) * total
    s, c = xp.sin(z), xp.cos(z)
    r = 1 / math.sqrt(2.0)
    negative = ((s + c) * r * p - (c - s) * r * q) / (math.sqrt(math.pi) * root)
    return xp.where(x > 0, positive, negative)


def _airy_ai64(xp, x):
    near = xp.abs(x) <= 9.25
    out = xp.where(near, _taylor(xp, xp.where(near, x, 0.0)), 0.0)
    far_x = xp.where(near | ~xp.isfinite(x), 10.0, x)
    out = xp.where(near, out, _asymptotic(xp, far_x))
    out = xp.where(xp.isinf(x), 0.0, out)
    return xp.where(xp.isnan(x), x, out)


def _airy_ai_array(xp, x):
    with backend.quiet_fp_warnings():
        return _airy_ai64(xp, x.astype(np.float64)).astype(x.dtype, copy=False)


def airy_ai(x: Tensor) -> Tensor:
    """The Airy function Ai(x) (the solution of y'' = x y decaying as x -> inf), as
    torch.special.airy_ai; 0 at +-inf (torch: NaN). x: any shape -> the same shape. No gradient (as
    torch: the result is outside the graph). Accuracy: see the module docstring."""
    return _no_graph("airy_ai", x, _airy_ai_array)


__all__ = ["airy_ai"]
