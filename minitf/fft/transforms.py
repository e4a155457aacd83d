"""torch.fft's transforms with their gradients: complex-to-complex (fft, ifft, fft2, ifft2, fftn,
ifftn), real-to-complex (rfft, rfft2, rfftn), complex-to-real (irfft, irfft2, irfftn).

Each is a linear map A of its input, so its gradient (torch's convention, docs/autograd.md) is
the adjoint A^H applied to the incoming one: the opposite transform, normalised the other way
(``norm="backward"``'s adjoint scales as "forward"), then cut or zero-padded back to the input's
sizes (the adjoint of padding to ``s`` is cutting, and of cutting, padding with zeros).
* rfft keeps the first n//2 + 1 bins of a real input's transform: its adjoint fills the other
  bins with zeros, transforms back and keeps the real part.
* irfft reads the one-sided half of a Hermitian spectrum (the imaginary parts of bin 0 and, for
  an even n, bin n/2 are ignored): its adjoint is rfft of the gradient with the bins that stand
  for two (1 .. n - (n//2 + 1)) doubled, torch's rule, which is the exact derivative.
Each backward is written twice, on arrays and in recorded ops (create_graph=True), the cuts and
pads there being the op :class:`Resize`.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import DtypeError, ShapeError
from ..ops.complex_parts import _complex_of
from ._args import DUAL, check_norm, many_dims, one_dim, signal_input


def _resize(a, axes, sizes):
    """``a`` cut or zero-padded (at the end) to ``sizes`` along ``axes``."""
    shape = list(a.shape)
    for ax, n in zip(axes, sizes):
        shape[ax] = n
    if tuple(shape) == tuple(a.shape):
        return a
    common = tuple(slice(0, min(m, n)) for m, n in zip(a.shape, shape))
    out = backend.get_array_module(a).zeros(tuple(shape), dtype=a.dtype)
    out[common] = a[common]
    return out


class Resize(Function):
    """x cut or zero-padded to ``sizes`` along ``axes``, as an op: its adjoint is the resize back."""

    saves_inputs = saves_output = False
    takes_complex = True

    def forward(self, x, axes, sizes):
        self.in_sizes = tuple(x.shape[a] for a in axes)
        return _resize(x, axes, sizes)

    def backward(self, g):
        return (_resize(g, self.params["axes"], self.in_sizes),)

    def backward_graph(self, g):
        return (resized(g, self.params["axes"], self.in_sizes),)


def resized(t, axes, sizes):
    """The Tensor ``t`` resized (:class:`Resize`), or t itself when it has those sizes already."""
    if all(t.shape[a] == n for a, n in zip(axes, sizes)):
        return t
    return Resize.apply(t, axes=tuple(axes), sizes=tuple(sizes))


def _sizes(t, axes):
    return tuple(t.shape[a] for a in axes)


class C2C(Function):
    saves_inputs = saves_output = False
    takes_complex = True

    def forward(self, x, sizes, axes, norm, inverse):
        self._torch_name = "FftC2CBackward0"
        self.in_sizes = tuple(x.shape[a] for a in axes)
        return backend.fft_op("ifftn" if inverse else "fftn", x, x.dtype, s=sizes, axes=axes, norm=norm)

    def backward(self, g):
        p = self.params
        axes, norm, inverse = p["axes"], p["norm"], p["inverse"]
        gx = backend.fft_op("fftn" if inverse else "ifftn", g, g.dtype, axes=axes, norm=DUAL[norm])
        return (_resize(gx, axes, self.in_sizes),)

    def backward_graph(self, g):
        p = self.params
        gx = C2C.apply(g, sizes=_sizes(g, p["axes"]), axes=p["axes"], norm=DUAL[p["norm"]], inverse=not p["inverse"])
        return (resized(gx, p["axes"], self.in_sizes),)


class _RealTransform(Function):
    """rfftn (R2C) or irfftn (C2R): ``kernel`` of xp.fft, its result dtype from the input's."""

    saves_inputs = saves_output = False
    takes_complex = True

    def forward(self, x, sizes, axes, norm):
        self._torch_name = self.torch_name
        self.in_sizes, self.dt = tuple(x.shape[a] for a in axes), x.dtype
        return backend.fft_op(self.kernel, x, self.result_dtype(x.dtype), s=sizes, axes=axes, norm=norm)


