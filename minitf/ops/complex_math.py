"""The complex forms of the holomorphic elementwise functions (sqrt, log, sin, cos, tanh, sigmoid,
reciprocal, rsqrt, square, log1p, expm1; log2, log10, exp2, sinh, cosh, tan, asin, atan; acos, acosh,
asinh, atanh, sinc), of ``a ** b`` with a tensor exponent, of logaddexp, of the multilinear ops
written as conjugated real ones (einsum, lerp, linear), of prod and cumprod, and of the 2-norm (a
real result).

For a holomorphic w = f(z), torch's gradient is ``g * conj(f'(z))`` (the conjugate Wirtinger
derivative: :mod:`minitf.ops.complex_backward`). Each class here keeps its real op's class name (its
node's name, ``SqrtBackward0``) and its ``f`` / ``slope`` / ``slope_graph``, and conjugates the slope;
those whose derivative is a reciprocal 1 / d divide by conj(d) instead (:class:`_Quotient`: torch's
infinities at d = 0, not NaNs). log1p has its own forward (NumPy's loses small z's digits).
:mod:`minitf.complex_guard` sends an op with a complex input here; real tensors never reach these.
"""
from __future__ import annotations

from .. import backend
from . import binary_math as _bm, cumulative as _cu, elementwise as _e, pointwise as _p, special as _s
from . import statistics as _st, unary as _u
from .linear import Linear as _RealLinear
from .complex_backward import _conj, _conj_t
from .more_math import LN10 as _LN10, LN2 as _LN2


class _Holomorphic:
    """The complex form of an elementwise y = f(x): saves x and y, backward ``g * conj(f'(x))``."""

    takes_complex = True
    saves_inputs = saves_output = True

    def forward(self, x):
        self.x = x
        self.y = self.f(backend.get_array_module(x), x)
        return self.y

    def backward(self, g):
        return (g * _conj(self.slope(backend.get_array_module(g), self.x, self.y)),)

    def backward_graph(self, g):
        return (g * _conj_t(self.slope_graph(self.inputs[0])),)


class _Quotient:
    """The backward of a y = f(x) whose derivative is 1 / d(x) (log, sqrt, log1p, log2, log10,
    atan): ``g / conj(d)``, as torch's, rather than g times conj(1 / d): at d = 0, 1 / d is
    inf + nan i, which would make every gradient there NaN, where torch's quotient gives g's
    infinities. (The forward is the class's: :class:`_Holomorphic`'s, or more_math's.)"""

    takes_complex = True

    def backward(self, g):
        return (g / _conj(self.den(backend.get_array_module(g), self.x, self.y)),)

    def backward_graph(self, g):
        return (g / _conj_t(self.den_graph(self.inputs[0])),)


def _same(real_cls):
    """The complex form of one of unary.py's ``_Elementwise`` functions (its f and slopes hold as written)."""
    return type(real_cls.__name__, (_Holomorphic, real_cls), {"__module__": __name__, "__qualname__": real_cls.__name__})


Sin, Cos, Square, Rsqrt, Reciprocal, Expm1 = (_same(c) for c in (_u.Sin, _u.Cos, _u.Square, _u.Rsqrt,
                                                               _u.Reciprocal, _u.Expm1))


class Acosh(_Holomorphic, _s.acosh.function):
    # the real form's 1 / sqrt(x^2 - 1) has the wrong sign where Re z < 0 (sqrt's cut crosses the
    # imaginary axis, where acosh is analytic); 1 / (sqrt(z - 1) sqrt(z + 1)) holds on the whole plane
    f = staticmethod(lambda xp, x: xp.arccosh(x))
    slope = staticmethod(lambda xp, x, y: 1 / (xp.sqrt(x - 1) * xp.sqrt(x + 1)))
    slope_graph = staticmethod(lambda x: 1 / (_e.sqrt(x - 1) * _e.sqrt(x + 1)))


class Log(_Quotient, _Holomorphic, _e.Log):
    f = staticmethod(lambda xp, x: xp.log(x))        # the principal branch (arg in (-pi, pi]), as torch
    den = staticmethod(lambda xp, x, y: x)
    den_graph = staticmethod(lambda x: x)


