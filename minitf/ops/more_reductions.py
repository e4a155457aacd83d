"""More of torch's reductions, composed of differentiable ops: nansum, nanmean, var_mean,
std_mean, median (the lower median, as torch; through sort, so differentiable)."""
from __future__ import annotations

from collections import namedtuple

from ..tensor import Tensor
from ._util import check_dim

median_return = namedtuple("median", ["values", "indices"])  # torch.return_types.median


def nansum(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The sum with NaNs counted as 0, as torch.nansum (their gradient is 0)."""
    from . import logical, shape, reduction
    return reduction.sum(shape.where(logical.isnan(x), 0.0, x), dim, keepdim)


def nanmean(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The mean of the non-NaN elements, as torch.nanmean (all NaN: NaN)."""
    from . import logical, reduction
    kept = logical.logical_not(logical.isnan(x)).to(dtype=x.dtype)
    return nansum(x, dim, keepdim) / reduction.sum(kept, dim, keepdim)


def var_mean(x: Tensor, dim=None, *, correction=None, keepdim: bool = False, unbiased=None):
    """``(var, mean)`` over ``dim``, as torch.var_mean (``correction`` 1 by default)."""
    from . import var, mean
    return var(x, dim, keepdim, correction=correction, unbiased=unbiased), mean(x, dim, keepdim)


def std_mean(x: Tensor, dim=None, *, correction=None, keepdim: bool = False, unbiased=None):
    """``(std, mean)`` over ``dim``, as torch.std_mean."""
    from . import std, mean
    return std(x, dim, keepdim, correction=correction, unbiased=unbiased), mean(x, dim, keepdim)


def median(x: Tensor, dim=None, keepdim: bool = False):
    """``median(x)``: the lower median of all elements (of two middle ones, the smaller), as
    torch; ``median(x, dim)``: a ``(values, indices)`` namedtuple along ``dim``. The gradient
    goes to the element chosen (through :func:`sort`)."""
    from .sorting import sort
    from .layout import narrow
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            raise RuntimeError("median() of an empty tensor")
        values, _ = sort(flat)
        return values[(flat.shape[0] - 1) // 2]
    d = check_dim("median", dim, x.ndim)
    if x.ndim == 0:
        return median_return(x, x.new_zeros((), dtype="int64"))
    values, indices = sort(x, d)
    k = (x.shape[d] - 1) // 2
    v, i = narrow(values, d, k, 1), narrow(indices, d, k, 1)
    if not keepdim:
        v, i = v.squeeze(d), i.squeeze(d)
    return median_return(v, i)
