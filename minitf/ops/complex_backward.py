"""The complex forms of real ops whose backward changes for complex input (mul, div, matmul, pow,
exp, abs, casts): the same forward, and torch's gradient, the conjugate Wirtinger derivative.

For a real loss L of a complex z = x + iy, torch's ``z.grad`` is dL/dx + i dL/dy. Through a
holomorphic f (w = f(z)) that is ``conj(f'(z)) * w.grad``: the conjugate of what the real backward
multiplies by (``g * conj(b)`` for ``a * b``). :mod:`minitf.complex_guard` sends an op with a
complex input here; real tensors never reach these classes. Each keeps its real op's class name,
so that its nodes have torch's names (``MulBackward0``); each backward is also written in recorded
ops (``backward_graph``), so second derivatives and forward mode go through them too.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..autograd import Function
from . import arithmetic as _arithmetic, casting as _casting, elementwise as _elementwise, pointwise as _pointwise
from .arithmetic import _power
from .casting import astype
from .elementwise import exp


def _conj(a):
    return backend.get_array_module(a).conj(a)


def _conj_t(t):
    from .complex_parts import conj
    return conj(t)


class Mul(_arithmetic.Mul):
    takes_complex = True

    def forward(self, a, b):
        self.a, self.b = _conj(a), _conj(b)   # backward multiplies by the conjugates
        return a * b

    def backward_graph(self, g):
        a, b = self.inputs
        return (g * _conj_t(b) if a._requires_grad else None, g * _conj_t(a) if b._requires_grad else None)


class Div(_arithmetic.Div):
    takes_complex = True

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2, conjugated; in the real op's order
        b = _conj(self.b)
        return g / b, -(g * _conj(self.a / self.b)) / b

    def backward_graph(self, g):
        a, b = self.inputs
        return g / _conj_t(b), -(g * _conj_t(a / b)) / _conj_t(b) if b._requires_grad else None


class MatMul(_arithmetic.MatMul):
    takes_complex = True

    def forward(self, a, b):
        self.a, self.b = _conj(a), _conj(b)   # dA = G B^H, dB = A^H G: the real backward on conjugates
        return a @ b

    def backward_graph(self, g):
        a, b = self.inputs
        return _arithmetic.matmul_grads(g, _conj_t(a), _conj_t(b), a._requires_grad, b._requires_grad)


class Pow(_arithmetic.Pow):
    takes_complex = True

    def backward(self, g):  # conj(p a^(p-1)) g
        if self.p == 0:
            return (backend.get_array_module(g).zeros_like(g),)
        return (g * _conj(self.p * _power(self.a, self.p - 1)),)

    def backward_graph(self, g):
        p = self.params["p"]
        if p == 0:
            return super().backward_graph(g)
        return (g * _conj_t(p * Pow.apply(self.inputs[0], p=p - 1)),)


class Exp(_elementwise.Exp):
    takes_complex = True

    def backward(self, g):
        return (g * _conj(self.y),)

    def backward_graph(self, g):
        return (g * _conj_t(exp(self.inputs[0])),)


class Abs(_pointwise.Abs):
    """|z| (a real tensor); its gradient g z / |z| (0 at z = 0, as torch's sgn)."""

    takes_complex = True

    def backward(self, g):
        xp = backend.get_array_module(g)
        r = xp.abs(self.x)
        return (g * (self.x / xp.where(r == 0, 1, r)),)

    def backward_graph(self, g):
        z = self.inputs[0]
        return (g * (z / nonzero(Abs.apply(z))),)


def nonzero(r):
    """The real tensor r with its zeros replaced by ones (a divisor; the mask is a constant)."""
    return r + (r == 0).to(r.dtype)


_DISCARD = "Casting complex values to real discards the imaginary part"


class AsType(_casting.AsType):
    """A cast into or out of a complex dtype: the gradient of a real input is the real part."""

    takes_complex = True

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        if x.dtype.kind == "c" and np.dtype(dtype).kind == "b":
            return x != 0   # (nonzero in either part is True, as torch's and NumPy's casts: no warning)
        if x.dtype.kind == "c" and np.dtype(dtype).kind != "c":
            warnings.warn(_DISCARD, UserWarning, stacklevel=4)   # torch's warning; NumPy's would be a ComplexWarning
            x = x.real
        return x.astype(dtype)

    def backward(self, g):
        if g.dtype.kind == "c" and self.in_dtype.kind != "c":
            g = g.real
        return (g.astype(self.in_dtype),)

    def backward_graph(self, g):
        if g.dtype.kind == "c" and self.in_dtype.kind != "c":
            from .complex_parts import real
            g = real(g)
        return (astype(g, self.in_dtype),)


class Sgn(Function):
    """torch.sgn of a complex z: z / |z| (0 at z = 0). Not holomorphic: its gradient is g's part
    across the unit direction s, over |z|: (g - s Re(conj(s) g)) / |z| (0 at z = 0, as torch's)."""

    takes_complex = True
    saves_output = False

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.x, r = x, xp.abs(x)
        return xp.where(r == 0, 0, x / xp.where(r == 0, 1, r))

    def backward(self, g):
        xp = backend.get_array_module(g)
        r = xp.abs(self.x)
        safe = xp.where(r == 0, 1, r)
        s = self.x / safe
        return (xp.where(r == 0, 0, (g - s * (xp.conj(s) * g).real) / safe),)

    def backward_graph(self, g):
        from .complex_parts import conj, real
        z = self.inputs[0]
        r = Abs.apply(z)
        s = Sgn.apply(z)
        return ((g - s * real(conj(s) * g)) / nonzero(r) * (r != 0).to(r.dtype),)
