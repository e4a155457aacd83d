"""Helpers shared by the distributions: broadcasting parameters, probabilities <-> logits, and the
draws from minitf's generators (``mt.manual_seed`` makes them reproducible)."""
from __future__ import annotations

import math
from numbers import Number

import numpy as np

from .. import backend
from ..tensor import Tensor

euler_constant = 0.57721566490153286060   # Euler-Mascheroni


def broadcast_all(*values):
    """The tensors and numbers of ``values`` as tensors of one broadcast shape: numbers take the
    dtype and device of the first tensor (the default dtype where there is none), as torch's."""
    from .. import broadcast_tensors, get_default_dtype, tensor
    for v in values:
        if not isinstance(v, Tensor) and not isinstance(v, Number):
            raise ValueError("Input arguments must all be instances of numbers.Number or Tensor.")
    like = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = get_default_dtype() if like is None else like.dtype
    if dtype.kind != "f":
        dtype = get_default_dtype()
    device = "cpu" if like is None else like.device
    values = [v if isinstance(v, Tensor) else tensor(v, dtype=dtype, device=device) for v in values]
    return tuple(broadcast_tensors(*values))


def as_float_tensor(x):
    """A number as a tensor of the default dtype (a tensor unchanged)."""
    from .. import get_default_dtype, tensor
    return x if isinstance(x, Tensor) else tensor(float(x), dtype=get_default_dtype())


def finfo(x: Tensor):
    return np.finfo(x.dtype)


def clamp_probs(probs: Tensor) -> Tensor:
    """probs clamped into [eps, 1 - eps] (eps of its dtype), so logs stay finite."""
    eps = float(finfo(probs).eps)
    return probs.clamp(min=eps, max=1 - eps)


def clamp_unit(x: Tensor) -> Tensor:
    """x clamped into [tiny, 1 - eps] of its dtype: torch's range for sigmoids and Dirichlet draws,
    which keeps values down to 1e-308 (float64) that clamp_probs would raise to eps (2.2e-16)."""
    fi = finfo(x)
    return x.clamp(min=float(fi.tiny), max=1 - float(fi.eps))


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Log-odds ``log p - log(1 - p)`` (binary) or log-probabilities ``log p`` (categorical)."""
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """``sigmoid(logits)`` (binary) or ``softmax(logits, -1)`` (categorical)."""
    from .. import functional as F
    return logits.sigmoid() if is_binary else F.softmax(logits, dim=-1)


class lazy_property:
    """A property computed once on first read and stored on the instance (``probs`` from ``logits``)."""

    def __init__(self, fn):
        self.wrapped = fn
        self.__doc__ = fn.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def sum_rightmost(x: Tensor, dim: int) -> Tensor:
    """x summed over its ``dim`` rightmost dims (x itself for dim 0)."""
    return x.reshape(x.shape[:x.ndim - dim] + (-1,)).sum(-1) if dim > 0 else x


# ------------------------------------------------------------------ draws (never differentiable)

def _generator(like: Tensor):
    from ..generator import resolve
    return resolve(None, like.device, "sample")


def _wrap(data, like: Tensor) -> Tensor:
    return Tensor._make(backend.get_array_module(data).asarray(data, dtype=like.dtype), None)


def standard_normal(shape, like: Tensor) -> Tensor:
    """N(0, 1) draws of ``shape`` with like's dtype and device."""
    return _wrap(_generator(like).standard_normal(tuple(shape), dtype=like.dtype), like)


def uniform(shape, like: Tensor, low: float = 0.0, high: float = 1.0) -> Tensor:
    """Uniform draws in [low, high) of ``shape`` with like's dtype and device."""
    u = _generator(like).random(tuple(shape), dtype=like.dtype)
    return _wrap(u * (high - low) + low if (low, high) != (0.0, 1.0) else u, like)


def standard_exponential(shape, like: Tensor) -> Tensor:
    return _wrap(_generator(like).standard_exponential(tuple(shape), dtype=like.dtype), like)


def standard_gamma(concentration: Tensor, shape) -> Tensor:
    """Gamma(concentration, 1) draws, concentration broadcast to ``shape`` (float64 draws, cast)."""
    xp = backend.get_array_module(concentration.data)
    a = xp.broadcast_to(concentration.data.astype(np.float64), tuple(shape))
    draws = _generator(concentration).standard_gamma(a, size=tuple(shape))
    # a draw that underflows to 0 would give log 0 in log_prob: torch clamps to the dtype's tiny too
    return _wrap(draws, concentration).clamp(min=float(finfo(concentration).tiny))


def rsample_standard_gamma(concentration: Tensor, shape) -> Tensor:
    """Gamma(concentration, 1) draws of ``shape``, differentiable in concentration through the
    implicit reparameterisation gradient (:mod:`minitf.ops.gamma_sampling`)."""
    from ..ops.gamma_sampling import implicit_gamma
    draws = standard_gamma(concentration.detach(), shape)
    return implicit_gamma(concentration.expand(tuple(shape)), draws)


def poisson(rate: Tensor, shape) -> Tensor:
    """Poisson(rate) draws, rate broadcast to ``shape``, through backend.draw_counts (a generator
    without ``poisson`` draws on the host), in rate's dtype."""
    xp = backend.get_array_module(rate.data)
    lam = xp.broadcast_to(rate.data.astype(np.float64), tuple(shape))
    return _wrap(backend.draw_counts(_generator(rate), "poisson", lam), rate)


def binomial(total_count: Tensor, probs: Tensor, shape) -> Tensor:
    """Binomial(total_count, probs) draws broadcast to ``shape``, through backend.draw_counts."""
    xp = backend.get_array_module(probs.data)
    n = xp.broadcast_to(total_count.data.astype(np.int64), tuple(shape))
    p = xp.broadcast_to(probs.data.astype(np.float64), tuple(shape))
    return _wrap(backend.draw_counts(_generator(probs), "binomial", n, p), probs)


LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
