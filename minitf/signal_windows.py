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
(Not minitf/ops/windows.py: that module holds convolution's sliding windows.)
"""
from __future__ import annotations

import math

import numpy as np

from . import backend
from .creation import _dtype, _make, resolve_device as _resolve_device
from .errors import ArgumentError, DtypeError
from .ops._util import is_int


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
    L = window_length + 1 if periodic else window_length
    n = xp.arange(window_length, dtype=np.float64)
    return _make(values(xp, n, L).astype(dt), requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype=None, device=None, requires_grad: bool = False):
    """torch.hamming_window: alpha - beta cos(2 pi n / (L - 1)), (window_length,)."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda xp, n, L: alpha - beta * xp.cos(n * (2 * math.pi / (L - 1))))


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                requires_grad: bool = False):
    """torch.hann_window: 0.5 - 0.5 cos(2 pi n / (L - 1)) (sin^2(pi n / (L - 1))), (window_length,)."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda xp, n, L: 0.5 - 0.5 * xp.cos(n * (2 * math.pi / (L - 1))))


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                    requires_grad: bool = False):
    """torch.blackman_window: 0.42 - 0.5 cos(2 pi n / (L - 1)) + 0.08 cos(4 pi n / (L - 1))."""
    def values(xp, n, L):
        t = n * (math.pi / (L - 1))
        return 0.08 * xp.cos(4 * t) - 0.5 * xp.cos(2 * t) + 0.42
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad, values)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                    requires_grad: bool = False):
    """torch.bartlett_window, the triangle: 1 - |2 n / (L - 1) - 1|, (window_length,)."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda xp, n, L: 1 - xp.abs(n * (2 / (L - 1)) - 1))


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None,
                  device=None, requires_grad: bool = False):
    """torch.kaiser_window: I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta), a = (L - 1) / 2;
    I0 the modified Bessel function of order 0 (the array module's ``i0``)."""
    def values(xp, n, L):
        a = (L - 1) / 2
        r = xp.sqrt(xp.maximum(1 - ((n - a) / a) ** 2, 0.0))   # (rounding could dip below 0 at the ends)
        return xp.i0(beta * r) / xp.i0(xp.asarray(float(beta)))
    if isinstance(beta, bool) or not isinstance(beta, (int, float)):
        raise TypeError(f"kaiser_window(): argument 'beta' must be a number, not {type(beta).__name__}")
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad, values)


__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]
