"""std, var (torch's argument forms) and norm, built on the reductions (the 2-norm and the general p-norm with backwards of their own)."""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import as_tensor, check_floating, expand_reduced, normalize_axis, warn_if_no_degrees_of_freedom
from .elementwise import sqrt
from .extrema import amax, amin
from .pointwise import abs as _abs
from .reduction import Var, sum as _sum, var as _var


class Std(Function):
    """sqrt(var) over some dims, with PyTorch's backward: 0 where the std is 0 (a constant slice,
    or one element with correction 0), where sqrt' = inf times 2 (x - mean) = 0 made it NaN."""

    squares = staticmethod(Var.squares)   # (Var.forward's, run on this op)

    def forward(self, x, axis, keepdims, correction):
        self.y = backend.get_array_module(x).sqrt(Var.forward(self, x, axis, keepdims, correction))
        return self.y

    def backward(self, g):  # d std = d var / (2 std), taken as 0 where std = 0 (std_backward's masked_fill)
        xp = backend.get_array_module(g)
        return Var.backward(self, xp.where(self.y == 0, 0, g / (2 * self.y)).astype(g.dtype, copy=False))

    def backward_graph(self, g):
        # the same in Tensor ops; where std = 0 the divisor is replaced by 1 and the factor by a
        # constant 0, so no inf enters the graph
        from .shape import Where
        x = self.inputs[0]
        zero = self.y == 0
        y = Std.apply(x, **self.params)
        share = Where.apply(as_tensor(0.0, x), g / (2 * Where.apply(as_tensor(1.0, x), y, cond=zero)), cond=zero)
        return Var.backward_graph(self, share)


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


class NormP(Function):
    """The p-norm n = (sum |x|^p)^(1/p) over some dims, for p > 0 other than 1 and 2.

    Its own backward because the composed form's derivative is 0 * inf = NaN on a slice of
    zeros (d(s^(1/p))/ds is infinite at s = 0); PyTorch's backward sets it to 0 there."""

    def forward(self, x, axis, keepdims, p):
        xp = backend.get_array_module(x)
        self.x, self.shape, self.axis, self.keepdims, self.p = x, x.shape, axis, keepdims, p
        self.n = (xp.abs(x) ** p).sum(axis=axis, keepdims=True) ** (1.0 / p)
        return self.n if keepdims else self.n.reshape(
            () if axis is None else tuple(d for i, d in enumerate(x.shape) if i not in axis))

    def backward(self, g):
        # dn/dx = sgn(x) |x|^(p-1) / n^(p-1): the first factor taken as 0 where x = 0 (for p < 1
        # it is infinite there) and the second as 0 where n = 0 (PyTorch's norm_backward)
        xp = backend.get_array_module(g)
        x, n, p = self.x, self.n, self.p
        ax = xp.where(x == 0, 1, xp.abs(x))
        share = xp.where(x == 0, 0, xp.sign(x) * ax ** (p - 1))
        scale = xp.where(n == 0, 0, xp.where(n == 0, 1, n) ** (1 - p))
        return ((expand_reduced(g, self.shape, self.axis, self.keepdims) * share * scale).astype(x.dtype, copy=False),)

    def backward_graph(self, g):
        # the same in Tensor ops: where x = 0 (or n = 0) the base of the power is replaced by 1
        # before it is taken and the factor by a constant 0 after, so no inf enters the graph
        from .shape import Where
        x, p = self.inputs[0], self.p
        zx, zn = self.x == 0, self.n == 0
        one, zero = as_tensor(1.0, x), as_tensor(0.0, x)
        ax = Where.apply(one, _abs(x), cond=zx)
        share = Where.apply(zero, x * ax ** (p - 2), cond=zx)          # sgn(x) |x|^(p-1)
        n = NormP.apply(x, axis=self.axis, keepdims=True, p=p)
        scale = Where.apply(zero, Where.apply(one, n, cond=zn) ** (1 - p), cond=zn)
        return (expand_reduced(g, self.shape, self.axis, self.keepdims) * share * scale,)


