"""Convolution layers, as PyTorch's: Conv1d/2d/3d, ConvTranspose1d/2d/3d (one class each for every number
of spatial dims; the public classes set it).

    conv = nn.Conv2d(3, 16, kernel_size=3, padding=1)   # weight (16, 3, 3, 3), bias (16,)
    y = conv(x)                                          # x: (N, 3, H, W) -> (N, 16, H, W)

Parameters are named ``weight`` and ``bias`` with torch's shapes, so a torch state dict loads.
They are initialised as torch's: weight ~ kaiming_uniform(a=sqrt(5)), that is
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups * prod(kernel_size), and
the bias from the same bound. ``device`` / ``dtype``: where and in what they are made (None: the
default device and dtype), as torch's.
"""
from __future__ import annotations

import math

from .. import functional as F
from ..ops.conv import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d
from ..ops._util import is_int
from ..ops.windows import ntuple, span
from . import init
from .module import Module
from .parameter import empty_parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_CONV = {1: conv1d, 2: conv2d, 3: conv3d}                                   # by number of spatial dims
_CONV_TRANSPOSE = {1: conv_transpose1d, 2: conv_transpose2d, 3: conv_transpose3d}


def _positive_int(cls: str, name: str, n) -> int:
    if not is_int(n) or n <= 0:
        raise ValueError(f"{cls}: {name} must be a positive int, got {n!r}")
    return int(n)


class _ConvNd(Module):
    _d = 0
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", output_padding=0, device=None, dtype=None):
        super().__init__()
        cls, d = type(self).__name__, self._d
        # (a Lazy* class builds itself with in_channels=0, set at its first call: minitf/nn/lazy.py)
        lazy = in_channels == 0 and getattr(self, "_lazy_zero_ok", False)
        self.in_channels = 0 if lazy else _positive_int(cls, "in_channels", in_channels)
        self.out_channels = _positive_int(cls, "out_channels", out_channels)
        self.groups = _positive_int(cls, "groups", groups)
        if self.in_channels % self.groups:
            raise ValueError(f"{cls}: in_channels must be divisible by groups ({in_channels} and {groups})")
        if self.out_channels % self.groups:
            raise ValueError(f"{cls}: out_channels must be divisible by groups ({out_channels} and {groups})")
        self.kernel_size = ntuple(kernel_size, d, cls, "kernel_size", 1)
        self.stride = ntuple(stride, d, cls, "stride", 1)
        self.dilation = ntuple(dilation, d, cls, "dilation", 1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{cls}: invalid padding string {padding!r}, should be one of 'valid', 'same'")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{cls}: padding='same' is not supported for strided convolutions")
            if self._transposed:
                raise ValueError(f"{cls}: padding must be an int or a tuple of ints, got {padding!r}")
            self.padding = padding
        else:
            self.padding = ntuple(padding, d, cls, "padding", 0)
        self.output_padding = ntuple(output_padding, d, cls, "output_padding", 0)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{cls}: padding_mode must be one of {', '.join(map(repr, _PADDING_MODES))}, "
                             f"got {padding_mode!r}")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'{cls}: only "zeros" padding mode is supported')
        self.padding_mode = padding_mode
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = empty_parameter(*shape, device=device, dtype=dtype)
        if bias:
            self.bias = empty_parameter(self.out_channels, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's: weight ~ kaiming_uniform_(a=sqrt(5)); bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _pad_tuple(self):
        """F.pad's tuple for a padding_mode other than 'zeros': last dim first, (left, right) each."""
        if self.padding == "same":
            pairs = [((w - 1) // 2, (w - 1) - (w - 1) // 2) for w in span(self.kernel_size, self.dilation)]
        elif self.padding == "valid":
            pairs = [(0, 0)] * self._d
        else:
            pairs = [(p, p) for p in self.padding]
        return tuple(v for lo_hi in reversed(pairs) for v in lo_hi)

    def extra_repr(self):
        d = self._d
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * d:   # a string ('same', 'valid') prints bare, as torch's
            s += f", padding={self.padding}"
        if self.dilation != (1,) * d:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * d:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, 0, device, dtype)

    def forward(self, x):
        conv = _CONV[self._d]
        if self.padding_mode != "zeros":
            return conv(F.pad(x, self._pad_tuple(), mode=self.padding_mode), self.weight, self.bias,
                        self.stride, 0, self.dilation, self.groups)
        return conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-D convolution, as ``torch.nn.Conv1d``: x (N, C_in, L) or (C_in, L) -> (N, C_out, L_out).

    weight: (C_out, C_in / groups, K), bias: (C_out,). padding: an int, 'valid' or 'same';
    padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.
    """
    _d = 1


class Conv2d(_Conv):
    """2-D convolution, as ``torch.nn.Conv2d``: x (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out).

    weight: (C_out, C_in / groups, kH, kW), bias: (C_out,). kernel_size, stride, padding, dilation:
    an int or a pair; padding also 'valid' or 'same'; padding_mode as :class:`Conv1d`.
    """
    _d = 2


class Conv3d(_Conv):
    """3-D convolution, as ``torch.nn.Conv3d``: x (N, C_in, D, H, W) or (C_in, D, H, W)
    -> (N, C_out, D_out, H_out, W_out).

    weight: (C_out, C_in / groups, kD, kH, kW), bias: (C_out,). kernel_size, stride, padding, dilation:
    an int or a triple; padding also 'valid' or 'same'; padding_mode as :class:`Conv1d`.
    """
    _d = 3


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device, dtype)

    def forward(self, x, output_size=None):
        """x: (N, C_in, *S) -> (N, C_out, *S_out); ``output_size`` picks among the sizes a strided
        conv maps to S (it sets output_padding), as torch's."""
        output_padding = self.output_padding
        if output_size is not None:
            sizes = tuple(output_size)[-self._d:]
            least = [(n - 1) * s - 2 * p + w for n, s, p, w in
                     zip(x.shape[-self._d:], self.stride, self.padding, span(self.kernel_size, self.dilation))]
            output_padding = tuple(int(o) - m for o, m in zip(sizes, least))
            # torch's range: up to stride - 1 more than the least size (the dilation does not widen it,
            # though F.conv_transpose*d takes an output_padding below the dilation)
            if len(sizes) != self._d or any(not 0 <= q < s for q, s in zip(output_padding, self.stride)):
                raise ValueError(f"{type(self).__name__}: requested an output size of {tuple(output_size)}, but "
                                 f"valid sizes range from {tuple(least)} to "
                                 f"{tuple(m + s - 1 for m, s in zip(least, self.stride))}")
        conv = _CONV_TRANSPOSE[self._d]
        return conv(x, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups,
                    self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution, as ``torch.nn.ConvTranspose1d``: x (N, C_in, L) -> (N, C_out, L_out),
    L_out = (L - 1) stride - 2 padding + dilation (K - 1) + output_padding + 1.
    weight: (C_in, C_out / groups, K), bias: (C_out,)."""
    _d = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution, as ``torch.nn.ConvTranspose2d``: x (N, C_in, H, W) -> (N, C_out, H_out, W_out),
    per dim as :class:`ConvTranspose1d`. weight: (C_in, C_out / groups, kH, kW), bias: (C_out,)."""
    _d = 2


class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution, as ``torch.nn.ConvTranspose3d``: x (N, C_in, D, H, W) -> (N, C_out, D_out,
    H_out, W_out), per dim as :class:`ConvTranspose1d`. weight: (C_in, C_out / groups, kD, kH, kW), bias: (C_out,)."""
    _d = 3
