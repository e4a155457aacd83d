"""Pooling over fixed windows: ``max_pool1d``/``2d``/``3d`` (and the ``*_with_indices`` names), as
torch's, and the window geometry every pool shares (average pooling is in
:mod:`minitf.ops.avg_pooling`, the adaptive pools in :mod:`minitf.ops.adaptive_pooling`). One
implementation serves every number of spatial dims; the public functions differ only in it.

Max and average pooling read the same windows as a convolution (:mod:`minitf.ops.windows`:
a strided view of the padded input, ``(N, C, *Out, *K)``) and reduce over the window dims.
Their backwards put each output's gradient back on the window elements (col2im): all of it
on the first maximum of the window for max pooling (torch's CPU kernel, which keeps the
first of equal values, or the last NaN), ``g / divisor`` on every element for average pooling.

Each forward has its adjoint as a second Function, and each backward is the other's
forward, so both are differentiable twice (``create_graph=True``).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from .masking import masked, pass_bits
from ._util import as_result
from .windows import col2im, crop_array, flat_index, im2col, ntuple, pad_array, span, window_coords, window_reads


def _geometry(op, d, x, kernel_size, stride, padding, dilation, ceil_mode):
    """(kernel, stride, dilation, pads, out) of a pool over the last ``d`` dims of ``x``, with
    torch's checks: the padding at most half the kernel size (the undilated one, as torch's
    shape check: with dilation a window may then cover only padding, whose max is -inf)."""
    kernel = ntuple(kernel_size, d, op, "kernel_size", 1)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else ntuple(stride, d, op, "stride", 1)
    padding = ntuple(padding, d, op, "padding", 0)
    dilation = ntuple(dilation, d, op, "dilation", 1)
    spans = span(kernel, dilation)
    for p, k in zip(padding, kernel):
        if 2 * p > k:
            raise ArgumentError(f"{op}: pad should be at most half of kernel size, but got pad={p} and "
                                f"kernel_size={k}")
    spatial = x.shape[-d:]
    if any(n == 0 for n in x.shape[1:]):   # torch's: only the batch dim may be empty
        raise ShapeError(f"{op}: expected input with non-zero sizes except for an optional batch dim, but got "
                         f"input of size [{', '.join(map(str, x.shape))}]")
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


def _padded(x, geom, fill=0.0):
    """``x: (N, C, *S)`` padded with ``fill`` to the windows' reach, ``(N, C, *Sp)``."""
    return pad_array(x, geom[3], fill)


def _scatter_to_windows(xp, piece, shape, geom, spatial, dtype):
    """col2im into ``(N, C, *spatial)`` of ``piece(k)``, per kernel offset k an array broadcastable to
    ``shape = (N, C, *Out)``: the gradient of window element k of every window."""
    kernel, stride, dilation, pads, out = geom
    padded = tuple(m + lo + hi for m, (lo, hi) in zip(spatial, pads))
    acc = col2im(xp, piece, shape[:2], padded, kernel, stride, dilation, out, dtype)
    return crop_array(acc, pads, spatial)


def _fill(dtype):
    """What max pooling pads with: no value of the dtype is below it."""
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _window_max(x, geom):
    """The max of every window of ``x: (N, C, *S)``, ``(N, C, *Out)``: KK whole-array maxima over
    the strided views of the padded input (np.maximum propagates NaN, as ndarray.max)."""
    xp = backend.get_array_module(x)
    reads = window_reads(_padded(x, geom, _fill(x.dtype)), *geom[:3], geom[4])
    m = next(reads)[1].copy()   # the maxima go into this copy
    for _, v in reads:   # (on a tie of +0 and -0 NumPy's x86 SIMD maximum returns its second operand:
        xp.maximum(v, m, out=m)   # here the earlier element, torch's first maximum; ARM's gives +0 always)
    return m


def _window_argmax(x, m, geom):
    """The row-major kernel offset that max pooling picks in each window, ``(N, C, *Out)`` int8
    (int32 past 127 offsets), from the max ``m``: torch's CPU rule, the first maximum among the
    input's elements (never the -inf padding: a window whose input elements are all -inf picks
    its first input element), or the last NaN where there is one. Offsets are visited last to
    first for the maxima (the first one found last wins) and first to last for the NaNs (a window
    with a NaN has NaN as its max, so no offset equals it: the two never compete). The windows are
    copied once as (KK, N, C, *Out), so that the passes per offset run on contiguous slabs (twice
    as fast as on the strided views), and work in arithmetic on the hit masks
    (``arg -= (arg - k) * hit``), not ``where``: NumPy's where with a data-dependent mask is some
    50x slower than these passes."""
    xp = backend.get_array_module(x)
    kernel, d = geom[0], len(geom[0])
    kk = math.prod(kernel)
    v = im2col(_padded(x, geom, _fill(x.dtype)), kernel, geom[1], geom[2], geom[4])       # (N, C, *Out, *K)
    slabs = xp.ascontiguousarray(v.transpose(tuple(range(2 + d, 2 + 2 * d)) + tuple(range(2 + d))))
    slabs = slabs.reshape((kk,) + m.shape)
    padded = any(lo or hi for lo, hi in geom[3])
    valid = _valid_elements(xp, x.shape[2:], geom) if padded else None     # (*Out, KK)
    small = np.int8 if kk <= 127 else np.int32   # kept until backward: the smallest that holds KK
    arg = xp.zeros(m.shape, dtype=small)
    for k in reversed(range(kk)):   # KK passes, whatever the batch, channels and image size
        hit = slabs[k] == m
        if padded:
            hit &= valid[..., k]
        arg -= (arg - small(k)) * hit
    if x.dtype.kind == "f":
        for k in range(kk):         # the last NaN of a window wins
            arg -= (arg - small(k)) * (slabs[k] != slabs[k])
    return arg


