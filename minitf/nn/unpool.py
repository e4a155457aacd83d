"""``MaxUnpool1d``/``2d``/``3d`` and ``LPPool1d``/``2d``/``3d``: the layers of :mod:`minitf.ops.unpool`, as torch's."""
from __future__ import annotations

from ..ops import unpool
from ..ops.windows import ntuple
from .module import Module


class _MaxUnpoolNd(Module):
    d = 1

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        # torch keeps the tuples (its _single / _pair): the repr shows them
        self.kernel_size = ntuple(kernel_size, self.d, name, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else ntuple(stride, self.d, name, "stride", 1)
        self.padding = ntuple(padding, self.d, name, "padding", 0)

    def forward(self, input, indices, output_size=None):
        fn = (unpool.max_unpool1d, unpool.max_unpool2d, unpool.max_unpool3d)[self.d - 1]
        return fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of MaxPool1d: (input, indices) (N, C, L) or (C, L) -> (N, C, L_out), zero but
    at the indices; ``forward(input, indices, output_size=None)``."""
    d = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of MaxPool2d: (input, indices) (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out)."""
    d = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of MaxPool3d: (input, indices) (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out)."""
    d = 3


class _LPPoolNd(Module):
    d = 1

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input):
        fn = (unpool.lp_pool1d, unpool.lp_pool2d, unpool.lp_pool3d)[self.d - 1]
        return fn(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """Power-average pooling: x: (N, C, L) or (C, L) -> (N, C, L_out), (sum of x^p over a window)^(1/p)."""
    d = 1


class LPPool2d(_LPPoolNd):
    """Power-average pooling: x: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out)."""
    d = 2


class LPPool3d(_LPPoolNd):
    """Power-average pooling: x: (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out)."""
    d = 3
