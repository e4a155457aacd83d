"""torch's window functions for signal processing: hann, hamming, blackman, bartlett and
kaiser, each a 1-D tensor of ``window_length`` values (the default float dtype unless
``dtype``). ``periodic=True`` (the default, as torch) gives the first ``window_length``
values of the symmetric window of ``window_length + 1``, the one for spectral analysis;
``periodic=False`` the symmetric window itself. With L the symmetric length and n = 0 ..
L - 1 (torch's formulas):

    hamming: alpha - beta cos(2 pi n / (L - 1))        (hann: alpha = beta = 0.5)
    blackman: 0.42 - 0.5 cos(2 pi n / (L - 1)) + 0.08 cos(4 pi n / (L - 1))
    bartlett: 1 - |2 n / (L - 1) - 1|
    kaiser: I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta),  a = (L - 1) / 2

Computed in float64 and then cast (torch computes in the output dtype: float32 values can
differ from torch's by an ulp or so). Length 0 gives an empty window, length 1 ``[1.]``.
(Not minitf/ops/windows.py: that module holds convolution's sliding windows.) torch.signal.windows'
forms (``sym=``) are :mod:`minitf.signal.windows`, built of the same formulas.
"""
from __future__ import annotations

import math

import numpy as np

from . import backend
from .creation import _dtype, _make, resolve_device as _resolve_device
from .errors import ArgumentError, DtypeError
from .ops._util import is_int


def fill(xp, length: int, L: int, dt, requires_grad: bool, values):
    """The window of ``values(xp, n, L)`` (float64 over n = 0 .. length - 1, L the symmetric length)
    cast to ``dt`` (shared with :mod:`minitf.signal.windows`)."""
    n = xp.arange(length, dtype=np.float64)
    return _make(values(xp, n, L).astype(dt), requires_grad)


def cosine_sum(coeffs):
    """values(xp, n, L) of a sum of cosines: sum_i (-1)^i a_i cos(2 pi i n / (L - 1)) (hann: (0.5, 0.5))."""
    def values(xp, n, L):
        t = n * (2 * math.pi / (L - 1))
        out = xp.zeros_like(t)
        for i, a in enumerate(coeffs):
            out += (-1) ** i * a * (xp.cos(i * t) if i else 1.0)
        return out
    return values


def bartlett_values(xp, n, L):
    """The triangle 1 - |2 n / (L - 1) - 1|."""
    return 1 - xp.abs(n * (2 / (L - 1)) - 1)


def kaiser_values(beta, name="kaiser_window"):
    """values(xp, n, L) of the Kaiser window I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta), a = (L - 1) / 2;
    I0 the modified Bessel function of order 0 (the array module's ``i0``)."""
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}(): argument 'beta' must be a number, not {type(beta).__name__}")

    def values(xp, n, L):
        a = (L - 1) / 2
        r = xp.sqrt(xp.maximum(1 - ((n - a) / a) ** 2, 0.0))   # (rounding could dip below 0 at the ends)
        return xp.i0(beta * r) / xp.i0(xp.asarray(float(beta)))
    return values


def _window(name: str, window_length, periodic, dtype, device, requires_grad, values):
    """The window of ``values(xp, n, L)`` (float64 over n = 0 .. L - 1, L the symmetric length)."""
    if not is_int(window_length):
        raise TypeError(f"{name}(): argument 'window_length' must be int, not {type(window_length).__name__}")
    if window_length < 0:
        raise ArgumentError(f"{name} requires non-negative window_length, got window_length={window_length}")
    dt = _dtype(dtype)
    if np.dtype(dt).kind != "f":
        raise DtypeError(f"{name} expects floating point dtypes, got: {np.dtype(dt)}")
    xp = backend.array_module(_resolve_device(device))
    if window_length <= 1:
        return _make(xp.ones((window_length,), dtype=dt), requires_grad)
    return fill(xp, window_length, window_length + 1 if periodic else window_length, dt, requires_grad, values)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype=None, device=None, requires_grad: bool = False):
    """torch.hamming_window: alpha - beta cos(2 pi n / (L - 1)), (window_length,)."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   cosine_sum((alpha, beta)))


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                requires_grad: bool = False):
    """torch.hann_window: 0.5 - 0.5 cos(2 pi n / (L - 1)) (sin^2(pi n / (L - 1))), (window_length,)."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad, cosine_sum((0.5, 0.5)))


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                    requires_grad: bool = False):
    """torch.blackman_window: 0.42 - 0.5 cos(2 pi n / (L - 1)) + 0.08 cos(4 pi n / (L - 1))."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   cosine_sum((0.42, 0.5, 0.08)))


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                    requires_grad: bool = False):
    """torch.bartlett_window, the triangle: 1 - |2 n / (L - 1) - 1|, (window_length,)."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad, bartlett_values)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None,
                  device=None, requires_grad: bool = False):
    """torch.kaiser_window: I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta), a = (L - 1) / 2;
    I0 the modified Bessel function of order 0 (the array module's ``i0``)."""
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad, kaiser_values(beta))


__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]
