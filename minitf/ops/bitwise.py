"""Bitwise ops on bool and integer tensors (``&``, ``|``, ``^``, ``~``), as torch's bitwise_and,
bitwise_or, bitwise_xor and bitwise_not: operands promoted by PyTorch's rules (``bool_tensor & 2``
is int64), floating tensors refused. Outside the graph: they have no gradient."""
from __future__ import annotations

from .. import backend
from ..errors import DtypeNotImplemented
from ..tensor import Tensor
from ._util import elementwise_outside_graph
from .promotion import promote_operands


def _integral(name: str, *tensors) -> None:
    for t in tensors:
        if t.dtype.kind not in "biu":
            raise DtypeNotImplemented(f"{name}: defined for bool and integer tensors only (as torch), got {t.dtype}")


def _bitwise(a, b, name: str) -> Tensor:
    a, b = promote_operands(a.detach() if isinstance(a, Tensor) else a, b.detach() if isinstance(b, Tensor) else b)
    _integral(name, a, b)
    return elementwise_outside_graph(name, a, b)


def bitwise_and(a, b) -> Tensor:
    """``a & b`` elementwise (logical and for bool), broadcasting."""
    return _bitwise(a, b, "bitwise_and")


def bitwise_or(a, b) -> Tensor:
    """``a | b`` elementwise, broadcasting."""
    return _bitwise(a, b, "bitwise_or")


def bitwise_xor(a, b) -> Tensor:
    """``a ^ b`` elementwise, broadcasting."""
    return _bitwise(a, b, "bitwise_xor")


def bitwise_not(x: Tensor) -> Tensor:
    """``~x``: logical not of a bool tensor, two's-complement inversion of an integer one."""
    _integral("bitwise_not", x)
    return Tensor._make(backend.get_array_module(x.data).invert(x.data), None)
