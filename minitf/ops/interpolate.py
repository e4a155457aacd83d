"""``F.interpolate``: resampling of the spatial dims of (N, C, L), (N, C, H, W) and (N, C, D, H, W)
inputs, as torch's, for the modes nearest, nearest-exact, linear, bilinear, trilinear, bicubic
and area (adaptive average pooling to the output size, as torch's).

Every mode is separable: along each spatial dim in turn, the output is a weighted sum of a few
gathers of the input along that dim (``out[..., j, ...] = sum_k w_k[j] x[..., i_k[j], ...]``; 1
tap for nearest, 2 for linear, 4 for cubic). The taps and weights depend on sizes only and are
built on the host, in torch's arithmetic (the same float rounding of the scale, the same clamps);
the gathers (GetItem with an index array) carry the gradient, a scatter-add, so there is no
Python loop over pixels, and every order of derivative is there.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..errors import ArgumentError, DtypeNotImplemented
from ..grad_fn_names import named
from ..tensor import Tensor
from ._util import is_int
from .interpolate_aa import AA_MODES, aa_taps

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "bicubic", "area")
_LINEAR_RANK = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}
_CUBIC_A = -0.75   # torch's (and OpenCV's) cubic convolution coefficient
_DIM_NAMES = {1: ("W",), 2: ("H", "W"), 3: ("D", "H", "W")}


def _source_scale(n_in, n_out, scale, align_corners, dtype):
    """torch's area_pixel_compute_scale: the step in input coordinates per output step, in ``dtype``."""
    t = np.dtype(dtype).type
    if align_corners:
        return t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
    if scale is not None and scale > 0:
        return t(1.0 / scale)
    return t(n_in) / t(n_out)


def _nearest_taps(n_in, n_out, scale, exact):
    """torch's nearest_idx: floorf(j * s) (exact: floorf((j + 0.5) * s)) in float32, s = 1 / scale_factor
    (or n_in / n_out) rounded to float32, clamped to n_in - 1."""
    j = np.arange(n_out)
    s = np.float32(1.0 / scale) if scale is not None and scale > 0 else np.float32(n_in) / np.float32(n_out)
    jf = j.astype(np.float32)   # torch's floorf: the product rounded to float32 first
    src = np.floor((jf + np.float32(0.5)) * s) if exact else np.floor(jf * s)
    return [np.minimum(src.astype(np.int64), n_in - 1)], [None]


def _linear_taps(n_in, n_out, scale, align_corners, dtype):
    t = np.dtype(dtype).type
    s = _source_scale(n_in, n_out, scale, align_corners, dtype)
    j = np.arange(n_out).astype(dtype)
    src = s * j if align_corners else np.maximum(s * (j + t(0.5)) - t(0.5), t(0))   # clamped at 0 (not cubic)
    i0 = src.astype(np.int64)   # truncation: src >= 0
    lam1 = np.clip(src - i0.astype(dtype), t(0), t(1)).astype(dtype)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    return [i0, i1], [(t(1) - lam1).astype(dtype), lam1]


def _cubic_taps(n_in, n_out, scale, align_corners, dtype):
    t = np.dtype(dtype).type
    s = _source_scale(n_in, n_out, scale, align_corners, dtype)
    j = np.arange(n_out).astype(dtype)
    src = s * j if align_corners else s * (j + t(0.5)) - t(0.5)   # not clamped for cubic
    i = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam = np.clip(src - i.astype(dtype), t(0), t(1)).astype(dtype)
    a = t(_CUBIC_A)

    def near(x):   # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):    # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    weights = [far(lam + 1), near(lam), near(1 - lam), far(2 - lam)]
    taps = [np.clip(i - 1 + k, 0, n_in - 1) for k in range(4)]
    return taps, [w.astype(dtype) for w in weights]


def _resample_dim(x: Tensor, d: int, taps, weights) -> Tensor:
    """sum_k weights[k] * x gathered at taps[k] along dim d (weights None: one tap, no weight)."""
    from .subscript import GetItem
    xp = backend.get_array_module(x.data)
    lead = (slice(None),) * d
    out = None
    for idx, w in zip(taps, weights):   # 1, 2 or 4 taps: the loop is over taps, not pixels
        dev_idx = idx if xp is np else xp.asarray(idx)
        part = GetItem.apply(x, index=lead + (dev_idx,), advanced=True)
        if w is not None:
            shape = (len(w),) + (1,) * (x.ndim - d - 1)
            part = part * Tensor._make(w.reshape(shape) if xp is np else xp.asarray(w.reshape(shape)), None)
        out = part if out is None else out + part
    return out


