"""Products and scans under PyTorch's names: prod, cumsum, cumprod, logsumexp.

Integer and bool inputs give int64 for prod / cumsum / cumprod and float32 for logsumexp,
as torch. Zeros are handled in the gradients of prod and cumprod as torch does (the
product of the other elements, not 0/0).
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .reduction import sum
from ._util import as_tensor, check_dim, expand_reduced, normalize_axis


def _int64_if_integer(x):
    return "int64" if x.dtype.kind in "iub" else None


class Prod(Function):
    def forward(self, x, axis, keepdims):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        return x.prod(axis=axis, keepdims=keepdims, dtype=_int64_if_integer(x))

    def backward(self, g):
        # d prod / dx_i = prod_{j != i} x_j: p / x_i without zeros in the slice; with one zero,
        # the product of the others at the zero and 0 elsewhere; with two or more, 0 everywhere
        xp = backend.get_array_module(g)
        x, axes = self.x, None if self.axis is None else (self.axis,)
        zero = x == 0
        nonzero = xp.where(zero, x.dtype.type(1), x)
        p = nonzero.prod(axis=axes, keepdims=True)   # the product of the nonzero elements
        count = zero.sum(axis=axes, keepdims=True)
        d = xp.where(count == 0, p / nonzero, xp.where((count == 1) & zero, p, x.dtype.type(0)))
        return (expand_reduced(g, x.shape, axes, self.keepdims) * d,)

    def backward_graph(self, g):
        # the same in Tensor ops. With one zero x_k in the slice, prod_{j != i} x_j = x_k p / x_i
        # off the zero: x_k enters as the sum of the zeros (0, with the right derivative), so
        # second derivatives are exact there too; with two zeros or more they are taken as 0
        from .shape import Where
        x, axes = self.inputs[0], None if self.axis is None else (self.axis,)
        zero = x.data == 0
        one, nil = as_tensor(1.0, x), as_tensor(0.0, x)
        nonzero = Where.apply(one, x, cond=zero)
        p = Prod.apply(nonzero, axis=self.axis, keepdims=True)
        if p.ndim < x.ndim:
            p = p.reshape((1,) * x.ndim)
        count = zero.sum(axis=axes, keepdims=True)
        zsum = sum(Where.apply(x, nil, cond=zero), axes, keepdims=True)
        one_zero = Where.apply(p, zsum * p / nonzero, cond=zero)
        d = Where.apply(p / nonzero, Where.apply(one_zero, nil, cond=count == 1), cond=count == 0)
        return (expand_reduced(g, x.shape, axes, self.keepdims) * d,)


def _reverse_cumsum(xp, a, axis):
    """sum_{j >= i} a_j along ``axis``."""
    return xp.flip(xp.cumsum(xp.flip(a, axis), axis=axis), axis)


class Cumsum(Function):
    saves_inputs = saves_output = False

    def forward(self, x, axis, reverse=False):
        xp = backend.get_array_module(x)
        self.axis, self.reverse = axis, reverse
        if reverse:
            return _reverse_cumsum(xp, x, axis)
        return xp.cumsum(x, axis=axis, dtype=_int64_if_integer(x))

    def backward(self, g):  # d y_j / dx_i = [i <= j]: the gradient summed from the end back to i
        xp = backend.get_array_module(g)
        return (xp.cumsum(g, axis=self.axis) if self.reverse else _reverse_cumsum(xp, g, self.axis),)

    def backward_graph(self, g):
        return (Cumsum.apply(g, axis=self.axis, reverse=not self.reverse),)


class Cumprod(Function):
    def forward(self, x, axis):
        xp = backend.get_array_module(x)
        self.x, self.axis = x, axis
        self.y = xp.cumprod(x, axis=axis, dtype=_int64_if_integer(x))
        return self.y

    def backward(self, g):
        # d y_j / dx_i = prod_{m <= j, m != i} x_m for j >= i. Before the slice's first zero
        # (x_i != 0) that is y_j / x_i; at the first zero k it is the cumprod with x_k taken
        # as 1; after it every term holds x_k = 0.
        xp = backend.get_array_module(g)
        x, y, axis = self.x, self.y, self.axis
        zero = x == 0
        zeros_so_far = xp.cumsum(zero, axis=axis)
        before, first = zeros_so_far == 0, zero & (zeros_so_far == 1)
        one = x.dtype.type(1)
        a = _reverse_cumsum(xp, g * y, axis) / xp.where(before, x, one)
        b = _reverse_cumsum(xp, g * xp.cumprod(xp.where(first, one, x), axis=axis), axis)
        return (xp.where(before, a, xp.where(first, b, x.dtype.type(0))),)

    def backward_graph(self, g):
        # the same in Tensor ops: exact before and at each slice's first zero; after it the
        # gradient is 0 and its own derivative (through the zero) is taken as 0
        from .shape import Where
        x, axis = self.inputs[0], self.axis
        zero = x.data == 0
        zeros_so_far = backend.get_array_module(zero).cumsum(zero, axis=axis)
        before, first = zeros_so_far == 0, zero & (zeros_so_far == 1)
        one, nil = as_tensor(1.0, x), as_tensor(0.0, x)
        a = Cumsum.apply(g * Cumprod.apply(x, axis=axis), axis=axis, reverse=True) / Where.apply(x, one, cond=before)
        b = Cumsum.apply(g * Cumprod.apply(Where.apply(one, x, cond=first), axis=axis), axis=axis, reverse=True)
        return (Where.apply(a, Where.apply(b, nil, cond=first), cond=before),)


def prod(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The product over ``dim`` (one int; None: all elements, a 0-d tensor), as torch.prod.

    x: (d_0, ..., d_{n-1}) -> dim removed (kept as 1 with ``keepdim``); int64 for integer input.
    The gradient handles zeros: the product of the other elements of the slice (twice
    differentiable; with two zeros or more in a slice its derivative is taken as 0).
    """
    if dim is None:
        if keepdim:
            raise TypeError("prod: keepdim=True needs a dim")
        return Prod.apply(x, axis=None, keepdims=False)
    return Prod.apply(x, axis=check_dim("prod", dim, x.ndim) if x.ndim else None, keepdims=bool(keepdim))


