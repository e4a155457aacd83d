"""torch's complex-number functions: parts, conjugate, argument, and complex tensors built from
real ones (``complex``, ``polar``) -- the views (``real``, ``imag``, ``view_as_real``,
``view_as_complex``) are :mod:`minitf.ops.complex_views`', re-exported here.

On a real tensor ``real`` and ``conj`` (and ``conj_physical``) are the tensor itself, as torch
returns ``self``; ``imag`` raises torch's error; ``angle`` is 0 for x >= 0 (and -0.), pi for x < 0
and NaN for NaN, with gradient 0, as torch's. On a complex tensor each is a differentiable op with
torch's gradient (the conjugate Wirtinger derivative, docs/autograd.md). There is no lazy
conjugation bit: ``conj`` copies.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import DtypeError
from ..tensor import Tensor
from ._util import float_input
from .complex_views import Imag, Real, ViewAsComplex, ViewAsReal, imag, real, set_part, view_as_complex, view_as_real

__all__ = ["real", "imag", "set_part", "view_as_real", "view_as_complex", "Real", "Imag", "ViewAsReal",
           "ViewAsComplex", "from_parts", "conj", "conj_physical", "conj_physical_", "angle", "complex", "polar"]


def _xp(a):
    return backend.get_array_module(a)


def _complex_of(dtype) -> np.dtype:
    """float32 -> complex64, float64 -> complex128 (torch's complex of a float dtype)."""
    dt = np.dtype(dtype)
    if dt.kind == "c":
        return dt
    if dt not in (np.float32, np.float64):
        raise DtypeError(f"expected a float32 or float64 tensor for a complex result, got {dt} (minitf's complex "
                         f"dtypes are complex64 and complex128; NumPy has no complex32)")
    return np.dtype(np.complex64 if dt == np.float32 else np.complex128)


def from_parts(re, im):
    """The complex array re + i im (float arrays of one dtype, broadcast together), each part exactly
    (re + 1j * im would turn an infinite part into NaNs)."""
    xp = _xp(re)
    re, im = xp.broadcast_arrays(re, im)
    return xp.stack([re, im], axis=-1).view(_complex_of(re.dtype))[..., 0]


def _arm():
    from ..complex_guard import arm
    arm()


class Conj(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again
    takes_complex = True

    def forward(self, x):
        return _xp(x).conj(x)

    def backward(self, g):
        return (_xp(g).conj(g),)

    def backward_graph(self, g):
        return (conj(g),)


def conj(x: Tensor) -> Tensor:
    """The complex conjugate (gradient: the conjugate of the incoming one); x itself for a real tensor,
    as torch (``conj_physical`` too)."""
    return Conj.apply(x) if x.data.dtype.kind == "c" else x


conj_physical = conj


def conj_physical_(x: Tensor) -> Tensor:
    """In place: x's imaginary part negated (recorded while a gradient flows, as the other in-place
    ops); nothing to change in a real tensor (x, as torch)."""
    if x.data.dtype.kind == "c":
        from .inplace import _check_writable, _needs_graph, _record, _write_back
        _check_writable(x, "conj_physical_")
        if _needs_graph(x, None):
            return _record(x, None, "conj_physical_", lambda a, _: conj(a), reads=())
        return _write_back(x, _xp(x.data).conj(x.data), "conj_physical_")
    return x


def _angle(x):
    xp = backend.get_array_module(x)
    return xp.where(x < 0, x.dtype.type(np.pi), xp.where(xp.isnan(x), x, x.dtype.type(0)))


class Angle(Function):
    saves_inputs = saves_output = False

    def forward(self, x):
        return _angle(x)

    def backward(self, g):  # d angle / dx = 0 for a real x (constant on each side of 0), as torch's
        return (backend.get_array_module(g).zeros_like(g),)

    def backward_graph(self, g):
        return (g * 0.0,)


class ComplexAngle(Function):
    """atan2(y, x) of z = x + iy; gradient g (-y + ix) / |z|^2 = g i z / |z|^2 (0 at z = 0, as torch)."""

    saves_output = False
    takes_complex = True

    def forward(self, z):
        self._torch_name = "AngleBackward0"
        self.z = z
        return _xp(z).angle(z)

    def backward(self, g):
        xp, z = _xp(g), self.z
        r2 = (z * xp.conj(z)).real
        return (g * (1j * z / xp.where(r2 == 0, 1, r2)),)

    def backward_graph(self, g):
        from .complex_backward import nonzero
        z = self.inputs[0]
        return (g * (z * 1j / nonzero(real(z) ** 2 + imag(z) ** 2)),)


def angle(x: Tensor) -> Tensor:
    """The argument of each element: for a complex tensor atan2(imag, real) (float dtype); for a real one
    pi for x < 0, 0 for x >= 0 (-0. too), NaN for NaN, with gradient 0. x: any shape -> the same; integer
    and bool tensors give the default float dtype. Differentiable."""
    if not isinstance(x, Tensor):
        raise TypeError(f"angle(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.data.dtype.kind == "c":
        return ComplexAngle.apply(x)
    x = float_input(x)
    if x.requires_grad:
        return Angle.apply(x)
    return Tensor._make(_angle(x.data), None)


class Complex(Function):
    saves_inputs = saves_output = False
    takes_complex = True

    def forward(self, re, im):
        self.dt = re.dtype
        return from_parts(re, im)

    def backward(self, g):  # each part's gradient is that part of g
        xp = _xp(g)
        return xp.real(g).astype(self.dt), xp.imag(g).astype(self.dt)

    def backward_graph(self, g):
        return real(g), imag(g)


def _float_pair(name, a, b):
    for arg, t in (("real" if name == "complex" else "abs", a), ("imag" if name == "complex" else "angle", b)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(t).__name__}")
    if a.dtype != b.dtype:
        raise DtypeError(f"{name}: expected both inputs to have the same dtype, got {a.dtype} and {b.dtype}")
    if a.dtype not in (np.float32, np.float64):
        raise DtypeError(f"{name}: expected float32 or float64 inputs, got {a.dtype}")
    _arm()


def complex(real: Tensor, imag: Tensor) -> Tensor:
    """``real + i imag`` (torch.complex): two float32 (or float64) tensors, broadcast together, -> a
    complex64 (complex128) tensor. Differentiable in both."""
    _float_pair("complex", real, imag)
    return Complex.apply(real, imag)


class Polar(Function):
    saves_output = False
    takes_complex = True

    def forward(self, r, theta):
        xp = _xp(r)
        self.dt, self.r = r.dtype, r
        self.e = (xp.cos(theta) + 1j * xp.sin(theta)).astype(_complex_of(r.dtype))
        return r * self.e

    def backward(self, g):  # a real input t of w: dL/dt = Re(conj(dw/dt) g)
        xp = _xp(g)
        g_abs = xp.real(xp.conj(self.e) * g)
        g_angle = xp.real(xp.conj(1j * self.r * self.e) * g)
        return g_abs.astype(self.dt), g_angle.astype(self.dt)

    def backward_graph(self, g):
        r, theta = self.inputs
        e = Polar.apply(Tensor._make(_xp(r.data).ones_like(r.data), None), theta)
        return real(conj(e) * g), real(conj(Polar.apply(r, theta) * 1j) * g)


def polar(abs: Tensor, angle: Tensor) -> Tensor:
    """``abs * (cos(angle) + i sin(angle))`` (torch.polar): float32/float64 tensors, broadcast together,
    -> complex64/complex128. Differentiable in both."""
    _float_pair("polar", abs, angle)
    return Polar.apply(abs, angle)
