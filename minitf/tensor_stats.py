"""torch's Tensor methods of the statistics, reductions and misc functions (minitf/ops/
order_stats.py, covariance.py, histogram.py, number_parts.py, diag_build.py, and
creation_more.py's empty_strided; stft and istft, minitf/fft/short_time.py), one line each;
the ops are imported on first use.

A mixin of :class:`minitf.tensor_methods.TensorMethods`, as :mod:`minitf.tensor_more`.
"""
from __future__ import annotations


def _ops(name):
    """The op module ``minitf.ops.<name>``, imported on first use."""
    import importlib
    return importlib.import_module(f".ops.{name}", __package__)


class StatsMethods:
    """Order statistics, covariance, histograms, integer math and diagonal builders (no state)."""

    __slots__ = ()

    def kthvalue(self, k, dim=-1, keepdim=False): return _ops("order_stats").kthvalue(self, k, dim, keepdim)
    def mode(self, dim=-1, keepdim=False): return _ops("order_stats").mode(self, dim, keepdim)
    def nanmedian(self, dim=None, keepdim=False): return _ops("order_stats").nanmedian(self, dim, keepdim)
    def aminmax(self, *, dim=None, keepdim=False): return _ops("order_stats").aminmax(self, dim=dim, keepdim=keepdim)
    def msort(self): return _ops("order_stats").msort(self)
    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        return _ops("order_stats").unique_consecutive(self, return_inverse, return_counts, dim)
    def cov(self, *, correction=1, fweights=None, aweights=None):
        return _ops("covariance").cov(self, correction=correction, fweights=fweights, aweights=aweights)
    def corrcoef(self): return _ops("covariance").corrcoef(self)
    def dist(self, other, p=2): return _ops("covariance").dist(self, other, p)
    def renorm(self, p, dim, maxnorm): return _ops("covariance").renorm(self, p, dim, maxnorm)
    def inner(self, other): return _ops("covariance").inner(self, other)
    def vdot(self, other): return _ops("matrix").vdot(self, other)   # dot of conj(self): dot for real tensors
    def ger(self, vec2): return self.outer(vec2)      # torch's older name of outer
    def histogram(self, bins=100, *, range=None, weight=None, density=False):
        return _ops("histogram").histogram(self, bins, range=range, weight=weight, density=density)
    def frexp(self): return _ops("number_parts").frexp(self)
    def gcd(self, other): return _ops("number_parts").gcd(self, other)
    def lcm(self, other): return _ops("number_parts").lcm(self, other)
    def isposinf(self): return _ops("number_parts").isposinf(self)
    def isneginf(self): return _ops("number_parts").isneginf(self)
    def isreal(self): return _ops("number_parts").isreal(self)
    def diag_embed(self, offset=0, dim1=-2, dim2=-1): return _ops("diag_build").diag_embed(self, offset, dim1, dim2)
    def diagflat(self, offset=0): return _ops("diag_build").diagflat(self, offset)

    def stft(self, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
             normalized=False, onesided=None, return_complex=None, align_to_window=None):
        """:func:`minitf.stft` of this signal (L,) or (B, L)."""
        from .fft.short_time import stft
        return stft(self, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
                    return_complex, align_to_window)

    def istft(self, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
              onesided=None, length=None, return_complex=False):
        """:func:`minitf.istft` of this spectrum (N, T) or (B, N, T)."""
        from .fft.short_time import istft
        return istft(self, n_fft, hop_length, win_length, window, center, normalized, onesided, length,
                     return_complex)

    def new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False):
        """A tensor of ``size`` of this one's dtype and device (unless given), values not meaningful;
        ``stride`` checked but not honoured, as :func:`minitf.empty_strided`."""
        from .creation_more import empty_strided
        return empty_strided(size, stride, dtype=self.dtype if dtype is None else dtype,
                             device=self.device if device is None else device, requires_grad=requires_grad)