class Norm0(Function):
    """The "0-norm": the count of non-zero elements over some dims (as PyTorch's, in x's dtype).
    Piecewise constant: its gradient is None, as PyTorch's (an input's ``.grad`` stays None)."""

    saves_inputs = saves_output = False

    def forward(self, x, axis, keepdims):
        return (x != 0).sum(axis=axis, keepdims=keepdims).astype(x.dtype)

    def backward(self, g):
        return (None,)

    def backward_graph(self, g):
        return (None,)


def variance_args(name: str, dim, unbiased, keepdim, correction, axis=None, keepdims=None):
    """torch's argument forms of var / std / var_mean / std_mean, as (dim, keepdim, correction):
    ``f(x)``, ``f(x, unbiased)``, ``f(x, dim, unbiased, keepdim)``, ``f(x, dim, correction=c,
    keepdim=k)``, and NumPy's ``axis=`` / ``keepdims=`` beside them. The second positional is
    torch's ``unbiased`` (a bool), never keepdim: ``x.var(0, False)`` is the population variance."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{name}: give dim or axis, not both")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    if isinstance(dim, (bool, np.bool_)):   # torch's f(input, unbiased)
        if unbiased is not None:
            raise TypeError(f"{name}: unbiased given twice ({name}(x, {dim}, {unbiased}): torch's form is "
                            f"{name}(x, dim, unbiased, keepdim))")
        dim, unbiased = None, dim
    if unbiased is not None and not isinstance(unbiased, (bool, np.bool_)):
        raise TypeError(f"{name}: unbiased (the argument after dim, as torch's {name}(x, dim, unbiased, keepdim)) "
                        f"must be a bool, got {type(unbiased).__name__} {unbiased!r}; pass keepdim= or "
                        f"correction= by name")
    if correction is not None and unbiased is not None:
        raise TypeError(f"{name}: give correction or unbiased, not both")   # (torch's class)
    c = correction if correction is not None else (1 if unbiased is None or unbiased else 0)
    return dim, bool(keepdim), c


def std(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None,
        keepdims=None) -> Tensor:
    """sqrt(var) over ``dim`` (all by default), dividing by n - ``correction`` (1 by default);
    ``unbiased=False`` means correction 0 (torch's older spelling). Positionally as torch's
    ``std(x, dim, unbiased, keepdim)`` (and ``std(x, unbiased)``): see :func:`variance_args`.
    x: (d_0, ..., d_{n-1}) -> the reduced dims removed (or kept as 1 with ``keepdim``)."""
    dim, keepdim, c = variance_args("std", dim, unbiased, keepdim, correction, axis, keepdims)
    check_floating(x, "std")
    axis = normalize_axis(dim, x.ndim, "std")
    warn_if_no_degrees_of_freedom("std", x, axis, c)
    return Std.apply(x, axis=axis, keepdims=keepdim, correction=c)


def var(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None,
        keepdims=None) -> Tensor:
    """The variance over ``dim`` (all by default), dividing by n - ``correction`` (1 by default, as
    torch; ``unbiased=False`` is correction 0). Positionally as torch's ``var(x, dim, unbiased,
    keepdim)`` (and ``var(x, unbiased)``): see :func:`variance_args`.
    x: (d_0, ..., d_{n-1}) -> the reduced dims removed (or kept as 1 with ``keepdim``)."""
    dim, keepdim, c = variance_args("var", dim, unbiased, keepdim, correction, axis, keepdims)
    return _var(x, dim, keepdim, correction=c)


def norm(x: Tensor, p=2, dim=None, keepdim: bool = False) -> Tensor:
    """The vector ``p``-norm over ``dim`` (int, tuple, None for all): p = 2 or "fro" (default),
    1, inf, -inf, any other positive number, or 0 (the count of non-zeros, as PyTorch's).

    x: (d_0, ..., d_{n-1}) -> the reduced dims removed (or kept as 1 with ``keepdim``).
    """
    check_floating(x, "norm")
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
    if p == 0:
        return Norm0.apply(x, axis=normalize_axis(dim, x.ndim, "norm"), keepdims=bool(keepdim))
    if not p > 0:
        raise ValueError(f"norm: p must be positive, 0, inf, -inf or 'fro' (negative p is not supported), "
                         f"got {p}")
    return NormP.apply(x, axis=normalize_axis(dim, x.ndim, "norm"), keepdims=bool(keepdim), p=float(p))
