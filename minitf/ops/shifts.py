"""torch's bit shifts (``bitwise_left_shift``, ``bitwise_right_shift``, the operators ``<<`` and
``>>`` and their in-place forms). (``gcd_``, ``lcm_`` and ``renorm_`` are in-place forms of
:mod:`minitf.ops.inplace_family`'s table.)

A shift is defined for every count, as torch's: after PyTorch's type promotion (``int8 << 2`` is
int8, ``uint8 << int64_tensor`` int64), a count below 0 or of at least the dtype's bit width
shifts everything out: 0, or -1 for a negative value shifted right (an arithmetic shift). NumPy
leaves those counts undefined, so they are clamped before its shift and set after. Integer
tensors only (bool and floats are refused, as torch); no gradient.
"""
from __future__ import annotations

from ..errors import DtypeNotImplemented
from ..tensor import Tensor
from ._util import check_same_device
from .promotion import promote_operands


def _shift(a, b, name: str, left: bool) -> Tensor:
    a, b = promote_operands(a.detach() if isinstance(a, Tensor) else a, b.detach() if isinstance(b, Tensor) else b)
    for t in (a, b):
        if t.dtype.kind not in "iu":
            raise DtypeNotImplemented(f"{name}: defined for integer tensors only (as torch), got {t.dtype}")
    check_same_device(name, [a, b])
    from .. import backend
    xp = backend.get_array_module(a.data)
    x, n = a.data, b.data
    bits = x.dtype.itemsize * 8
    out_of_range = (n < 0) | (n >= bits)
    count = xp.clip(n, 0, bits - 1).astype(x.dtype)
    if left or x.dtype.kind == "u":
        shifted = (xp.left_shift if left else xp.right_shift)(x, count)
        spill = xp.zeros((), dtype=x.dtype)
    else:   # a signed right shift by bits - 1 is already the all-out value: 0, or -1 for negatives
        shifted, spill = xp.right_shift(x, count), xp.right_shift(x, x.dtype.type(bits - 1))
    return Tensor._make(xp.where(out_of_range, spill, shifted).astype(x.dtype, copy=False), None)


def bitwise_left_shift(input, other) -> Tensor:
    """``input << other`` elementwise, broadcast (PyTorch's promotion; counts outside [0, bits) give 0)."""
    return _shift(input, other, "bitwise_left_shift", True)


def bitwise_right_shift(input, other) -> Tensor:
    """``input >> other`` elementwise, broadcast: arithmetic (sign-filling) for signed dtypes; counts
    outside [0, bits) give 0, or -1 for negative values."""
    return _shift(input, other, "bitwise_right_shift", False)


def _inplace(name, fn):
    from .inplace import _from_out_of_place
    return _from_out_of_place(name, fn)


def _lazy_inplace(name, fn):
    def op(x, other):
        return _inplace(name, fn)(x, other)
    op.__name__, op.__doc__ = name, f"In place: ``x.{name[:-1]}(other)`` written into x (its dtype kept, as torch)."
    return op


bitwise_left_shift_ = _lazy_inplace("bitwise_left_shift_", bitwise_left_shift)
bitwise_right_shift_ = _lazy_inplace("bitwise_right_shift_", bitwise_right_shift)


