"""torch's deprecated resampling names, ``F.upsample``, ``F.upsample_nearest`` and
``F.upsample_bilinear``: :func:`~minitf.ops.interpolate.interpolate` under torch's defaults, each
with torch's deprecation warning (a UserWarning, as torch's)."""
from __future__ import annotations

import warnings

from ..tensor import Tensor
from .interpolate import interpolate


def _deprecated(name: str) -> None:
    # stacklevel 3: the warning names the caller of upsample*, as torch's (stacklevel=2 from there)
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.",
                  UserWarning, stacklevel=3)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode, align_corners)``, as
    ``torch.nn.functional.upsample``. input: (N, C, *spatial) -> (N, C, *out)."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode="nearest")``, as
    ``torch.nn.functional.upsample_nearest``. input: (N, C, *spatial) -> (N, C, *out)."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)``, as
    ``torch.nn.functional.upsample_bilinear``. input: (N, C, H, W) -> (N, C, H_out, W_out)."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