def _area(x: Tensor, sizes) -> Tensor:
    """torch's mode "area": adaptive average pooling to ``sizes``, torch's windows
    [floor(i n / o), ceil((i + 1) n / o)) along each changed dim. A window's elements are gathered
    (at most ceil(n / o) + 1 of them), the padding masked out with where (not multiplied by 0,
    which would spread a NaN or inf to every window, as an averaging matmul does), summed and
    divided by the window's length. x: (N, C, *spatial) -> (N, C, *sizes)."""
    from .selection import where
    from .subscript import GetItem
    xp = backend.get_array_module(x.data)
    y = x
    for d, (n, o) in enumerate(zip(x.shape[2:], sizes), start=2):
        if n == o:
            continue
        i = np.arange(o)
        start, end = (i * n) // o, -((-(i + 1) * n) // o)
        width = int((end - start).max()) if o else 1
        idx = start[:, None] + np.arange(width)                      # (o, width)
        inside = idx < end[:, None]
        idx = np.minimum(idx, n - 1)
        rest = (1,) * (y.ndim - d - 1)
        part = GetItem.apply(y, index=(slice(None),) * d + (xp.asarray(idx) if xp is not np else idx,),
                             advanced=True)                            # (..., o, width, ...)
        mask = inside.reshape((o, width) + rest)
        count = (end - start).astype(x.dtype).reshape((o,) + rest)
        zero = Tensor._make(xp.zeros((), dtype=x.dtype), None)
        part = where(Tensor._make(mask if xp is np else xp.asarray(mask), None), part, zero)
        y = part.sum(d + 1) / Tensor._make(count if xp is np else xp.asarray(count), None)
    return y if y is not x else x * 1   # a new tensor, as torch's


def _node_name(mode, k, antialias=False) -> str:
    """torch's grad_fn name of the resampling (its kernel per mode and rank)."""
    if antialias:
        return f"Upsample{mode.capitalize()}2DAaBackward0"
    if mode == "area":   # adaptive_avg_pool: 1-D is a 2-D pool of an unsqueezed input, then squeezed
        return "SqueezeBackward1" if k == 1 else f"AdaptiveAvgPool{k}DBackward0"
    kernel = {"nearest": "Nearest", "nearest-exact": "NearestExact", "linear": "Linear", "bilinear": "Bilinear",
              "bicubic": "Bicubic", "trilinear": "Trilinear"}[mode]
    return f"Upsample{kernel}{k}DBackward0"


def _per_dim(value, k):
    """A value for each of the k spatial dims: a sequence of k, or one repeated; None if the lengths differ."""
    if isinstance(value, (list, tuple)):
        return list(value) if len(value) == k else None
    return [value] * k


