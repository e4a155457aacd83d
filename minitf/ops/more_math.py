"""More of torch's elementwise math, each with its derivative beside it: log2, log10, exp2,
sinh, cosh, tan, asin, atan, erf, logit, and the binary atan2, hypot.

Integer and bool inputs give the default float dtype, as torch (:func:`float_input`). Each
unary op is a :class:`Function` made by :func:`_unary` from the array function ``f``, its
derivative on arrays ``df(xp, x, y)`` (y the output) and the same derivative on Tensors
``dft(x, y)`` (for ``create_graph``: differentiable again).
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..errors import DtypeNotImplemented, broadcast_error
from ..tensor import Tensor
from . import elementwise as _e, unary as _u
from ._util import float_input
from .erf import erf as _erf_array
from .promotion import promote_operands, result_type

LN2, LN10 = math.log(2.0), math.log(10.0)


def _unary(name, f, df, dft):
    class Op(Function):
        forward_elementwise = True   # forward AD: J t is backward(t) (minitf/forward_fused.py)

        def forward(self, x):
            self.x = x
            self.y = f(backend.get_array_module(x), x)
            return self.y

        def backward(self, g):
            return (g * df(backend.get_array_module(g), self.x, self.y),)

        def backward_graph(self, g):
            (x,) = self.inputs
            return (g * dft(x, f_tensor(x)),)

    Op.__name__ = Op.__qualname__ = name.capitalize()

    def f_tensor(x: Tensor) -> Tensor:
        """The op on a Tensor (``x``: any shape -> the same shape; gradients flow)."""
        return Op.apply(float_input(x))
    f_tensor.__name__ = name
    f_tensor.function = Op   # (the complex guard routes the class: minitf/ops/complex_math.py)
    return f_tensor


# d/dx log2 x = 1 / (x ln 2);  d/dx log10 x = 1 / (x ln 10);  d/dx 2^x = 2^x ln 2
log2 = _unary("log2", lambda xp, x: xp.log2(x), lambda xp, x, y: 1 / (x * LN2), lambda x, y: 1 / (x * LN2))
log10 = _unary("log10", lambda xp, x: xp.log10(x), lambda xp, x, y: 1 / (x * LN10), lambda x, y: 1 / (x * LN10))
exp2 = _unary("exp2", lambda xp, x: xp.exp2(x), lambda xp, x, y: y * LN2, lambda x, y: y * LN2)
# d sinh = cosh;  d cosh = sinh;  d tan = 1 / cos^2;  d asin = 1 / sqrt(1 - x^2);  d atan = 1 / (1 + x^2)
sinh = _unary("sinh", lambda xp, x: xp.sinh(x), lambda xp, x, y: xp.cosh(x), lambda x, y: cosh(x))
cosh = _unary("cosh", lambda xp, x: xp.cosh(x), lambda xp, x, y: xp.sinh(x), lambda x, y: sinh(x))
tan = _unary("tan", lambda xp, x: xp.tan(x), lambda xp, x, y: 1 / xp.cos(x) ** 2, lambda x, y: 1 / _u.cos(x) ** 2)
asin = _unary("asin", lambda xp, x: xp.arcsin(x), lambda xp, x, y: 1 / xp.sqrt(1 - x * x),
              lambda x, y: 1 / _e.sqrt(1 - x * x))
atan = _unary("atan", lambda xp, x: xp.arctan(x), lambda xp, x, y: 1 / (1 + x * x), lambda x, y: 1 / (1 + x * x))
# d erf = 2 / sqrt(pi) exp(-x^2)
_C = 2 / math.sqrt(math.pi)
erf = _unary("erf", lambda xp, x: _erf_array(x), lambda xp, x, y: _C * xp.exp(-x * x),
             lambda x, y: _C * _e.exp(-x * x))
arcsin, arctan = asin, atan  # torch's aliases


class Logit(Function):
    """y = log(z) - log1p(-z), z = x (or x clamped to [eps, 1 - eps]); torch's gradient
    dx = g / (x (1 - x)), NaN where x is outside [0, 1] without eps (y is NaN there), 0 where x
    is outside [eps, 1 - eps] with it (the clamp's flat parts)."""

    def forward(self, x, eps=None):
        xp = backend.get_array_module(x)
        self.x, self.eps = x, eps
        z = x if eps is None else xp.clip(x, x.dtype.type(eps), x.dtype.type(1 - eps))
        return xp.log(z) - xp.log1p(-z)

    def _outside(self, x):
        if self.eps is None:
            return (x < 0) | (x > 1), math.nan
        return (x < self.eps) | (x > 1 - self.eps), 0.0

    def backward(self, g):
        xp = backend.get_array_module(g)
        x = self.x
        out, fill = self._outside(x)
        # + 0 turns x (1 - x) = -0 (at x = -0) into +0, so the slope there is +inf, as torch's
        return (xp.where(out, x.dtype.type(fill), g / (x * (1 - x) + 0)),)

    def backward_graph(self, g):
        from .shape import where
        x = self.inputs[0]
        out, fill = self._outside(x.data)
        return (where(Tensor._make(out, None), fill, g / (x * (1 - x) + 0.0)),)


def logit(x: Tensor, eps=None) -> Tensor:
    """log(x / (1 - x)), as torch.logit; ``eps``: x clamped to [eps, 1 - eps] first. x: any shape
    -> the same shape. Gradient 1 / (x (1 - x)) as torch's: NaN outside [0, 1] without eps, 0
    outside [eps, 1 - eps] with it."""
    return Logit.apply(float_input(x), eps=None if eps is None else float(eps))


class Atan2(Function):
    """d/da atan2(a, b) = b / (a^2 + b^2), d/db = -a / (a^2 + b^2), computed as (b / h) / h with
    h = hypot(a, b) (a^2 + b^2 overflows past 1e154 and underflows below 1e-154), and 0 at
    (0, 0), as torch (the angle of a zero vector must not give a NaN step)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return backend.get_array_module(a).arctan2(a, b)

    def backward(self, g):
        xp = backend.get_array_module(g)
        h = xp.hypot(self.a, self.b)
        zero = h == 0
        h = xp.where(zero, 1, h)
        return xp.where(zero, 0, g * (self.b / h) / h), xp.where(zero, 0, -g * (self.a / h) / h)

    def backward_graph(self, g):
        from .shape import where
        a, b = self.inputs
        h = hypot(a, b)
        zero = h.detach() == 0
        h = where(zero, 1.0, h)
        return where(zero, 0.0, g * (b / h) / h), where(zero, 0.0, -g * (a / h) / h)


class Hypot(Function):
    """sqrt(a^2 + b^2) by the backend's hypot (no overflow at 1e200, inf with NaN is inf, as
    torch); d/da = a / hypot, d/db = b / hypot (NaN at (0, 0), as torch's)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = backend.get_array_module(a).hypot(a, b)
        return self.y

    def backward(self, g):
        return g * (self.a / self.y), g * (self.b / self.y)

    def backward_graph(self, g):
        a, b = self.inputs
        y = hypot(a, b)
        return g * (a / y), g * (b / y)


def _floats(name, a, b):
    # straight to the float result dtype, as torch computes: atan2(uint8 tensor, -3) sees -3, not 253
    return promote_operands(a, b, true_division=True)


def atan2(a, b) -> Tensor:
    """The angle of the point (b, a), elementwise with broadcasting, as torch.atan2 (arctan2)."""
    a, b = _floats("atan2", a, b)
    try:
        return Atan2.apply(a, b)
    except ValueError:
        raise broadcast_error("atan2", a.shape, b.shape) from None


def hypot(a, b) -> Tensor:
    """sqrt(a^2 + b^2) elementwise with broadcasting, as torch.hypot, without overflow (the
    gradient a / hypot, b / hypot: NaN at (0, 0), as torch's). Integer and bool operands are
    refused unless the other is floating (then promoted to it), as torch's."""
    common = result_type(a, b)   # an integer tensor beside a float one is promoted, as torch
    if common.kind in "biu":
        raise DtypeNotImplemented(f"hypot: not implemented for {common} tensors (as torch); convert with "
                                  f"x.float() first")
    a, b = _floats("hypot", a, b)
    try:
        return Hypot.apply(a, b)
    except ValueError:
        raise broadcast_error("hypot", a.shape, b.shape) from None


arctan2 = atan2