class R2C(_RealTransform):
    kernel, torch_name, result_dtype = "rfftn", "FftR2CBackward0", staticmethod(_complex_of)

    def backward(self, g):
        # the real part of the inverse transform of g zero-filled to n bins, as irfftn of g with the bins
        # of a conjugate pair halved (Re(z e^it) = (z/2) e^it + conj(z/2) e^-it; bin 0 and n/2 keep their
        # real part, all irfft reads of them): a C2R of the n // 2 + 1 bins, not a C2C of n (2x faster)
        p = self.params
        axes, sizes = p["axes"], p["sizes"]
        xp = backend.get_array_module(g)
        half = xp.empty(g.shape, g.dtype)   # C order whatever g's (stft's is a transpose): a strided FFT input
        xp.divide(g, _pair_weights(xp, g.ndim, axes[-1], sizes[-1], self.dt), out=half)   # costs 2x (measured)
        gx = backend.fft_op("irfftn", half, self.dt, s=sizes, axes=axes, norm=DUAL[p["norm"]])
        return (_resize(gx, axes, self.in_sizes),)

    def backward_graph(self, g):
        from ..ops.complex_parts import real
        p = self.params
        axes = p["axes"]
        full = resized(g, axes[-1:], p["sizes"][-1:])
        gx = real(C2C.apply(full, sizes=_sizes(full, axes), axes=axes, norm=DUAL[p["norm"]], inverse=True))
        return (resized(gx, axes, self.in_sizes),)


class C2R(_RealTransform):
    kernel, torch_name = "irfftn", "FftC2RBackward0"
    result_dtype = staticmethod(lambda dt: np.dtype(dt.char.lower()))   # complex64 -> float32

    def backward(self, g):  # rfft of g, the bins that stand for a conjugate pair doubled (torch's rule)
        p = self.params
        axes, n = p["axes"], p["sizes"][-1]
        gi = backend.fft_op("rfftn", g, self.dt, axes=axes, norm=DUAL[p["norm"]])
        gi *= _pair_weights(backend.get_array_module(g), gi.ndim, axes[-1], n, g.dtype)
        return (_resize(gi, axes, self.in_sizes),)

    def backward_graph(self, g):
        from ..tensor import Tensor
        p = self.params
        axes, n = p["axes"], p["sizes"][-1]
        gi = R2C.apply(g, sizes=_sizes(g, axes), axes=axes, norm=DUAL[p["norm"]])
        weights = Tensor._make(_pair_weights(backend.get_array_module(g.data), g.ndim, axes[-1], n, g.dtype), None)
        return (resized(gi * weights, axes, self.in_sizes),)


def _pair_weights(xp, ndim, axis, n, dtype):
    """(1, .., n // 2 + 1, .., 1) along ``axis``: 2 for the bins that stand for a conjugate pair in a
    signal of n points (1 .. n - (n // 2 + 1)), 1 for bin 0 and, n even, bin n / 2."""
    m = n // 2 + 1
    w = xp.ones(m, dtype=dtype)   # made on the device: no host copy
    w[1:1 + n - m] = 2
    shape = [1] * ndim
    shape[axis] = m
    return w.reshape(tuple(shape))


def _as_complex(x):
    return x if x.data.dtype.kind == "c" else x.to(_complex_of(x.dtype))


def _c2c(name, x, n_or_s, dim, norm, inverse, nd):
    x = signal_input(name, x)
    norm = check_norm(name, norm)
    sizes, axes = many_dims(name, x, n_or_s, dim) if nd else one_dim(name, x, n_or_s, dim)
    return C2C.apply(_as_complex(x), sizes=sizes, axes=axes, norm=norm, inverse=inverse)


