"""``F.grid_sample``: the input read at the points of a sampling grid, as torch's ``grid_sampler``
(4-D input with a (N, H_out, W_out, 2) grid, 5-D input with a (N, D_out, H_out, W_out, 3) grid;
modes bilinear, nearest and bicubic (4-D only); padding zeros, border and reflection).

Each grid point (x, y[, z]) in [-1, 1] names a point of the input: x along W, y along H, z along D.
It is unnormalised to an input coordinate ``ix = (x + 1) s - 1/2`` with s = W / 2
(``align_corners=True``: ``ix = (x + 1) s``, s = (W - 1) / 2), then for border padding clipped to
[0, W - 1], for reflection padding reflected off the borders (the pixel centres with
align_corners, the pixel grid's edges without) and clipped. Bilinear mode sums the 2^d corners
around ``ix`` weighted by their distances; nearest mode reads the pixel at ``rint(ix)`` (half to
even, torch's nearbyint); bicubic mode the 4 x 4 pixels around it with cubic-convolution weights
(a = -0.75), each tap's integer coordinate padded on its own. A corner outside the input
reads 0.

The backward is torch's:
  d input: each output gradient scattered back onto the pixels it read, times their weights
           (a scatter-add: grid points may share pixels);
  d grid:  d out / d ix = sum over taps of value * d weight / d ix, times d ix / d x: the
           unnormalising scale s times the clip's gradient (0 outside (0, size - 1), so 0 ON
           the border too, as torch's) and the reflection's sign. Nearest mode's grid gradient
           is 0. The gradient is one-sided at the kinks (integer ix, the borders).
The backward that ``create_graph=True`` records is the vector-Jacobian product of the same forward
in primitive ops (:func:`_grid_sample_composed`: GetItem gathers, the weights as arithmetic on the
grid), so every order of derivative is there.
"""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeError, DtypeNotImplemented, ShapeError
from ..grad_fn_names import named
from ..tensor import Tensor

MODES = ("bilinear", "nearest", "bicubic")
PADDING_MODES = ("zeros", "border", "reflection")
_CUBIC_A = -0.75
ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                 "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                 "grid_sample for details.")


def _clip(xp, ix, size, t):
    """ix clipped to [0, size - 1], and its gradient: 1 strictly inside, 0 on and past the borders
    (torch's clip_coordinates_set_grad). fmax sends NaN to 0, as torch's 2-d kernel."""
    hi = t(size - 1)
    out = xp.minimum(xp.fmax(ix, t(0)), hi)
    return out, ((ix > 0) & (ix < hi)).astype(ix.dtype)


def _reflect(xp, ix, size, align, t):
    """ix reflected into [low, high] (align_corners: the centres 0, size - 1; else the edges -1/2,
    size - 1/2) and its gradient, +-1 (torch's reflect_coordinates_set_grad)."""
    twice_low, twice_high = (0, 2 * (size - 1)) if align else (-1, 2 * size - 1)
    if twice_low == twice_high:   # one pixel with align_corners: every point is its centre
        return xp.zeros_like(ix), xp.zeros_like(ix)
    low, span = t(twice_low / 2), t((twice_high - twice_low) / 2)
    v = ix - low
    sign = xp.where(v < 0, t(-1), t(1))
    v = xp.abs(v)
    extra = xp.fmod(v, span)
    odd = xp.fmod(xp.floor(v / span), t(2)) == 1
    out = xp.where(odd, span - extra + low, extra + low)
    return out, xp.where(odd, -sign, sign)


def _safe(xp, ix, t):
    """torch's safe_downgrade_to_int_range: a coordinate that is not finite or past int32 becomes
    -100 (outside every input)."""
    bad = ~xp.isfinite(ix) | (xp.abs(ix) > t(2 ** 31 - 2))
    return xp.where(bad, t(-100), ix)


def _pad(xp, ix, size, padding, align, t):
    """The padded coordinate and d(padded)/d(ix)."""
    grad = xp.ones_like(ix)
    if padding == "border":
        ix, grad = _clip(xp, ix, size, t)
    elif padding == "reflection":
        ix, g_refl = _reflect(xp, ix, size, align, t)
        ix, g_clip = _clip(xp, ix, size, t)
        grad = g_refl * g_clip
    return _safe(xp, ix, t), grad


