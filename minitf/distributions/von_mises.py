"""``VonMises(loc, concentration)``: the circular normal on [-pi, pi),
``log_prob(x) = k cos(x - loc) - log(2 pi I0(k))`` (I0 through ``special.i0e``: log I0(k) =
log i0e(k) + k, exact where torch's polynomial fit is good to ~1e-7). ``mean`` and ``mode`` are
loc (the circular mean), ``variance`` the circular one, 1 - I1(k) / I0(k). Draws by Best and
Fisher's (1979) rejection sampler in float64, not differentiable (``has_rsample`` False, as torch).
loc, concentration: (*batch,) tensors or numbers.
"""
from __future__ import annotations

import math

import numpy as np

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, uniform

__all__ = ["VonMises"]


def _log_i0(k):
    from ..special import i0e
    return i0e(k).log() + k


def _proposal_r(k):
    """Best and Fisher's envelope parameter r(k) (float64 host arrays); 1 / k + k, its expansion,
    below k = 1e-5 where the closed form cancels."""
    tau = 1 + np.sqrt(1 + 4 * k ** 2)
    safe = np.where(k < 1e-5, 1.0, k)
    rho = (tau - np.sqrt(2 * tau)) / (2 * safe)
    return np.where(k < 1e-5, 1 / np.maximum(k, 1e-300) + k, (1 + rho ** 2) / (2 * rho))


class VonMises(Distribution):
    """The von Mises distribution on the circle, values in [-pi, pi)."""
    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(VonMises, ("loc", "concentration"), batch_shape, _instance)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self.concentration
        return k * (value - self.loc).cos() - math.log(2 * math.pi) - _log_i0(k)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        from ..special import i0e, i1e
        k = self.concentration
        return 1 - i1e(k) / i0e(k)          # the e^-k scalings cancel

    def sample(self, sample_shape=()):
        """Draws (*sample_shape, *batch_shape) in [-pi, pi), computed in float64, in loc's dtype."""
        from .. import float64
        shape = tuple(self._extended_shape(sample_shape))
        loc = np.broadcast_to(self.loc.detach().to(float64).cpu().numpy(), shape)
        k = np.broadcast_to(self.concentration.detach().to(float64).cpu().numpy(), shape)
        r = _proposal_r(k)
        like = self.loc.detach().to(float64)
        x, done = np.zeros(shape), np.zeros(shape, dtype=bool)
        while not done.all():
            u1, u2, u3 = (uniform(shape, like).cpu().numpy() for _ in range(3))
            z = np.cos(math.pi * u1)
            f = (1 + r * z) / (r + z)
            c = k * (r - f)
            with np.errstate(divide="ignore", invalid="ignore"):
                accept = ((c * (2 - c) - u2) > 0) | (np.log(c / u2) + 1 - c >= 0)
            accept &= ~done
            x = np.where(accept, np.sign(u3 - 0.5) * np.arccos(np.clip(f, -1, 1)), x)
            done |= accept
        from .. import tensor
        return tensor((x + math.pi + loc) % (2 * math.pi) - math.pi, dtype=self.loc.dtype, device=self.loc.device)
