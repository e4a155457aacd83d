"""Elementwise functions: exp, log, sqrt, tanh, sigmoid, relu, gelu."""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..tensor import Tensor


class Exp(Function):
    def forward(self, x):
        self.y = backend.get_array_module(x).exp(x)
        return self.y

    def backward(self, g):  # d exp(x) = exp(x)
        return (g * self.y,)

    def backward_graph(self, g):
        return (g * exp(self.inputs[0]),)


class Log(Function):
    def forward(self, x):
        self.x = x
        return backend.get_array_module(x).log(x)

    def backward(self, g):  # d log(x) = 1/x
        return (g / self.x,)

    def backward_graph(self, g):
        return (g / self.inputs[0],)


class Sqrt(Function):
    def forward(self, x):
        self.y = backend.get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g):  # d sqrt(x) = 1 / (2 sqrt(x))
        return (g / (2 * self.y),)

    def backward_graph(self, g):
        return (g / (2 * sqrt(self.inputs[0])),)


class Tanh(Function):
    def forward(self, x):
        self.y = backend.get_array_module(x).tanh(x)
        return self.y

    def backward(self, g):  # d tanh(x) = 1 - tanh(x)^2
        return (g * (1 - self.y * self.y),)

    def backward_graph(self, g):
        y = tanh(self.inputs[0])
        return (g * (1 - y * y),)


class Sigmoid(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        # 1/(1+e^-x) overflows e^-x for x << 0; 0.5 (1 + tanh(x/2)) is the same function, stable everywhere
        self.y = 0.5 * (1 + xp.tanh(0.5 * x))
        return self.y

    def backward(self, g):  # d sigma(x) = sigma(x) (1 - sigma(x))
        return (g * self.y * (1 - self.y),)


class ReLU(Function):
    def forward(self, x):
        self.positive = x > 0
        return x * self.positive

    def backward(self, g):  # d relu(x) = [x > 0]
        return (g * self.positive,)

    def backward_graph(self, g):  # the indicator is a constant: relu'' = 0 away from the kink
        return (g * Tensor._make(self.positive.astype(g.dtype), None),)


_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


_CHUNK = 65536  # elements per inner step: a few arrays of this many floats stay in cache


def _flat(a):
    return a.reshape(-1)


class GELU(Function):
    """GELU, tanh approximation (GPT-2): 0.5 x (1 + tanh(c (x + a x^3))), c = sqrt(2/pi), a = 0.044715."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        t, y = xp.empty_like(x), xp.empty_like(x)
        xf, tf, yf = _flat(x), _flat(t), _flat(y)

        def kernel(lo, hi):
            # in place, chunk by chunk: elementwise NumPy is bound by memory passes, not arithmetic
            for s in range(lo, hi, _CHUNK):
                xs, ts, ys = xf[s:min(s + _CHUNK, hi)], tf[s:min(s + _CHUNK, hi)], yf[s:min(s + _CHUNK, hi)]
                xp.multiply(xs, xs, out=ts)
                ts *= _GELU_A * _GELU_C
                ts += _GELU_C
                ts *= xs                    # c (x + a x^3)
                xp.tanh(ts, out=ts)         # t
                xp.add(ts, 1, out=ys)
                ys *= xs
                ys *= 0.5                   # 0.5 x (1 + t)

        backend.parallel_rows(xp, kernel, xf.size, _CHUNK)
        self.x, self.t = x, t
        return y

    def backward(self, g):
        # d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)
        xp = backend.get_array_module(g)
        d, u = xp.empty_like(self.t), xp.empty_like(self.t)
        xf, tf, gf, df, uf = _flat(self.x), _flat(self.t), _flat(g), _flat(d), _flat(u)

        def kernel(lo, hi):
            for s in range(lo, hi, _CHUNK):
                e = min(s + _CHUNK, hi)
                xs, ts, ds, us = xf[s:e], tf[s:e], df[s:e], uf[s:e]
                xp.multiply(xs, xs, out=us)
                us *= 3 * _GELU_A * _GELU_C
                us += _GELU_C               # c (1 + 3 a x^2)
                xp.multiply(ts, ts, out=ds)
                ds -= 1
                ds *= us
                ds *= xs
                ds *= -0.5                  # 0.5 x (1 - t^2) c (1 + 3 a x^2)
                xp.multiply(ts, 0.5, out=us)
                ds += us
                ds += 0.5
                ds *= gf[s:e]

        backend.parallel_rows(xp, kernel, df.size, _CHUNK)
        return (d,)


def exp(x: Tensor) -> Tensor:
    """e^x, elementwise."""
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    """Natural logarithm, elementwise."""
    return Log.apply(x)


def sqrt(x: Tensor) -> Tensor:
    """Square root, elementwise."""
    return Sqrt.apply(x)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    return Tanh.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    """Logistic function 1 / (1 + e^-x), elementwise, stable for large |x|."""
    return Sigmoid.apply(x)


def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise (gradient 0 at x = 0)."""
    return ReLU.apply(x)


def gelu(x: Tensor) -> Tensor:
    """GELU with the tanh approximation used by GPT-2, elementwise."""
    return GELU.apply(x)
