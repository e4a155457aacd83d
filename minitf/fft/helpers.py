"""torch.fft's Hermitian transforms (hfft, ihfft: rfft's pair seen from the other side), the sample
frequencies (fftfreq, rfftfreq) and the zero-frequency shifts (fftshift, ifftshift)."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..ops.complex_parts import conj
from ..tensor import Tensor
from ._args import SWAP, check_norm
from .transforms import irfft, rfft


def hfft(input, n=None, dim=-1, norm=None):
    """The transform of a one-sided Hermitian signal (torch.fft.hfft): complex (..., m, ...) -> real
    (..., n, ...), n = 2 (m - 1) by default; ``irfft`` of the conjugate with the direction of ``norm``
    swapped (as torch and NumPy define it)."""
    return irfft(conj(input) if isinstance(input, Tensor) else input, n, dim, SWAP[check_norm("hfft", norm)])


def ihfft(input, n=None, dim=-1, norm=None):
    """The inverse of :func:`hfft`: real (..., L, ...) -> complex (..., n // 2 + 1, ...), the conjugate of
    ``rfft`` with the direction of ``norm`` swapped."""
    return conj(rfft(input, n, dim, SWAP[check_norm("ihfft", norm)]))


def _frequencies(name, kind, n, d, dtype, device, requires_grad):
    from ..creation import get_default_dtype, resolve_device
    from ..dtypes import _check_dtype
    dt = get_default_dtype() if dtype is None else _check_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{name}: dtype must be a floating point dtype, got {dt}")
    device = resolve_device(device)
    return Tensor(backend.frequencies(kind, int(n), float(d), dt, device), requires_grad=requires_grad)


def fftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False):
    """The sample frequencies of an n-point transform with sample spacing ``d``: (n,)
    [0, 1, ..., ceil(n/2) - 1, -floor(n/2), ..., -1] / (d n), the default float dtype."""
    return _frequencies("fftfreq", "fftfreq", n, d, dtype, device, requires_grad)


def rfftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False):
    """The non-negative frequencies of :func:`rfft`: (n // 2 + 1,) [0, 1, ..., n // 2] / (d n)."""
    return _frequencies("rfftfreq", "rfftfreq", n, d, dtype, device, requires_grad)


def _shift(input, dim, sign):
    from ..ops.layout import roll
    dims = tuple(range(input.ndim)) if dim is None else ((dim,) if isinstance(dim, (int, np.integer)) else tuple(dim))
    if not dims:
        return input
    shape = input.shape
    return roll(input, tuple(sign * (shape[d] // 2) for d in dims), dims)


def fftshift(input, dim=None):
    """Zero frequency moved to the centre: each dim in ``dim`` (default: all) rolled by size // 2."""
    return _shift(input, dim, 1)


def ifftshift(input, dim=None):
    """The inverse of :func:`fftshift` (rolled back by size // 2)."""
    return _shift(input, dim, -1)
