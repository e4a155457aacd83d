"""How an in-place change of a dual (or a write of a dual into a tensor without tangent) changes
the tangents of forward-mode AD (:mod:`minitf.forward_ad`), as torch's: the tangent changes in
place, so the base's and every view's follow. :mod:`minitf.ops.inplace` calls :func:`carry`
(the old value keeps the tangent the change reads), :func:`take` (x's tangent becomes the
result's, written into x's tangent) and, where no graph records the change,
:func:`tangent_change`. A tensor without tangent written with a dual gets zeros first
(:func:`_ensure`): for a view, in its base's tangent, laid out as the base, so the view's
tangent is the same view of it (:func:`strided_view_of_tangent`).
"""
from __future__ import annotations

from . import forward_ad
from .forward_rules import _zeros
from .tensor import Tensor


def view_of_tangent(base_tangent, index):
    """The view ``index`` (a getitem's, or a view object with ``read``) of a base's tangent."""
    if hasattr(index, "read"):
        return index.read(base_tangent)
    from .ops.inplace import take as _take
    return Tensor._make(_take(base_tangent.data, index), None)


def flows(x, *values) -> bool:
    """Whether a tangent reaches the in-place change of ``x`` by ``values`` (a level open)."""
    lv = forward_ad._active()
    return lv is not None and any(isinstance(v, Tensor) and lv.tangent_of(v) is not None for v in (x,) + values)


def carry(x, old) -> None:
    """``old`` (x's value before an in-place change) gets x's tangent, which the change reads."""
    lv = forward_ad._active()
    t = None if lv is None else lv.tangent_of(x)
    if t is not None:
        # a recorded tangent is about to be written over in place (take): the ops graph_op records
        # save a copy, which the write leaves alone (a plain one is read before the write: shared)
        lv.set(old, t.clone() if t._requires_grad else t)


def _ensure(lv, x):
    """x's tangent, made zeros where it has none (for a view, in its base's tangent: x's tangent is
    then the same view of it, so that writing it gives the base's tangent its elements, as torch's)."""
    t = lv.tangent_of(x)
    if t is not None:
        return t
    view_of = getattr(x, "_view_of", None)
    if view_of is not None:
        _ensure(lv, view_of[0])
        return lv.tangent_of(x)
    base = getattr(x, "_base", None)
    if base is not None:   # a reshaped or permuted view: the base gets zeros laid out as itself, x their view
        if lv.own_tangent(base) is None:
            from . import backend   # (zeros_like keeps a dense array's strides: x's place in it is the same)
            lv.set(base, Tensor._make(backend.get_array_module(base.data).zeros_like(base.data), None))
        t = lv.tangent_of(x)
        if t is None:
            raise NotImplementedError("forward AD: an in-place op would give a tangent to a view whose base's "
                                      "tangent is laid out otherwise than the base (or whose memory has gaps); "
                                      "make the base a dual tensor first")
        return t
    t = _zeros(x)
    lv.set(x, t)
    return t


def strided_view_of_tangent(x, base, base_tangent):
    """``x`` (a view of ``base``: a reshape, permute, transpose ...) as the view of ``base_tangent``
    at x's place in base's memory, or None where the tangent is laid out otherwise than base."""
    from .backend import storage
    a, b, t = x.data, base.data, base_tangent.data
    if a.dtype != b.dtype or t.dtype != b.dtype or t.strides != b.strides or t.shape != b.shape:
        return None
    item = a.itemsize
    offset = storage.geometry(a)[0] - storage.geometry(b)[0] + storage.geometry(t)[0]
    return Tensor._make(storage.view(t, a.shape, [s // item for s in a.strides], offset), None)


def take(x, res) -> None:
    """After an in-place change of ``x`` to ``res``'s value: x's tangent becomes res's, written into
    x's tangent in place (a view's tangent, its base's and the other views' follow)."""
    lv = forward_ad._active()
    if lv is None:
        return
    rt = lv.tangent_of(res)
    if rt is None:
        if lv.tangent_of(x) is None:
            return
        rt = _zeros(res)
    xt = _ensure(lv, x)
    flags = getattr(xt.data, "flags", None)
    if (flags is not None and not getattr(flags, "writeable", True) or 0 in xt.data.strides
            or xt._fn is None and xt._requires_grad):
        # an expanded tangent (no memory of its own to write), or the caller's leaf requiring grad
        # (an in-place change of it would be refused): x takes the new tangent itself
        lv.set(x, rt if rt.dtype == xt.dtype else rt.to(dtype=xt.dtype))
        return
    xt.copy_(rt)   # an in-place op of its own: recorded when the tangents are, version bumped


def alias(x, fresh) -> None:
    """x (a view changed in place through its base) takes the tangent of ``fresh``, its new view."""
    lv = forward_ad._active()
    t = None if lv is None else lv.tangent_of(fresh)
    if t is not None:
        lv.set(x, t)


def reshape_tangent(x, view) -> None:
    """x changed its shape in place (``unsqueeze_``, ``t_``): its tangent becomes ``view(tangent)``."""
    lv = forward_ad._active()
    t = lv.tangent_of(x)
    with forward_ad._paused(lv):
        lv.set(x, view(t))


def tangent_change(x, value, op_name: str, graph_op):
    """An in-place change that no graph records (``no_grad()``, or nothing requires grad) but a
    tangent reaches: the new value and tangent from ``graph_op(old, value)``; x keeps its grad_fn."""
    from . import autograd
    from .ops.inplace import _write
    old = Tensor._make(x.data.copy(), None)
    carry(x, old)
    res = graph_op(old, old if value is x else value)
    _write(x, res.data, op_name)
    autograd.bump_version(x)
    take(x, res)
    return x
