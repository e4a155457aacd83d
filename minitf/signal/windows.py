"""torch.signal.windows: window functions of M points (the default float dtype unless ``dtype``),
symmetric by default (``sym=True``, for filter design) or periodic (``sym=False``: the first M
values of the symmetric window of M + 1, for spectral analysis), as torch's. With L the symmetric
length and n = 0 .. M - 1:

    general_cosine(a): sum_i (-1)^i a_i cos(2 pi i n / (L - 1))
        hann a = (0.5, 0.5), hamming / general_hamming(alpha) a = (alpha, 1 - alpha), blackman
        (0.42, 0.5, 0.08), nuttall (0.3635819, 0.4891775, 0.1365995, 0.0106411) (torch's coefficients)
    bartlett: 1 - |2 n / (L - 1) - 1|            kaiser(beta): I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta)
    cosine: sin(pi (n + 0.5) / L)                gaussian(std): exp(-(n - (L - 1) / 2)^2 / (2 std^2))
    exponential(center, tau): exp(-|n - c| / tau), c = (L - 1) / 2 unless given (periodic windows only)

The formulas are :mod:`minitf.signal_windows`' (torch.hann_window ...), computed in float64 and
then cast (torch computes in the output dtype: float32 values can differ by an ulp or so). M = 0
gives an empty window; M = 1 ``[1.]`` (an exponential with its own ``center``: that one value). A
window is a leaf (``requires_grad=True`` makes one that requires grad; torch's is the output of
its last op). torch's ``layout`` is not taken (minitf has one layout). The errors are torch's
ValueErrors (``errors.ArgumentError``), naming the function called (torch's name general_cosine
for hann, hamming ...).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .. import backend
from ..creation import _dtype, _make, resolve_device
from ..errors import ArgumentError
from ..ops._util import is_int
from ..signal_windows import bartlett_values, cosine_sum, fill, kaiser_values

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]

_NUTTALL = (0.3635819, 0.4891775, 0.1365995, 0.0106411)


def _checked(name, M, dtype):
    """The dtype after torch's checks of ``M`` and ``dtype``."""
    if not is_int(M):
        raise TypeError(f"{name}(): argument 'M' must be int, not {type(M).__name__}")
    if M < 0:
        raise ArgumentError(f"{name} requires non-negative window length, got M={M}")
    dt = np.dtype(_dtype(dtype))
    if dt not in (np.float32, np.float64):
        raise ArgumentError(f"{name} expects float32 or float64 dtypes, got: {dt}")
    return dt


def _window(M, sym, dt, device, requires_grad, values, ones_at_one=True):
    """The window of ``values(xp, n, L)``; L = M + 1 for a periodic window (M > 1), else M. With
    ``ones_at_one`` a window of one point is ``[1.]`` without ``values`` (whose L - 1 would be 0)."""
    xp = backend.array_module(resolve_device(device))
    if M == 0 or (M == 1 and ones_at_one):
        return _make(xp.ones((M,), dtype=dt), requires_grad)
    return fill(xp, M, M + 1 if not sym and M > 1 else M, dt, requires_grad, values)


def _cosine_window(name, M, a, sym, dtype, device, requires_grad):
    dt = _checked(name, M, dtype)
    if M <= 1:   # (torch looks at the coefficients only for two or more points)
        return _window(M, sym, dt, device, requires_grad, None)
    if not isinstance(a, Iterable):
        raise TypeError("Coefficients must be a list/tuple")
    coeffs = tuple(float(v) for v in a)
    if not coeffs:
        raise ValueError("Coefficients cannot be empty")
    return _window(M, sym, dt, device, requires_grad, cosine_sum(coeffs))


def general_cosine(M, *, a, sym=True, dtype=None, device=None, requires_grad=False):
    """The general cosine window (M,): sum_i (-1)^i a_i cos(2 pi i n / (L - 1)) over the
    coefficients ``a`` (an iterable of numbers, not empty)."""
    return _cosine_window("general_cosine", M, a, sym, dtype, device, requires_grad)


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, device=None, requires_grad=False):
    """The generalized Hamming window (M,): alpha - (1 - alpha) cos(2 pi n / (L - 1))."""
    return _cosine_window("general_hamming", M, (alpha, 1.0 - alpha), sym, dtype, device, requires_grad)


def hamming(M, *, sym=True, dtype=None, device=None, requires_grad=False):
    """The Hamming window (M,): 0.54 - 0.46 cos(2 pi n / (L - 1))."""
    return _cosine_window("hamming", M, (0.54, 0.46), sym, dtype, device, requires_grad)


def hann(M, *, sym=True, dtype=None, device=None, requires_grad=False):
    """The Hann window (M,): 0.5 - 0.5 cos(2 pi n / (L - 1))."""
    return _cosine_window("hann", M, (0.5, 0.5), sym, dtype, device, requires_grad)


def blackman(M, *, sym=True, dtype=None, device=None, requires_grad=False):
    """The Blackman window (M,): 0.42 - 0.5 cos(2 pi n / (L - 1)) + 0.08 cos(4 pi n / (L - 1))."""
    return _cosine_window("blackman", M, (0.42, 0.5, 0.08), sym, dtype, device, requires_grad)


def nuttall(M, *, sym=True, dtype=None, device=None, requires_grad=False):
    """Nuttall's minimum 4-term Blackman-Harris window (M,), torch's coefficients."""
    return _cosine_window("nuttall", M, _NUTTALL, sym, dtype, device, requires_grad)


def bartlett(M, *, sym=True, dtype=None, device=None, requires_grad=False):
    """The Bartlett (triangular) window (M,): 1 - |2 n / (L - 1) - 1|."""
    dt = _checked("bartlett", M, dtype)
    return _window(M, sym, dt, device, requires_grad, bartlett_values)


def kaiser(M, *, beta=12.0, sym=True, dtype=None, device=None, requires_grad=False):
    """The Kaiser window (M,): I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta), a = (L - 1) / 2; beta >= 0."""
    dt = _checked("kaiser", M, dtype)
    values = kaiser_values(beta, "kaiser")
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    return _window(M, sym, dt, device, requires_grad, values)


def cosine(M, *, sym=True, dtype=None, device=None, requires_grad=False):
    """The cosine (sine) window (M,): sin(pi (n + 0.5) / L), as SciPy's and torch's."""
    dt = _checked("cosine", M, dtype)
    return _window(M, sym, dt, device, requires_grad, lambda xp, n, L: xp.sin((n + 0.5) * (math.pi / L)),
                   ones_at_one=False)


def gaussian(M, *, std=1.0, sym=True, dtype=None, device=None, requires_grad=False):
    """The Gaussian window (M,): exp(-(n - (L - 1) / 2)^2 / (2 std^2)), std > 0."""
    dt = _checked("gaussian", M, dtype)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    return _window(M, sym, dt, device, requires_grad,
                   lambda xp, n, L: xp.exp(-0.5 * ((n - (L - 1) / 2) / std) ** 2), ones_at_one=False)


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, device=None, requires_grad=False):
    """The exponential (Poisson) window (M,): exp(-|n - c| / tau), tau > 0; ``center`` c (default the
    middle, (L - 1) / 2) only for a periodic window (``sym=False``), as torch."""
    dt = _checked("exponential", M, dtype)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")

    def values(xp, n, L):
        c = (L - 1) / 2 if center is None else float(center)
        return xp.exp(-xp.abs(n - c) / tau)
    return _window(M, sym, dt, device, requires_grad, values, ones_at_one=False)
