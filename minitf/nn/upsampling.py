"""Upsampling layers over ``F.interpolate``, as torch's: Upsample, UpsamplingNearest2d,
UpsamplingBilinear2d (the last with align_corners=True, as torch's)."""
from __future__ import annotations

from .. import functional as F
from .module import Module


def _floats(scale_factor):
    """torch keeps scale_factor as a float, or a tuple of floats (its repr shows 2.0, not 2)."""
    if scale_factor is None:
        return None
    if isinstance(scale_factor, (tuple, list)):
        return tuple(float(s) for s in scale_factor)
    return float(scale_factor)


class Upsample(Module):
    """``F.interpolate(x, size, scale_factor, mode, align_corners, recompute_scale_factor)``, as
    ``torch.nn.Upsample``. x: (N, C, L), (N, C, H, W) or (N, C, D, H, W) -> the resized spatial dims."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        self.scale_factor = _floats(scale_factor)
        self.mode, self.align_corners, self.recompute_scale_factor = mode, align_corners, recompute_scale_factor

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        what = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode="nearest")`` for (N, C, H, W), as torch's."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode="bilinear", align_corners=True)``, as torch's."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