def _r2c(name, x, n_or_s, dim, norm, nd):
    x = signal_input(name, x)
    if x.data.dtype.kind == "c":
        raise DtypeError(f"{name} expects a real input tensor, but got {x.dtype}")
    norm = check_norm(name, norm)
    sizes, axes = many_dims(name, x, n_or_s, dim) if nd else one_dim(name, x, n_or_s, dim)
    return R2C.apply(x, sizes=sizes, axes=axes, norm=norm)


def _c2r(name, x, n_or_s, dim, norm, nd):
    x = signal_input(name, x)
    norm = check_norm(name, norm)
    if nd:
        last_given = n_or_s is not None and n_or_s[-1] != -1
        sizes, axes = many_dims(name, x, n_or_s, dim)
        if axes and not last_given:   # the default output length of the last dim: 2 (m - 1)
            sizes = sizes[:-1] + (2 * (x.shape[axes[-1]] - 1),)
    else:
        sizes, axes = one_dim(name, x, n_or_s, dim)
        if n_or_s is None or n_or_s == -1:
            sizes = (2 * (x.shape[axes[0]] - 1),)
    if axes and sizes[-1] < 1:
        raise ShapeError(f"{name}: Invalid number of data points ({sizes[-1]}) specified")
    return C2R.apply(_as_complex(x), sizes=sizes, axes=axes, norm=norm)


def fft(input, n=None, dim=-1, norm=None):
    """The 1-d discrete Fourier transform along ``dim`` (torch.fft.fft): input (..., L, ...) real or complex
    -> complex (..., n, ...), the input cut or zero-padded to ``n`` (default L). ``norm``: "backward"
    (default: no scaling), "ortho" (1/sqrt(n)) or "forward" (1/n)."""
    return _c2c("fft", input, n, dim, norm, False, False)


def ifft(input, n=None, dim=-1, norm=None):
    """The inverse of :func:`fft` along ``dim`` (scaled by 1/n for the default norm="backward")."""
    return _c2c("ifft", input, n, dim, norm, True, False)


def fft2(input, s=None, dim=(-2, -1), norm=None):
    """:func:`fftn` over the last two dims (``dim``): (..., H, W) -> complex (..., s[0], s[1])."""
    return _c2c("fft2", input, s, dim, norm, False, True)


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    """:func:`ifftn` over the last two dims (``dim``)."""
    return _c2c("ifft2", input, s, dim, norm, True, True)


def fftn(input, s=None, dim=None, norm=None):
    """The n-d transform over ``dim`` (default: the last len(s) dims, or every dim), each cut or padded to
    ``s``: real or complex input -> complex."""
    return _c2c("fftn", input, s, dim, norm, False, True)


def ifftn(input, s=None, dim=None, norm=None):
    """The inverse of :func:`fftn`."""
    return _c2c("ifftn", input, s, dim, norm, True, True)


def rfft(input, n=None, dim=-1, norm=None):
    """The transform of a real signal, its non-negative frequencies only: real (..., L, ...) -> complex
    (..., n // 2 + 1, ...)."""
    return _r2c("rfft", input, n, dim, norm, False)


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    """:func:`rfftn` over the last two dims: real (..., H, W) -> complex (..., H, W // 2 + 1)."""
    return _r2c("rfft2", input, s, dim, norm, True)


def rfftn(input, s=None, dim=None, norm=None):
    """The n-d transform of a real signal, one-sided along the last of ``dim``."""
    return _r2c("rfftn", input, s, dim, norm, True)


def irfft(input, n=None, dim=-1, norm=None):
    """The inverse of :func:`rfft`: a one-sided Hermitian spectrum (..., m, ...) -> the real signal
    (..., n, ...), n = 2 (m - 1) by default."""
    return _c2r("irfft", input, n, dim, norm, False)


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    """The inverse of :func:`rfft2`."""
    return _c2r("irfft2", input, s, dim, norm, True)


def irfftn(input, s=None, dim=None, norm=None):
    """The inverse of :func:`rfftn`: the last of ``dim`` has output length s[-1] (default 2 (m - 1))."""
    return _c2r("irfftn", input, s, dim, norm, True)
