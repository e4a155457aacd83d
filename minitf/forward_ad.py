"""Forward-mode AD with dual tensors, as ``torch.autograd.forward_ad`` (importable as
``minitf.autograd.forward_ad``).

    import minitf.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        x = fwAD.make_dual(primal, tangent)        # a view of primal carrying a tangent
        y = f(x)                                   # every op propagates tangents as it runs
        jvp = fwAD.unpack_dual(y).tangent          # J t, in one forward pass

While a level is open, a debug hook (:mod:`minitf.debughooks`) sees every op; an op with a
dual input gives its output the tangent J t at once (:mod:`minitf.forward_rules`), under
``no_grad()`` too. With no level open, nothing of this runs. As torch: one level at a time
(nested levels are an error), tangents are dropped when their level exits, ``detach()`` drops
the tangent, a view's tangent is the same view of its base's tangent and an in-place op on a
dual changes its tangent in place (so the base's and the other views' tangents follow).
"""
from __future__ import annotations

import weakref
from typing import NamedTuple



__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]


class UnpackedDualTensor(NamedTuple):
    """What :func:`unpack_dual` returns: the ``primal`` (a view of the dual without its tangent)
    and the ``tangent`` (a Tensor of the primal's shape, or None)."""
    primal: object
    tangent: object


class _Level:
    """One open dual level: the tangents of its tensors, by ``id`` (a tensor's entry goes when it does)."""

    def __init__(self):
        self.store = {}     # id(tensor) -> (weakref to it, its tangent)
        self.paused = 0     # > 0 while minitf runs code whose ops must not see tangents (a custom forward)
        self.dropped_complex = False   # an op on duals gave a complex output, which gets no tangent
        from .forward_rules import ForwardHook
        self.hook = ForwardHook(self)

    def own_tangent(self, t):
        e = self.store.get(id(t))
        return e[1] if e is not None and e[0]() is t else None

    def tangent_of(self, t):
        """``t``'s tangent: its own, or for a view taken before its base got a tangent by an in-place
        op, that view of the base's tangent (by the index of an indexing view, ``_view_of``; else by
        the view's place in the base's memory)."""
        e = self.store.get(id(t))
        if e is not None and e[0]() is t:
            return e[1]
        view_of = getattr(t, "_view_of", None)
        if view_of is not None:
            bt = self.tangent_of(view_of[0])
            if bt is not None:
                from .forward_inplace import view_of_tangent
                tangent = view_of_tangent(bt, view_of[1])
                self.set(t, tangent)
                return tangent
        elif getattr(t, "_base", None) is not None:   # a reshaped, permuted ... view: its place in memory
            bt = self.own_tangent(t._base)
            if bt is not None:
                from .forward_inplace import strided_view_of_tangent
                tangent = strided_view_of_tangent(t, t._base, bt)
                if tangent is not None:
                    self.set(t, tangent)
                return tangent
        return None

    def set(self, t, tangent) -> None:
        k = id(t)
        store = self.store

        def gone(ref, k=k):
            e = store.get(k)
            if e is not None and e[0] is ref:
                del store[k]
        store[k] = (weakref.ref(t, gone), tangent)


_current = None   # the open level (one at most), or None


def _active():
    """The open level when its tangents are live (not paused, and not under ``inference_mode()``,
    which turns forward AD off as torch's does), else None."""
    lv = _current
    if lv is None or lv.paused:
        return None
    from . import autograd
    return None if autograd._tls.inference else lv


def enter_dual_level() -> int:
    """Open a dual level and return its number (0: one level at a time, as torch)."""
    global _current
    if _current is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment: exit the open dual level first")
    from . import debughooks
    _current = _Level()
    debughooks.push(_current.hook)
    return 0


def exit_dual_level(*, level=None) -> None:
    """Close the open dual level (``level``: its number, 0); its tangents are dropped."""
    global _current
    if _current is None:
        raise RuntimeError("exit_dual_level: no forward AD level is open (enter_dual_level() first)")
    if level is not None and level != 0:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. "
                           "This is not supported.")
    from . import debughooks
    lv, _current = _current, None
    debughooks.pop(lv.hook)
    lv.store.clear()


class dual_level:
    """Context manager (and decorator) for one dual level: ``with dual_level() as level:``
    gives the level's number; its tangents are dropped on leaving."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with dual_level():
                return fn(*args, **kwargs)
        return wrapper


def _level_for(level, what: str):
    if level is None or level == 0:
        return _current
    raise RuntimeError(f"{what}: invalid level {level!r} (the open dual level is 0)")


def make_dual(tensor, tangent, *, level=None):
    """A view of ``tensor`` (shape S, floating) whose tangent is ``tangent`` (shape S, floating,
    same device), as torch's: ops on it propagate J t. Needs an open dual level."""
    from .tensor import Tensor
    if _current is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    lv = _level_for(level, "make_dual")
    for name, t in (("primal", tensor), ("tangent", tangent)):
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dual: expected the {name} to be a Tensor, got {type(t).__name__}")
        if t.dtype.kind != "f":
            raise ValueError(f"Expected {name} to be floating point or complex, but got: {t.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    if tangent.device != tensor.device:
        from .backend import DeviceError
        raise DeviceError(f"make_dual: the tangent is on {tangent.device}, the primal on {tensor.device}")
    if lv.tangent_of(tensor) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                           "level 0 is not supported.")
    if _active() is None:   # under inference_mode(): a plain view, as torch's
        return tensor.view_as(tensor)
    with _paused(lv):
        out = tensor.view_as(tensor)
        tangent = _laid_out_as(tensor, tangent)
    lv.set(out, tangent)
    return out


def _laid_out_as(primal, tangent):
    """``tangent``, or a copy of it (a recorded op) dense in the primal's order of strides, as
    torch's make_dual copies a tangent whose layout differs: a view's tangent must be a view of the
    dual's (``x.view(6)`` of a transposed or expanded tangent would be a copy, so an in-place op
    on the view left the dual's tangent as it was)."""
    strides = primal.data.strides
    order = sorted(range(primal.ndim), key=lambda d: -strides[d])   # stable: ties keep their order
    moved = tangent.permute(order) if order != list(range(primal.ndim)) else tangent
    flags = getattr(tangent.data, "flags", None)
    if moved.is_contiguous() and (flags is None or getattr(flags, "writeable", True)):
        return tangent
    back = sorted(range(len(order)), key=order.__getitem__)
    if moved is not tangent:
        return moved.contiguous().permute(back)
    from .type_objects import contiguous_format   # (clone's default, preserve_format, would keep a transposed layout)
    return tangent.clone(memory_format=contiguous_format)


def unpack_dual(tensor, *, level=None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor``: the primal a view of it carrying no tangent, the
    tangent None where it has none (or no level is open), as torch's."""
    from .tensor import Tensor
    if not isinstance(tensor, Tensor):
        raise TypeError(f"unpack_dual(): argument 'dual' must be Tensor, not {type(tensor).__name__}")
    lv = _active() if level in (None, 0) else None   # (a custom Function's forward sees no tangents)
    tangent = None if lv is None else lv.tangent_of(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor.view_as(tensor), None)
    with _paused(lv):
        primal = tensor.view_as(tensor)
    lv.set(primal, None)   # a view that carries no tangent, whatever its base's
    return UnpackedDualTensor(primal, tangent)


class _paused:
    """Ops inside do not see the level's tangents (nor make any)."""

    def __init__(self, lv):
        self.lv = lv

    def __enter__(self):
        self.lv.paused += 1

    def __exit__(self, *exc):
        self.lv.paused -= 1
