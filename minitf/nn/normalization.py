"""LayerNorm and RMSNorm over the trailing axes."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from . import init
from .module import Module
from .parameter import empty_parameter


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over the trailing axes.

    As ``torch.nn.LayerNorm``: ``normalized_shape`` is an int C or a tuple
    (C1, ..., Ck), the last k axes of the input; x: (..., C1, ..., Ck) -> same
    shape. ``weight`` and ``bias`` have shape ``normalized_shape``; the weight
    starts at 1, the bias at 0. ``elementwise_affine=False`` has neither;
    ``bias=False`` keeps the weight and drops the bias (as GPT configs with
    ``bias=False`` do). Several axes are flattened into one around the fused
    op, so the statistics cover all of them. ``device`` / ``dtype``: where and in what the
    parameters are made (None: the default device and dtype), as torch's.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else normalized_shape
        if not isinstance(shape, (tuple, list)) or not all(
                isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
            raise TypeError(f"LayerNorm: normalized_shape must be an int or a tuple of ints, "
                            f"got {normalized_shape!r}")
        shape = tuple(int(n) for n in shape)
        if not shape or any(n < 1 for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be a non-empty shape of sizes >= 1, got {shape}")
        if not (math.isfinite(eps) and eps >= 0):  # 0 is allowed, as in PyTorch (constant rows then give NaN)
            raise ValueError(f"LayerNorm: eps must be a non-negative number (it keeps 1/sqrt(var + eps) finite), "
                             f"got {eps}")
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        self.normalized_shape = shape          # always a tuple, as PyTorch stores it
        if self.elementwise_affine:
            self.weight = init.ones_(empty_parameter(*shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if self.elementwise_affine and bias:
            self.bias = init.zeros_(empty_parameter(*shape, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        shape, k = self.normalized_shape, len(self.normalized_shape)
        if x.shape[max(x.ndim - k, 0):] != shape:
            raise ValueError(f"LayerNorm: expected input (..., {', '.join(map(str, shape))}), got {x.shape}")
        if k == 1:
            return F.layer_norm(x, self.weight, self.bias, self.eps)
        lead, n = x.shape[:x.ndim - k], int(np.prod(shape))
        flat = [None if p is None else p.reshape(n) for p in (self.weight, self.bias)]
        return F.layer_norm(x.reshape(*lead, n), flat[0], flat[1], self.eps).reshape(*x.shape)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """y = x / sqrt(mean(x^2) + eps) * weight over the trailing ``normalized_shape`` dims, as
    ``torch.nn.RMSNorm`` (2.4+): ``eps=None`` means ``finfo(x.dtype).eps`` at each call; the
    weight (shape ``normalized_shape``) starts at 1; ``elementwise_affine=False`` has none.
    x: (..., *normalized_shape) -> the same shape. ``device`` / ``dtype``: where and in what the weight
    is made (None: the default device and dtype).
    """

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True,
                 device=None, dtype=None):
        super().__init__()
        from ..ops.rms_norm import _shape
        shape = _shape("RMSNorm", normalized_shape)
        if eps is not None and not (math.isfinite(eps) and eps >= 0):
            raise ValueError(f"RMSNorm: eps must be None or a non-negative number, got {eps}")
        self.normalized_shape, self.eps = shape, None if eps is None else float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = init.ones_(empty_parameter(*shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
