"""Predicates and comparisons under PyTorch's names: isnan, isinf, isfinite, any, all,
logical_and/or/xor/not, eq/ne/lt/le/gt/ge, equal, isclose, count_nonzero.

Every result is outside the graph (bool tensors, int64 counts, or a Python bool for
``equal``), as in torch: none of these is differentiable.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._util import binary_operands, check_same_device, elementwise_outside_graph, normalize_axis, require_tensor
from .arithmetic import compare


def _predicate(x: Tensor, name: str) -> Tensor:
    if x._vmap_batched:   # inside vmap: elementwise on the batch's values
        return x._wrap(_predicate(x._value, name))
    xp = backend.get_array_module(x.data)
    if x.dtype.kind not in "fc":  # integers and bools are never NaN or infinite
        return Tensor._make(xp.full(x.data.shape, name == "isfinite", dtype=bool), None)
    return Tensor._make(getattr(xp, name)(x.data), None)


def isnan(x: Tensor) -> Tensor:
    """Where x is NaN (bool, x's shape)."""
    return _predicate(x, "isnan")


def isinf(x: Tensor) -> Tensor:
    """Where x is +inf or -inf (bool, x's shape)."""
    return _predicate(x, "isinf")


def isfinite(x: Tensor) -> Tensor:
    """Where x is neither NaN nor infinite (bool, x's shape)."""
    return _predicate(x, "isfinite")


def _bool_reduce(x: Tensor, dim, keepdim, name: str) -> Tensor:
    if x._vmap_batched:   # inside vmap: over the example's dims
        from ..func.batching_fns import along
        return along(any if name == "any" else all, x, dim, keepdim=keepdim)
    a = x.data if x.dtype.kind == "b" else x.data != 0
    # uint8 in, uint8 0/1 out: torch's documented exception to the bool result (NumPy's rule elsewhere)
    kind = np.uint8 if x.dtype == np.uint8 else np.bool_
    if isinstance(dim, (tuple, list)) and not dim:  # torch's any/all over dim=() reduce nothing (sum's: all)
        return Tensor._make(a.astype(kind), None)
    axes = normalize_axis(dim, x.ndim, name)
    out = a.any(axis=axes, keepdims=bool(keepdim)) if name == "any" else a.all(axis=axes, keepdims=bool(keepdim))
    return Tensor._make(backend.get_array_module(a).asarray(out).astype(kind, copy=False), None)


def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether any element is nonzero, over ``dim`` (int, tuple, or None for all; ``()`` reduces
    nothing, as torch's any, unlike sum): bool (uint8 0/1 for a uint8 x, as torch).
    x: (d_0, ..., d_{n-1}) -> the reduced dims removed (kept as 1 with ``keepdim``)."""
    return _bool_reduce(x, dim, keepdim, "any")


def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether every element is nonzero, over ``dim`` (int, tuple, or None for all): bool (uint8 0/1
    for a uint8 x, as torch)."""
    return _bool_reduce(x, dim, keepdim, "all")


def count_nonzero(x: Tensor, dim=None) -> Tensor:
    """The number of nonzero elements over ``dim`` (int, tuple, or None for all): int64."""
    axes = normalize_axis(dim, x.ndim, "count_nonzero")
    a = x.data if x.dtype.kind == "b" else x.data != 0
    xp = backend.get_array_module(a)
    return Tensor._make(xp.asarray(a.sum(axis=axes)).astype("int64"), None)


def _logical(a, b, name: str) -> Tensor:
    require_tensor(name, a, "input")   # tensors only, as torch's
    require_tensor(name, b)
    return elementwise_outside_graph(name, *binary_operands(a, b))


def logical_and(a, b) -> Tensor:
    """Elementwise a and b (nonzero is true), broadcasting: bool."""
    return _logical(a, b, "logical_and")


def logical_or(a, b) -> Tensor:
    """Elementwise a or b, broadcasting: bool."""
    return _logical(a, b, "logical_or")


def logical_xor(a, b) -> Tensor:
    """Elementwise a xor b, broadcasting: bool."""
    return _logical(a, b, "logical_xor")


def logical_not(x: Tensor) -> Tensor:
    """Elementwise not x (zero is false): bool."""
    if x._vmap_batched:
        return x._wrap(logical_not(x._value))
    return Tensor._make(backend.get_array_module(x.data).logical_not(x.data), None)


def eq(a, b) -> Tensor:
    """a == b elementwise, broadcasting: bool."""
    require_tensor("eq", a, "input")   # a number only on the right, as torch's (3 < x is x > 3)
    return compare(a, b, "equal")


def ne(a, b) -> Tensor:
    """a != b elementwise: bool."""
    require_tensor("ne", a, "input")
    return compare(a, b, "not_equal")


def lt(a, b) -> Tensor:
    """a < b elementwise: bool."""
    require_tensor("lt", a, "input")
    return compare(a, b, "less")


def le(a, b) -> Tensor:
    """a <= b elementwise: bool."""
    require_tensor("le", a, "input")
    return compare(a, b, "less_equal")


def gt(a, b) -> Tensor:
    """a > b elementwise: bool."""
    require_tensor("gt", a, "input")
    return compare(a, b, "greater")


def ge(a, b) -> Tensor:
    """a >= b elementwise: bool."""
    require_tensor("ge", a, "input")
    return compare(a, b, "greater_equal")


def equal(a: Tensor, b: Tensor) -> bool:
    """Whether ``a`` and ``b`` have the same shape and the same elements (a Python bool, as
    torch.equal; NaN equals nothing). Reads one bool from the device."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"equal: expected two tensors, got {type(a).__name__} and {type(b).__name__}")
    check_same_device("equal", [a, b])
    if a.shape != b.shape:
        return False
    return bool((a.data == b.data).all())


def isclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Elementwise |a - b| <= atol + rtol |b| (bool, broadcasting), as torch.isclose."""
    a, b = binary_operands(a, b)
    check_same_device("isclose", [a, b])
    xp = backend.get_array_module(a.data)
    return Tensor._make(xp.asarray(xp.isclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan)), None)
