"""The discrete Fourier transforms behind :mod:`minitf.fft`: ``xp.fft`` of the array's device
(``numpy.fft``, ``cupy.fft``, the fake device's stand-in), whose functions share NumPy's
signatures and ``norm`` names ("backward", "ortho", "forward"). One difference is made uniform:
the result's precision. NumPy 2 and CuPy keep single precision (float32 -> complex64) but older
NumPy computes in double, so each result is cast to the dtype torch gives."""
from __future__ import annotations

import numpy as np

from .. import backend   # the package (see its docstring)


# elements per NumPy FFT call: NumPy's pocketfft on one large batch ran 5x slower than on blocks of
# 32768 (a (1008, 512) float32 rfft, stft's frames: 9.0 ms whole, 1.55 ms in blocks of 64 rows)
_BLOCK = 1 << 15


def _split_axis(a, axes):
    """The first axis of ``a`` that is not transformed and longer than 1 (None: none, or all axes are)."""
    if axes is None:
        return None
    done = {ax % a.ndim for ax in axes}
    return next((ax for ax in range(a.ndim) if ax not in done and a.shape[ax] > 1), None)


def fft_op(name: str, a, dtype, **kwargs):
    """``xp.fft.<name>(a, **kwargs)`` for a's device, as ``dtype``; on NumPy a large batch in blocks
    along an axis it does not transform (each block's transforms are those of the whole: the same
    values), over the CPU threads."""
    xp = backend.get_array_module(a)
    kernel = getattr(xp.fft, name)
    axis = _split_axis(a, kwargs.get("axes")) if xp is np and a.size > 2 * _BLOCK else None
    if axis is None:
        out = kernel(a, **kwargs)
        return out if out.dtype == dtype else out.astype(dtype)
    rows = a.shape[axis]
    step = max(1, _BLOCK * rows // a.size)
    head = (slice(None),) * axis
    first = kernel(a[head + (slice(0, step),)], **kwargs)
    out = np.empty(first.shape[:axis] + (rows,) + first.shape[axis + 1:], dtype)
    out[head + (slice(0, step),)] = first

    def blocks(lo, hi):
        for r in range(lo, hi, step):
            e = min(r + step, hi)
            out[head + (slice(r, e),)] = kernel(a[head + (slice(r, e),)], **kwargs)

    # rows [step, rows) over the threads, in blocks of ``step`` rows (the split aligned to them)
    n_blocks = -(-(rows - step) // step)
    backend.parallel_rows(xp, lambda lo, hi: blocks(step + lo * step, min(step + hi * step, rows)), n_blocks, 1)
    return out


def frequencies(name: str, n: int, d: float, dtype, device: str):
    """``xp.fft.fftfreq`` / ``rfftfreq`` on ``device`` in ``dtype``."""
    out = getattr(backend.array_module(device).fft, name)(n, d)
    return out.astype(np.dtype(dtype)) if out.dtype != dtype else out
