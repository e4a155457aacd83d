"""The discrete Fourier transforms behind :mod:`minitf.fft`: ``xp.fft`` of the array's device
(``numpy.fft``, ``cupy.fft``, the fake device's stand-in), whose functions share NumPy's
signatures and ``norm`` names ("backward", "ortho", "forward"). One difference is made uniform:
the result's precision. NumPy 2 and CuPy keep single precision (float32 -> complex64) but older
NumPy computes in double, so each result is cast to the dtype torch gives."""
from __future__ import annotations

import numpy as np

from .. import backend   # the package (see its docstring)


def fft_op(name: str, a, dtype, **kwargs):
    """``xp.fft.<name>(a, **kwargs)`` for a's device, as ``dtype``."""
    out = getattr(backend.get_array_module(a).fft, name)(a, **kwargs)
    return out if out.dtype == dtype else out.astype(dtype)


def frequencies(name: str, n: int, d: float, dtype, device: str):
    """``xp.fft.fftfreq`` / ``rfftfreq`` on ``device`` in ``dtype``."""
    out = getattr(backend.array_module(device).fft, name)(n, d)
    return out.astype(np.dtype(dtype)) if out.dtype != dtype else out
