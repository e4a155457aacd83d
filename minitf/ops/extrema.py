"""Maxima and minima with PyTorch's interfaces and gradients.

- ``max(x)`` / ``min(x)``: the extreme of the whole tensor (0-d); tied extremes share the
  gradient, and a NaN extreme sends it to the NaNs (``torch.max(x)``).
- ``max(x, dim, keepdim=False)`` / ``min(x, dim, ...)``: a ``(values, indices)`` namedtuple;
  the first extreme of each row (its index) takes the whole gradient (``torch.max(x, dim)``).
- ``amax(x, dim=(), keepdim=False)`` / ``amin``: values only, over one dim, several or all;
  tied extremes share the gradient, a NaN extreme makes its slice's gradient NaN (``torch.amax``).
- ``argmax`` / ``argmin``: int64 indices, not differentiable.

Every one takes PyTorch's ``dim=`` / ``keepdim=`` or NumPy's ``axis=`` / ``keepdims=`` (as
torch does). The tensor methods of the same names call these.
"""
from __future__ import annotations

from collections import namedtuple

from .. import autograd as _engine, backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import check_dim, expand_reduced, normalize_axis, refuse_complex
from .masking import masked, pass_bits, select

# PyTorch's torch.return_types.max / .min: a namedtuple of (values, indices)
max_return = namedtuple("max", ["values", "indices"])
min_return = namedtuple("min", ["values", "indices"])


class Amax(Function):
    """``amax`` over some dims (None: all). The gradient is shared equally between the elements
    equal to their slice's extreme; a NaN extreme equals nothing, so its slice gets NaN, as PyTorch."""

    largest = True

    def forward(self, x, axis, keepdims):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.out = x.max(axis=axis, keepdims=True) if self.largest else x.min(axis=axis, keepdims=True)
        return self.out if keepdims else self.out.reshape(
            () if axis is None else tuple(n for i, n in enumerate(x.shape) if i not in axis))

    def chosen(self, xp):
        """The elements that take a share of the gradient (bool, x's shape)."""
        return self.x == self.out

    def share(self, dtype):
        # d extreme / dx_i = [x_i chosen] / (number chosen in the slice); piecewise constant in x.
        # No chosen element (a NaN extreme): the count is made NaN, giving PyTorch's NaN without
        # NumPy's 0/0 warning (0/NaN warns of nothing).
        xp = backend.get_array_module(self.x)
        chosen = self.chosen(xp)
        count = chosen.sum(axis=self.axis, keepdims=True).astype(dtype)
        return chosen / xp.where(count > 0, count, dtype.type("nan"))

    def backward(self, g):
        return (expand_reduced(g, self.x.shape, self.axis, self.keepdims) * self.share(g.dtype),)

    def backward_graph(self, g):
        share = Tensor._make(self.share(g.dtype), None)
        return (expand_reduced(g, self.x.shape, self.axis, self.keepdims) * share,)


class Amin(Amax):
    largest = False


class Max(Amax):
    """``max()`` of the whole tensor: as ``amax``, except that a NaN maximum passes the gradient
    to the NaNs, shared (PyTorch's ``evenly_distribute_backward``)."""

    def chosen(self, xp):
        # elementwise on the device: no read of the maximum to the host
        return (self.x == self.out) | (xp.isnan(self.x) & xp.isnan(self.out))


class Min(Max):
    largest = False


class MaxDim(Function):
    """``max(dim)``'s values; the gradient goes to the chosen index only (given as ``idx``)."""

    saves_inputs = saves_output = False  # keeps the indices
    largest = True

    def forward(self, x, axis, keepdim, idx):
        self.shape, self.axis, self.keepdim, self.idx = x.shape, axis, keepdim, idx
        if x.ndim == 0:
            return x.copy()
        # the element at the index, not x.max: on a +0/-0 tie the reduction may give the other zero,
        # and values must be x.gather(dim, indices), as torch's (which picks the first)
        xp = backend.get_array_module(x)
        v = xp.take_along_axis(x, xp.expand_dims(idx, axis), axis)
        return v if keepdim else xp.squeeze(v, axis)

    def _one_hot(self, xp):  # [i == idx] along the axis, broadcasting against x
        n = self.shape[self.axis]
        ar = xp.arange(n).reshape((n,) + (1,) * (len(self.shape) - self.axis - 1))
        return ar == xp.expand_dims(self.idx, self.axis)

    def backward(self, g):  # d values / dx_i = [i == index]
        if not self.shape:
            return (g,)
        gk = g if self.keepdim else backend.get_array_module(g).expand_dims(g, self.axis)
        # a select, not gk * one_hot: 0 beside the chosen index also for an inf or NaN g (torch's scatter)
        return (masked(gk, pass_bits(self._one_hot(backend.get_array_module(g)))),)

    def backward_graph(self, g):  # the one-hot mask is piecewise constant in x
        if not self.shape:
            return (g,)
        gk = g if self.keepdim else g.reshape(g.shape[:self.axis] + (1,) + g.shape[self.axis:])
        return (select(gk, pass_bits(self._one_hot(backend.get_array_module(g.data)))),)   # (as backward's)


class MinDim(MaxDim):
    """``min(dim)``'s values."""

    largest = False