def _unnormalize(coord, size, align, t):
    """[-1, 1] -> input coordinates, and the scale d ix / d coord."""
    if align:
        s = t((size - 1) / 2)
        return (coord + t(1)) * s, s
    s = t(size / 2)
    return (coord + t(1)) * s - t(0.5), s


def _cubic(xp, t, tx, derivs=True):
    """The four cubic-convolution weights of the taps at -1, 0, 1, 2 from a point tx in [0, 1)
    (an array, or a Tensor for the composed forward), and their derivatives in tx (``derivs``)."""
    a = t(_CUBIC_A)

    def near(u):      # |u| <= 1
        return ((a + 2) * u - (a + 3)) * u * u + 1

    def near_d(u):
        return (3 * (a + 2) * u - 2 * (a + 3)) * u

    def far(u):       # 1 < |u| < 2
        return ((a * u - 5 * a) * u + 8 * a) * u - 4 * a

    def far_d(u):
        return (3 * a * u - 10 * a) * u + 8 * a
    w = [far(tx + 1), near(tx), near(1 - tx), far(2 - tx)]
    if not derivs:
        return w, None
    return w, [far_d(tx + 1), near_d(tx), -near_d(1 - tx), -far_d(2 - tx)]


def _taps(xp, grid, spatial, mode, padding, align, need_grad, grid_t=None):
    """The pixels each grid point reads: (flat, weight, dweight, mult) with flat (K, N, P) indices
    into the (flattened) spatial dims, weight (K, N, P) (0 for a tap outside the input),
    dweight[k] (K, N, P) = d weight / d ix_k (None for nearest mode) and mult[k] (N, P) = d ix_k /
    d grid[..., k], for the spatial dims k (in the input's order: D, H, W). grid: (N, P, d).
    ``grid_t``: the grid as a Tensor (N, P, d): the weights are then a list of K Tensors of it
    (the composed forward), each coordinate's fraction ``grid * mult + constant``, exact where
    the padding is linear (everywhere but its kinks)."""
    t = grid.dtype.type
    d = len(spatial)
    strides = [math.prod(spatial[k + 1:]) for k in range(d)]
    coords, mults = [], []
    for k, size in enumerate(spatial):
        ix, s = _unnormalize(grid[..., d - 1 - k], size, align, t)   # grid's last axis is (x, y[, z])
        if mode == "bicubic":   # the taps are padded one by one, below: ix stays as it is
            coords.append(ix)
            mults.append(s)
            continue
        ix, g = _pad(xp, ix, size, padding, align, t)
        coords.append(ix)
        mults.append(g * s)
    if mode == "nearest":
        flat, inside = 0, True
        for ix, size, stride in zip(coords, spatial, strides):
            i = xp.rint(ix).astype(np.int64)
            inside = inside & (i >= 0) & (i < size)
            flat = flat + xp.clip(i, 0, size - 1) * stride
        return flat[None], inside[None].astype(grid.dtype), None, mults
    lows = [xp.floor(ix) for ix in coords]
    fracs = [ix - lo for ix, lo in zip(coords, lows)]
    if grid_t is not None:   # the same fractions, as functions of the grid tensor
        cols = [grid[..., d - 1 - k] for k in range(d)]
        fracs = [grid_t[..., d - 1 - k] * _constant(xp, m, t) + _constant(xp, f - m * c, t)
                 for k, (f, m, c) in enumerate(zip(fracs, mults, cols))]
    if mode == "bilinear":
        offsets = (0, 1)
        per = [([t(1) - f, f], None if grid_t is not None else [-xp.ones_like(f), xp.ones_like(f)]) for f in fracs]
    else:
        offsets = (-1, 0, 1, 2)
        per = [_cubic(xp, t, f, grid_t is None) for f in fracs]
    flats, weights, dweights = [], [], [[] for _ in range(d)]
    for combo in itertools.product(range(len(offsets)), repeat=d):
        flat, inside, w = 0, True, 1
        for k, (j, lo, size, stride) in enumerate(zip(combo, lows, spatial, strides)):
            c = lo + t(offsets[j])
            if mode == "bicubic":
                c, _ = _pad(xp, c, size, padding, align, t)
            i = c.astype(np.int64)
            inside = inside & (i >= 0) & (i < size)
            flat = flat + xp.clip(i, 0, size - 1) * stride
            w = w * per[k][0][j]
        flats.append(flat)
        mask = inside.astype(grid.dtype)
        weights.append(w * (mask if grid_t is None else _constant(xp, mask, t)))
        if need_grad:
            for k in range(d):   # d w / d ix_k: the other dims' weights times this dim's derivative
                dw = mask
                for m, j in enumerate(combo):
                    dw = dw * (per[m][1][j] if m == k else per[m][0][j])
                dweights[k].append(dw)
    dweights = [xp.stack(dw) for dw in dweights] if need_grad else None
    return xp.stack(flats), weights if grid_t is not None else xp.stack(weights), dweights, mults


