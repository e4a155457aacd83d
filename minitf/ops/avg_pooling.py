"""Average pooling over fixed windows: ``avg_pool1d``/``2d``/``3d``, as torch's (one implementation
for every number of spatial dims).

The windows are max pooling's (:mod:`minitf.ops.pooling`: the same geometry, ceil_mode and
padding checks); the forward sums the KK strided views of the padded input and divides by
torch's divisor, the backward spreads ``g / divisor`` over every window element (col2im).
Each is the other's adjoint, so both are differentiable to any order (``create_graph=True``).
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeNotImplemented
from ..tensor import Tensor
from ._util import as_result, is_int
from .pooling import _batched, _geometry, _padded, _scatter_to_windows
from .windows import window_reads


def _divisor(xp, spatial, geom, count_include_pad, divisor_override, dtype):
    """The divisor of each output of an average pool, (*Out), built on the device: torch's rule, per
    dim (a window's size clipped to the padded input, or to the input without count_include_pad)."""
    kernel, stride, _, pads, out = geom
    if divisor_override is not None:
        return xp.full(out, float(divisor_override), dtype=dtype)
    div = xp.ones((), dtype=dtype)
    for i, (n, k, s, (p, _), o) in enumerate(zip(spatial, kernel, stride, pads, out)):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)
        size = end - start if count_include_pad else xp.minimum(end, n) - xp.maximum(start, 0)
        div = div * size.reshape((-1,) + (1,) * (len(out) - 1 - i)).astype(dtype)
    return div


class AvgPool(Function):
    saves_inputs = saves_output = False

    def forward(self, x, geom, div):
        self.spatial = x.shape[2:]
        return _window_mean(x, geom, div)

    def backward(self, g):  # every element of a window receives g / divisor
        return (_spread(g, self.params["geom"], self.params["div"], self.spatial),)

    def backward_graph(self, g):
        from .backward_ops import with_zero_slope_on   # (torch: average pooling's backward has slope 0 in x)
        p = self.params
        gx = Spread.apply(g, geom=p["geom"], div=p["div"], spatial=self.spatial)
        return (with_zero_slope_on(gx, self.inputs[0]),)


def _window_mean(x, geom, div):
    """Each window's sum over ``div``, ``(N, C, *Out)``: KK whole-array adds of the padded input's
    strided views, no copy of the windows."""
    reads = window_reads(_padded(x, geom), *geom[:3], geom[4])
    s = next(reads)[1] + 0   # a sum that starts at +0.0, as torch's: a window of -0.0s averages to +0.0
    for _, v in reads:
        s += v
    s /= div
    return s


def _spread(g, geom, div, spatial):
    """col2im of g / divisor, the same on every element of a window."""
    xp = backend.get_array_module(g)
    gd = g / div
    return _scatter_to_windows(xp, lambda k: gd, g.shape, geom, spatial, gd.dtype)


class Spread(Function):
    """g -> dx: g / divisor added on every element of its window (average pooling's backward)."""
    saves_inputs = saves_output = False

    def forward(self, g, geom, div, spatial):
        return _spread(g, geom, div, spatial)

    def backward(self, gx):  # the adjoint is the average pool itself
        return (_window_mean(gx, self.params["geom"], self.params["div"]),)

    def backward_graph(self, gx):
        return (AvgPool.apply(gx, geom=self.params["geom"], div=self.params["div"]),)


def _avg_pool(op, d, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    unbatched = isinstance(x, Tensor) and x.ndim == d + 1
    xb = _batched(op, d, x)
    if x.dtype.kind != "f":
        raise DtypeNotImplemented(f"{op}: not implemented for {x.dtype} input in minitf; take x.float() first")
    if divisor_override is not None and (not is_int(divisor_override) or divisor_override == 0):
        raise ArgumentError(f"{op}: divisor must be a nonzero int, got {divisor_override!r}")
    geom = _geometry(op, d, xb, kernel_size, stride, padding, 1, ceil_mode)
    div = _divisor(backend.get_array_module(xb.data), xb.shape[2:], geom, count_include_pad, divisor_override,
                   x.dtype)
    y = AvgPool.apply(xb, geom=geom, div=div)
    return as_result(y, y.shape[1:]) if unbatched else y


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling, as ``torch.nn.functional.avg_pool1d``.

    input: (N, C, L) or (C, L) -> (N, C, L_out), L_out = (L + 2 padding - k) // stride + 1 (rounded
    up with ceil_mode). count_include_pad: whether the zero padding counts in the divisor.
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    input: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out), per dim as :func:`avg_pool1d`.
    divisor_override: divide every window's sum by this int instead.
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """3-D average pooling, as ``torch.nn.functional.avg_pool3d``.

    input: (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out), per dim as :func:`avg_pool1d`.
    divisor_override: divide every window's sum by this int instead.
    """
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)
