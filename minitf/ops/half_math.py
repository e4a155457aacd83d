"""float16 ops computed in float32 and rounded once, as torch's half kernels compute their forward
(their "opmath" type, float32, on the CPU and on CUDA).

A formula evaluated in float16 itself rounds after every step: sigmoid's exp(-|x|), 1 + e and
the quotient put it 1.8 ulp off; GELU's several passes, 12 ulp (near x = -3.7, against the float64
value rounded to float16). Computed in float32 and rounded once at the end, each is within half
an ulp. ``computes_half_in_float32`` does that for a Function class: a float16 input arrives at
``forward`` as float32 and its output goes back to float16; ``backward`` gets the gradient as
float32 and returns its gradients as float16, each rounded once too (torch's CPU backward of some,
sigmoid's and rsqrt's, runs in float16 steps: there minitf's gradient is the closer to exact).
A recorded backward (``create_graph=True``) is computed in float32 the same way, from float32
casts of the inputs (:func:`backward_graph_in_float32`), so both orders agree.

What the op keeps of its input is the float16 input itself, as torch saves it (saved-tensor
hooks see that tensor; no float32 copy stays alive), cast up again when backward runs. Other
arrays it keeps stay float32, its output among them (sigmoid's, rsqrt's): torch keeps the float16
output, and its float16 sigmoid gradient g y (1 - y) is then 46% off at x = 8, where y rounds to
0.99951 (the float32 y gives it to half an ulp), for twice the float16 output's memory.
float32 and float64 inputs go through untouched.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

_HALF = np.dtype(np.float16)


def _up(a):
    return a.astype(np.float32) if getattr(a, "dtype", None) == _HALF else a


def _down(a):
    return None if a is None else a.astype(_HALF)


@contextmanager
def _saved_in_float32(fn):
    """The float16 input and output ``fn`` keeps, as float32 while the block runs."""
    names = fn.__dict__.get("_half_saved", ())
    kept = {k: fn.__dict__[k] for k in names if k in fn.__dict__}
    fn.__dict__.update({k: _up(v) for k, v in kept.items()})
    try:
        yield
    finally:
        fn.__dict__.update(kept)


def kernel_half_in_float32(kernel):
    """``kernel(xp, x, *rest)`` of arrays, for a float16 x computed in float32 (its float16
    arguments cast up too) and rounded once; other dtypes untouched. The array-level twin of
    :func:`computes_half_in_float32`, for kernels that are not Function classes."""
    def run(xp, x, *rest):
        if x.dtype != _HALF:
            return kernel(xp, x, *rest)
        return _down(kernel(xp, x.astype(np.float32), *map(_up, rest)))
    run.__doc__, run.__name__ = kernel.__doc__, kernel.__name__
    return run


def computes_half_in_float32(cls):
    """Class decorator for an elementwise Function whose first input is the array it maps."""
    forward, backward = cls.forward, cls.backward

    def half_forward(self, x, *rest, **params):
        if getattr(x, "dtype", None) != _HALF:
            return forward(self, x, *rest, **params)
        self.__dict__["_in_float32"] = True
        x32 = x.astype(np.float32)
        y = _down(forward(self, x32, *map(_up, rest), **params))
        # keep the float16 input itself, not its float32 twin (x32 is x exactly)
        names = tuple(k for k, v in self.__dict__.items() if v is x32)
        self.__dict__.update(dict.fromkeys(names, x))
        self.__dict__["_half_saved"] = names
        return y

    def half_backward(self, g):
        if not self.__dict__.get("_in_float32"):
            return backward(self, g)
        with _saved_in_float32(self):
            return tuple(map(_down, backward(self, g.astype(np.float32))))

    half_forward.__doc__, half_backward.__doc__ = forward.__doc__, backward.__doc__
    cls.forward, cls.backward = half_forward, half_backward
    return cls


def recorded_backward(fn, g):
    """``fn.backward_graph(g)``, the float16-in-float32 way for an op that ran so: what the engine
    (``create_graph=True``) and forward mode (a recorded tangent) both call."""
    if fn.__dict__.get("_in_float32"):
        return backward_graph_in_float32(fn, g)
    return fn.backward_graph(g)


def backward_graph_in_float32(fn, g):
    """``fn.backward_graph(g)`` for an op that ran its float16 input in float32: recorded from
    float32 casts of its inputs and of g, each gradient cast back to its input's float16."""
    inputs = fn.inputs
    fn.inputs = tuple(t.float() if t is not None and t.dtype == _HALF else t for t in inputs)
    try:
        with _saved_in_float32(fn):
            grads = fn.backward_graph(g.float() if g.dtype == _HALF else g)
    finally:
        fn.inputs = inputs
    return tuple(r.half() if r is not None and t is not None and t.dtype == _HALF and r.dtype != _HALF else r
                 for r, t in zip(grads, inputs))