def _flat(k, kernel):
    return sum(ki * math.prod(kernel[i + 1:]) for i, ki in enumerate(k))


def window_argmax(v):
    """torch's CPU max-pool choice over the last axis of ``v: (..., KK)``: the first maximum, or the
    last NaN where there is one (its kernels test ``val > max || isnan(val)`` in order)."""
    xp = backend.get_array_module(v)
    arg = v.argmax(axis=-1)                    # the first maximum (NumPy: the first NaN)
    if v.dtype.kind == "f":
        nan = xp.isnan(v)
        last_nan = v.shape[-1] - 1 - nan[..., ::-1].argmax(axis=-1)
        arg = xp.where(nan.any(axis=-1), last_nan, arg)
    return arg


def _valid_elements(xp, spatial, geom):
    """(*Out, KK) bools: which window elements lie in the input, not in its padding."""
    kernel, stride, dilation, pads, out = geom
    inside = True
    for c, n, (lo, _) in zip(window_coords(xp, kernel, stride, dilation, out), spatial, pads):
        inside = inside & (c >= lo) & (c < lo + n)
    return inside.reshape(tuple(out) + (math.prod(kernel),))


class MaxPool(Function):
    # backward reads the input (to find each window's argmax, as torch's saves it) and a copy of
    # the max, not the output itself: changing the output in place (a ReLU(inplace=True) after the
    # pool) is fine, changing the input is caught
    saves_output = False

    def forward(self, x, geom):
        m = _window_max(x, geom)
        self.m, self.spatial, self._arg = m.copy(), x.shape[2:], None
        return m

    @property
    def arg(self):
        """The kernel offset of each window's first maximum, (N, C, *Out): computed at first use
        (backward, or return_indices) from the input and the max, not in every forward."""
        if self._arg is None:
            self._arg = _window_argmax(self.inputs[0].data, self.m, self.params["geom"])
            self.m = None
        return self._arg

    def backward(self, g):  # dx[window element at argmax] += g: the first maximum of each window
        return (_pick_adjoint(g, self.arg, self.params["geom"], self.spatial),)

    def backward_graph(self, g):
        from .backward_ops import with_zero_slope_on   # (torch: max pooling's backward has slope 0 in x)
        gx = PickAdjoint.apply(g, arg=self.arg, geom=self.params["geom"], spatial=self.spatial)
        return (with_zero_slope_on(gx, self.inputs[0]),)


def _pick_adjoint(g, arg, geom, spatial):
    xp = backend.get_array_module(g)
    kernel = geom[0]
    # g on the mask by its bits (minitf/ops/masking.py), not where(mask, g, 0) (much slower in NumPy) nor
    # g times the mask (an inf or NaN in g would make NaN over its whole window; torch's puts zeros beside it)
    return _scatter_to_windows(xp, lambda k: masked(g, pass_bits(arg == _flat(k, kernel))), g.shape, geom,
                               spatial, g.dtype)


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
    """Each window's element at offset ``arg``: ``(N, C, *Out)``."""
    xp = backend.get_array_module(x)
    kernel = geom[0]
    out = xp.zeros(arg.shape, dtype=x.dtype)
    for k, v in window_reads(_padded(x, geom), *geom[:3], geom[4]):
        out = xp.where(arg == _flat(k, kernel), v, out)
    return out


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
    geom = _geometry(op, d, xb, kernel_size, stride, padding, dilation, ceil_mode)
    y = MaxPool.apply(xb, geom=geom)
    fn = y._fn
    if return_indices:  # the flat index into the input's (*S), torch's: from the window element's position
        kernel, _, _, pads, out = geom
        arg = fn.arg if fn is not None else _window_argmax(xb.data, y.data, geom)
        xp = backend.get_array_module(xb.data)
        table = _unpadded_index(xp, xb.shape[2:], geom)
        where = xp.arange(math.prod(out)).reshape(out) * math.prod(kernel) + arg
        idx = table[where]
        indices = Tensor._make(idx, None)
        if unbatched:
            indices = indices.reshape(indices.shape[1:])
    if unbatched:
        y = as_result(y, y.shape[1:])
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
    kernel_size. return_indices: also each maximum's index into L (int64). The gradient goes
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


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """3-D max pooling, as ``torch.nn.functional.max_pool3d``.

    input: (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out), per dim as :func:`max_pool1d`.
    return_indices: also each maximum's flat index into (D, H, W), (d * H + h) * W + w (int64).
    """
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# torch's *_with_indices names: the pool with return_indices=True, whatever return_indices says (as torch's)

def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
                            return_indices: bool = False):
    """(output, indices) of :func:`max_pool1d`: input (N, C, L) -> both (N, C, L_out)."""
    return _max_pool("max_pool1d_with_indices", 1, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
                            return_indices: bool = False):
    """(output, indices) of :func:`max_pool2d`: input (N, C, H, W) -> both (N, C, H_out, W_out)."""
    return _max_pool("max_pool2d_with_indices", 2, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
                            return_indices: bool = False):
    """(output, indices) of :func:`max_pool3d`: input (N, C, D, H, W) -> both (N, C, D_out, H_out, W_out)."""
    return _max_pool("max_pool3d_with_indices", 3, input, kernel_size, stride, padding, dilation, ceil_mode, True)