class Sqrt(_Quotient, _Holomorphic, _e.Sqrt):
    f = staticmethod(lambda xp, x: xp.sqrt(x))       # the principal root (real part >= 0)
    den = staticmethod(lambda xp, x, y: 2 * y)
    den_graph = staticmethod(lambda x: 2 * _e.sqrt(x))


def _log1p(xp, z):
    """log(1 + z), accurate for small z (NumPy's complex log1p is log(1 + z) as written: its real
    part loses all digits below |z| ~ 1e-16): log|1 + z| = log1p(x (2 + x) + y^2) / 2 for |z| < 1/2,
    log(hypot(1 + x, y)) beyond; the angle atan2(y, 1 + x). Where x (2 + x) + y^2 is 0 (z = 0, or
    it underflows) the real part is x, log1p(z) ~ z keeping its sign, as torch's."""
    from .complex_parts import from_parts
    x, y = z.real, z.imag
    r = x * (2 + x) + y * y
    re = xp.where(xp.abs(z) < 0.5, xp.where(r == 0, x, 0.5 * xp.log1p(r)), xp.log(xp.hypot(1 + x, y)))
    return from_parts(re, xp.arctan2(y, 1 + x))


class Log1p(_Quotient, _Holomorphic, _u.Log1p):
    f = staticmethod(_log1p)
    den = staticmethod(lambda xp, x, y: 1 + x)
    den_graph = staticmethod(lambda x: 1 + x)


class Tanh(_Holomorphic, _e.Tanh):
    f = staticmethod(lambda xp, x: xp.tanh(x))
    slope = staticmethod(lambda xp, x, y: 1 - y * y)
    slope_graph = staticmethod(lambda x: 1 - _e.tanh(x) ** 2)


class Sigmoid(_Holomorphic, _e.Sigmoid):
    # (the real form's sign split needs an order; the plain formula is torch's for complex input)
    f = staticmethod(lambda xp, x: 1 / (1 + xp.exp(-x)))
    slope = staticmethod(lambda xp, x, y: y * (1 - y))

    @staticmethod
    def slope_graph(x):
        s = _e.sigmoid(x)
        return s * (1 - s)


class PowTensor(_p.PowTensor):
    """``a ** b`` with a tensor exponent, one of them complex: gradients ``g conj(b a^(b-1))`` and
    ``g conj(a^b log a)``, each 0 where torch's is: at b = 0, and at a = 0 with b real and >= 0 (for
    a = 0 and a b off the real axis, 0^b log 0 is NaN, as torch's, though its limit is 0 for Re b > 0)."""

    takes_complex = True

    def backward(self, g):
        xp = backend.get_array_module(g)
        a, b = self.a, self.b
        ga = g * _conj(xp.where(b == 0, 0, b * a ** (b - 1)))
        gb = g * _conj(xp.where((a == 0) & (b.imag == 0) & (b.real >= 0), 0, self.y * xp.log(a)))
        return ga, gb   # (both complex: pow promotes a real operand first, by a cast with its own gradient)

    def backward_graph(self, g):
        from .elementwise import log
        from .selection import Where
        from ._util import as_tensor
        a, b = self.inputs
        one, zero = as_tensor(1.0, g), as_tensor(0.0, g)
        ga = gb = None
        if a._requires_grad:
            b0 = b.data == 0
            ga = g * _conj_t(Where.apply(zero, b * Where.apply(one, a, cond=b0) ** (b - 1), cond=b0))
        if b._requires_grad:
            a0 = (a.data == 0) & (b.data.imag == 0) & (b.data.real >= 0)
            a1 = Where.apply(one, a, cond=a0)
            gb = g * _conj_t(Where.apply(zero, a1 ** b * log(a1), cond=a0))
        return ga, gb



