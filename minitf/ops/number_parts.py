"""Number-theoretic and floating-point-structure ops, all outside the graph as torch's are
(integer results, or no derivative): frexp, gcd, lcm, isposinf, isneginf, isreal.
"""
from __future__ import annotations

from collections import namedtuple

from .. import backend
from ..errors import DtypeError
from ..tensor import Tensor
from ._util import binary_operands, check_same_device, require_tensor
from .promotion import result_type

frexp_return = namedtuple("frexp", ["mantissa", "exponent"])   # torch.return_types.frexp


def _tensor(name: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def frexp(input: Tensor):
    """``(mantissa, exponent)`` with input = mantissa * 2 ** exponent, |mantissa| in [0.5, 1)
    (0, inf and NaN: themselves with exponent 0), as torch.frexp. input: floating, any shape
    -> mantissa of its dtype and shape, exponent int32."""
    x = _tensor("frexp", input)
    if x.dtype.kind != "f":
        raise DtypeError(f"torch.frexp() only supports floating-point dtypes, got {x.dtype}")
    xp = backend.get_array_module(x.data)
    m, e = xp.frexp(x.data)
    return frexp_return(Tensor._make(m, None), Tensor._make(e.astype("int32"), None))


def _integer_pair(name: str, input, other):
    require_tensor(name, other)
    a, b = binary_operands(_tensor(name, input), other)
    check_same_device(name, [a, b])
    dt = result_type(a, b)   # a bool beside an integer tensor is promoted to it, as torch
    if dt.kind not in "iu" or a.dtype.kind not in "biu" or b.dtype.kind not in "biu":
        raise DtypeError(f"{name}: not implemented for {a.dtype} and {b.dtype} (integer tensors only, as torch)")
    return a.data.astype(dt, copy=False), b.data.astype(dt, copy=False), backend.get_array_module(a.data)


def gcd(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise greatest common divisor (non-negative; gcd(0, 0) = 0) of two integer
    tensors, broadcast, as torch.gcd."""
    a, b, xp = _integer_pair("gcd", input, other)
    return Tensor._make(xp.gcd(a, b), None)


def lcm(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise least common multiple (non-negative; 0 where either is 0) of two
    integer tensors, broadcast, as torch.lcm."""
    a, b, xp = _integer_pair("lcm", input, other)
    return Tensor._make(xp.lcm(a, b), None)


def _refuse_complex(name: str, x: Tensor) -> None:
    from ..complex_guard import refuse
    refuse(name, x, why="an infinity has no sign in the complex plane")


def isposinf(input: Tensor) -> Tensor:
    """Whether each element is +inf (bool, input's shape), as torch.isposinf."""
    x = _tensor("isposinf", input)
    xp = backend.get_array_module(x.data)
    if x.dtype.kind == "c":
        _refuse_complex("isposinf", x)
    if x.dtype.kind != "f":
        return Tensor._make(xp.zeros(x.shape, dtype=bool), None)
    return Tensor._make(x.data == xp.inf, None)


def isneginf(input: Tensor) -> Tensor:
    """Whether each element is -inf (bool, input's shape), as torch.isneginf."""
    x = _tensor("isneginf", input)
    xp = backend.get_array_module(x.data)
    if x.dtype.kind == "c":
        _refuse_complex("isneginf", x)
    if x.dtype.kind != "f":
        return Tensor._make(xp.zeros(x.shape, dtype=bool), None)
    return Tensor._make(x.data == -xp.inf, None)


def isreal(input: Tensor) -> Tensor:
    """Whether each element has a zero imaginary part (bool, input's shape), as torch.isreal:
    all True for a real dtype."""
    x = _tensor("isreal", input)
    xp = backend.get_array_module(x.data)
    if x.data.dtype.kind == "c":
        return Tensor._make(xp.imag(x.data) == 0, None)
    return Tensor._make(xp.ones(x.shape, dtype=bool), None)


__all__ = ["frexp", "gcd", "lcm", "isposinf", "isneginf", "isreal"]
