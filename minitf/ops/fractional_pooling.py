"""Fractional max pooling, as torch's (Graham, 2014): ``fractional_max_pool2d``/``3d`` and their
``*_with_indices`` names.

Each (batch, channel) plane gets one random sample u in [0, 1) per spatial dim (``_random_samples``
(N, C, d), drawn from minitf's default generator when not given; its last axis is in torch's
order: (W, H) for 2-d, (D, H, W) for 3-d). Along a dim of n inputs pooled to o outputs by windows
of k, with alpha = (n - k) / (o - 1), window i starts at

    int((i + u) alpha) - int(u alpha)     (i < o - 1),      n - k      (i = o - 1),

in the samples' dtype (torch's arithmetic), and the output is each window's max: the first maximum,
or the last NaN, as torch's kernel. The windows' starts depend on the plane, so every window is
read at once by one gather of flat indices (no loop over planes or pixels); the output is that
gather at the argmaxes (max unpooling's :class:`~minitf.ops.unpool._Gather`), whose backward is the
scatter-add of the gradient onto the argmaxes, and its backward the gather again (every order).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..errors import ArgumentError, DtypeError, DtypeNotImplemented, ShapeError
from ..grad_fn_names import named
from ..tensor import Tensor
from ._util import is_int
from .pooling import window_argmax
from .unpool import _Gather


def _sizes(op, value, d, what):
    """A per-dim tuple of d from an int / float or a sequence of d (torch's _pair / _triple)."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            value = tuple(value) * d
        if len(value) != d:
            raise ArgumentError(f"{op}: {what} must either be a single Int or tuple of Ints")
        return tuple(value)
    return (value,) * d


def _intervals(xp, u, n_in, n_out, k):
    """Window starts (R, n_out) from the samples u (R,), in u's dtype (torch's generate_intervals)."""
    t = u.dtype.type
    last = xp.full((u.shape[0], 1), n_in - k, dtype=np.int64)
    if n_out <= 1:
        return last[:, :n_out]
    alpha = t(n_in - k) / t(n_out - 1)
    i = xp.arange(n_out - 1).astype(u.dtype)
    starts = ((i + u[:, None]) * alpha).astype(np.int64) - (u * alpha).astype(np.int64)[:, None]
    # (a sample outside [0, 1) would shift the windows; they stay inside the input, as the last one)
    return xp.concatenate([xp.clip(starts, 0, n_in - k), last], axis=1)


def _fractional_max_pool(op, d, x, kernel_size, output_size, output_ratio, samples, generator=None):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (d + 1, d + 2):
        raise ShapeError(f"{op}: Expected {d + 1}D or {d + 2}D tensor, but got: {list(x.shape)}")
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    kernel = _sizes(op, kernel_size, d, "kernel_size")
    if not all(is_int(k) and k >= 1 for k in kernel):
        raise ArgumentError(f"{op}: kernel_size must be greater than 0, but got {kernel_size}")
    spatial = x.shape[-d:]
    if output_size is None:
        ratio = _sizes(op, output_ratio, d, "output_ratio")
        out = tuple(int(n * float(r)) for n, r in zip(spatial, ratio))
    else:
        out = _sizes(op, output_size, d, "output_size")
        if not all(is_int(o) for o in out):
            raise ArgumentError(f"{op}: output_size must either be a single Int or tuple of Ints")
        if any(o < 0 for o in out):
            raise ArgumentError(f"{op}: output_size must be non-negative, got {tuple(out)}")
    out = tuple(int(o) for o in out)
    if x.dtype.kind != "f":
        raise DtypeNotImplemented(f"{op}: not implemented for {x.dtype} input (as torch's); take x.float() first")
    names = ("time", "height", "width")[3 - d:]
    for name, n, k, o in zip(names, spatial, kernel, out):
        # torch's checks: in 2-d the last window may end on the last input, in 3-d it may not
        if o + k - 1 > n - (d == 3):
            raise ArgumentError(f"{op}{'_out' if d == 3 else ''}(): pool {name} {k} too large relative to "
                                f"input {name} {n}")
    batch = x.shape[0] if x.ndim == d + 2 else 1
    C = x.shape[-d - 1]
    if any(n == 0 for n in x.shape[-d - 1:]):
        raise ShapeError(f"{op}(): Expected input to have non-zero size for non-batch dimensions, but got "
                         f"{list(x.shape)}")
    if samples is None:
        from ..generator import resolve
        gen = resolve(generator, x.device, op)
        u = gen.random((batch, C, d), dtype=x.dtype)
    else:
        if not isinstance(samples, Tensor):
            raise TypeError(f"{op}: _random_samples must be a Tensor, got {type(samples).__name__}")
        if samples.dtype != x.dtype:
            raise DtypeError(f"{op}: Expect _random_samples to have the same dtype as input "
                             f"({x.dtype}), got {samples.dtype}")
        if samples.ndim != 3:
            raise ShapeError(f"{op}: Expect _random_samples to have 3 dimensions, got {samples.ndim}")
        if samples.shape[0] < batch:
            raise ShapeError(f"{op}: Expect _random_samples.size(0) no less then input batch size.")
        if samples.shape[1] != C:
            raise ShapeError(f"{op}: Expect _random_samples.size(1) equals to input channel size.")
        if samples.shape[2] != d:
            raise ShapeError(f"{op}: Expect _random_samples.size(2) equals to {d}; got {samples.shape[2]}.")
        if samples.device != x.device:
            raise backend.DeviceError(f"{op}: input on {x.device}, _random_samples on {samples.device}")
        u = samples.data[:batch]
    xp = backend.get_array_module(x.data)
    R, S, P = batch * C, math.prod(spatial), math.prod(out)
    u = u.reshape(R, d)
    # torch's sample order: (W, H) in 2-d, (D, H, W) in 3-d
    column = (1, 0) if d == 2 else (0, 1, 2)
    flat = xp.zeros((R,) + out + kernel, dtype=np.int64)    # (R, *Out, *K): the window elements
    for k in range(d):   # d broadcast adds, one per spatial dim
        pos = _intervals(xp, u[:, column[k]], spatial[k], out[k], kernel[k])[:, :, None] + xp.arange(kernel[k])
        shape = [R] + [1] * (2 * d)
        shape[1 + k], shape[1 + d + k] = out[k], kernel[k]
        flat = flat + pos.reshape(shape) * math.prod(spatial[k + 1:])
    flat = flat.reshape(R, P, math.prod(kernel))
    rows = x.reshape(R, S)
    values = rows.data[xp.arange(R)[:, None, None], flat]                    # (R, P, KK)
    arg = window_argmax(values)                                              # first max, last NaN
    idx = xp.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]          # (R, P) into the plane
    lead = x.shape[:-d]
    y = _Gather.apply(rows, flat=(xp.arange(R)[:, None] * S + idx).reshape(-1), shape=(R, P))
    y = named(y.reshape(tuple(lead) + out), f"FractionalMaxPool{d}DBackward0", x)
    return y, Tensor._make(idx.reshape(tuple(lead) + out), None)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """Fractional max pooling, as ``torch.nn.functional.fractional_max_pool2d``.

    input: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out): windows of ``kernel_size`` (an int
    or (kH, kW)) at pseudo-random starts, (H_out, W_out) = ``output_size`` or
    int(H * output_ratio[0]), int(W * output_ratio[1]) (ratios in (0, 1)). ``_random_samples``:
    (N, C, 2) in [0, 1) (for W, then H), drawn from the default generator when None.
    return_indices: also each maximum's flat index h * W + w into (H, W) (int64).
    """
    y, idx = _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
                                  _random_samples)
    return (y, idx) if return_indices else y


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """Fractional max pooling, as ``torch.nn.functional.fractional_max_pool3d``.

    input: (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out), as
    :func:`fractional_max_pool2d` per dim; ``_random_samples``: (N, C, 3) (for D, H, W); indices
    (d * H + h) * W + w into (D, H, W).
    """
    y, idx = _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
                                  _random_samples)
    return (y, idx) if return_indices else y


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                                       return_indices: bool = False, _random_samples=None):
    """(output, indices) of :func:`fractional_max_pool2d`, whatever return_indices says (as torch's)."""
    return _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
                                _random_samples)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                                       return_indices: bool = False, _random_samples=None):
    """(output, indices) of :func:`fractional_max_pool3d`, whatever return_indices says (as torch's)."""
    return _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
                                _random_samples)
