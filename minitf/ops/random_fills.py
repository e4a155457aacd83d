"""torch's other in-place random fills, beside :mod:`minitf.ops.distributions`' normal_,
uniform_, exponential_, bernoulli_ and random_: ``cauchy_``, ``log_normal_`` and ``geometric_``,
drawn from the device's generator (or ``generator=``) by inverting uniform or normal draws.

Each writes with the in-place rules of ``distributions`` (a leaf that requires grad is refused;
in a graph the fill is recorded as a constant, so the old value's gradient is 0, as torch's).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..errors import DtypeError
from ..tensor import Tensor
from ._util import check_writable
from .distributions import _check_tensor, _float_draw_dtype, _gen, _number, _write


def _numbers(x, name, **values):
    """x checked as a writable tensor, and the distribution's parameters as floats."""
    _check_tensor(x, name)
    check_writable(x, name)
    return [_number(v, name, what) for what, v in values.items()]


def _floating(x, name, what):
    if x.dtype.kind != "f":
        raise DtypeError(f"{name}: {what} is a continuous probability distribution. dtype must be a floating "
                         f"point but you specified {x.dtype}")
    return _float_draw_dtype(x, name)


def cauchy_(x: Tensor, median=0.0, sigma=1.0, *, generator=None) -> Tensor:
    """In place: samples of the Cauchy distribution ``median + sigma * tan(pi * (u - 1/2))``, u
    uniform in [0, 1) (float tensors; sigma > 0)."""
    name = "cauchy_"
    median, sigma = _numbers(x, name, median=median, sigma=sigma)
    if not sigma > 0:
        raise RuntimeError(f"{name} expects sigma > 0.0, but found sigma={sigma}")
    _floating(x, name, "Cauchy distribution")
    u = _gen(generator, x.device, name).random(x.shape, dtype=np.float64)
    xp = backend.get_array_module(u)
    return _write(x, (median + sigma * xp.tan(np.pi * (u - 0.5))).astype(x.dtype), name)


def log_normal_(x: Tensor, mean=1.0, std=2.0, *, generator=None) -> Tensor:
    """In place: ``exp(mean + std * z)``, z standard normal: the log-normal distribution whose
    logarithm has that mean and standard deviation (float tensors; std > 0)."""
    name = "log_normal_"
    mean, std = _numbers(x, name, mean=mean, std=std)
    if not std > 0:
        raise RuntimeError(f"{name} expects std > 0.0, but found std={std}")
    dt = _floating(x, name, "log_normal")
    z = _gen(generator, x.device, name).standard_normal(x.shape, dtype=dt)
    xp = backend.get_array_module(z)
    return _write(x, xp.exp(dt.type(mean) + dt.type(std) * z).astype(x.dtype, copy=False), name)


def geometric_(x: Tensor, p, *, generator=None) -> Tensor:
    """In place: the number of Bernoulli(p) trials up to the first success (1, 2, ...), for 0 < p < 1:
    ``floor(log(1 - u) / log(1 - p)) + 1``, u uniform in [0, 1). Any non-bool dtype, as torch
    (an integer dtype holds the counts as they are)."""
    name = "geometric_"
    p, = _numbers(x, name, p=p)
    if not 0 < p < 1:
        raise RuntimeError(f"{name} expects p to be in (0, 1), but got p={p:g}")
    if x.dtype.kind == "b":
        raise DtypeError(f"{name}: not implemented for bool tensors (as torch)")
    u = _gen(generator, x.device, name).random(x.shape, dtype=np.float64)
    xp = backend.get_array_module(u)
    return _write(x, (xp.floor(xp.log1p(-u) / np.log1p(-p)) + 1).astype(x.dtype), name)
