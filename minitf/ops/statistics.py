"""std and norm, built on the reductions (and a 2-norm with its own backward)."""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import as_tensor, expand_reduced, normalize_axis
from .elementwise import sqrt
from .extrema import amax, amin
from .pointwise import abs as _abs
from .reduction import sum as _sum, var


class Norm2(Function):
    """The 2-norm over some dims; backward reads x and the norm (the output)."""

    def forward(self, x, axis, keepdims):
        xp = backend.get_array_module(x)
        self.x, self.shape, self.axis, self.keepdims = x, x.shape, axis, keepdims
        self.n = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
        return self.n if keepdims else self.n.reshape(
            () if axis is None else tuple(d for i, d in enumerate(x.shape) if i not in axis))

    def backward(self, g):  # d||x|| / dx = x / ||x||, taken as 0 where ||x|| = 0 (PyTorch's subgradient)
        xp = backend.get_array_module(g)
        n = self.n
        safe = xp.where(n == 0, 1, n)
        return (expand_reduced(g, self.shape, self.axis, self.keepdims) * xp.where(n == 0, 0, self.x / safe),)

    def backward_graph(self, g):
        # the same in Tensor ops; where ||x|| = 0 the sum of squares is replaced by 1 before the
        # square root (sqrt' is infinite at 0, and 0 times it would make the second derivative NaN)
        from .shape import Where
        x = self.inputs[0]
        zero = self.n == 0
        ss = Where.apply(as_tensor(1.0, x), _sum(x * x, self.axis, keepdims=True), cond=zero)
        share = Where.apply(as_tensor(0.0, x), x / sqrt(ss), cond=zero)
        return (expand_reduced(g, self.shape, self.axis, self.keepdims) * share,)


def std(x: Tensor, dim=None, keepdim: bool = False, *, correction=None, unbiased=None) -> Tensor:
    """sqrt(var): ``correction`` (default 1) is subtracted from the count; ``unbiased=False``
    means correction 0 (PyTorch's older spelling)."""
    if correction is not None and unbiased is not None:
        raise ValueError("std: give correction or unbiased, not both")
    c = correction if correction is not None else (1 if unbiased is None or unbiased else 0)
    return sqrt(var(x, dim, keepdim, correction=c))


def norm(x: Tensor, p=2, dim=None, keepdim: bool = False) -> Tensor:
    """The vector ``p``-norm over ``dim`` (int, tuple, None for all): p = 2 or "fro" (default),
    1, inf, -inf, or any other positive number.

    x: (d_0, ..., d_{n-1}) -> the reduced dims removed (or kept as 1 with ``keepdim``).
    """
    if p == "fro" or p == 2:
        return Norm2.apply(x, axis=normalize_axis(dim, x.ndim, "norm"), keepdims=bool(keepdim))
    if isinstance(p, str) or not isinstance(p, (int, float)):
        raise ValueError(f"norm: unsupported p {p!r}: expected a number or 'fro'")
    if p == math.inf:
        return amax(_abs(x), dim, keepdim)
    if p == -math.inf:
        return amin(_abs(x), dim, keepdim)
    if p == 1:
        return _sum(_abs(x), dim, keepdim)
    if not p > 0:
        raise ValueError(f"norm: p must be positive (or inf, -inf, 'fro'), got {p}")
    return _sum(_abs(x) ** p, dim, keepdim) ** (1.0 / p)
