"""The array kernels under convolution and pooling: im2col through a strided window view, its
adjoint col2im, and the argument checks the conv, pool and fold ops share.

With ``d`` spatial dims (1 for conv1d, 2 for conv2d), an input ``x: (N, C, *S)`` zero-padded
to ``(N, C, *Sp)``, a kernel ``K`` with stride ``s`` and dilation ``dil`` (span
``dil * (K - 1) + 1``), the windows are

    cols[n, c, o..., k...] = xpad[n, c, o * s + k * dil ...],    o < Out = (Sp - span) // s + 1

a view of ``xpad``'s memory (no copy) made by ``backend.sliding_window_view``. A convolution
is then one matmul over (C/groups, K) per group; a pool a reduction over the window dims.

col2im is the adjoint: every window element is added back to the input position it was read
from (overlapping windows accumulate). It is one ``backend.scatter_add`` of (P*KK) rows of
N*C values, indexed by the flat padded position of each (output position, kernel offset).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..errors import ArgumentError, ShapeError


def ntuple(value, n: int, op: str, name: str, minimum: int = 0) -> tuple:
    """An int or a sequence of ``n`` ints as an ``n``-tuple (torch's ``_pair``), each >= minimum."""
    vals = (value,) * n if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        vals = tuple(vals)
    except TypeError:
        vals = None
    if vals is None or len(vals) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                                 for v in vals):
        raise ArgumentError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in vals):
        what = {0: "negative", 1: "non-positive"}.get(minimum, f"below {minimum}")
        raise ArgumentError(f"{op}: {what} {name} is not supported, got {value!r}")
    return tuple(int(v) for v in vals)


def span(kernel, dilation) -> tuple:
    """How many input positions one window covers along each dim: dil * (k - 1) + 1."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))


def out_size(op: str, spatial, pads, kernel, stride, dilation) -> tuple:
    """Number of windows along each dim, or torch's error for a kernel larger than the padded input."""
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pads))
    spans = span(kernel, dilation)
    if any(p < w for p, w in zip(padded, spans)):
        raise ShapeError(f"{op}: calculated padded input size per channel: {' x '.join(map(str, padded))}; "
                         f"kernel size (dilated): {' x '.join(map(str, spans))}; the kernel can't be greater "
                         f"than the padded input")
    return tuple((p - w) // s + 1 for p, w, s in zip(padded, spans, stride))


def pad_array(x, pads, value=0.0):
    """``x: (N, C, *S)`` with ``pads[i] = (lo, hi)`` (>= 0) of ``value`` around spatial dim i."""
    if all(lo == hi == 0 for lo, hi in pads):
        return x
    xp = backend.get_array_module(x)
    lead = x.shape[:x.ndim - len(pads)]
    out = xp.full(lead + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[len(lead):], pads)), value, dtype=x.dtype)
    out[(Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[len(lead):], pads))] = x
    return out


def crop_array(x, pads, spatial):
    """The inverse of :func:`pad_array`: ``x: (N, C, *Sp) -> (N, C, *spatial)``."""
    if all(lo == 0 for lo, _ in pads) and x.shape[x.ndim - len(pads):] == tuple(spatial):
        return x
    xp = backend.get_array_module(x)
    return xp.ascontiguousarray(x[(Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(spatial, pads))])


def im2col(xpad, kernel, stride, dilation, out):
    """Every window of ``xpad: (N, C, *Sp)`` as a view ``(N, C, *Out, *K)`` (no copy)."""
    d = len(kernel)
    axes = tuple(range(xpad.ndim - d, xpad.ndim))
    v = backend.sliding_window_view(xpad, span(kernel, dilation), axes)  # (N, C, *(Sp - span + 1), *span)
    index = tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, stride))
    index += tuple(slice(None, None, dl) for dl in dilation)
    return v[(Ellipsis,) + index]


def window_index(padded, kernel, stride, dilation, out) -> np.ndarray:
    """The flat position in ``padded`` (row-major) of window element (o, k), as a host array
    ``(P, KK)``, P = prod(Out), KK = prod(K)."""
    d = len(kernel)
    flat = np.zeros(tuple(out) + tuple(kernel), dtype=np.int64)
    for i in range(d):  # a loop over the (one or two) spatial dims, building a small index table
        pos = (np.arange(out[i]) * stride[i]).reshape((1,) * i + (-1,) + (1,) * (2 * d - 1 - i))
        tap = (np.arange(kernel[i]) * dilation[i]).reshape((1,) * (d + i) + (-1,) + (1,) * (d - 1 - i))
        flat = flat + (pos + tap) * int(np.prod(padded[i + 1:], dtype=np.int64))
    return flat.reshape(math.prod(out), math.prod(kernel))


def col2im(vals, n: int, c: int, padded, kernel, stride, dilation, out):
    """The adjoint of :func:`im2col`: ``vals: (P, KK, N, C)`` (any strides) summed back into
    ``(N, C, *padded)``, each value added at the position its window element was read from."""
    xp = backend.get_array_module(vals)
    index = backend.to_device(window_index(padded, kernel, stride, dilation, out).reshape(-1),
                              backend.device_of(vals))
    acc = xp.zeros((math.prod(padded), n * c), dtype=vals.dtype)
    backend.scatter_add(acc, index, vals.reshape(index.shape[0], n * c))
    return xp.ascontiguousarray(acc.T).reshape((n, c) + tuple(padded))