def _constant(xp, a, t):
    """An array (or a number) as a Tensor outside the graph."""
    return Tensor._make(xp.asarray(a, dtype=np.dtype(t)), None)


def _grid_sample_composed(x, grid, mode, padding, align):
    """The forward in primitive ops (the gathers of GetItem, the weights as arithmetic on the grid):
    the backward that ``create_graph=True`` records (x: (N, C, *S), grid: (N, *Out, d))."""
    from .shape import GetItem, stack
    xp = backend.get_array_module(x.data)
    N, C, spatial, out = x.shape[0], x.shape[1], x.shape[2:], grid.shape[1:-1]
    S, P, d = math.prod(spatial), math.prod(out), len(spatial)
    g2 = grid.reshape(N, P, d)
    flat, w, _, _ = _taps(xp, g2.data, spatial, mode, padding, align, False, grid_t=g2)
    w = stack(w) if isinstance(w, list) else _constant(xp, w, grid.dtype.type)     # (K, N, P)
    rows = (xp.arange(N).reshape(1, N, 1) * S + flat).reshape(-1)
    xt = x.reshape(N, C, S).permute(0, 2, 1).reshape(N * S, C)
    vals = GetItem.apply(xt, index=(rows,), advanced=True).reshape(w.shape + (C,))
    y = (vals * w.reshape(w.shape + (1,))).sum(0)                                 # (N, P, C)
    return y.permute(0, 2, 1).reshape((N, C) + tuple(out))


class GridSample(Function):
    """x: (N, C, *S), grid: (N, *Out, d) -> (N, C, *Out)."""
    saves_output = False

    def forward(self, x, grid, mode, padding, align):
        xp = backend.get_array_module(x)
        N, C, spatial, out = x.shape[0], x.shape[1], x.shape[2:], grid.shape[1:-1]
        S, P = math.prod(spatial), math.prod(out)
        g2 = grid.reshape(N, P, len(spatial))
        flat, w, _, _ = _taps(xp, g2, spatial, mode, padding, align, False)
        # (N * S, C) rows, one per pixel: a tap reads a row, its gradient adds into one
        rows = (xp.arange(N).reshape(1, N, 1) * S + flat).reshape(-1)       # (K N P,)
        xt = xp.ascontiguousarray(x.reshape(N, C, S).transpose(0, 2, 1)).reshape(N * S, C)
        y = (xt[rows].reshape(w.shape + (C,)) * w[..., None]).sum(axis=0)    # (N, P, C)
        self.shape = x.shape
        return xp.ascontiguousarray(y.transpose(0, 2, 1)).reshape((N, C) + tuple(out))

    def backward(self, g):
        x, grid = self.inputs[0].data, self.inputs[1].data
        mode, padding, align = self.params["mode"], self.params["padding"], self.params["align"]
        xp = backend.get_array_module(g)
        N, C, spatial = x.shape[0], x.shape[1], x.shape[2:]
        d, S = len(spatial), math.prod(spatial)
        P = math.prod(grid.shape[1:-1])
        need_grid = self.inputs[1].requires_grad and mode != "nearest"
        flat, w, dw, mult = _taps(xp, grid.reshape(N, P, d), spatial, mode, padding, align, need_grid)
        rows = (xp.arange(N).reshape(1, N, 1) * S + flat).reshape(-1)
        gt = g.reshape(N, C, P).transpose(0, 2, 1)                             # (N, P, C)
        dx = dgrid = None
        if self.inputs[0].requires_grad:   # dx[pixel] += w g over the taps that read the pixel
            acc = xp.zeros((N * S, C), dtype=g.dtype)
            backend.scatter_add(acc, rows, (w[..., None] * gt).reshape(rows.shape[0], C))
            dx = xp.ascontiguousarray(acc.reshape(N, S, C).transpose(0, 2, 1)).reshape(self.shape)
        if self.inputs[1].requires_grad:
            if mode == "nearest":   # piecewise constant in the grid
                dgrid = xp.zeros_like(grid)
            else:   # d grid[..., k] = sum_taps value dw/dix_k . g, times d ix_k / d grid
                xt = xp.ascontiguousarray(x.reshape(N, C, S).transpose(0, 2, 1)).reshape(N * S, C)
                gv = (xt[rows].reshape(w.shape + (C,)) * gt).sum(axis=-1)       # (K, N, P): value . g
                parts = [(gv * dw[k]).sum(axis=0) * mult[k] for k in range(d)]  # for D, H, W
                dgrid = xp.stack(parts[::-1], axis=-1).reshape(grid.shape)       # back to (x, y[, z])
        return dx, dgrid

    def backward_graph(self, g):
        from .composed import vjp   # (composed imports most op modules: imported when first needed)
        dx, dgrid = vjp(_grid_sample_composed, self, g)
        if dgrid is None and self.inputs[1].requires_grad:   # nearest mode: the plain backward's zeros
            dgrid = _constant(backend.get_array_module(g.data), self.inputs[1].data * 0, g.dtype.type)
        return dx, dgrid


