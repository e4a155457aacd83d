"""torch.fft's Hermitian transforms (hfft, ihfft and their 2-d and n-d forms: rfft's pair seen from
the other side), the sample frequencies (fftfreq, rfftfreq) and the zero-frequency shifts
(fftshift, ifftshift)."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..ops.complex_parts import conj
from ..tensor import Tensor
from ._args import SWAP, check_norm
from .transforms import _c2r, _r2c


def _conj(x):
    return conj(x) if isinstance(x, Tensor) else x   # (not a Tensor: the transform's own type error)


def hfft(input, n=None, dim=-1, norm=None):
    """The transform of a one-sided Hermitian signal (torch.fft.hfft): complex (..., m, ...) -> real
    (..., n, ...), n = 2 (m - 1) by default; ``irfft`` of the conjugate with the direction of ``norm``
    swapped (as torch and NumPy define it)."""
    return _c2r("hfft", _conj(input), n, dim, SWAP[check_norm("hfft", norm)], False)


def ihfft(input, n=None, dim=-1, norm=None):
    """The inverse of :func:`hfft`: real (..., L, ...) -> complex (..., n // 2 + 1, ...), the conjugate of
    ``rfft`` with the direction of ``norm`` swapped."""
    return conj(_r2c("ihfft", input, n, dim, SWAP[check_norm("ihfft", norm)], False))


def hfft2(input, s=None, dim=(-2, -1), norm=None):
    """:func:`hfftn` over the last two dims (``dim``): complex (..., H, m) -> real (..., s[0], s[1]),
    s[1] = 2 (m - 1) by default."""
    return _c2r("hfft2", _conj(input), s, dim, SWAP[check_norm("hfft2", norm)], True)


def hfftn(input, s=None, dim=None, norm=None):
    """The n-d transform of a signal Hermitian-symmetric in ``dim``, given as its one-sided half along the
    last of ``dim`` (torch.fft.hfftn): complex -> real, the last of ``dim`` of output length s[-1]
    (default 2 (m - 1)); ``irfftn`` of the conjugate with the direction of ``norm`` swapped (a
    Hermitian signal's forward transform is real). ``dim`` and ``s`` as :func:`fftn`'s."""
    return _c2r("hfftn", _conj(input), s, dim, SWAP[check_norm("hfftn", norm)], True)


def ihfft2(input, s=None, dim=(-2, -1), norm=None):
    """:func:`ihfftn` over the last two dims: real (..., H, W) -> complex (..., H, W // 2 + 1)."""
    return conj(_r2c("ihfft2", input, s, dim, SWAP[check_norm("ihfft2", norm)], True))


def ihfftn(input, s=None, dim=None, norm=None):
    """The inverse of :func:`hfftn`: real -> complex, one-sided (n // 2 + 1) along the last of ``dim``;
    the conjugate of ``rfftn`` with the direction of ``norm`` swapped."""
    return conj(_r2c("ihfftn", input, s, dim, SWAP[check_norm("ihfftn", norm)], True))


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
