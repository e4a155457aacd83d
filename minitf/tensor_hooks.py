"""Gradient hooks on tensors (``Tensor.register_hook``, as torch's).

A hook is called with the gradient of a tensor once it is complete (summed over every
use of the tensor) and may return a replacement; a leaf's ``.grad`` and a non-leaf's
retained grad receive what the hooks return. The backward walk of
:mod:`minitf.backprop` calls :func:`run`; while any tensor has a hook, ``backward()``
takes that walk (``active``), since the plain loop of :mod:`minitf.autograd` adds each
contribution to a leaf's ``.grad`` as it arrives.
"""
from __future__ import annotations

import weakref

active = 0  # the number of live tensors with at least one hook


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook off (torch's handle)."""

    def __init__(self, tensor, hook):
        self._tensor, self._hook = weakref.ref(tensor), hook

    def remove(self) -> None:
        t = self._tensor()
        hooks = None if t is None else getattr(t, "_grad_hooks", None)
        if hooks and self._hook in hooks:
            hooks.remove(self._hook)
            if not hooks:
                _release(t)


def _forget() -> None:  # the tensor with hooks was freed
    global active
    active -= 1


def _release(t) -> None:
    t._grad_hooks = None
    t._hooks_finalizer.detach()
    _forget()


def register(t, hook) -> RemovableHandle:
    global active
    if not callable(hook):
        raise TypeError(f"register_hook: the hook must be callable, got {type(hook).__name__}")
    if not t.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    hooks = getattr(t, "_grad_hooks", None)
    if not hooks:
        t._grad_hooks = hooks = []
        t._hooks_finalizer = weakref.finalize(t, _forget)
        active += 1
    hooks.append(hook)
    return RemovableHandle(t, hook)


def run(t, g, create_graph: bool):
    """``g`` (an array, or a Tensor with ``create_graph``) through ``t``'s hooks, in order."""
    from .tensor import Tensor
    for hook in list(t._grad_hooks):
        out = hook(g if create_graph else Tensor._make(g, None))
        if out is None:
            continue
        if not isinstance(out, Tensor):
            raise TypeError(f"a gradient hook must return a Tensor or None, got {type(out).__name__}")
        if out.shape != t.shape:
            raise RuntimeError(f"a gradient hook returned a gradient of shape {out.shape} for a tensor "
                               f"of shape {t.shape}")
        if out.dtype != t.dtype or out.device != t.device:  # torch refuses too
            raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} has changed the type of value (was "
                               f"{t.dtype} on {t.device}, got {out.dtype} on {out.device})")
        g = out if create_graph else out.data
    return g


def move_to_detached(t, node) -> None:
    """``t.detach_()``: ``node`` now stands for ``t`` in the graph built before. ``t``'s hooks
    move to it, and a gradient retained by ``t`` (``retain_grad``) still lands in ``t.grad``
    (torch keeps both on the graph's node)."""
    hooks = getattr(t, "_grad_hooks", None)
    if hooks:
        _release(t)
    hooks = list(hooks or ())
    if t._retain:
        ref = weakref.ref(t)

        def retain(g):  # runs after the other hooks, as torch's retain_grad
            owner = ref()
            if owner is not None:
                owner._grad = type(g)._make(g.data.copy() if owner._grad is None else owner._grad.data + g.data, None)
        hooks.append(retain)
    for hook in hooks:
        register(node, hook)