def _check(input, grid, mode, padding_mode):
    for name, t in (("input", input), ("grid", grid)):
        if not isinstance(t, Tensor):
            raise TypeError(f"grid_sample: {name} must be a Tensor, got {type(t).__name__}")
    if mode not in MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    sizes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise ShapeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, "
                         f"but got {sizes}")
    if input.shape[0] != grid.shape[0]:
        raise ShapeError(f"grid_sampler(): expected grid and input to have same batch size, but got {sizes}")
    d = input.ndim - 2
    if grid.shape[-1] != d:
        raise ShapeError(f"grid_sampler(): expected grid to have size {d} in last dimension, but got grid with "
                         f"sizes {list(grid.shape)}")
    for i, n in enumerate(input.shape[2:], start=2):
        if n == 0:
            raise ShapeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                             f"sizes {list(input.shape)} with dimension {i} being empty")
    if mode == "bicubic" and d != 2:
        raise ArgumentError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype.kind != "f" or grid.dtype.kind != "f":
        raise DtypeNotImplemented(f"grid_sample: not implemented for {input.dtype} input and {grid.dtype} grid "
                                  f"(floating point only, as torch's)")
    if input.dtype != grid.dtype:
        raise DtypeError(f"grid_sample: input is {input.dtype} but grid is {grid.dtype}; they must match "
                         f"(torch: expected scalar type)")


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners=None) -> Tensor:
    """The input sampled at the grid's points, as ``torch.nn.functional.grid_sample``.

    input: (N, C, H_in, W_in) with grid (N, H_out, W_out, 2), or (N, C, D_in, H_in, W_in) with grid
    (N, D_out, H_out, W_out, 3) -> (N, C, H_out, W_out) / (N, C, D_out, H_out, W_out). grid[..., 0]
    is x (along W, -1 the left edge, 1 the right), grid[..., 1] y (along H), grid[..., 2] z (along
    D). ``mode``: "bilinear" (trilinear for 5-D), "nearest" or "bicubic" (4-D only);
    ``padding_mode``: "zeros" (0 outside the input), "border" (the edge pixel) or "reflection";
    ``align_corners``: True puts -1 and 1 on the corner pixels' centres, False (the default,
    with torch's warning when not given) on the image's edges. Differentiable in input and grid
    (in every order; nearest mode's grid gradient is 0).
    """
    _check(input, grid, mode, padding_mode)
    if align_corners is None:
        warnings.warn(ALIGN_WARNING, UserWarning, stacklevel=2)
        align_corners = False
    y = GridSample.apply(input, grid, mode=mode, padding=padding_mode, align=bool(align_corners))
    return named(y, f"GridSampler{input.ndim - 2}DBackward0", input, grid)
