"""Writes of given values in place, with the rules of :mod:`minitf.ops.inplace`: ``x[i] = v``
(:func:`setitem`), ``fill_``, ``zero_``, ``copy_``, ``clamp_`` and ``masked_fill_``. Outside the
graph the value goes straight into ``x``'s array; while recording, the write is an op (IndexPut,
clamp, masked_fill) run out of place and written back. Re-exported by :mod:`minitf.ops.inplace`.
"""
from __future__ import annotations

import numpy as np

from .. import autograd, backend
from ..errors import DtypeError, ShapeError
from ..tensor import Tensor
from ._util import as_tensor
from .inplace import IndexPut, _check_cast, _check_value, _check_writable, _needs_graph, _record, _write_back, assign

def setitem(x: Tensor, index, value, op_name: str = "setitem") -> None:
    """``x[index] = value`` (value broadcast to the selection; boolean masks allowed). ``op_name``
    is the name errors give (fill_, copy_ and zero_ write through here)."""
    from .shape import index_data
    if x._vmap_batched:   # inside vmap: written into the batch's value
        from ..func.batching_fns import setitem as batched
        batched(x, index, value, op_name)
        return
    _check_writable(x, op_name)
    idx, advanced = index_data(index, x)
    view_of = getattr(value, "_view_of", None)
    if view_of is not None and view_of[0] is x and not advanced and _same(view_of[1], idx):
        return  # x[i] = x[i]: how Python ends `x[i] *= 2` once the view has changed in place
    if not isinstance(value, Tensor):   # a number x's dtype cannot hold (1j for a real x): torch's refusal
        from .fill_values import fill_number
        value = fill_number(op_name, value, x.dtype)
    v = as_tensor(value, x)
    _check_value(x, v, op_name)
    if v.data.dtype.kind == "c" and x.data.dtype.kind not in "cb":   # (a bool x: nonzero is True)
        # torch keeps the real part, with its UserWarning for a tensor of values (its copy_; a 0-d one
        # is read as a number, silently); NumPy's cast would warn a ComplexWarning every time
        from .complex_parts import real
        if v.ndim:
            from ._util import warn_at_user_line
            from .complex_backward import _DISCARD
            warn_at_user_line(_DISCARD)
        v = real(v)
    if _needs_graph(x, v):
        from ..view_rebase import written_through
        with written_through(None if advanced else _selection(x.data, idx)):   # (x's other views keep their grad_fn)
            _record(x, v, op_name, lambda a, b: IndexPut.apply(a, b, index=idx))
        if not advanced and x._fn is not None and getattr(x, "_base", None) is None:   # (a view's base: named in _record_on_base)
            x._fn._torch_name = _write_name(op_name, index, v)
        return
    try:
        assign(x.data, idx, v.data)
    except (ValueError, IndexError) as e:
        cls = ShapeError if isinstance(e, ValueError) else type(e)  # (a shape mismatch: torch's RuntimeError)
        raise cls(f"{op_name}: {e} (tensor shape {x.shape}, value shape {v.shape})") from None
    autograd.bump_version(x)


def _selection(a, idx):
    """The view of array ``a`` that the basic index ``idx`` writes, or None where indexing gives
    no view of it (a single element is a NumPy scalar, a copy): then every view is re-based."""
    from .inplace import take
    region = take(a, idx)
    return region if type(region) is type(a) and backend.get_array_module(a).may_share_memory(region, a) else None


_WHOLE_WRITES = {"fill_": "FillBackward2", "zero_": "ZeroBackward0", "copy_": "torch::autograd::CopyBackwards"}


def _write_name(op_name: str, key, v: Tensor) -> str:
    """torch's node for a write of basic index ``key`` (``x[0] = v``: a copy into the view, CopySlices),
    or of the whole tensor (``x[...] = 5``: a fill; fill_, zero_, copy_ their own)."""
    if op_name in _WHOLE_WRITES:
        return _WHOLE_WRITES[op_name]
    from ..grad_fn_names import getitem_key_name
    if getitem_key_name(key if isinstance(key, tuple) else (key,)) != "AliasBackward0":
        return "torch::autograd::CopySlices"
    return "FillBackward3" if v.ndim == 0 else "torch::autograd::CopyBackwards"


def _same(a, b) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False


def fill_(x: Tensor, value) -> Tensor:
    """In place: every element becomes ``value`` (a number or a one-element tensor)."""
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"fill_: only supports a 0-dimensional value tensor, got shape {value.shape}")
    setitem(x, Ellipsis, value, "fill_")
    return x


def zero_(x: Tensor) -> Tensor:
    """In place: every element becomes 0."""
    setitem(x, Ellipsis, 0, "zero_")
    return x


def copy_(x: Tensor, src: Tensor) -> Tensor:
    """In place: the values of ``src`` (broadcast to ``x``'s shape; any dtype or device)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_: src must be a Tensor, got {type(src).__name__}")
    if src.device != x.device:
        src = src.to(x.device)  # differentiable; the dtype is cast on assignment
    try:
        fits = np.broadcast_shapes(x.shape, src.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"copy_: src of shape {src.shape} cannot be broadcast to {x.shape}")
    setitem(x, Ellipsis, src, "copy_")
    return x


def clamp_(x: Tensor, min=None, max=None) -> Tensor:
    """In place: :func:`minitf.clamp`."""
    from .pointwise import clamp, check_clamp_bounds
    check_clamp_bounds(min, max)
    _check_writable(x, "clamp_")
    for bound in (min, max):
        if isinstance(bound, Tensor):
            _check_value(x, bound, "clamp_")
    if _needs_graph(x, min, max):
        return _record(x, None, "clamp_", lambda a, _: clamp(a, min, max), reads=(min, max))
    new = clamp(x.detach(), min, max).data  # tensor bounds broadcast, and min > max gives max, as torch
    _check_cast("clamp_", new.dtype, x)
    return _write_back(x, new, "clamp_")


def masked_fill_(x: Tensor, mask, value) -> Tensor:
    """In place: ``value`` (a number or a 0-d tensor) where the boolean ``mask`` (broadcastable
    to x's shape) is true, as torch's ``Tensor.masked_fill_``; recorded like the other in-place ops."""
    from .shape import masked_fill
    if not isinstance(mask, Tensor) or mask.dtype.kind != "b":
        raise DtypeError(f"masked_fill_: mask must be a bool tensor, got "
                        f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"masked_fill_: only supports a 0-dimensional value tensor, got shape {value.shape}")
    _check_writable(x, "masked_fill_")
    if np.broadcast_shapes(x.shape, mask.shape) != x.shape:
        raise RuntimeError(f"masked_fill_: mask of shape {mask.shape} cannot be broadcast to {x.shape}")
    from .fill_values import fill_number, fill_tensor_value
    v = fill_tensor_value("masked_fill_", value, x.dtype) if isinstance(value, Tensor) else \
        as_tensor(fill_number("masked_fill_", value, x.dtype), x)
    _check_value(x, mask, "masked_fill_")
    _check_value(x, v, "masked_fill_")
    if _needs_graph(x, v):
        return _record(x, v, "masked_fill_", lambda a, b: masked_fill(a, mask, b))
    backend.get_array_module(x.data).copyto(x.data, v.data, casting="unsafe", where=mask.data)
    autograd.bump_version(x)
    return x
