"""``PixelShuffle``, ``PixelUnshuffle`` and ``ChannelShuffle``: the layers of :mod:`minitf.ops.pixel`'s
rearrangements, as torch's (no parameters)."""
from __future__ import annotations

from ..ops import pixel
from .module import Module


class PixelShuffle(Module):
    """Depth to space: x: (*, C r^2, H, W) -> (*, C, H r, W r), r = upscale_factor."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return pixel.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """Space to depth: x: (*, C, H r, W r) -> (*, C r^2, H, W), r = downscale_factor."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return pixel.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave ``groups`` groups of channels: x: (N, C, *S) -> the same shape."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return pixel.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"