def _scan(name, cls, x, dim):
    if x.ndim == 0:
        check_dim(name, dim, 0)
        return cls.apply(x.reshape(1), axis=0).reshape(())
    return cls.apply(x, axis=check_dim(name, dim, x.ndim))


def cumsum(x: Tensor, dim: int) -> Tensor:
    """Running sums along ``dim``: y_j = x_0 + ... + x_j, as torch.cumsum (int64 for integers).
    x: any shape -> the same shape."""
    return _scan("cumsum", Cumsum, x, dim)


def cumprod(x: Tensor, dim: int) -> Tensor:
    """Running products along ``dim``: y_j = x_0 ... x_j, as torch.cumprod (int64 for integers).
    The gradient handles zeros, as torch (its own derivative, create_graph=True, is taken as 0
    after a slice's first zero). x: any shape -> the same shape."""
    return _scan("cumprod", Cumprod, x, dim)


def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim`` (an int or a tuple; () for all), stable, as torch.logsumexp.

    x: (d_0, ..., d_{n-1}) -> the reduced dims removed (kept as 1 with ``keepdim``); float32
    for integer input. The gradient is softmax(x) over the reduced dims.
    """
    from .elementwise import exp, log
    if x.dtype.kind not in "fc":
        x = x.to(dtype="float32")
    axes = normalize_axis(dim, x.ndim, "logsumexp")
    xp = backend.get_array_module(x.data)
    # shift by the maximum (a constant: the value does not depend on it, so neither does the
    # gradient); an infinite maximum is not subtracted (inf - inf would be NaN)
    m = x.data.max(axis=axes, keepdims=True) if x.numel() else xp.zeros((1,) * x.ndim, dtype=x.dtype)
    m = xp.where(xp.isfinite(m), m, x.dtype.type(0))
    out = log(sum(exp(x - Tensor._make(m, None)), axes, keepdims=True)) + Tensor._make(m, None)
    if keepdim:
        return out
    return out.reshape(() if axes is None else tuple(n for i, n in enumerate(x.shape) if i not in axes))
