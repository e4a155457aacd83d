"""Ops that appear in recorded backward passes (``create_graph=True``): the broadcast
that is the backward of a reduction, the scatter that is the backward of indexing,
and the standard normal CDF of the exact GELU's composition.

Each is the other's partner: broadcast_to's backward sums (the engine's ``sum_to``),
scatter's backward gathers (``getitem``), so a backward can be differentiated any
number of times.
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..tensor import Tensor


class BroadcastTo(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x, shape):
        return backend.get_array_module(x).broadcast_to(x, shape)

    def backward(self, g):  # the engine sums g back to the input's shape
        return (g,)

    def backward_graph(self, g):
        return (g,)


class Scatter(Function):
    """A zero array of ``shape`` with ``g`` put at ``index`` (added, for repeated advanced indices)."""
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, g, shape, index, advanced):
        from .inplace import Staged
        xp = backend.get_array_module(g)
        out = xp.zeros(shape, dtype=g.dtype)
        target = out
        if isinstance(index, Staged):  # integers first, then the arrays (PyTorch's order)
            target, index = out[index.first], index.second
        if advanced:
            backend.scatter_add(target, index, g)
        else:
            target[index] = g
        return out

    def backward(self, gg):  # d scatter / d g: read back the same positions
        from .inplace import take
        return (take(gg, self.params["index"]),)

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


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class NormalCDF(Function):
    """Phi(x) = 0.5 erfc(-x / sqrt(2)), the standard normal CDF (accurate in the lower tail)."""

    saves_output = False

    def forward(self, x):
        from .erf import erfc
        self.x = x
        return erfc(x * x.dtype.type(-math.sqrt(0.5))) * x.dtype.type(0.5)

    def backward(self, g):  # Phi'(x) = phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
        x = self.x
        with backend.quiet_underflow(backend.get_array_module(x)):
            return (g * backend.get_array_module(x).exp(x * x * x.dtype.type(-0.5)) * x.dtype.type(_INV_SQRT_2PI),)

    def backward_graph(self, g):
        from .elementwise import exp
        x = self.inputs[0]
        return (g * exp(x * x * -0.5) * _INV_SQRT_2PI,)


def normal_cdf(x: Tensor) -> Tensor:
    """The standard normal CDF Phi(x), elementwise (differentiable any number of times)."""
    return NormalCDF.apply(x)


class ZeroSlopeOn(Function):
    """``r`` (copied), with ``x`` as a second input whose gradient is zeros.

    The backward of max or average pooling, g -> dx, is linear in g and does not depend on the
    pool's input x, but torch records it as depending on x with derivative zero (its
    derivatives.yaml: ``self: zeros_like(self)``): under ``create_graph`` the first gradient
    requires grad whenever x does, and differentiating it in x gives zeros, not "unused".
    ``r``: any shape; ``x``: any shape -> ``r``'s shape."""
    saves_inputs = saves_output = False
    saves_tensors = False   # (the zeros are made from x's shape and dtype only)

    def forward(self, r, x):
        self.x_shape, self.x_dtype = x.shape, x.dtype
        return r.copy()   # (an output of its own: no storage shared with r, whose node may change it)

    def backward(self, g):
        return g, backend.get_array_module(g).zeros(self.x_shape, dtype=self.x_dtype)

    def backward_graph(self, g):
        zeros = backend.get_array_module(g.data).zeros(self.x_shape, dtype=self.x_dtype)
        return g, Tensor._make(zeros, None)


def with_zero_slope_on(r: Tensor, x: Tensor) -> Tensor:
    """``r`` recorded as depending on ``x`` with derivative zero (see :class:`ZeroSlopeOn`), where
    ``x`` requires grad; ``r`` itself otherwise."""
    return ZeroSlopeOn.apply(r, x) if x.requires_grad else r


class ZeroSlopeAnchor(Function):
    """``y`` (copied), recorded as also depending on ``x``: the gradient passes on to ``y``
    unchanged, and its recorded backward passes it on as :func:`with_zero_slope_on` ``x``.

    For an op composed of recorded linear ops (adaptive pooling: gathers, sums, a divide) whose
    torch kernel depends on x with slope zero: every gradient the ops below compute from g then
    depends on x too, so under ``create_graph`` the first gradient requires grad and its own
    gradient in x is zeros, as torch's. ``x`` gets no first-order gradient here (the ops below
    give it); the node keeps x, as torch's kernels keep their input (a second backward raises).
    ``y``: any shape; ``x``: any shape -> ``y``'s shape."""
    saves_inputs = saves_output = False

    def forward(self, y, x):
        return y.copy()   # (an output of its own, as ZeroSlopeOn's)

    def backward(self, g):
        return g, None

    def backward_graph(self, g):
        return with_zero_slope_on(g, self.inputs[1]), None


def anchored_on(y: Tensor, x: Tensor, name: str) -> Tensor:
    """``y`` through :class:`ZeroSlopeAnchor` on ``x`` (where x requires grad), its node named
    ``name`` (torch's node for the op)."""
    if not x.requires_grad:
        return y
    from ..grad_fn_names import named
    return named(ZeroSlopeAnchor.apply(y, x), name)
