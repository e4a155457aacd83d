"""Rounding division and its remainders, as torch: floor_divide (``//``, rounding toward -inf),
remainder (``%``, the sign of the divisor, Python's) and fmod (the sign of the dividend, C's).

Operands promote by PyTorch's rules (``int_tensor // 2.5`` is the default float dtype); bool
tensors are refused and an integer division by zero raises, as torch (NumPy would give 0 with
a warning: the check reads one flag back from a GPU, a synchronisation).

A zero remainder has the sign of the dividend, as torch's (``remainder(-0., 2.)`` and
``remainder(-3., 3.)`` are -0.; NumPy gives the divisor's sign). Both agree elsewhere,
infinities and NaN included. (torch's vectorised CPU fmod gives NaN where ``a / b`` overflows,
``fmod(1e300, 1e-10)`` for tensors of 8 or more float64 elements, exact below that: minitf
gives the exact C fmod at every size.)
"""
from __future__ import annotations

from ..errors import broadcast_error
from .. import backend
from ..autograd import Function
from ..errors import DtypeNotImplemented
from ..tensor import Tensor
from ._util import require_tensor
from .promotion import promote_operands


class IntegerDivisionByZero(RuntimeError, ZeroDivisionError):
    """An integer floor_divide / remainder / fmod by zero: a RuntimeError, as torch's, and a
    ZeroDivisionError, as Python's ``5 // 0``."""


def _const(a, like) -> Tensor:
    return Tensor._make(a.astype(like.dtype, copy=False), None)


class FloorDivide(Function):
    """Piecewise constant; PyTorch defines no derivative for it and raises in backward, as here."""

    saves_inputs = saves_output = False

    def forward(self, a, b):
        return backend.get_array_module(a).floor_divide(a, b)

    def backward(self, g):
        raise RuntimeError("the derivative for 'floor_divide' is not implemented (as PyTorch); "
                           "detach() its inputs, or use remainder, whose gradient is defined")

    backward_graph = backward


class Remainder(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        xp = backend.get_array_module(a)
        r = xp.remainder(a, b)
        if r.dtype.kind == "f":   # a zero takes a's sign (torch's fmod-based remainder), not b's
            r = xp.where(r == 0, xp.copysign(r, a), r)
        return r

    def backward(self, g):  # r = a - b floor(a / b): dr/da = 1, dr/db = -floor(a / b) (torch's)
        return g, -g * backend.get_array_module(g).floor_divide(self.a, self.b)

    def backward_graph(self, g):  # floor(a / b) is piecewise constant: a constant factor is exact
        a, b = self.inputs
        q = backend.get_array_module(g.data).floor_divide(a.data, b.data)
        return g, -g * _const(q, g)


class Fmod(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return backend.get_array_module(a).fmod(a, b)

    def backward(self, g):  # r = a - b trunc(a / b): dr/da = 1, dr/db = -trunc(a / b) (torch's)
        return g, -g * backend.get_array_module(g).trunc(self.a / self.b)

    def backward_graph(self, g):
        a, b = self.inputs
        q = backend.get_array_module(g.data).trunc(a.data / b.data)
        return g, -g * _const(q, g)


def _divide(cls, name: str, a, b) -> Tensor:
    if getattr(a, "_vmap_batched", False) or getattr(b, "_vmap_batched", False):   # inside vmap: per example
        from ..func.batching_fns import elementwise
        return elementwise(lambda a, b: _divide(cls, name, a, b), a, b)
    a, b = promote_operands(a, b)
    if a.dtype.kind == "b":
        raise DtypeNotImplemented(f"{name}: not defined for bool tensors (as torch); convert with x.int() first")
    if a.dtype.kind in "iu" and bool((b.data == 0).any()):
        raise IntegerDivisionByZero(f"{name}: integer division by zero ({a.dtype} operands, as torch "
                                    f"refuses); floating-point operands give inf or nan")
    try:
        return cls.apply(a, b)
    except ValueError:
        raise broadcast_error(name, a.shape, b.shape) from None


def floor_divide(a, b) -> Tensor:
    """floor(a / b) elementwise (``a // b``), broadcasting; torch.floor_divide's rounding (toward
    -inf, since torch 1.13). No derivative, as torch: backward through it raises."""
    return _divide(FloorDivide, "floor_divide", a, b)


def remainder(a, b) -> Tensor:
    """a - b floor(a / b) (``a % b``): the sign of ``b``, as Python and torch.remainder. Gradients:
    1 for a, -floor(a / b) for b."""
    return _divide(Remainder, "remainder", a, b)


def fmod(a, b) -> Tensor:
    """a - b trunc(a / b): the sign of ``a``, as C's fmod and torch.fmod. Gradients: 1 for a,
    -trunc(a / b) for b. ``a`` must be a Tensor (torch.fmod takes no number there)."""
    require_tensor("fmod", a, "input")
    return _divide(Fmod, "fmod", a, b)
