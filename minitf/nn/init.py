"""In-place initialisers drawing from minitf's seeded generators.

Draws happen on the host (the CPU default generator unless one is given), in
float64, and are then cast and copied to the parameter's device: the same
seed gives the same weights on every device and dtype.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from .. import random as _random
from ..tensor import Tensor


def _fill(t: Tensor, host: np.ndarray) -> Tensor:
    t.data[...] = backend.to_device(host.astype(t.dtype), t.device)
    return t


def _gen(generator):
    return generator if generator is not None else _random.default_generator("cpu")


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill ``t`` with samples of N(mean, std^2)."""
    return _fill(t, mean + std * _gen(generator).standard_normal(t.shape))


def uniform_(t: Tensor, low: float = 0.0, high: float = 1.0, generator=None) -> Tensor:
    """Fill ``t`` with samples of U(low, high)."""
    return _fill(t, low + (high - low) * _gen(generator).random(t.shape))


def zeros_(t: Tensor) -> Tensor:
    return _fill(t, np.zeros(t.shape))


def ones_(t: Tensor) -> Tensor:
    return _fill(t, np.ones(t.shape))
