"""Count samplers: torch.binomial(count, prob) and torch.poisson(rates), drawn on the tensor's device
from ``generator`` (a :class:`minitf.Generator` of that device) or the device's default generator
(seeded by ``minitf.manual_seed``), through :func:`minitf.backend.draw_counts`.

Their gradients are torch's: poisson's output requires grad with a zero gradient (the draw does not
move smoothly with the rate); binomial's requires grad but backward raises NotImplementedError
("derivative for aten::binomial is not implemented"), as torch's.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeError, DtypeNotImplemented, broadcast_error
from ..tensor import Tensor

_COUNT_MAX = 2.0 ** 63  # binomial's counts are int64 for NumPy: inf or more overflowed to INT64_MIN ("n < 0")
_POISSON_MAX = 1e18   # NumPy refuses larger rates; torch returns garbage there (-9.2e18 at 1e20)


def _gen(generator, device, name):
    from ..generator import resolve
    return resolve(generator, device, name)


class _Binomial(Function):
    saves_inputs = saves_output = False

    def forward(self, count, prob, sample):
        return sample

    def backward(self, g):
        raise NotImplementedError("derivative for aten::binomial is not implemented (as torch)")

    backward_graph = backward


class _Poisson(Function):
    saves_inputs = saves_output = False

    def forward(self, rates, sample):
        return sample

    def backward(self, g):   # torch's PoissonBackward: zeros
        return (backend.get_array_module(g).zeros_like(g),)

    def backward_graph(self, g):
        return (g * 0,)


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Draws from Binomial(count, prob) elementwise, as torch.binomial.

    count: float (...), the number of trials (truncated; below 0 counts as 0; 2**63 or more, inf
    included, raises ArgumentError); prob: the same
    float dtype, broadcastable to count's shape (clipped to [0, 1], as torch's sampler does).
    Returns count's shape and dtype; NaN where count or prob is NaN (torch's sampler does not
    return there). No gradient: backward raises NotImplementedError, as torch's.
    """
    name = "binomial"
    if not isinstance(count, Tensor) or not isinstance(prob, Tensor):
        raise TypeError(f"{name}(): count and prob must be Tensors")
    if count.dtype.kind != "f":
        raise DtypeError(f"binomial only supports floating-point dtypes for count, got: {count.dtype}")
    if prob.dtype != count.dtype:
        raise DtypeError(f"{name}: found dtype {prob.dtype} for prob but expected {count.dtype} (count's)")
    if count.device != prob.device:
        raise backend.DeviceError(f"{name}: count on {count.device}, prob on {prob.device}")
    try:
        if np.broadcast_shapes(count.shape, prob.shape) != tuple(count.shape):
            raise ValueError
    except ValueError:
        raise broadcast_error(name, count.shape, prob.shape) from None
    gen = _gen(generator, count.device, name)
    xp = backend.get_array_module(count.data)
    c, p = count.data, xp.broadcast_to(prob.data, count.shape)
    if c.size and bool((c >= _COUNT_MAX).any()):   # inf too (NaN is NaN below)
        raise ArgumentError(f"{name}: counts of {_COUNT_MAX:g} or more are not supported (NumPy's sampler takes "
                            f"int64 counts; torch's does not return at inf)")
    bad = xp.isnan(c) | xp.isnan(p)
    n = xp.where(bad | (c < 0), 0, xp.floor(xp.where(bad, 0, c))).astype(np.int64)
    draws = backend.draw_counts(gen, "binomial", n, xp.clip(xp.where(bad, 0, p), 0, 1).astype(np.float64))
    sample = xp.where(bad, np.nan, draws).astype(count.dtype)
    return _Binomial.apply(count, prob, sample=sample)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Draws from Poisson(rate) for each rate in ``input``, as torch.poisson.

    input: float (...), rates >= 0 (up to 1e18) -> the same shape and dtype. The output
    requires grad when the input does, with a zero gradient, as torch's.
    """
    name = "poisson"
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise DtypeNotImplemented(f'"poisson" not implemented for {input.dtype} tensors (as torch); '
                                  f'pass a float tensor')
    gen = _gen(generator, input.device, name)
    rates = input.data
    if rates.size:
        lo = bool(~(rates >= 0).all())   # NaN fails it too
        if lo:
            raise ArgumentError("invalid Poisson rate, expected rate to be non-negative")
        if bool((rates > _POISSON_MAX).any()):
            raise ArgumentError(f"{name}: rates above {_POISSON_MAX:g} are not supported (NumPy's sampler "
                                f"refuses them; torch returns wrong values)")
    sample = backend.draw_counts(gen, "poisson", rates.astype(np.float64)).astype(input.dtype)
    return _Poisson.apply(input, sample=sample)


__all__ = ["binomial", "poisson"]
