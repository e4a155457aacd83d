"""Pooling over fixed windows: ``max_pool1d``/``2d`` and ``avg_pool1d``/``2d``, as torch's (the adaptive
pools are in :mod:`minitf.ops.adaptive_pooling`).

Max and average pooling read the same windows as a convolution (:mod:`minitf.ops.windows`:
a strided view of the padded input, ``(N, C, *Out, *K)``) and reduce over the window dims.
Their backwards put each output's gradient back on the window elements (col2im): all of it
on the first maximum of the window for max pooling (torch's CPU kernel, which keeps the
first of equal values), ``g / divisor`` on every element for average pooling.

Each forward has its adjoint as a second Function, and each backward is the other's
forward, so both are differentiable twice (``create_graph=True``).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeNotImplemented, ShapeError
from ..tensor import Tensor
from ._util import is_int
from .windows import col2im, crop_array, flat_index, im2col, ntuple, pad_array, span, window_coords


def _geometry(op, d, x, kernel_size, stride, padding, dilation, ceil_mode, half_of):
    """(kernel, stride, dilation, pads, out) of a pool over the last ``d`` dims of ``x``, with
    torch's checks. ``half_of``: what the padding may be at most half of ("kernel size" or the
    "effective kernel size", the dilated span)."""
    kernel = ntuple(kernel_size, d, op, "kernel_size", 1)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else ntuple(stride, d, op, "stride", 1)
    padding = ntuple(padding, d, op, "padding", 0)
    dilation = ntuple(dilation, d, op, "dilation", 1)
    spans = span(kernel, dilation)
    limit = spans if half_of == "effective kernel size" else kernel
    for p, w in zip(padding, limit):
        if 2 * p > w:
            raise ArgumentError(f"{op}: pad should be at most half of {half_of}, but got pad={p} and "
                                f"kernel_size={w}")
    spatial = x.shape[-d:]
    out = []
    for n, w, s, p in zip(spatial, spans, stride, padding):
        o = (n + 2 * p - w + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + p:  # the last window must start inside the input or left pad
            o -= 1
        out.append(o)
    if any(o < 1 for o in out):
        raise ShapeError(f"{op}: given input size {tuple(x.shape[1:])}, the calculated output size "
                         f"{tuple(x.shape[1:-d]) + tuple(out)} is too small")
    # the right padding reaches the end of the last window (ceil_mode may need more than p)
    pads = tuple((p, max(p, (o - 1) * s + w - n - p)) for n, w, s, p, o in zip(spatial, spans, stride, padding, out))
    return kernel, stride, dilation, pads, tuple(out)


def _scatter_to_windows(vals, geom, spatial):
    """col2im of ``vals: (N, C, *Out, KK)`` into ``(N, C, *spatial)``."""
    kernel, stride, dilation, pads, out = geom
    n, c = vals.shape[:2]
    padded = tuple(m + lo + hi for m, (lo, hi) in zip(spatial, pads))
    vals = vals.reshape(n, c, math.prod(out), math.prod(kernel)).transpose(2, 3, 0, 1)
    return crop_array(col2im(vals, n, c, padded, kernel, stride, dilation, out), pads, spatial)


def _windows(x, geom, fill=0.0):
    """The windows of ``x: (N, C, *S)`` as a copy ``(N, C, *Out, KK)``."""
    kernel, stride, dilation, pads, out = geom
    v = im2col(pad_array(x, pads, fill), kernel, stride, dilation, out)
    return v.reshape(x.shape[:2] + out + (math.prod(kernel),))


class MaxPool(Function):
    saves_inputs = saves_output = False   # backward reads only the argmax it keeps

    def forward(self, x, geom):
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        v = _windows(x, geom, fill)
        self.arg, self.spatial = v.argmax(axis=-1), x.shape[2:]   # argmax: the first of equal maxima
        return v.max(axis=-1)

    def backward(self, g):  # dx[window element at argmax] += g: the first maximum of each window
        return (_pick_adjoint(g, self.arg, self.params["geom"], self.spatial),)

    def backward_graph(self, g):
        return (PickAdjoint.apply(g, arg=self.arg, geom=self.params["geom"], spatial=self.spatial),)


def _pick_adjoint(g, arg, geom, spatial):
    xp = backend.get_array_module(g)
    kk = math.prod(geom[0])
    vals = g[..., None] * (xp.arange(kk) == arg[..., None])
    return _scatter_to_windows(vals, geom, spatial)


class PickAdjoint(Function):
    """g -> dx: each output's value added at its window's argmax (max pooling's backward)."""
    saves_inputs = saves_output = False

    def forward(self, g, arg, geom, spatial):
        return _pick_adjoint(g, arg, geom, spatial)

    def backward(self, gx):  # the adjoint: read gx at each window's argmax
        return (_pick(gx, self.params["arg"], self.params["geom"]),)

    def backward_graph(self, gx):
        return (Pick.apply(gx, arg=self.params["arg"], geom=self.params["geom"]),)


def _pick(x, arg, geom):
    xp = backend.get_array_module(x)
    return xp.take_along_axis(_windows(x, geom), arg[..., None], axis=-1)[..., 0]


class Pick(Function):
    """x -> each window's element at the saved argmax (max pooling with its argmax fixed)."""
    saves_inputs = saves_output = False

    def forward(self, x, arg, geom):
        self.spatial = x.shape[2:]
        return _pick(x, arg, geom)

    def backward(self, g):
        return (_pick_adjoint(g, self.params["arg"], self.params["geom"], self.spatial),)

    def backward_graph(self, g):
        p = self.params
        return (PickAdjoint.apply(g, arg=p["arg"], geom=p["geom"], spatial=self.spatial),)


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
        return _windows(x, geom).sum(axis=-1) / div

    def backward(self, g):  # every element of a window receives g / divisor
        return (_spread(g, self.params["geom"], self.params["div"], self.spatial),)

    def backward_graph(self, g):
        p = self.params
        return (Spread.apply(g, geom=p["geom"], div=p["div"], spatial=self.spatial),)


def _spread(g, geom, div, spatial):
    xp = backend.get_array_module(g)
    vals = xp.broadcast_to((g / div)[..., None], g.shape + (math.prod(geom[0]),))
    return _scatter_to_windows(vals, geom, spatial)


class Spread(Function):
    """g -> dx: g / divisor added on every element of its window (average pooling's backward)."""
    saves_inputs = saves_output = False

    def forward(self, g, geom, div, spatial):
        return _spread(g, geom, div, spatial)

    def backward(self, gx):  # the adjoint is the average pool itself
        return (_windows(gx, self.params["geom"]).sum(axis=-1) / self.params["div"],)

    def backward_graph(self, gx):
        return (AvgPool.apply(gx, geom=self.params["geom"], div=self.params["div"]),)


def _batched(op, d, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (d + 1, d + 2):
        raise ShapeError(f"{op}: expected {d + 1}D (unbatched) or {d + 2}D (batched) input, but got input of "
                         f"size: [{', '.join(map(str, x.shape))}]")
    return x.reshape((1,) + x.shape) if x.ndim == d + 1 else x


def _max_pool(op, d, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    unbatched = x.ndim == d + 1 if isinstance(x, Tensor) else False
    xb = _batched(op, d, x)
    geom = _geometry(op, d, xb, kernel_size, stride, padding, dilation, ceil_mode, "effective kernel size")
    y = MaxPool.apply(xb, geom=geom)
    fn = y._fn
    if return_indices:  # the flat index into the input's (*S), torch's: from the window element's position
        kernel, _, _, pads, out = geom
        arg = fn.arg if fn is not None else _windows(xb.data, geom, -np.inf if x.dtype.kind == "f"
                                                     else np.iinfo(x.dtype).min).argmax(axis=-1)
        xp = backend.get_array_module(xb.data)
        table = _unpadded_index(xp, xb.shape[2:], geom)
        where = xp.arange(math.prod(out)).reshape(out) * math.prod(kernel) + arg
        idx = table[where]
        indices = Tensor._make(idx, None)
        if unbatched:
            indices = indices.reshape(indices.shape[1:])
    if unbatched:
        y = y.reshape(y.shape[1:])
    return (y, indices) if return_indices else y


def _unpadded_index(xp, spatial, geom):
    """For each (output position, window element): its flat index into the unpadded (*S), (P * KK,)."""
    kernel, stride, dilation, pads, out = geom
    flat = flat_index(window_coords(xp, kernel, stride, dilation, out), spatial, [lo for lo, _ in pads])
    return xp.broadcast_to(flat, tuple(out) + tuple(kernel)).reshape(-1)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """1-D max pooling, as ``torch.nn.functional.max_pool1d``.

    input: (N, C, L) or (C, L) -> (N, C, L_out), L_out = (L + 2 padding - dilation (k - 1) - 1) // stride + 1
    (rounded up with ceil_mode). stride defaults to kernel_size; padding (with -inf) at most half
    the dilated kernel. return_indices: also each maximum's index into L (int64). The gradient goes
    to the first maximum of each window.
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    input: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out), per dim as :func:`max_pool1d`.
    return_indices: also each maximum's flat index into (H, W), h * W + w (int64).
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_pool(op, d, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    unbatched = isinstance(x, Tensor) and x.ndim == d + 1
    xb = _batched(op, d, x)
    if x.dtype.kind != "f":
        raise DtypeNotImplemented(f"{op}: not implemented for {x.dtype} input in minitf; take x.float() first")
    if divisor_override is not None and (not is_int(divisor_override) or divisor_override == 0):
        raise ArgumentError(f"{op}: divisor must be a nonzero int, got {divisor_override!r}")
    geom = _geometry(op, d, xb, kernel_size, stride, padding, 1, ceil_mode, "kernel size")
    div = _divisor(backend.get_array_module(xb.data), xb.shape[2:], geom, count_include_pad, divisor_override,
                   x.dtype)
    y = AvgPool.apply(xb, geom=geom, div=div)
    return y.reshape(y.shape[1:]) if unbatched else y


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
