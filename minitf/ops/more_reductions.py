"""More of torch's reductions, composed of differentiable ops: nansum, nanmean, var_mean,
std_mean, median (the lower median, as torch) and quantile (both through sort, so
differentiable)."""
from __future__ import annotations

from collections import namedtuple

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeError, DtypeNotImplemented
from ..tensor import Tensor
from ._util import check_dim

median_return = namedtuple("median", ["values", "indices"])  # torch.return_types.median


def nansum(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The sum with NaNs counted as 0, as torch.nansum (their gradient is 0); integer and bool
    tensors (no NaN) sum to int64, as torch.sum."""
    from . import logical, shape, reduction
    if x.dtype.kind == "c":
        from ..complex_guard import refuse
        refuse("nansum", x, why="torch's CPU kernel has none")
    if x.dtype.kind not in "fc":
        return reduction.sum(x, dim, keepdim)
    return reduction.sum(shape.where(logical.isnan(x), 0.0, x), dim, keepdim)


def nanmean(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The mean of the non-NaN elements, as torch.nanmean (all NaN: NaN); floating ``x`` only,
    as torch."""
    from . import logical, reduction
    if x.dtype.kind not in "fc":
        raise DtypeError(f"nanmean(): expected input to have floating point dtype but got {x.dtype}")
    kept = logical.logical_not(logical.isnan(x)).to(dtype=x.dtype)
    return nansum(x, dim, keepdim) / reduction.sum(kept, dim, keepdim)


def var_mean(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(var, mean)`` over ``dim``, as torch.var_mean (``correction`` 1 by default; positionally
    ``var_mean(x, dim, unbiased, keepdim)`` or ``var_mean(x, unbiased)``, as torch's)."""
    from . import mean
    from .statistics import var, variance_args
    dim, keepdim, c = variance_args("var_mean", dim, unbiased, keepdim, correction)
    return var(x, dim, keepdim=keepdim, correction=c), mean(x, dim, keepdim)


def std_mean(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(std, mean)`` over ``dim``, as torch.std_mean (the same argument forms as :func:`var_mean`)."""
    from . import mean
    from .statistics import std, variance_args
    dim, keepdim, c = variance_args("std_mean", dim, unbiased, keepdim, correction)
    return std(x, dim, keepdim=keepdim, correction=c), mean(x, dim, keepdim)


def median(x: Tensor, dim=None, keepdim: bool = False):
    """``median(x)``: the lower median of all elements (of two middle ones, the smaller), as
    torch; ``median(x, dim)``: a ``(values, indices)`` namedtuple along ``dim``. A slice
    holding NaN gives NaN (its first NaN's index), as torch. The gradient of ``median(x)`` is
    shared evenly by the elements equal to the median (torch's evenly_distribute_backward); that
    of ``median(x, dim)`` goes to the element of the index returned (through :func:`sort`)."""
    from .sorting import sort
    from .indexing import gather
    if dim is not None:
        check_dim("median", dim, x.ndim)  # before the dtype, as torch
    if x.dtype.kind == "b":
        raise DtypeNotImplemented("median: not implemented for bool tensors (as torch)")
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            if x.dtype.kind == "f":  # torch's NaN
                return flat.sum() * float("nan")
            raise RuntimeError("median() of an empty tensor")
        values, _ = sort(flat.detach())
        return Median.apply(x, m=values.data[int(_median_position(flat.data, 0))])
    d = check_dim("median", dim, x.ndim)
    if x.ndim == 0:
        return median_return(x, x.new_zeros((), dtype="int64"))
    values, indices = sort(x, d)
    # NaN sorts last, the first NaN (lowest index: sort is stable) at n - (number of NaNs)
    k = Tensor._make(backend.get_array_module(x.data).expand_dims(_median_position(x.data, d), d), None)
    v, i = gather(values, d, k), gather(indices, d, k)
    if not keepdim:
        v, i = v.squeeze(d), i.squeeze(d)
    return median_return(v, i)


class Median(Function):
    """``m``, the median of every element of x (found by :func:`median`): a 0-d tensor."""

    saves_inputs = False   # the mask of ties is computed in forward

    def forward(self, x, m):
        xp = backend.get_array_module(x)
        ties = (x == m) | (xp.isnan(x) & xp.isnan(m))
        self.share = ties / max(int(ties.sum()), 1)   # d median / dx: 1/k at the k ties, 0 elsewhere
        return xp.asarray(m, dtype=x.dtype).reshape(())

    def backward(self, g):
        return (g * self.share.astype(g.dtype),)

    def backward_graph(self, g):   # linear in g: the same constant share, recorded
        return (g * Tensor._make(self.share.astype(g.dtype), None),)


def _median_position(a, d: int):
    """The sorted position of the median along ``d`` of array ``a`` (int64, ``a`` reduced over
    ``d``): the lower middle one, or the first NaN where the slice has NaN (torch's rule)."""
    xp = backend.get_array_module(a)
    n = a.shape[d]
    if a.dtype.kind not in "fc":
        return xp.full(a.shape[:d] + a.shape[d + 1:], (n - 1) // 2, dtype="int64")
    nans = xp.isnan(a).sum(axis=d).astype("int64")
    return xp.where(nans > 0, n - nans, (n - 1) // 2).astype("int64")


def quantile(x: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear") -> Tensor:
    """The ``q``-quantiles (a number or a 1-D tensor in [0, 1]) over ``dim`` (None: all
    elements), as torch.quantile: between the two nearest sorted values by ``interpolation``
    ("linear", "lower", "higher", "nearest", "midpoint"). A tensor ``q`` puts its dim first.
    A slice holding NaN gives NaN. Differentiable in x (through sort)."""
    return _quantile("quantile", x, q, dim, keepdim, interpolation, skip_nan=False)


def nanquantile(x: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear") -> Tensor:
    """:func:`quantile` of each slice's non-NaN values (a slice of NaNs only: NaN), as
    torch.nanquantile. Differentiable in x (through sort)."""
    return _quantile("nanquantile", x, q, dim, keepdim, interpolation, skip_nan=True)


def _fixed_positions(n: int, qs, interpolation: str):
    """quantile's sorted positions (lo, hi, frac: lists, one per q) in a slice of n values."""
    import math
    pos = [v * (n - 1) for v in qs]
    lo = [int(math.floor(p)) for p in pos]
    hi = [min(i + 1, n - 1) if p > i else i for p, i in zip(pos, lo)]
    frac = [p - i for p, i in zip(pos, lo)]
    if interpolation == "lower":
        hi, frac = lo, [0.0] * len(lo)
    elif interpolation == "higher":
        lo, frac = hi, [0.0] * len(lo)
    elif interpolation == "nearest":  # torch rounds half to even, as Python's round
        lo = hi = [int(round(p)) for p in pos]
        frac = [0.0] * len(lo)
    elif interpolation == "midpoint":
        frac = [0.5 if h != i else 0.0 for h, i in zip(hi, lo)]
    return lo, hi, frac


def _positions(xp, src, d, qs, interpolation):
    """nanquantile's sorted positions per slice, (lo, hi, frac) arrays of shape (..., len(q), ...)
    along ``d``, from each slice's count k of non-NaN values (NaN sorts last), and k."""
    k = (~xp.isnan(src)).sum(axis=d, keepdims=True)
    shape = [1] * src.ndim
    shape[d] = len(qs)
    pos = xp.asarray(qs, dtype="float64").reshape(shape) * xp.maximum(k - 1, 0)
    lo = xp.floor(pos)
    hi = xp.where(pos > lo, xp.minimum(lo + 1, xp.maximum(k - 1, 0)), lo)
    frac = pos - lo
    if interpolation == "lower":
        hi, frac = lo, xp.zeros_like(pos)
    elif interpolation == "higher":
        lo, frac = hi, xp.zeros_like(pos)
    elif interpolation == "nearest":  # half to even, as torch
        lo = hi = xp.round(pos)
        frac = xp.zeros_like(pos)
    elif interpolation == "midpoint":
        frac = xp.where(hi != lo, 0.5, 0.0)
    return lo.astype("int64"), hi.astype("int64"), frac, k


def _quantile(name, x: Tensor, q, dim, keepdim: bool, interpolation: str, skip_nan: bool) -> Tensor:
    from .sorting import sort
    from .indexing import gather, index_select
    from . import logical
    from .shape import where
    from ..creation import tensor
    if interpolation not in ("linear", "lower", "higher", "nearest", "midpoint"):
        raise ValueError(f"{name}: interpolation must be linear, lower, higher, nearest or midpoint, "
                         f"got {interpolation!r}")
    if x.dtype.kind != "f":
        raise DtypeError(f"{name}() input tensor must be either float or double dtype, got {x.dtype} (as torch)")
    if isinstance(q, Tensor) and q.ndim > 1:
        raise ArgumentError(f"{name}() q must be a scalar or 1D tensor, got shape {q.shape}")
    if isinstance(q, Tensor) and q.dtype != x.dtype:
        raise DtypeError(f"{name}() q tensor must be same dtype as the input tensor ({q.dtype} and {x.dtype})")
    if x.numel() == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    qs = [float(v) for v in (q.reshape(-1).tolist() if isinstance(q, Tensor) else [q])]
    if any(not 0.0 <= v <= 1.0 for v in qs):
        raise RuntimeError(f"{name}() q values must be in the range [0, 1], got {qs}")
    q_dim = isinstance(q, Tensor) and q.ndim > 0  # a 1-D q puts its dim first; a 0-d q is a number
    scalar = x.ndim == 0  # a 0-d x (dim None, 0 or -1): x itself, q's shape (torch)
    if dim is None or scalar:
        if scalar and dim is not None:
            check_dim(name, dim, 1)
        src, d = x.reshape(-1), 0
    else:
        src, d = x, check_dim(name, dim, x.ndim)
    values, _ = sort(src, d)
    dev = x.device
    shape = [1] * values.ndim
    shape[d] = len(qs)
    if skip_nan:  # positions differ per slice: gathered
        xp = backend.get_array_module(src.data)
        lo_a, hi_a, frac_a, k = _positions(xp, src.data, d, qs, interpolation)
        full = tuple(values.shape[:d]) + (len(qs),) + tuple(values.shape[d + 1:])
        take = lambda i: gather(values, d, Tensor._make(xp.broadcast_to(i, full).copy(), None))  # noqa: E731
        v_lo, v_hi = take(lo_a), take(hi_a)
        w = Tensor._make(frac_a.astype(x.dtype), None)
        near_lo = Tensor._make(frac_a < 0.5, None)
    else:  # the same positions in every slice
        lo, hi, frac = _fixed_positions(src.shape[d], qs, interpolation)
        v_lo = index_select(values, d, tensor(lo, device=dev))
        v_hi = index_select(values, d, tensor(hi, device=dev))
        w = tensor(frac, dtype=x.dtype, device=dev).reshape(shape)
        near_lo = tensor([f < 0.5 for f in frac], device=dev).reshape(shape)
    if interpolation in ("lower", "higher", "nearest"):  # the sorted value itself, as torch (inf stays inf)
        out = v_lo
    else:  # torch's lerp: from the nearer end (so -inf..0 at w = 0.9 is -inf, not -inf + inf)
        out = where(near_lo, v_lo + w * (v_hi - v_lo), v_hi - (v_hi - v_lo) * (1 - w))  # (..., len(q), ...)
    if skip_nan:  # a slice of NaNs only gives NaN
        out = where(Tensor._make(xp.broadcast_to(k == 0, out.shape), None), float("nan"), out)
    else:  # a slice holding NaN gives NaN, as torch
        has_nan = logical.isnan(src).any(d, keepdim=True)
        out = where(has_nan, float("nan"), out)
    if scalar:
        return out.reshape((len(qs),) if q_dim else ())
    if keepdim and dim is None:
        out = out.reshape((len(qs),) + (1,) * x.ndim)
        return out if q_dim else out.reshape((1,) * x.ndim)
    if q_dim:
        out = out.movedim(d, 0)
        return out.unsqueeze(d + 1) if keepdim else out
    return out if keepdim else out.squeeze(d)
