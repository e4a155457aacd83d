"""Pooling layers, as PyTorch's: MaxPool1d/2d/3d, AvgPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d,
AdaptiveMaxPool1d/2d/3d (no parameters).

    pool = nn.MaxPool2d(2)        # x: (N, C, H, W) -> (N, C, H // 2, W // 2)
"""
from __future__ import annotations

from ..ops import adaptive_pooling as A, avg_pooling as V, pooling as P
from .module import Module


class _MaxPoolNd(Module):
    _pool = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x):
        return type(self)._pool(x, self.kernel_size, self.stride, self.padding, self.dilation,
                              ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling, as ``torch.nn.MaxPool1d``: x (N, C, L) or (C, L) -> (N, C, L_out) (see F.max_pool1d)."""
    _pool = staticmethod(P.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling, as ``torch.nn.MaxPool2d``: x (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out)."""
    _pool = staticmethod(P.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling, as ``torch.nn.MaxPool3d``: x (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out)."""
    _pool = staticmethod(P.max_pool3d)


class AvgPool1d(Module):
    """1-D average pooling, as ``torch.nn.AvgPool1d``: x (N, C, L) or (C, L) -> (N, C, L_out) (see F.avg_pool1d)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
        super().__init__()
        single = lambda v: v if isinstance(v, tuple) else (tuple(v) if isinstance(v, list) else (v,))  # noqa: E731
        self.kernel_size = single(kernel_size)
        self.stride = single(stride if stride is not None else kernel_size)
        self.padding = single(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x):
        return V.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AvgPoolNd(Module):
    _pool = None

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        return type(self)._pool(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling, as ``torch.nn.AvgPool2d``: x (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out)."""
    _pool = staticmethod(V.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling, as ``torch.nn.AvgPool3d``: x (N, C, D, H, W) or (C, D, H, W)
    -> (N, C, D_out, H_out, W_out)."""
    _pool = staticmethod(V.avg_pool3d)


class _AdaptiveAvgPoolNd(Module):
    _pool = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return type(self)._pool(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed length, as ``torch.nn.AdaptiveAvgPool1d``: x (N, C, L) -> (N, C, output_size)."""
    _pool = staticmethod(A.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed size, as ``torch.nn.AdaptiveAvgPool2d``: x (N, C, H, W) -> (N, C, *output_size)
    (an int, or a pair whose None keeps that input size)."""
    _pool = staticmethod(A.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed size, as ``torch.nn.AdaptiveAvgPool3d``: x (N, C, D, H, W) -> (N, C, *output_size)
    (an int, or a triple whose None entries keep those input sizes)."""
    _pool = staticmethod(A.adaptive_avg_pool3d)


class _AdaptiveMaxPoolNd(Module):
    _pool = None

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x):
        return type(self)._pool(x, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed length, as ``torch.nn.AdaptiveMaxPool1d``: x (N, C, L) -> (N, C, output_size)
    (and the indices into L with return_indices)."""
    _pool = staticmethod(A.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed size, as ``torch.nn.AdaptiveMaxPool2d``: x (N, C, H, W) -> (N, C, *output_size)."""
    _pool = staticmethod(A.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed size, as ``torch.nn.AdaptiveMaxPool3d``: x (N, C, D, H, W) -> (N, C, *output_size)
    (and the indices flat into (D, H, W) with return_indices)."""
    _pool = staticmethod(A.adaptive_max_pool3d)
