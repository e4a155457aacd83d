"""torch's complex-number functions: parts, conjugate, argument, and complex tensors built from
real ones (``complex``, ``polar``, ``view_as_complex``) or seen as real ones (``view_as_real``).

On a real tensor ``real`` and ``conj`` (and ``conj_physical``) are the tensor itself, as torch
returns ``self``; ``imag`` raises torch's error; ``angle`` is 0 for x >= 0 (and -0.), pi for x < 0
and NaN for NaN, with gradient 0, as torch's. On a complex tensor each is a differentiable op with
torch's gradient (the conjugate Wirtinger derivative, docs/autograd.md). Kept difference: torch's
``real``, ``imag``, ``view_as_real`` and ``view_as_complex`` are views sharing memory; here they are
copies (an in-place write to ``z.real`` does not reach z).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import DtypeError, ShapeError
from ..tensor import Tensor
from ._util import float_input


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


class Real(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again
    takes_complex = True

    def forward(self, x):
        self.dt = x.dtype
        return _xp(x).real(x).copy()

    def backward(self, g):
        return (g.astype(self.dt),)

    def backward_graph(self, g):
        return (g.to(self.dt),)


class Imag(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again
    takes_complex = True

    def forward(self, x):
        self.dt = x.dtype
        return _xp(x).imag(x).copy()

    def backward(self, g):  # L depends on y alone: dL/dx + i dL/dy = i g
        return ((g * 1j).astype(self.dt),)

    def backward_graph(self, g):
        return (g.to(self.dt) * 1j,)


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


def real(x: Tensor) -> Tensor:
    """The real part: x itself for a real tensor (torch returns ``self``); a complex tensor's real part
    (..., a copy) in its float dtype, differentiable."""
    return Real.apply(x) if x.data.dtype.kind == "c" else x


def imag(x: Tensor) -> Tensor:
    """The imaginary part of a complex tensor (a copy, float dtype, differentiable); an error for a real
    tensor, as torch's."""
    if x.data.dtype.kind != "c":
        raise DtypeError("imag is not implemented for tensors with non-complex dtypes.")
    return Imag.apply(x)


def conj(x: Tensor) -> Tensor:
    """The complex conjugate (gradient: the conjugate of the incoming one); x itself for a real tensor,
    as torch (``conj_physical`` too)."""
    return Conj.apply(x) if x.data.dtype.kind == "c" else x


conj_physical = conj


def conj_physical_(x: Tensor) -> Tensor:
    """In place: nothing to change in a real tensor (x, as torch); refused for a complex one here."""
    if x.data.dtype.kind == "c":
        raise DtypeError("conj_physical_: in-place conjugation of a complex tensor is not supported in minitf; "
                         "use conj(x)")
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


class ViewAsReal(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again
    takes_complex = True

    def forward(self, z):
        self.dt = z.dtype
        xp = _xp(z)
        return xp.stack([xp.real(z), xp.imag(z)], axis=-1)

    def backward(self, g):
        return ((g[..., 0] + 1j * g[..., 1]).astype(self.dt),)

    def backward_graph(self, g):
        return (view_as_complex(g),)


class ViewAsComplex(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again
    takes_complex = True

    def forward(self, x):
        self.dt = x.dtype
        return from_parts(x[..., 0], x[..., 1])

    def backward(self, g):
        xp = _xp(g)
        return (xp.stack([xp.real(g), xp.imag(g)], axis=-1).astype(self.dt),)

    def backward_graph(self, g):
        return (view_as_real(g),)


def view_as_real(x: Tensor) -> Tensor:
    """A complex tensor (...) as a real one (..., 2) of its float dtype: [..., 0] the real parts, [..., 1]
    the imaginary ones (a copy here, a view in torch); torch's error for a real tensor."""
    if x.data.dtype.kind != "c":
        raise DtypeError("view_as_real is only supported for complex tensors")
    return ViewAsReal.apply(x)


def view_as_complex(x: Tensor) -> Tensor:
    """A float32/float64 tensor (..., 2) as a complex one (...): x[..., 0] + i x[..., 1] (a copy here, a
    view in torch). Differentiable."""
    if x.data.dtype.kind == "c" or x.data.dtype not in (np.float32, np.float64):
        raise DtypeError(f"view_as_complex is only supported for float and double tensors, but got a tensor of "
                         f"scalar type: {x.dtype}")
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ShapeError(f"view_as_complex: Tensor must have a last dimension of size 2, got shape {tuple(x.shape)}")
    _arm()
    return ViewAsComplex.apply(x)


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
