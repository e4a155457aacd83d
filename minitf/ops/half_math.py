"""float16 ops computed in float32 and rounded once, as torch's half kernels compute (their
"opmath" type, float32, on the CPU and on CUDA).

A formula evaluated in float16 itself rounds after every step: sigmoid's exp(-|x|), 1 + e and
the quotient put it 1.8 ulp off; GELU's several passes, 12 ulp (near x = -3.7, against the float64
value rounded to float16). Computed in float32 and rounded once at the end, each is within half
an ulp, as torch's. ``computes_half_in_float32`` does that for a Function class: a float16 input
arrives at ``forward`` as float32 and its output goes back to float16; ``backward`` gets the
gradient as float32 and returns its gradients as float16. The saved arrays are float32 (twice a
float16 one's memory), float32 and float64 inputs go through untouched.
"""
from __future__ import annotations

import numpy as np

_HALF = np.dtype(np.float16)


def _up(a):
    return a.astype(np.float32) if getattr(a, "dtype", None) == _HALF else a


def _down(a):
    return None if a is None else a.astype(_HALF)


def computes_half_in_float32(cls):
    """Class decorator for an elementwise Function whose first input is the array it maps."""
    forward, backward = cls.forward, cls.backward

    def half_forward(self, x, *rest, **params):
        if getattr(x, "dtype", None) != _HALF:
            return forward(self, x, *rest, **params)
        self.__dict__["_in_float32"] = True
        return _down(forward(self, x.astype(np.float32), *map(_up, rest), **params))

    def half_backward(self, g):
        if not self.__dict__.get("_in_float32"):
            return backward(self, g)
        return tuple(map(_down, backward(self, g.astype(np.float32))))

    half_forward.__doc__, half_backward.__doc__ = forward.__doc__, backward.__doc__
    cls.forward, cls.backward = half_forward, half_backward
    return cls
