"""The dtype of a binary op on mixed operands, by PyTorch's rules rather than NumPy's.

The two differ where categories mix (bool < integer < floating). PyTorch gives an
integer tensor times a float32 tensor float32, and an integer tensor times 0.5 the
default float dtype; NumPy gives float64 in both cases. PyTorch also ranks its
operands: tensors with dimensions decide the dtype before 0-d tensors, and those
before Python numbers, unless a lower-ranked operand is of a higher category. So
float32 times a 0-d float64 tensor stays float32, and ``bool_tensor + 3`` is int64
(NumPy would make the 3 a bool).

    result_type(int64 tensor, 0.5)            -> float32 (the default dtype)
    result_type(int64 tensor, float32 tensor) -> float32
    result_type(float32 tensor, 0-d float64)  -> float32
    result_type(int32 tensor, 7)              -> int32
    result_type(bool tensor, 3)               -> int64

:func:`promote_operands` casts both operands to that dtype before the op runs. The
cast is differentiable, so a cast input gets its gradient back in its own dtype.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._util import as_tensor, differentiable, scalar_tensor

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def promote_types(a, b) -> np.dtype:
    """``torch.promote_types``: the dtype of the higher category, and within one
    category NumPy's promotion (which agrees there: int8 and uint8 give int16)."""
    a, b = np.dtype(a), np.dtype(b)
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb and (ca < 2 or cb < 2):
        return a if ca > cb else b
    return np.promote_types(a, b)   # (float64 with complex64: complex128, as torch)


def can_cast(from_, to) -> bool:
    """``torch.can_cast``: whether an in-place op may write a result of dtype ``from_`` into a tensor
    of dtype ``to``. Only a cast to a lower category is refused (a float into an integer or bool
    tensor, an integer into a bool one); within a category anything goes (int64 into uint8 wraps,
    float64 into float32 rounds), where NumPy's "same_kind" also refuses a signed into an unsigned."""
    cf, ct = _CATEGORY[np.dtype(from_).kind], _CATEGORY[np.dtype(to).kind]
    return cf <= ct


def _number_dtype(x) -> np.dtype:
    """A Python (or NumPy) number, as PyTorch wraps it: bool, int64 or the default float dtype."""
    if isinstance(x, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(x, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(x, (float, np.floating)):
        from ..creation import get_default_dtype  # here: creation imports the ops package
        return get_default_dtype()
    if isinstance(x, (complex, np.complexfloating)):   # the default float dtype's complex one, as torch
        from ..creation import get_default_dtype
        from ..dtypes import _check_dtype
        return _check_dtype(np.result_type(np.complex64, get_default_dtype()))
    raise TypeError(f"unsupported operand type {type(x).__name__} for a tensor op")


def _combine(higher, lower):
    """PyTorch's combine_categories: ``higher`` (better-ranked operands) wins unless ``lower``
    is of a higher category. None stands for no operand of that rank."""
    if higher is None:
        return lower
    if lower is not None and lower.kind == "c" and higher.kind != "c":
        # a complex of lower rank: the complex of higher's precision when higher is a float (float32 * 1j
        # is complex64 whatever the default dtype), else the complex itself
        return np.result_type(higher, np.complex64) if higher.kind == "f" else lower
    if lower is None or higher.kind in "fc":
        return higher
    if higher.kind == "b" or lower.kind in "fc":
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> np.dtype:
    """The dtype PyTorch gives an elementwise op on ``operands`` (Tensors and numbers)."""
    dims = zeros = numbers = None
    for x in operands:
        if isinstance(x, Tensor):
            d = x.dtype
            if x.ndim:
                dims = d if dims is None else promote_types(dims, d)
            else:
                zeros = d if zeros is None else promote_types(zeros, d)
        else:
            d = _number_dtype(x)
            numbers = d if numbers is None else promote_types(numbers, d)
    return _combine(dims, _combine(zeros, numbers))


def _as(x, dtype, like: Tensor) -> Tensor:
    """``x`` (a Tensor or a number) in ``dtype``, on ``like``'s device; a cast tensor keeps its graph."""
    if isinstance(x, Tensor):
        if x.dtype == dtype:
            return x
        # a recorded cast when a gradient (or a dual's tangent) must flow; otherwise the array's own (also to
        # dtypes minitf does not name, such as int16 from int8 + uint8)
        return x.to(dtype=dtype) if differentiable(x) else Tensor._make(x.data.astype(dtype), None)
    return scalar_tensor(x, dtype, like)


cast_operand = _as


def promote_operands(a, b, true_division: bool = False):
    """Both operands as Tensors of :func:`result_type` (``true_division``: bool and integer
    results become the default float dtype, as ``/`` in PyTorch). At least one is a Tensor."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)   # Parameters too
    if ta and tb:
        da, db = a.data.dtype, b.data.dtype
        if (da is db or da == db) and (not true_division or da.kind == "f"):
            return a, b                              # the common case: nothing to decide
    # a float tensor with a Python number keeps its dtype whatever the number (x * 0.5, 1 - x)
    if ta and type(b) in (int, float) and a.data.dtype.kind == "f":
        return a, scalar_tensor(b, a.data.dtype, a)
    if tb and type(a) in (int, float) and b.data.dtype.kind == "f":
        return scalar_tensor(a, b.data.dtype, b), b
    like = a if isinstance(a, Tensor) else b
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        # a host array is a tensor on the CPU (as_tensor refuses it beside a device tensor)
        a, b = (as_tensor(x, like) if isinstance(x, np.ndarray) else x for x in (a, b))
    dtype = result_type(a, b)
    if true_division and dtype.kind in "biu":
        from ..creation import get_default_dtype
        dtype = get_default_dtype()
    return _as(a, dtype, like), _as(b, dtype, like)
