"""``Tensor.unfold(dimension, size, step)``: the sliding windows along a dim as a new last dim,
a strided view of the input's memory (torch's), and its adjoint, the fold that adds each
window element back to where it came from."""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from ._util import check_dim, share_storage


def _fold(g, shape, axis, size, step):
    """The adjoint of the window view: g (..., count, ..., size) summed back into zeros(shape)."""
    xp = backend.get_array_module(g)
    gx = xp.zeros(shape, dtype=g.dtype)
    count, lead = g.shape[axis], (slice(None),) * axis
    for j in range(size):   # one strided add per offset in the window (size of them, not one per window)
        gx[lead + (slice(j, j + step * (count - 1) + 1, step),)] += g[..., j]
    return gx


class Unfold(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again
    is_view = True

    def forward(self, x, axis, size, step):
        self.shape, self.args = x.shape, (axis, size, step)
        return backend.window_view(x, axis, size, step)

    def backward(self, g):  # d x[.., i*step + j, ..] gets g[.., i, .., j], summed where windows overlap
        return (_fold(g, self.shape, *self.args),)

    def backward_graph(self, g):
        return (Fold.apply(g, shape=self.shape, args=self.args),)


class Fold(Function):
    """The backward of :class:`Unfold` as an op (for ``create_graph``): linear, its own
    backward the window view again."""
    saves_inputs = saves_output = False

    def forward(self, g, shape, args):
        self.args = args
        return _fold(g, shape, *args)

    def backward(self, gg):
        return (backend.window_view(gg, *self.args).copy(),)

    def backward_graph(self, gg):
        return (Unfold.apply(gg, axis=self.args[0], size=self.args[1], step=self.args[2]),)


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Every window of ``size`` elements, ``step`` apart, along ``dimension``, as a new last dim:
    torch's ``Tensor.unfold``. x: (..., n, ...) -> (..., (n - size) // step + 1, ..., size), a view
    sharing x's memory (windows overlap where step < size). Differentiable (overlapping windows'
    gradients add up). Not ``F.unfold`` (im2col), a different op."""
    for name, v in (("size", size), ("step", step)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"unfold: {name} must be an int, got {type(v).__name__}")
    d = check_dim("unfold", dimension, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if size > n or size < 0:
        raise ShapeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise ArgumentError(f"step is {step} but must be > 0")
    if x.ndim == 0:   # torch: a 0-d tensor's one window, (1,); size 0 gives no element, (0,)
        return x.reshape(1) if size else x.reshape(1)[:0]
    return share_storage(Unfold.apply(x, axis=d, size=int(size), step=int(step)), x)
