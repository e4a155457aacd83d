"""Reductions: sum, mean, var over an axis (or all), with keepdims (maxima and minima:
minitf/ops/extrema.py)."""
from __future__ import annotations

import builtins

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import DtypeError
from ..tensor import Tensor
from ._util import check_floating, expand_reduced, normalize_axis, warn_if_no_degrees_of_freedom


class Sum(Function):
    __slots__ = ("axis",)  # a slot, not the freed __dict__: grad_fn.name() reads it after backward
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, axis, keepdims):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        if x.dtype.kind in "biu":  # PyTorch sums bool and every integer type in int64 (NumPy: uint8 -> uint64)
            return backend.reduce_sum(x, axis, keepdims, dtype=np.int64)
        return backend.reduce_sum(x, axis, keepdims)

    def backward(self, g):  # each input element contributes once: broadcast g back
        xp = backend.get_array_module(g)
        return (xp.broadcast_to(expand_reduced(g, self.shape, self.axis, self.keepdims), self.shape),)

    def backward_graph(self, g):
        from .backward_ops import broadcast_to
        return (broadcast_to(expand_reduced(g, self.shape, self.axis, self.keepdims), self.shape),)


class Mean(Function):
    __slots__ = ("axis",)  # a slot, not the freed __dict__: grad_fn.name() reads it after backward
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, axis, keepdims):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        out = backend.reduce_mean(x, axis, keepdims)
        self.count = x.size // builtins.max(out.size, 1) if x.size else 1
        return out

    def backward(self, g):  # d mean / dx_i = 1/n
        xp = backend.get_array_module(g)
        g = expand_reduced(g, self.shape, self.axis, self.keepdims) / self.count
        return (xp.broadcast_to(g, self.shape),)

    def backward_graph(self, g):
        from .backward_ops import broadcast_to
        return (broadcast_to(expand_reduced(g, self.shape, self.axis, self.keepdims) / self.count, self.shape),)


class Var(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x, axis, keepdims, correction):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        n = x.size if axis is None else _count(x.shape, axis)
        self.xc = x - x.mean(axis=axis, keepdims=True)
        self.dof = n - correction  # may be 0 or negative: the value is then sum / 0, the gradient below
        ss = self.squares(self.xc).sum(axis=axis, keepdims=keepdims)
        if self.dof <= 0:  # as PyTorch: sum / max(n - correction, 0), inf (or NaN for 0/0), without NumPy's warning
            xp = backend.get_array_module(x)
            return xp.where(ss > 0, ss.dtype.type(float("inf")), ss.dtype.type(float("nan")))
        return ss / self.dof

    @staticmethod
    def squares(xc):   # |x - mean|^2 (complex_math's complex form: re^2 + im^2, a real array)
        return xc * xc

    def backward(self, g):
        # d var / dx_i = 2 (x_i - mean) / (n - correction), PyTorch's var_backward: n - correction as
        # it is even where it is <= 0 (finite for a negative one, +-inf or NaN at the mean for 0),
        # except over every element, where it is inf (NaN at the mean) for any n - correction <= 0
        g = expand_reduced(g, self.shape, self.axis, self.keepdims)
        if self.dof <= 0 and (self.axis is None or not self.shape):
            return (g * _inf_or_nan_at_mean(self.xc),)
        return (g * (2 / self.dof if self.dof else float("inf")) * self.xc,)

    def backward_graph(self, g):  # the same in Tensor ops (read by Std's too)
        x = self.inputs[0]
        g = expand_reduced(g, self.shape, self.axis, self.keepdims)
        if self.dof <= 0 and (self.axis is None or not self.shape):
            return (g * Tensor._make(_inf_or_nan_at_mean(self.xc), None),)
        return (g * (2 / self.dof if self.dof else float("inf")) * (x - mean(x, self.axis, keepdims=True)),)


def _inf_or_nan_at_mean(xc):
    xp = backend.get_array_module(xc)
    return xp.where(xc == 0, xc.dtype.type(float("nan")), xc.dtype.type(float("inf")))


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def sum(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (int, tuple or None for all).

    x: (d_0, ..., d_{n-1}) -> the reduced axes removed (or kept as 1 with ``keepdims``).
    """
    return Sum.apply(x, axis=normalize_axis(axis, x.ndim, "sum"), keepdims=keepdims)


def mean(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (int, tuple or None for all).

    x: (d_0, ..., d_{n-1}) -> the reduced axes removed (or kept as 1 with ``keepdims``).
    """
    if x.dtype.kind not in "fc":
        raise DtypeError(f"mean: the input must be floating point, got {x.dtype} (as PyTorch; "
                        f"take x.float().mean() or x.double().mean())")
    return Mean.apply(x, axis=normalize_axis(axis, x.ndim, "mean"), keepdims=keepdims)


def var(x: Tensor, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Variance over ``axis``, dividing by n - correction (1 by default, as PyTorch).

    x: (d_0, ..., d_{n-1}) -> the reduced axes removed (or kept as 1 with ``keepdims``).
    """
    check_floating(x, "var")
    axis = normalize_axis(axis, x.ndim, "var")
    warn_if_no_degrees_of_freedom("var", x, axis, correction)
    return Var.apply(x, axis=axis, keepdims=keepdims, correction=correction)
