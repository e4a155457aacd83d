"""The trapezoidal rule along a dim, as torch.trapezoid (torch.trapz, its older name) and
torch.cumulative_trapezoid. Composed of differentiable ops (slices, sums, cumsum), so
differentiable in ``y`` and ``x``; integer inputs give the default float dtype, as torch.
"""
from __future__ import annotations

from ..errors import ArgumentError, ShapeError
from ..autograd import keeps_no_tensor
from ..tensor import Tensor
from ._util import check_dim, float_input


def _areas(name: str, y: Tensor, x, dx, dim: int):
    """The trapezoids' areas along ``dim`` ((..., n - 1, ...)), and dim made non-negative."""
    if not isinstance(y, Tensor):
        raise TypeError(f"{name}(): argument 'y' must be Tensor, not {type(y).__name__}")
    if x is not None and dx is not None:
        raise ArgumentError(f"{name}(): give x or dx, not both")
    if y.ndim == 0:
        raise ShapeError(f"{name}(): y must have at least 1 dimension (a 0-d y has no dim to integrate over)")
    d = check_dim(name, dim, y.ndim)
    y = float_input(y)
    n = y.shape[d]
    lo, hi = y.narrow(d, 0, max(n - 1, 0)), y.narrow(d, min(1, n), max(n - 1, 0))
    if x is None:
        step = 1.0 if dx is None else dx
        if isinstance(step, Tensor):
            return (lo + hi) * step / 2, d
        # torch's node keeps the number dx, no tensor: backward can run again
        return keeps_no_tensor((lo + hi) * (0.5 * step)), d
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'x' must be Tensor, not {type(x).__name__}")
    x = float_input(x)
    if x.ndim == 1:   # the sample points along dim, shared by every slice
        if x.shape[0] != n:
            raise ShapeError(f"{name}(): There must be one `x` value for each sample point along dim {d} "
                             f"(x has {x.shape[0]}, y has {n})")
        steps = (x[1:] - x[:-1]).reshape((-1,) + (1,) * (y.ndim - 1 - d)) if n else x[:0]
    else:
        xd = check_dim(name, d - y.ndim, x.ndim)
        m = x.shape[xd]
        if m != n:
            raise ShapeError(f"{name}(): x and y must have the same size along dim {d} ({m} and {n})")
        steps = x.narrow(xd, min(1, m), max(m - 1, 0)) - x.narrow(xd, 0, max(m - 1, 0))
    return (lo + hi) * steps / 2, d


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """The integral of ``y`` along ``dim`` by the trapezoidal rule, as torch.trapezoid:
    sum_i (y_i + y_{i+1}) / 2 * (x_{i+1} - x_i), with x the sample points (1-D (n,), or
    broadcastable with y) or equal spacing ``dx`` (default 1). y: (..., n, ...) -> (..., ...);
    n = 0 or 1 gives zeros."""
    areas, d = _areas("trapezoid", y, x, dx, dim)
    return areas.sum(d)


def trapz(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """torch.trapz: :func:`trapezoid` under its older name (``trapz(y, dx=..., dim=...)`` too)."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral along ``dim``, as torch.cumulative_trapezoid.
    y: (..., n, ...) -> (..., n - 1, ...) (empty for n <= 1)."""
    areas, d = _areas("cumulative_trapezoid", y, x, dx, dim)
    return areas.cumsum(d)


__all__ = ["trapezoid", "trapz", "cumulative_trapezoid"]
