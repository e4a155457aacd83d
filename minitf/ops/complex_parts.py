"""torch's complex-number functions as they act on real tensors (minitf has no complex dtypes):
``real`` and ``conj`` (and ``conj_physical``) are the tensor itself, as torch returns ``self`` for a
real tensor; ``imag`` raises torch's error; ``angle`` is 0 for x >= 0 (and -0.), pi for x < 0 and
NaN for NaN, with gradient 0, as torch's; ``view_as_real`` and ``view_as_complex`` explain why
there is nothing to view.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..errors import DtypeError
from ..tensor import Tensor
from ._util import float_input


def real(x: Tensor) -> Tensor:
    """The real part: x itself for a real tensor (torch returns ``self``, sharing its memory)."""
    return x


def imag(x: Tensor) -> Tensor:
    """The imaginary part: an error for a real tensor, as torch's (minitf has no complex dtypes)."""
    raise DtypeError("imag is not implemented for tensors with non-complex dtypes.")


def conj(x: Tensor) -> Tensor:
    """The complex conjugate: x itself for a real tensor, as torch (``conj_physical`` too)."""
    return x


conj_physical = conj


def conj_physical_(x: Tensor) -> Tensor:
    """In place: nothing to change in a real tensor; x, as torch."""
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


def angle(x: Tensor) -> Tensor:
    """The argument of each element seen as a complex number: pi for x < 0, 0 for x >= 0 (-0. too),
    NaN for NaN. x: any shape -> the same; integer and bool tensors give the default float dtype.
    Differentiable, with gradient 0."""
    if not isinstance(x, Tensor):
        raise TypeError(f"angle(): argument 'input' must be Tensor, not {type(x).__name__}")
    x = float_input(x)
    if x.requires_grad:
        return Angle.apply(x)
    return Tensor._make(_angle(x.data), None)


def view_as_real(x: Tensor) -> Tensor:
    """A complex tensor's (..., 2) real view: torch's error for a real tensor (the only kind minitf has)."""
    raise DtypeError("view_as_real is only supported for complex tensors")


def view_as_complex(x: Tensor) -> Tensor:
    """torch's (..., 2) -> complex view: minitf has no complex dtypes, so it is refused."""
    raise DtypeError(f"view_as_complex: minitf has no complex dtypes (got a {x.dtype} tensor of shape "
                     f"{tuple(x.shape)}); keep the (..., 2) real tensor and do the complex arithmetic on its parts")
