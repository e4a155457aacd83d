"""Products and scans under PyTorch's names: prod, cumsum, cumprod, logsumexp.

Integer and bool inputs give int64 for prod / cumsum / cumprod and the default float dtype for logsumexp,
as torch. Zeros are handled in the gradients of prod and cumprod as torch does (the
product of the other elements, not 0/0).
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .reduction import sum
from ._util import as_tensor, cast_input, check_dim, expand_reduced, float_input, normalize_axis


def _int64_if_integer(x):
    return "int64" if x.dtype.kind in "iub" else None


def _first_zero(xp, zero, axis):
    """Where each slice (along ``axis``; None: the whole array) has its first zero."""
    if axis is None:
        return (zero & (xp.cumsum(zero.ravel()) == 1).reshape(zero.shape))
    return zero & (xp.cumsum(zero, axis=axis) == 1)


def _prod_others(xp, x, axes):
    """prod_{j != i} x_j over the slice (the whole array for ``axes`` None), for every i: the
    product of the elements before i times that of those after it (two exclusive running
    products, torch's prod_safe_zeros_backward), so zeros need no case of their own, and an inf
    or an overflow elsewhere in the slice does not turn into inf / inf (p / x_i did: [inf, 1, 2]
    gave NaN for the inf's slope 2; [1e300, 1e300, 1e-300] gave inf for a slope 1)."""
    if axes is None:
        return _prod_others(xp, x.reshape(-1), (0,)).reshape(x.shape)
    axis = axes[0] % x.ndim
    n = x.shape[axis]
    if n == 0:
        return x.copy()
    cut = [slice(None)] * x.ndim
    ones = xp.ones(x.shape[:axis] + (1,) + x.shape[axis + 1:], dtype=x.dtype)
    with backend.quiet_fp_warnings():   # (a running product that overflows is inf, as the slope)
        cut[axis] = slice(0, n - 1)
        before = xp.concatenate([ones, xp.cumprod(x, axis=axis)[tuple(cut)]], axis=axis)
        cut[axis] = slice(1, n)
        after = xp.flip(xp.cumprod(xp.flip(x, axis), axis=axis), axis)[tuple(cut)]
        return before * xp.concatenate([after, ones], axis=axis)


def _at_first_zero(x: Tensor, first, axes):
    """x_k, the value at each slice's first zero (0, its derivative 1), kept as a size-1 dim."""
    from .shape import Where
    return sum(Where.apply(x, as_tensor(0.0, x), cond=first), axes, keepdims=True)


class Prod(Function):
    __slots__ = ("axis",)  # a slot, not the freed __dict__: grad_fn.name() reads it after backward
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x, axis, keepdims):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        return x.prod(axis=axis, keepdims=keepdims, dtype=_int64_if_integer(x))

    def backward(self, g):  # d prod / dx_i = prod_{j != i} x_j
        xp = backend.get_array_module(g)
        axes = None if self.axis is None else (self.axis,)
        return (expand_reduced(g, self.x.shape, axes, self.keepdims) * _prod_others(xp, self.x, axes),)

    def backward_graph(self, g):
        # the same in Tensor ops, exact to second order whatever the zeros. Without a zero in the
        # slice, p / x_i. With a first zero x_k: at k, the product of x' (x with x_k taken as the
        # constant 1: it does not depend on x_k); elsewhere x_k * prod_{j != i, k} x_j, whose
        # value is 0 and whose derivative in x_k is the product (taken as a constant: only third
        # derivatives would need it differentiated)
        from .shape import Where
        xp = backend.get_array_module(g.data)
        x, axes = self.inputs[0], None if self.axis is None else (self.axis,)
        zero = x.data == 0
        first = _first_zero(xp, zero, self.axis)
        one = as_tensor(1.0, x)
        x1 = Where.apply(one, x, cond=first)                 # x', no longer zero at k
        p = Prod.apply(x1, axis=self.axis, keepdims=True)
        if p.ndim < x.ndim:
            p = p.reshape((1,) * x.ndim)
        others = Tensor._make(_prod_others(xp, x1.data, axes), None)
        count = zero.sum(axis=axes, keepdims=True)
        nonzero = Where.apply(one, x, cond=zero)            # = x where p / x_i is used; never 0
        d = Where.apply(p / nonzero, Where.apply(p, _at_first_zero(x, first, axes) * others, cond=first),
                        cond=count == 0)
        return (expand_reduced(g, x.shape, axes, self.keepdims) * d,)


def _cumsum(xp, a, axis, dtype=None):
    """sum_{j <= i} a_j along ``axis``, from +0 as torch's (NumPy's starts from a_0: a run of -0 stays -0)."""
    out = xp.cumsum(a, axis=axis, dtype=dtype)
    if out.dtype.kind in "fc":
        out += 0
    return out


def _reverse_cumsum(xp, a, axis):
    """sum_{j >= i} a_j along ``axis``."""
    return xp.flip(_cumsum(xp, xp.flip(a, axis), axis), axis)


class Cumsum(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, axis, reverse=False):
        xp = backend.get_array_module(x)
        self.axis, self.reverse = axis, reverse
        if reverse:
            return _reverse_cumsum(xp, x, axis)
        return _cumsum(xp, x, axis, _int64_if_integer(x))

    def backward(self, g):  # d y_j / dx_i = [i <= j]: the gradient summed from the end back to i
        xp = backend.get_array_module(g)
        return (_cumsum(xp, g, self.axis) if self.reverse else _reverse_cumsum(xp, g, self.axis),)

    def backward_graph(self, g):
        return (Cumsum.apply(g, axis=self.axis, reverse=not self.reverse),)


def _cumprod_grad(xp, x, g, axis):
    """sum_{j >= i} g_j d y_j / dx_i for y = cumprod(x), with d y_j / dx_i = prod_{m <= j,
    m != i} x_m. Before the slice's first zero (x_i != 0) that is y_j / x_i; at the first zero
    k it is the cumprod with x_k taken as 1; after it every term holds x_k = 0."""
    zero = x == 0
    zeros_so_far = xp.cumsum(zero, axis=axis)
    before, first = zeros_so_far == 0, zero & (zeros_so_far == 1)
    one = x.dtype.type(1)
    a = _reverse_cumsum(xp, g * xp.cumprod(x, axis=axis), axis) / xp.where(before, x, one)
    b = _reverse_cumsum(xp, g * xp.cumprod(xp.where(first, one, x), axis=axis), axis)
    return xp.where(before, a, xp.where(first, b, x.dtype.type(0)))


class Cumprod(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x, axis):
        xp = backend.get_array_module(x)
        self.x, self.axis = x, axis
        return xp.cumprod(x, axis=axis, dtype=_int64_if_integer(x))

    def backward(self, g):
        return (_cumprod_grad(backend.get_array_module(g), self.x, g, self.axis),)

    def backward_graph(self, g):
        # the same in Tensor ops, exact to second order whatever the zeros: before and at each
        # slice's first zero x_k as above (x_k replaced by the constant 1 at k: the gradient
        # there does not depend on it); after it x_k * (the gradient of x' = x with x_k taken
        # as 1), whose value is 0 and whose derivative in x_k is that gradient (taken as a
        # constant: only third derivatives would need it differentiated)
        from .shape import Where
        xp = backend.get_array_module(g.data)
        x, axis = self.inputs[0], self.axis
        zero = x.data == 0
        zeros_so_far = xp.cumsum(zero, axis=axis)
        before, first = zeros_so_far == 0, zero & (zeros_so_far == 1)
        one = as_tensor(1.0, x)
        x1 = Where.apply(one, x, cond=first)                 # x', no longer zero at k
        a = Cumsum.apply(g * Cumprod.apply(x, axis=axis), axis=axis, reverse=True) / Where.apply(x, one, cond=before)
        b = Cumsum.apply(g * Cumprod.apply(x1, axis=axis), axis=axis, reverse=True)
        after = _at_first_zero(x, first, (axis,)) * Tensor._make(_cumprod_grad(xp, x1.data, g.data, axis), None)
        return (Where.apply(a, Where.apply(b, after, cond=first), cond=before),)


def prod(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The product over ``dim`` (one int; None: all elements, a 0-d tensor), as torch.prod.

    x: (d_0, ..., d_{n-1}) -> dim removed (kept as 1 with ``keepdim``); int64 for integer input.
    The gradient handles zeros: the product of the other elements of the slice, as torch
    (twice differentiable whatever the zeros). ``dtype``: x cast to it first, as torch.
    """
    x = cast_input(x, dtype)
    if dim is None:
        if keepdim:
            raise TypeError("prod: keepdim=True needs a dim")
        return Prod.apply(x, axis=None, keepdims=False)
    axis = check_dim("prod", dim, x.ndim)  # a 0-d tensor: dims 0 and -1 only, as torch
    return Prod.apply(x, axis=axis if x.ndim else None, keepdims=bool(keepdim))


def _scan(name, cls, x, dim):
    if x.ndim == 0:
        check_dim(name, dim, 0)
        return cls.apply(x.reshape(1), axis=0).reshape(())
    return cls.apply(x, axis=check_dim(name, dim, x.ndim))


def cumsum(x: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sums along ``dim``: y_j = x_0 + ... + x_j, as torch.cumsum (int64 for integers;
    ``dtype``: x cast to it first). x: any shape -> the same shape."""
    return _scan("cumsum", Cumsum, cast_input(x, dtype), dim)


def cumprod(x: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running products along ``dim``: y_j = x_0 ... x_j, as torch.cumprod (int64 for integers).
    The gradient handles zeros, as torch (twice differentiable whatever the zeros).
    x: any shape -> the same shape (``dtype``: x cast to it first)."""
    return _scan("cumprod", Cumprod, cast_input(x, dtype), dim)


def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim`` (an int or a tuple; () for all), stable, as torch.logsumexp.

    x: (d_0, ..., d_{n-1}) -> the reduced dims removed (kept as 1 with ``keepdim``); the default
    float dtype for integer input. The gradient is softmax(x) over the reduced dims.
    """
    from .elementwise import exp, log
    if x._vmap_batched:   # inside vmap: over the example's dims
        from ..func.batching_fns import along
        return along(logsumexp, x, dim, keepdim=keepdim)
    x = float_input(x)
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
