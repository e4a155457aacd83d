"""RMS normalisation (Zhang & Sennrich 2019), as ``torch.nn.functional.rms_norm``:
y = x / sqrt(mean(x^2) + eps) * w over the trailing dims, no centring and no bias."""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import DtypeNotImplemented
from ..tensor import Tensor
from ._util import check_same_dtype
from .elementwise import sqrt
from .reduction import mean


class RMSNorm(Function):
    """y = xhat w, xhat = x r, r = 1 / sqrt(mean(x^2) + eps), over the last axis of x: (N, C)."""

    saves_inputs = saves_output = False  # keeps xhat, r and w itself

    def forward(self, x, *w, eps):
        xp = backend.get_array_module(x)
        ms = (x * x).mean(axis=-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):   # eps = 0 on a zero row: NaN, quietly, as PyTorch
            self.r = 1 / xp.sqrt(ms + x.dtype.type(eps))
            self.xhat = x * self.r
        self.w = w[0] if w else None
        return self.xhat if self.w is None else self.xhat * self.w

    def backward(self, g):
        # dxhat = g w;  dx = r (dxhat - xhat mean(dxhat xhat));  dw = sum over rows of g xhat
        xhat = self.xhat
        dxhat = g if self.w is None else g * self.w
        with np.errstate(invalid="ignore"):   # (the NaN rows of eps = 0, as the forward's)
            dx = self.r * (dxhat - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))
        if self.w is None:
            return (dx,)
        return dx, (g * xhat).sum(axis=0)

    def backward_graph(self, g):
        from .composed import vjp   # (composed imports most op modules: imported when first needed)
        return vjp(_rms_norm_composed, self, g)


def _rms_norm_composed(x, *w, eps):
    """The forward in primitive ops: x / sqrt(mean(x^2) + eps) * w."""
    y = x / sqrt(mean(x * x, -1, keepdims=True) + eps)
    return y * w[0] if w else y


def _shape(name, normalized_shape):
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else normalized_shape
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"{name}: normalized_shape must be an int or a tuple of ints, got {normalized_shape!r}")
    shape = tuple(int(n) for n in shape)
    if not shape or any(n < 1 for n in shape):
        raise ValueError(f"{name}: normalized_shape must be a non-empty shape of sizes >= 1, got {shape}")
    return shape


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight, the mean over the trailing ``normalized_shape`` dims,
    as ``torch.nn.functional.rms_norm``.

    input: (..., *normalized_shape) -> the same shape; weight: ``normalized_shape`` or None.
    eps: None means ``finfo(input.dtype).eps`` (PyTorch's default). Complex input: torch's
    x / sqrt(mean(x * x) + eps) * weight (the square, not |x|^2), differentiable.
    """
    shape = _shape("rms_norm", normalized_shape)
    if not isinstance(input, Tensor):
        raise TypeError(f"rms_norm: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind not in "fc":   # torch: NotImplementedError (a TypeError too here); complex: torch's formula
        raise DtypeNotImplemented(f"rms_norm: not implemented for {input.dtype} inputs: the input must be floating "
                                  f"point or complex (as torch)")
    k = len(shape)
    if input.shape[max(input.ndim - k, 0):] != shape or input.ndim < k:
        raise ValueError(f"rms_norm: expected input (..., {', '.join(map(str, shape))}), got {input.shape}")
    if weight is not None and weight.shape != shape:
        raise ValueError(f"rms_norm: weight must have shape {shape} (normalized_shape), got {weight.shape}")
    check_same_dtype("rms_norm", input=input, weight=weight)
    eps = float(np.finfo(input.dtype).eps) if eps is None else float(eps)
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"rms_norm: eps must be a non-negative number, got {eps}")
    if input.dtype.kind == "c":
        # torch's composite for complex input: mean(x * x), x's square (not |x|^2), of the complex
        # forms (their gradients torch's)
        from .reduction import mean
        from .unary import rsqrt
        y = input * rsqrt(mean(input * input, tuple(range(input.ndim - k, input.ndim)), keepdims=True) + eps)
        return y if weight is None else y * weight
    n = math.prod(shape)
    flat = input.reshape((-1, n))
    w = () if weight is None else (weight.reshape((n,)),)
    return RMSNorm.apply(flat, *w, eps=eps).reshape(input.shape)
