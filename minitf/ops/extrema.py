"""Maxima and minima with PyTorch's interfaces: ``max(dim)`` / ``min(dim)`` as
``(values, indices)``, ``amax`` / ``amin`` over several dims, ``argmax`` / ``argmin``."""
from __future__ import annotations

from collections import namedtuple

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import check_dim, normalize_axis
from .arithmetic import neg
from .reduction import max as _max_all

# PyTorch's torch.return_types.max / .min: a namedtuple of (values, indices)
max_return = namedtuple("max", ["values", "indices"])
min_return = namedtuple("min", ["values", "indices"])


class ExtremumDim(Function):
    """Values of the max (or min) along one dim; the gradient goes to the chosen index only."""

    saves_inputs = saves_output = False  # keeps the indices

    def forward(self, x, axis, keepdim, largest):
        self.shape, self.axis, self.keepdim = x.shape, axis, keepdim
        if x.ndim == 0:
            self.idx = backend.get_array_module(x).zeros((), dtype="int64")
            return x.copy()
        self.idx = x.argmax(axis=axis) if largest else x.argmin(axis=axis)  # the first of ties, as PyTorch
        out = x.max(axis=axis, keepdims=keepdim) if largest else x.min(axis=axis, keepdims=keepdim)
        return out

    def backward(self, g):  # one-hot at the chosen index along the axis
        if not self.shape:
            return (g,)
        xp = backend.get_array_module(g)
        n = self.shape[self.axis]
        idx = xp.expand_dims(self.idx, self.axis)
        ar = xp.arange(n).reshape((n,) + (1,) * (len(self.shape) - self.axis - 1))
        gk = g if self.keepdim else xp.expand_dims(g, self.axis)
        return (gk * (ar == idx),)

    def backward_graph(self, g):  # the one-hot mask is piecewise constant in x
        if not self.shape:
            return (g,)
        xp = backend.get_array_module(g.data)
        n = self.shape[self.axis]
        idx = xp.expand_dims(self.idx, self.axis)
        ar = xp.arange(n).reshape((n,) + (1,) * (len(self.shape) - self.axis - 1))
        gk = g if self.keepdim else g.reshape(g.shape[:self.axis] + (1,) + g.shape[self.axis:])
        return (gk * Tensor._make((ar == idx).astype(g.dtype), None),)


class MaxDim(ExtremumDim):
    """``max(dim)``'s values (grad_fn ``<MaxDimBackward>``)."""


class MinDim(ExtremumDim):
    """``min(dim)``'s values (grad_fn ``<MinDimBackward>``)."""


def max_dim(x: Tensor, dim=None, keepdim: bool = False, kind: str = "max"):
    """``x.max()`` (a tensor) or ``x.max(dim)`` (``(values, indices)``); ``kind`` "max" or "min"."""
    if dim is None:
        if x.numel() == 0:
            raise ValueError(f"{kind}: the tensor is empty")
        return _max_all(x) if kind == "max" else amin(x)
    if isinstance(dim, Tensor):
        raise TypeError(f"{kind}(other) (the elementwise {kind}imum of two tensors) is not supported; "
                        f"use minitf.where(a > b, a, b)")
    axis = check_dim(kind, dim, x.ndim)
    if x.ndim and x.shape[axis] == 0:
        raise ValueError(f"{kind}: dim {dim} of shape {x.shape} is empty")
    values = (MaxDim if kind == "max" else MinDim).apply(x, axis=axis, keepdim=bool(keepdim), largest=kind == "max")
    xp = backend.get_array_module(x.data)
    if x.ndim == 0:
        idx = xp.zeros((), dtype="int64")
    else:
        idx = x.data.argmax(axis=axis) if kind == "max" else x.data.argmin(axis=axis)
        idx = xp.expand_dims(idx, axis) if keepdim else idx
    return (max_return if kind == "max" else min_return)(values, Tensor._make(xp.asarray(idx).astype("int64"), None))


def amax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The maximum over ``dim`` (int, tuple or None for all); the gradient is shared equally
    between tied maxima, as PyTorch's ``amax``."""
    return _max_all(x, dim, keepdim)


def amin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The minimum over ``dim`` (int, tuple or None); ties share the gradient."""
    return neg(_max_all(neg(x), dim, keepdim))


def _arg(x: Tensor, dim, keepdim, largest: bool) -> Tensor:
    name = "argmax" if largest else "argmin"
    if x.numel() == 0:
        raise ValueError(f"{name}: the tensor is empty")
    a = x.data
    if dim is None:
        out = a.argmax() if largest else a.argmin()
        if keepdim:
            out = out.reshape((1,) * a.ndim)
    elif a.ndim == 0:
        normalize_axis(dim, 0, name)
        out = backend.get_array_module(a).zeros((), dtype="int64")
    else:
        axis = check_dim(name, dim, a.ndim)
        out = a.argmax(axis=axis, keepdims=keepdim) if largest else a.argmin(axis=axis, keepdims=keepdim)
    return Tensor._make(backend.get_array_module(a).asarray(out).astype("int64"), None)


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) maximum along ``dim`` (of the flattened tensor if None): int64, no grad."""
    return _arg(x, dim, keepdim, True)


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) minimum along ``dim`` (of the flattened tensor if None): int64, no grad."""
    return _arg(x, dim, keepdim, False)


def torch_max(x: Tensor, dim=None, keepdim: bool = False):
    """``minitf.max(x)``: the maximum; ``minitf.max(x, dim)``: ``(values, indices)``, as ``torch.max``."""
    return max_dim(x, dim, keepdim, "max")


def torch_min(x: Tensor, dim=None, keepdim: bool = False):
    """``minitf.min(x)``: the minimum; ``minitf.min(x, dim)``: ``(values, indices)``, as ``torch.min``."""
    return max_dim(x, dim, keepdim, "min")
