"""The array kernels under convolution and pooling: the window view (im2col), its adjoint
col2im, and the argument checks the conv, pool and fold ops share.

With ``d`` spatial dims (1 for conv1d, 2 for conv2d, 3 for conv3d), an input ``x: (N, C, *S)`` zero-padded
to ``(N, C, *Sp)``, a kernel ``K`` with stride ``s`` and dilation ``dil`` (span
``dil * (K - 1) + 1``), the windows are

    cols[n, c, o..., k...] = xpad[n, c, o * s + k * dil ...],    o < Out = (Sp - span) // s + 1

a view of ``xpad``'s memory (no copy) made by ``backend.window_view``. Seen from one
kernel offset ``k``, ``cols[..., k]`` is the strided slice ``xpad[..., k * dil :: s]`` (Out
elements per dim): :func:`window_slices`. A convolution copies the view once into a matrix
and takes one matmul (:mod:`minitf.ops.conv`); a pool reduces over the KK offsets, one
whole-array op per offset on those slices (no copy of the windows).

col2im is the adjoint: every window element is added back to the input position it was read
from (overlapping windows accumulate): a loop over the KK kernel offsets, each adding an
(…, *Out) array into the strided slice it was read from (as fast CPU convolutions do), never a
loop over positions, so its number of array ops depends on the kernel size alone.
"""
from __future__ import annotations

import itertools
import math

from .. import backend
from ..errors import ArgumentError, ShapeError
from ._util import is_int


def ntuple(value, n: int, op: str, name: str, minimum: int = 0) -> tuple:
    """An int or a sequence of ``n`` ints as an ``n``-tuple (torch's ``_pair``), each >= minimum."""
    vals = (value,) * n if is_int(value) else value
    try:
        vals = tuple(vals)
    except TypeError:
        vals = None
    if vals is None or len(vals) != n or not all(is_int(v) for v in vals):
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
    if 0 in tuple(out):   # no window (an empty input's gradient may be narrower than the kernel)
        return backend.get_array_module(xpad).zeros(xpad.shape[:-d] + tuple(out) + tuple(kernel), dtype=xpad.dtype)
    axes = tuple(range(xpad.ndim - d, xpad.ndim))
    v = backend.window_view(xpad, axes, span(kernel, dilation), stride, writeable=False)  # (N, C, *Out', *span)
    index = tuple(slice(0, o) for o in out) + tuple(slice(None, None, dl) for dl in dilation)
    return v[(Ellipsis,) + index]


def offsets(kernel):
    """Every kernel offset ``k`` (a d-tuple), row-major: the order of the window dims ``(*K)``."""
    return itertools.product(*(range(k) for k in kernel))


def window_slices(k, stride, dilation, out) -> tuple:
    """The slices of the padded spatial dims ``(*Sp)`` holding window element ``k`` of every window:
    ``xpad[..., k * dil + o * s]`` for ``o < Out``, per dim."""
    return tuple(slice(ki * dl, ki * dl + (o - 1) * s + 1 if o else ki * dl, s)
                 for ki, s, dl, o in zip(k, stride, dilation, out))


def window_reads(xpad, kernel, stride, dilation, out):
    """Per kernel offset ``k`` (row-major), ``(k, view)``: the view ``(..., *Out)`` of ``xpad: (..., *Sp)``
    at window element k of every window (``im2col(xpad)[..., k]``, without the window dims)."""
    for k in offsets(kernel):
        yield k, xpad[(Ellipsis,) + window_slices(k, stride, dilation, out)]


def col2im(xp, piece, lead, padded, kernel, stride, dilation, out, dtype):
    """The adjoint of :func:`window_reads`: ``acc: (*lead, *padded)``, zero but for
    ``acc[..., window_slices(k)] += piece(k)`` for each kernel offset k; ``piece(k)``: an array
    broadcastable to ``(*lead, *Out)``, the gradient of window element k of every window.
    Where windows do not overlap (stride >= span in every dim, e.g. a 2x2 pool of stride 2) each
    input position receives at most one value: a strided write of 0 + piece(k), the sum the add
    would make (a -0.0 gradient lands as +0.0, as torch's zero-filled accumulation)."""
    acc = xp.zeros(tuple(lead) + tuple(padded), dtype=dtype)
    disjoint = all(st >= w for st, w in zip(stride, span(kernel, dilation)))
    for k in offsets(kernel):   # KK whole-array ops, whatever the batch, channels and image size
        index = (Ellipsis,) + window_slices(k, stride, dilation, out)
        if disjoint:
            xp.add(piece(k), 0, out=acc[index])   # (one pass, as the plain write)
        else:
            view = acc[index]
            view += piece(k)     # in place through the view: no write-back copy
    return acc


def window_coords(xp, kernel, stride, dilation, out) -> list:
    """Per spatial dim i, the padded coordinate o_i * s_i + k_i * dil_i of window element (o, k), as an
    array of ``xp`` broadcastable to (*Out, *K): built on the device, no host copy."""
    d = len(kernel)
    coords = []
    for i in range(d):  # a loop over the (one to three) spatial dims
        pos = (xp.arange(out[i]) * stride[i]).reshape((1,) * i + (-1,) + (1,) * (2 * d - 1 - i))
        tap = (xp.arange(kernel[i]) * dilation[i]).reshape((1,) * (d + i) + (-1,) + (1,) * (d - 1 - i))
        coords.append(pos + tap)
    return coords


def flat_index(coords, shape, origin=None):
    """Row-major flat index into ``shape`` of the coordinates ``coords`` (less ``origin``)."""
    flat = 0
    for i, c in enumerate(coords):
        flat = flat + (c - (origin[i] if origin else 0)) * math.prod(shape[i + 1:])
    return flat