def _dim_args(name, dim, keepdim, axis, keepdims):
    """PyTorch's dim/keepdim, or NumPy's axis/keepdims in their place."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{name}: give dim or axis, not both")
        dim = axis
    return dim, bool(keepdim if keepdims is None else keepdims)


def _extreme(x: Tensor, dim, keepdim, axis, keepdims, largest: bool):
    name = "max" if largest else "min"
    dim, keepdim = _dim_args(name, dim, keepdim, axis, keepdims)
    if x._vmap_batched and isinstance(dim, int):   # inside vmap: along the example's dim
        from ..func.batching_fns import along
        return along(max if largest else min, x, dim, keepdim=keepdim)
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}: keepdim=True needs a dim ({name}(x) reduces everything to a 0-d tensor)")
        if x.numel() == 0:
            raise ValueError(f"{name}: the tensor is empty; name a dim to reduce")
        return (Max if largest else Min).apply(x, axis=None, keepdims=False)
    if isinstance(dim, Tensor):  # max(x, other): the elementwise maximum, as torch.max(input, other)
        if keepdim:
            raise TypeError(f"{name}(x, other) takes no keepdim")
        from .pointwise import maximum, minimum
        return (maximum if largest else minimum)(x, dim)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}: dim must be an int (one dim, giving values and indices); "
                        f"use a{name}(x, dim) for several dims")
    axis = check_dim(name, dim, x.ndim)
    if x.ndim and x.shape[axis] == 0:
        raise ValueError(f"{name}: dim {dim} of shape {x.shape} is empty")
    a = x.data
    xp = backend.get_array_module(a)
    if a.ndim == 0:
        idx = xp.zeros((), dtype="int64")
    else:  # the first of tied extremes (and the first NaN), as PyTorch
        idx = xp.asarray(a.argmax(axis=axis) if largest else a.argmin(axis=axis)).astype("int64")
    values = (MaxDim if largest else MinDim).apply(x, axis=axis, keepdim=keepdim, idx=idx)
    if keepdim and a.ndim:
        idx = xp.expand_dims(idx, axis)
    return (max_return if largest else min_return)(values, Tensor._make(idx, None))


def max(x: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    """``max(x)``: the maximum, a 0-d tensor (tied maxima share the gradient); ``max(x, dim,
    keepdim=False)``: a ``(values, indices)`` namedtuple, the first maximum of each row taking
    its gradient, as ``torch.max``.

    x: (d_0, ..., d_{n-1}) -> values and indices (int64) without dim (or with it as 1 if ``keepdim``).
    """
    return _extreme(x, dim, keepdim, axis, keepdims, True)


def min(x: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    """``min(x)``: the minimum; ``min(x, dim, keepdim=False)``: ``(values, indices)``, as ``torch.min``."""
    return _extreme(x, dim, keepdim, axis, keepdims, False)


def _amax(x: Tensor, dim, keepdim, axis, keepdims, largest: bool) -> Tensor:
    name = "amax" if largest else "amin"
    dim, keepdim = _dim_args(name, dim, keepdim, axis, keepdims)
    axes = normalize_axis(dim, x.ndim, name)   # dim=() reduces every dim, as in PyTorch
    if x.numel() == 0:
        if axes is None:
            raise ValueError(f"{name}: the tensor is empty; name the dims to reduce")
        for d in axes:
            if x.shape[d] == 0:
                raise ValueError(f"{name}: dim {d} of shape {x.shape} is empty")
    return (Amax if largest else Amin).apply(x, axis=axes, keepdims=keepdim)


def amax(x: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """The maximum over ``dim`` (int, tuple; None or () for all): values only, tied maxima
    sharing the gradient, as ``torch.amax``.

    x: (d_0, ..., d_{n-1}) -> the reduced dims removed (or kept as 1 with ``keepdim``).
    """
    return _amax(x, dim, keepdim, axis, keepdims, True)


def amin(x: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """The minimum over ``dim`` (int, tuple; None or () for all), as ``torch.amin``."""
    return _amax(x, dim, keepdim, axis, keepdims, False)


def _arg(x: Tensor, dim, keepdim, axis, keepdims, largest: bool) -> Tensor:
    name = "argmax" if largest else "argmin"
    dim, keepdim = _dim_args(name, dim, keepdim, axis, keepdims)
    if x._vmap_batched:   # inside vmap: along the example's dim (None: its flattened elements)
        from ..func.batching_fns import along
        return along(argmax if largest else argmin, x, dim, flat=True, keepdim=keepdim)
    a = x.data
    if _engine._hooks:
        refuse_complex(name, a)
    if x.numel() == 0 and dim is None:
        raise ValueError(f"{name}: the tensor is empty; name a dim to reduce")
    if dim is None:
        out = a.argmax() if largest else a.argmin()
        if keepdim:
            out = out.reshape((1,) * a.ndim)
    elif a.ndim == 0:
        normalize_axis(dim, 0, name)
        out = backend.get_array_module(a).zeros((), dtype="int64")
    else:
        d = check_dim(name, dim, a.ndim)
        if a.shape[d] == 0:  # another dim of size 0 is fine: an empty result, as torch
            raise ValueError(f"{name}: dim {dim} of shape {x.shape} is empty")
        out = a.argmax(axis=d, keepdims=keepdim) if largest else a.argmin(axis=d, keepdims=keepdim)
    return Tensor._make(backend.get_array_module(a).asarray(out).astype("int64"), None)


def argmax(x: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """Index of the (first) maximum along ``dim`` (of the flattened tensor if None): int64, no grad."""
    return _arg(x, dim, keepdim, axis, keepdims, True)


def argmin(x: Tensor, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """Index of the (first) minimum along ``dim`` (of the flattened tensor if None): int64, no grad."""
    return _arg(x, dim, keepdim, axis, keepdims, False)