def _spatial_error(what, x, value):
    """torch's words for a size or scale_factor of the wrong length."""
    lead = ("output", "output size of") if what == "size" else ("scale_factor", "scale_factor of shape")
    return ValueError(f"Input and {lead[0]} must have the same number of spatial dimensions, but got input with "
                      f"spatial dimensions of {list(x.shape[2:])} and {lead[1]} {value}. Please provide input "
                      f"tensor in (N, C, d1, d2, ...,dK) format and "
                      + ("output size in (o1, o2, ...,oK) format." if what == "size"
                         else "scale_factor in (s1, s2, ...,sK) format."))


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    """Resample the spatial dims, as ``torch.nn.functional.interpolate``.

    input: (N, C, L) for "nearest", "nearest-exact", "linear"; (N, C, H, W) for those two and
    "bilinear", "bicubic"; (N, C, D, H, W) for those two and "trilinear"; "area" (adaptive
    average pooling to the output size) for all three. Give exactly one of
    ``size`` (an int, or one per spatial dim) and ``scale_factor`` (a float, or one per dim; the
    output size is floor(n * scale_factor), and the source coordinates step by 1 / scale_factor,
    as torch's, unless ``recompute_scale_factor=True``, which steps by n / out; "area" always
    recomputes, as torch's).
    ``align_corners`` (linear modes only): True maps the corner pixels' centres onto each other,
    False (the default) the corners of the pixel grid. -> (N, C, out_1, ..., out_k), the input's
    float dtype. Differentiable (in every order).
    ``antialias=True`` (modes "bilinear", "bicubic" and "lanczos", (N, C, H, W) only; lanczos
    needs it) averages over all the input pixels an output pixel covers when downsampling, as
    torch's and PIL's resize (:mod:`minitf.ops.interpolate_aa`).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: input must be a Tensor, got {type(input).__name__}")
    if antialias or mode == "lanczos":
        if mode == "lanczos" and not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
        if mode not in AA_MODES or input.ndim != 4:
            raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires "
                             "a 4-D tensor as input")
        if mode == "lanczos" and align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
    if mode not in MODES + ("lanczos",) or not 3 <= input.ndim <= 5:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  f"the modes: nearest | linear | bilinear | bicubic | trilinear | nearest-exact "
                                  f"(got {mode})")
    if align_corners is not None and mode not in _LINEAR_RANK:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if mode in _LINEAR_RANK and input.ndim != _LINEAR_RANK[mode]:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {_LINEAR_RANK[mode]}D input")
    if input.dtype.kind != "f":
        raise DtypeNotImplemented(f"interpolate: not implemented for {input.dtype} inputs (as torch's)")
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    k = input.ndim - 2
    spatial = input.shape[2:]
    if size is not None:
        sizes = _per_dim(size, k)
        if sizes is None:
            raise _spatial_error("size", input, tuple(size))
        if not all(is_int(s) for s in sizes):
            raise TypeError(f"interpolate: size must be an int or a sequence of ints, got {size!r}")
        sizes, scales = [int(s) for s in sizes], [None] * k
    elif scale_factor is not None:
        scales = _per_dim(scale_factor, k)
        if scales is None:
            raise _spatial_error("scale_factor", input, tuple(scale_factor))
        scales = [float(s) for s in scales]
        sizes = [int(math.floor(n * s)) for n, s in zip(spatial, scales)]
        if recompute_scale_factor or mode == "area":
            scales = [None] * k   # the coordinates then step by n / out, as torch's (area: always)
    else:
        raise ValueError("either size or scale_factor should be defined")
    if any(n <= 0 for n in spatial) or any(s <= 0 for s in sizes) and mode != "area":   # (area: adaptive pooling's 0 allowed)
        names = _DIM_NAMES[k]
        raise ArgumentError("Input and output sizes should be greater than 0, but got input ("
                            + ", ".join(f"{a}: {n}" for a, n in zip(names, spatial))
                            + (") and output (" if k == 1 else ") output (")   # torch's words, "and" in 1-D only
                            + ", ".join(f"{a}: {n}" for a, n in zip(names, sizes)) + ")")
    if mode == "area":
        return named(_area(input, sizes), _node_name(mode, k), input)
    corners = bool(align_corners)
    calc = np.float32 if input.dtype == np.float16 else input.dtype   # torch's opmath type for half
    out = input
    for i, (n_in, n_out, s) in enumerate(zip(spatial, sizes, scales)):
        copies_unchanged = antialias or mode in ("linear", "bilinear", "trilinear") or mode == "nearest" and k == 2
        if n_in == n_out and copies_unchanged:
            # torch's CPU kernels copy a dim whose size is unchanged, even where a scale_factor
            # (say 1.3 on 3 pixels, floor(3.9) = 3) would move the source points (checked on
            # torch 2.13: the antialiased and linear modes and 2-D nearest do; 1-D/3-D nearest,
            # nearest-exact and bicubic follow the formula)
            continue
        if antialias:
            taps, weights = aa_taps(n_in, n_out, s, corners, mode, calc)
        elif mode in ("nearest", "nearest-exact"):
            taps, weights = _nearest_taps(n_in, n_out, s, mode == "nearest-exact")
        elif mode == "bicubic":
            taps, weights = _cubic_taps(n_in, n_out, s, corners, calc)
        else:
            taps, weights = _linear_taps(n_in, n_out, s, corners, calc)
        weights = [w if w is None else w.astype(input.dtype) for w in weights]
        out = _resample_dim(out, 2 + i, taps, weights)
    if out is input:   # every dim copied: still a new tensor, as torch's
        from .views import clone
        out = clone(input)
    return named(out, _node_name(mode, k, antialias), input)
