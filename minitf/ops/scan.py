"""Scans under torch's names: cummax, cummin (a (values, indices) namedtuple, as torch) and
logcumsumexp, each with its backward beside it (cumsum and cumprod are in
:mod:`minitf.ops.cumulative`).

The running extreme and the running log-sum-exp are inclusive scans of an associative ufunc
(:func:`minitf.backend.accumulate`): NumPy's ``ufunc.accumulate``, elsewhere log2(n) sliced steps.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import DtypeNotImplemented
from ..tensor import Tensor
from ._util import check_dim
from .indexing import along_index

cummax_return = namedtuple("cummax", ["values", "indices"])   # torch.return_types.cummax
cummin_return = namedtuple("cummin", ["values", "indices"])


def _running_extreme(x, axis, kind):
    """(values, indices) arrays of the running max ("max") or min along ``axis``: ties go to the
    later element and a NaN, once met, is the value from then on, its index that of the latest
    NaN (torch's rules)."""
    xp = backend.get_array_module(x)
    v = backend.accumulate("maximum" if kind == "max" else "minimum", x, axis)
    reached = x == v
    if x.dtype.kind == "f":
        reached |= (x != x) & (v != v)
    n = x.shape[axis]
    pos = xp.arange(n, dtype=np.int64).reshape((1,) * axis + (n,) + (1,) * (x.ndim - axis - 1))
    # the last position at or before j where x equalled its own running extreme is where v_j was
    # reached: a position reaching a larger (smaller) extreme after it would be later still
    return v, backend.accumulate("maximum", xp.where(reached, pos, np.int64(0)), axis)


class CumExtreme(Function):
    """The running extreme's values (computed by :func:`_running_extreme`, handed in with their
    indices). The gradient of each output goes to the element its index names, scatter-added
    (an element can be the extreme of many outputs), as torch's."""

    saves_inputs = saves_output = False

    def forward(self, x, axis, values, indices):
        self.axis, self.indices = axis, indices
        return values

    def backward(self, g):
        xp = backend.get_array_module(g)
        out = xp.zeros_like(g)
        backend.scatter_add(out, along_index(self.indices, self.axis), g)
        return (out,)

    def backward_graph(self, g):
        from .indexing import ScatterAdd
        zeros = Tensor._make(backend.get_array_module(g.data).zeros_like(g.data), None)
        return (ScatterAdd.apply(zeros, g, index=along_index(self.indices, self.axis)),)


class Cummax(CumExtreme):
    pass


class Cummin(CumExtreme):
    pass


def _extreme(name, x, dim, kind, result):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    axis = check_dim(name, dim, x.ndim)
    t = x.reshape(1) if x.ndim == 0 else x
    v, idx = _running_extreme(t.data, axis, kind)
    op = Cummax if kind == "max" else Cummin          # (named as torch's grad_fn)
    values, indices = op.apply(t, axis=axis, values=v, indices=idx), Tensor._make(idx, None)
    if x.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return result(values, indices)


def cummax(x: Tensor, dim: int):
    """The running maximum along ``dim`` and where it was reached, as torch.cummax: a
    ``(values, indices)`` namedtuple, both of x's shape (indices int64). Ties take the later
    index; NaN propagates (its index the latest NaN's). Differentiable in values: each gradient
    goes to the element at its index."""
    return _extreme("cummax", x, dim, "max", cummax_return)


def cummin(x: Tensor, dim: int):
    """The running minimum along ``dim`` and where it was reached, as torch.cummin (see
    :func:`cummax`)."""
    return _extreme("cummin", x, dim, "min", cummin_return)


def _reverse_lcse(xp, a, axis):
    return xp.flip(backend.accumulate("logaddexp", xp.flip(a, axis), axis), axis)


class LogCumSumExp(Function):
    """y_j = log(sum_{i <= j} e^{x_i}), by a stable logaddexp scan. d L / dx_i = sum_{j >= i}
    g_j e^{x_i - y_j}, formed as torch's: the positive and negative parts of g each through a
    reversed logcumsumexp of log|g| - y (log 0 taken as the dtype's lowest float), then e^(. + x)."""

    def forward(self, x, axis, zero_d=False):
        self.x, self.axis, self.zero_d = x, axis, zero_d
        self.y = backend.accumulate("logaddexp", x, axis)
        if not zero_d:   # torch's scan starts from -inf: y_0 = x_0 + log1p(0), +0 for x_0 = -0 (a 0-d y is x)
            backend.get_array_module(x).moveaxis(self.y, axis, 0)[:1] += 0
        return self.y

    def backward(self, g):
        if self.zero_d:   # y = x: torch's gradient g, also at +-inf, NaN
            return (g,)
        xp = backend.get_array_module(g)
        low = np.finfo(g.dtype).min
        with backend.quiet_underflow(xp):
            log_abs = xp.log(xp.abs(g))
            pos = xp.where(g > 0, log_abs, low)
            neg = xp.where(g < 0, log_abs, low)
            return (xp.exp(_reverse_lcse(xp, pos - self.y, self.axis) + self.x)
                    - xp.exp(_reverse_lcse(xp, neg - self.y, self.axis) + self.x),)

    def backward_graph(self, g):
        from .elementwise import exp, log
        from .layout import flip
        from .pointwise import abs
        from .shape import where
        x, axis = self.inputs[0], self.axis
        if self.zero_d:
            return (g,)
        y = LogCumSumExp.apply(x, axis=axis)
        low = float(np.finfo(g.dtype).min)
        # the masks are constants; log|g| is differentiable in g where g != 0 (the branch taken)
        safe = where(Tensor._make(g.data == 0, None), 1.0, g)
        log_abs = log(abs(safe))

        def rev(a):
            return flip(LogCumSumExp.apply(flip(a, axis), axis=axis), axis)
        pos = where(Tensor._make(g.data > 0, None), log_abs, low)
        neg = where(Tensor._make(g.data < 0, None), log_abs, low)
        return (exp(rev(pos - y) + x) - exp(rev(neg - y) + x),)


def logcumsumexp(x: Tensor, dim: int) -> Tensor:
    """log(cumsum(exp(x))) along ``dim``, stable for any range of values, as torch.logcumsumexp
    (floating or complex tensors; torch refuses integers). x: any shape -> the same shape. Differentiable
    (twice, too)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"logcumsumexp(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.dtype.kind not in "fc":   # (complex: the principal log, ops/complex_reductions.py)
        raise DtypeNotImplemented(f"logcumsumexp: not implemented for {x.dtype} tensors (as torch); convert "
                                  f"with x.float() first")
    axis = check_dim("logcumsumexp", dim, x.ndim)
    if x.ndim == 0:
        return LogCumSumExp.apply(x.reshape(1), axis=0, zero_d=True).reshape(())
    return LogCumSumExp.apply(x, axis=axis)
