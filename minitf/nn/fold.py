"""``nn.Fold`` and ``nn.Unfold``, as torch's: modules over :func:`minitf.ops.fold.fold` and
:func:`minitf.ops.fold.unfold` (no parameters).

    unfold = nn.Unfold(kernel_size=2, stride=2)   # x: (N, C, H, W) -> (N, C * 4, L)
    fold = nn.Fold((H, W), kernel_size=2, stride=2)  # its adjoint: (N, C * 4, L) -> (N, C, H, W)
"""
from __future__ import annotations

from ..ops import fold as _fold
from .module import Module


class Fold(Module):
    """Sum sliding-window columns back into images, as ``torch.nn.Fold``:
    x (N, C * kH * kW, L) or (C * kH * kW, L) -> (N, C, *output_size) (see F.fold)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):
        return _fold.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Unfold(Module):
    """Every sliding window of a batch of images as a column, as ``torch.nn.Unfold``:
    x (N, C, H, W) or (C, H, W) -> (N, C * kH * kW, L) (see F.unfold)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):
        return _fold.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
