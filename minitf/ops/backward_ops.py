"""Ops that appear in recorded backward passes (``create_graph=True``): the broadcast
that is the backward of a reduction, and the scatter that is the backward of indexing.

Each is the other's partner: broadcast_to's backward sums (the engine's ``sum_to``),
scatter's backward gathers (``getitem``), so a backward can be differentiated any
number of times.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..tensor import Tensor


class BroadcastTo(Function):
    def forward(self, x, shape):
        return backend.get_array_module(x).broadcast_to(x, shape)

    def backward(self, g):  # the engine sums g back to the input's shape
        return (g,)

    def backward_graph(self, g):
        return (g,)


class Scatter(Function):
    """A zero array of ``shape`` with ``g`` put at ``index`` (added, for repeated advanced indices)."""

    def forward(self, g, shape, index, advanced):
        xp = backend.get_array_module(g)
        out = xp.zeros(shape, dtype=g.dtype)
        if advanced:
            backend.scatter_add(out, index, g)
        else:
            out[index] = g
        return out

    def backward(self, gg):  # d scatter / d g: read back the same positions
        return (gg[self.params["index"]],)

    def backward_graph(self, gg):
        from .shape import GetItem
        return (GetItem.apply(gg, index=self.params["index"], advanced=self.params["advanced"]),)


def broadcast_to(x: Tensor, shape) -> Tensor:
    """``x`` broadcast to ``shape`` (a read-only view; NumPy's rules)."""
    shape = tuple(shape)
    return x if x.shape == shape else BroadcastTo.apply(x, shape=shape)


def scatter(g: Tensor, shape, index, advanced: bool) -> Tensor:
    """Zeros of ``shape`` with ``g`` at ``index``: the backward of ``x[index]``, as an op."""
    return Scatter.apply(g, shape=tuple(shape), index=index, advanced=advanced)
