"""Transforms onto the probability simplex (``event_dim`` 1): ``SoftmaxTransform`` (the reals
onto the simplex, not injective) and ``StickBreakingTransform`` (``(*batch, K - 1)`` reals
bijectively onto ``(*batch, K)`` simplex points)."""
from __future__ import annotations

from . import constraints
from .transforms import _Parameterless
from .utils import clamp_unit, finfo

__all__ = ["SoftmaxTransform", "StickBreakingTransform"]


def _pad_last(x, before: int, after: int, value: float):
    from ..nn import functional as F
    return F.pad(x, (before, after), value=value)


def _offset_log(x, k: int):
    """log(k - i) for i = 0..k-1: the log of the number of entries left from stick i on (the shift
    that makes x = 0 the simplex's centre)."""
    from .. import arange
    return (k - arange(k, dtype=x.dtype, device=x.device)).log()


class SoftmaxTransform(_Parameterless):
    """y = softmax(x) over the last dim: x (*batch, K) -> y (*batch, K); inverse log(y) (one of the
    preimages; ``bijective`` False, no log-Jacobian)."""
    domain, codomain = constraints.real_vector, constraints.simplex

    def _call(self, x):
        e = (x - x.max(-1, keepdim=True)[0]).exp()
        return e / e.sum(-1, keepdim=True)

    def _inverse(self, y):
        return y.log()

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return shape

    inverse_shape = forward_shape


class StickBreakingTransform(_Parameterless):
    """x (*batch, K - 1) -> y (*batch, K) on the simplex: stick i takes the fraction
    ``sigmoid(x_i - log(K - 1 - i))`` of what is left (so x = 0 is the uniform point), the last
    entry is the remainder; log|det J| = sum_i log(y_i (1 - z_i)) (a triangular Jacobian)."""
    domain, codomain, bijective, sign = constraints.real_vector, constraints.simplex, True, 1

    def _call(self, x):
        k = x.shape[-1]
        # z kept in [tiny, 1 - eps] (as torch's): a z of 0 or 1 (x beyond about +-37 in float64)
        # would leave entries of exactly 0, so log 0 in the log-Jacobian and in the inverse
        z = clamp_unit((x - _offset_log(x, k)).sigmoid())
        left = (1 - z).cumprod(-1)
        return _pad_last(z, 0, 1, 1.0) * _pad_last(left, 1, 0, 1.0)

    def _inverse(self, y):
        head = y[..., :-1]
        k = head.shape[-1]
        remaining = (1 - head.cumsum(-1)).clamp(min=float(finfo(y).tiny))
        return head.log() - remaining.log() + _offset_log(y, k)

    def log_abs_det_jacobian(self, x, y):
        from ..nn import functional as F
        # y_i = z_i * prod_{j<i} (1 - z_j), dz_i/dx_i = z_i (1 - z_i): the Jacobian is triangular,
        # its diagonal dy_i/dx_i = y_i (1 - z_i), and log(1 - z_i) = -x_i' + logsigmoid(x_i')
        xs = x - _offset_log(x, x.shape[-1])
        return (-xs + F.logsigmoid(xs) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return tuple(shape[:-1]) + (shape[-1] - 1,)
