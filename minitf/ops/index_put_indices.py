"""torch's ``index_put`` / ``index_put_``: ``x[indices] = values`` (or ``+=`` with
``accumulate=True``, where a repeated index adds every value, unlike ``x[i] += v``), over the
existing ops: the write is :func:`minitf.ops.inplace.index_put`, the sum
:func:`minitf.ops.index_ops.index_add` over the indexed dims flattened into one.

(Not named ``index_put.py``: importing a submodule of that name would rebind ``minitf.ops.index_put``,
the function, to the module.)"""
from __future__ import annotations

from .. import backend
from ..errors import ArgumentTypeError, DtypeError, ShapeError
from ..tensor import Tensor
from ._util import as_tensor


def _index_tuple(name: str, indices, x: Tensor) -> tuple:
    if not isinstance(indices, (tuple, list)) or not all(isinstance(i, Tensor) or i is None for i in indices):
        raise ArgumentTypeError(f"{name}: indices must be a tuple of tensors (one per leading dim), "
                                f"got {type(indices).__name__}")
    if len(indices) > x.ndim:
        raise ShapeError(f"{name}: too many indices for tensor of dimension {x.ndim} (got {len(indices)})")
    return tuple(slice(None) if i is None else i for i in indices)


def _accumulated(x: Tensor, idx: tuple, values) -> Tensor:
    """x + the values summed at their places: the k indexed dims are one dim of prod(sizes), the
    places there ``ravel_multi_index`` of the (broadcast) indices."""
    xp = backend.get_array_module(x.data)
    k = len(idx)
    if any(isinstance(i, slice) for i in idx):
        raise ShapeError("index_put: accumulate=True takes index tensors only (no None entries)")
    arrays = xp.broadcast_arrays(*[i.data.astype("int64") if i.dtype.kind != "b" else xp.nonzero(i.data)[0]
                                   for i in idx])
    lead = x.shape[:k]
    for a, n in zip(arrays, lead):
        if a.size and (a.max() >= n or a.min() < -n):
            raise IndexError(f"index_put: index {int(a.max()) if a.max() >= n else int(a.min())} is out of bounds "
                             f"for a dimension of size {n}")
    place = xp.ravel_multi_index(tuple(a % n for a, n in zip(arrays, lead)), lead).reshape(-1) if k else None
    flat = x.reshape((-1,) + x.shape[k:])
    v = as_tensor(values, x)
    v = v.to(dtype=x.dtype) if v.dtype != x.dtype else v
    v = v.expand(arrays[0].shape + x.shape[k:]).reshape((-1,) + x.shape[k:])
    return flat.index_add(0, Tensor._make(place, None), v).reshape(x.shape)


def _check_values(name: str, x: Tensor, values):
    """torch's rule: a values tensor of x's own dtype (a cast would drop a complex value's imaginary
    part into a real x, silently); a number (minitf takes one) converted as the fills convert it."""
    if isinstance(values, Tensor):
        if values.dtype != x.dtype:
            raise DtypeError(f"{name}: Index put requires the source and destination dtypes match, got {x.dtype} "
                             f"for the destination and {values.dtype} for the source (as torch)")
        return values
    from .fill_values import fill_number
    return fill_number(name, values, x.dtype)


def index_put(x: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """``x`` with ``x[indices] = values`` (``+=``, every repeat counted, with ``accumulate``), out of
    place, differentiable in x and values. x: (n0, ..., rest); indices: k index tensors (broadcast
    together to shape I); values: broadcastable to I + rest, of x's dtype (as torch)."""
    from .inplace import index_put as put
    idx = _index_tuple("index_put", indices, x)
    values = _check_values("index_put", x, values)
    return _accumulated(x, idx, values) if accumulate else put(x, idx, values)


def index_put_(x: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """In place: :func:`index_put` written into x (the rules of :mod:`minitf.ops.inplace`)."""
    from .inplace import setitem
    idx = _index_tuple("index_put_", indices, x)
    values = _check_values("index_put_", x, values)
    if not accumulate:
        setitem(x, idx, values, "index_put_")
        return x
    from .inplace_methods import from_op
    return from_op("index_put_", lambda a: _accumulated(a, idx, values))(x)
