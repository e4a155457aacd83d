"""``Kumaraswamy(concentration1 a, concentration0 b)`` on [0, 1]: a Beta-like law with a closed-form
cdf, ``F(x) = 1 - (1 - x**a)**b``, drawn as ``(1 - U**(1 / b))**(1 / a)`` for U uniform (a
TransformedDistribution of Uniform(0, 1) through two PowerTransforms and 1 - x), so ``rsample`` is
differentiable in both concentrations. Parameters: (*batch,) tensors or numbers.
"""
from __future__ import annotations

import math

from . import constraints
from .continuous import Uniform
from .extreme_value import _Rebuilt
from .transforms_elementwise import AffineTransform
from .transforms_elementwise import PowerTransform
from .utils import euler_constant

__all__ = ["Kumaraswamy"]


def _f():
    import minitf
    return minitf


def _moment(a, b, n):
    """E[x^n] = b B(1 + n / a, b)."""
    lg = _f().lgamma
    arg = 1 + n / a
    return b * (lg(arg) + lg(b) - lg(arg + b)).exp()


class Kumaraswamy(_Rebuilt):
    """Density ``a b x**(a - 1) (1 - x**a)**(b - 1)`` on [0, 1]; a = concentration1, b = concentration0."""
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True
    _names = ("concentration1", "concentration0")

    def __init__(self, concentration1, concentration0, validate_args=None):
        super().__init__(concentration1, concentration0, validate_args=validate_args)

    def _build(self):
        mt = _f()
        b = self.concentration0
        base = Uniform(mt.zeros_like(b), mt.ones_like(b), validate_args=False)
        return base, [PowerTransform(b.reciprocal()), AffineTransform(1.0, -1.0),
                      PowerTransform(self.concentration1.reciprocal())]

    def log_prob(self, value):
        """value (*batch,) in [0, 1] -> (*batch,): ``log a + log b + (a - 1) log x + (b - 1) log1p(-x**a)``.

        In closed form rather than through the transforms, whose inverse at x = 0 or 1 (both in the
        support) reaches 0 * inf: NaN there in torch 2.13. xlogy / xlog1py give the limits (+-inf,
        or the finite end value where a = 1 at 0 or b = 1 at 1)."""
        mt = _f()
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        return (a.log() + b.log() + mt.special.xlogy(a - 1, value)
                + mt.special.xlog1py(b - 1, -value.pow(a)))

    @property
    def mean(self):
        return _moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        # ((a - 1) / (a b - 1)) ** (1 / a) where a, b >= 1 (and not both 1), else NaN. torch 2.13's
        # formula swaps the roles of a and b and answers NaN for every a, b > 1: minitf keeps the
        # closed form (checked against the density's argmax in the tests)
        a, b = self.concentration1, self.concentration0
        defined = (a >= 1) & (b >= 1) & ((a > 1) | (b > 1))
        log_mode = ((a - 1).clamp(min=0).log() - (a * b - 1).clamp(min=1e-300).log()) / a
        return _f().where(defined, log_mode.exp(), math.nan)

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        return _moment(a, b, 2) - self.mean.pow(2)

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        harmonic_b = _f().digamma(b + 1) + euler_constant     # H_b, the b-th harmonic number
        return (1 - b.reciprocal()) + (1 - a.reciprocal()) * harmonic_b - a.log() - b.log()