class _Conjugated:
    """The complex form of an op whose real backward is ``g * J(x)`` with J holomorphic in x (prod,
    cumprod: products of the other elements): the conjugate Wirtinger backward ``g * conj(J)`` is
    ``conj(real backward of conj(g))``, so the real backward (its zero handling included) is reused."""

    takes_complex = True

    def backward(self, g):
        xp = backend.get_array_module(g)
        return tuple(None if d is None else xp.conj(d) for d in super().backward(xp.conj(g)))

    def backward_graph(self, g):
        return tuple(None if d is None else _conj_t(d) for d in super().backward_graph(_conj_t(g)))


def conjugated(real_cls):
    """The complex form of an op whose real backward is g * (a holomorphic derivative), by
    :class:`_Conjugated` (more_math's exp2, sinh, tan, asin ...), or by :class:`_Quotient` for those
    whose derivative is a reciprocal (log2, log10, atan: :data:`_QUOTIENTS`): its class name kept."""
    den = _QUOTIENTS.get(real_cls.__name__)
    if den is not None:
        return type(real_cls.__name__, (_Quotient, real_cls), {
            "__module__": __name__, "__qualname__": real_cls.__name__,
            "den": staticmethod(lambda xp, x, y: den(x)), "den_graph": staticmethod(den)})
    return type(real_cls.__name__, (_Conjugated, real_cls), {"__module__": __name__, "__qualname__": real_cls.__name__})


# more_math's ops whose derivative is 1 / d(x): d, on arrays and Tensors alike
_QUOTIENTS = {"Log2": lambda x: x * _LN2, "Log10": lambda x: x * _LN10, "Atan": lambda x: 1 + x * x}


class Linear(_RealLinear):
    """x W^T + b with complex operands: the real array backward on conjugates (dx = G conj(W), dW =
    G^T conj(x)); its recorded backward is the composed one (ops/composed.py: matmul and add,
    whose complex forms conjugate), kept as is."""

    takes_complex = True

    def backward(self, g):
        xp = backend.get_array_module(g)
        return tuple(None if d is None else xp.conj(d) for d in _RealLinear.backward(self, xp.conj(g)))


def _logaddexp(xp, a, b):
    """log(e^a + e^b) of complex arrays: m + log1p(e^(other - m)), m the one with the larger real part
    (b where they tie, as torch's), so that e^(other - m) cannot overflow."""
    a, b = xp.broadcast_arrays(a, b)
    first = b.real < a.real
    m, other = xp.where(first, a, b), xp.where(first, b, a)
    with backend.quiet_underflow(xp):
        return m + _log1p(xp, xp.exp(other - m))


class LogAddExp(_Conjugated, _bm.LogAddExp):
    """The complex form of logaddexp; its real backward g / (1 + e^(b - a)) is holomorphic in (a, b)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return _logaddexp(backend.get_array_module(a), a, b)


class Prod(_Conjugated, _cu.Prod):
    __slots__ = ()


class Cumprod(_Conjugated, _cu.Cumprod):
    pass


class Norm2(_st.Norm2):
    """sqrt(sum |x|^2) over some dims of a complex x: a real result, gradient g x / ||x|| (0 where
    ||x|| = 0, as the real form), which the real backward computes as written."""

    takes_complex = True

    def forward(self, x, axis, keepdims):
        xp = backend.get_array_module(x)
        self.x, self.shape, self.axis, self.keepdims = x, x.shape, axis, keepdims
        self.n = xp.sqrt((x.real * x.real + x.imag * x.imag).sum(axis=axis, keepdims=True))
        return self.n if keepdims else self.n.reshape(
            () if axis is None else tuple(d for i, d in enumerate(x.shape) if i not in axis))

    def backward_graph(self, g):   # the real form's, with |x|^2 = Re(x conj(x)) for x * x
        from .complex_parts import real
        from .selection import Where
        from .reduction import sum as _sum
        from ._util import as_tensor, expand_reduced
        x = self.inputs[0]
        zero = self.n == 0
        sq = _sum(real(x * _conj_t(x)), self.axis, keepdims=True)
        ss = Where.apply(as_tensor(1.0, sq), sq, cond=zero)
        share = Where.apply(as_tensor(0.0, x), x / _e.sqrt(ss), cond=zero)
        return (expand_reduced(g, self.shape, self.axis, self.keepdims) * share,)

