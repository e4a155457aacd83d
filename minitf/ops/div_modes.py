"""``div(a, b, rounding_mode=None | "floor" | "trunc")``, as torch.div: true division, or the
quotient rounded toward -inf (``a // b``, :func:`minitf.ops.division.floor_divide`'s values) or
toward 0 (C's integer division). A rounded quotient is piecewise constant: its gradient is 0
for both operands, as torch's (where torch's ``floor_divide`` itself refuses a backward).
Integer operands stay integers; an integer division by zero raises, as torch.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..errors import ArgumentError, DtypeNotImplemented, broadcast_error
from ..tensor import Tensor
from .division import IntegerDivisionByZero
from .promotion import promote_operands


class RoundedDiv(Function):
    """floor(a / b) (Python's ``//``) or trunc(a / b) of floats; gradient 0 to both."""

    saves_inputs = saves_output = False

    def forward(self, a, b, mode):
        xp = backend.get_array_module(a)
        return xp.floor_divide(a, b) if mode == "floor" else xp.trunc(a / b)

    def backward(self, g):
        z = backend.get_array_module(g).zeros_like(g)
        return z, z

    def backward_graph(self, g):
        return g * 0, g * 0


def div(a, b, *, rounding_mode=None) -> Tensor:
    """``a / b`` elementwise (broadcasting); ``rounding_mode="floor"`` rounds the quotient toward
    -inf, ``"trunc"`` toward 0, as torch.div. Integer operands give an integer quotient with a
    rounding mode (the default float dtype without one, as ``/``)."""
    from .arithmetic import div as true_div
    if rounding_mode is None:
        return true_div(a, b)
    if rounding_mode not in ("floor", "trunc"):
        raise ArgumentError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                            f"{rounding_mode!r}")
    a, b = promote_operands(a, b)
    if a.dtype.kind == "b":
        raise DtypeNotImplemented("div: a rounding mode is not defined for bool tensors (as torch); convert with "
                                  "x.int() first")
    if a.dtype.kind in "iu":
        return _integer_div(a, b, rounding_mode)
    try:
        return RoundedDiv.apply(a, b, mode=rounding_mode)
    except ValueError:
        raise broadcast_error("div", a.shape, b.shape) from None


def _integer_div(a: Tensor, b: Tensor, mode: str) -> Tensor:
    xp = backend.get_array_module(a.data)
    if bool((b.data == 0).any()):  # NumPy gives 0 with a warning; torch raises (one device read)
        raise IntegerDivisionByZero("div: integer division by zero")  # a RuntimeError too, as torch's
    try:
        q = xp.floor_divide(a.data, b.data)
    except ValueError:
        raise broadcast_error("div", a.shape, b.shape) from None
    if mode == "trunc":  # floor and trunc differ where the division is inexact and the signs differ
        inexact = q * b.data != a.data
        q = q + (inexact & ((a.data < 0) != (b.data < 0))).astype(q.dtype)
    return Tensor._make(q, None)
