"""Gradient hooks on tensors, as torch's: ``Tensor.register_hook`` and
``Tensor.register_post_accumulate_grad_hook``.

A gradient hook (``register_hook``) is called with the gradient of a tensor once it is
complete (summed over every use of the tensor) and may return a replacement; a leaf's
``.grad`` and a non-leaf's retained grad receive what the hooks return. A
post-accumulate-grad hook is called with the leaf itself, during the backward pass, as
soon as the leaf's ``.grad`` holds its final value for that pass (every use accumulated):
what data parallelism needs to send a gradient while the rest of backward still runs.

The backward walk of :mod:`minitf.backprop` calls :func:`run` and :func:`run_post`;
while any tensor has a hook of either kind, ``backward()`` takes that walk
(``active``), since the plain loop of :mod:`minitf.autograd` adds each contribution to a
leaf's ``.grad`` as it arrives and never asks whether it was the last.
"""
from __future__ import annotations

import weakref

active = 0  # the number of live tensors with hooks of a kind (counted once per kind)
posted = 0  # the number of live leaves with post-accumulate-grad hooks (the walk counts their uses only then)


class RemovableHandle:
    """What the ``register_*hook`` methods return: ``remove()`` takes the hook off (torch's handle)."""

    def __init__(self, tensor, hook, post: bool = False):
        self._tensor, self._hook, self._post = weakref.ref(tensor), hook, post

    def remove(self) -> None:
        t = self._tensor()
        if t is None:
            return
        hooks = post_hooks(t) if self._post else getattr(t, "_grad_hooks", None)
        if hooks and self._hook in hooks:
            hooks.remove(self._hook)
            if not hooks:
                if self._post:
                    t._post_hooks.finalizer.detach()
                    t._post_hooks = None
                    _drop_post()
                else:
                    _release(t)


def _forget() -> None:  # the tensor with hooks was freed
    global active
    active -= 1


def _release(t) -> None:
    t._grad_hooks = None
    t._hooks_finalizer.detach()
    _forget()


def _drop_post() -> None:  # a leaf's last post-accumulate-grad hook is gone, or the leaf itself
    global active, posted
    active -= 1
    posted -= 1


class _PostHooks:
    """A leaf's post-accumulate-grad hooks and the finalizer that uncounts them when the leaf is
    freed: one Tensor slot (``_post_hooks``) for both. A Tensor asks for 8 bytes more (144 with
    the GC header) and still gets a 144-byte block from Python's allocator, as before."""

    __slots__ = ("hooks", "finalizer")

    def __init__(self, t):
        self.hooks, self.finalizer = [], weakref.finalize(t, _drop_post)


def post_hooks(t):
    """The post-accumulate-grad hooks of ``t`` (a list), or None."""
    entry = getattr(t, "_post_hooks", None)
    return None if entry is None else entry.hooks


def _check(t, hook, name) -> None:
    if not callable(hook):   # torch finds out only when backward calls it
        raise TypeError(f"{name}: the hook must be callable, got {type(hook).__name__}")
    if not t.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")


def register(t, hook) -> RemovableHandle:
    global active
    _check(t, hook, "register_hook")
    hooks = getattr(t, "_grad_hooks", None)
    if not hooks:
        t._grad_hooks = hooks = []
        t._hooks_finalizer = weakref.finalize(t, _forget)
        active += 1
    hooks.append(hook)
    return RemovableHandle(t, hook)


def register_post(t, hook) -> RemovableHandle:
    global active, posted
    _check(t, hook, "register_post_accumulate_grad_hook")
    if t._fn is not None:   # torch's message: a non-leaf has no .grad to accumulate into
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    entry = getattr(t, "_post_hooks", None)
    if entry is None:
        entry = t._post_hooks = _PostHooks(t)
        active += 1
        posted += 1
    entry.hooks.append(hook)
    return RemovableHandle(t, hook, post=True)


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


def run_post(t) -> None:
    """The post-accumulate-grad hooks of leaf ``t``, in order, each called with ``t``."""
    for hook in list(post_hooks(t) or ()):
        if hook(t) is not None:
            raise RuntimeError("Tensor post accumulate grad hooks should return None.")   # torch's words


class PostCounts:
    """The leaves with post-accumulate-grad hooks in one backward pass, and how many gradient
    contributions each is still to receive: ``arrived(t)`` after each addition into ``t.grad``
    runs ``t``'s hooks when it was the last, and :meth:`finish` those of the leaves that got
    something but fewer than counted (an op returned no gradient for some input)."""

    def __init__(self, edges):
        """``edges``: the tensors that feed a gradient into something, once per use (a root, each
        input of each op in the walk)."""
        self.left = {}
        for t in edges:
            self.expect(t)

    def arrived(self, t) -> None:
        entry = self.left.get(id(t))
        if entry is not None:
            entry[1] -= 1
            entry[2] = True
            if entry[1] <= 0:
                del self.left[id(t)]
                run_post(t)

    def expect(self, t) -> None:
        """One more contribution is on its way to ``t`` than the edges showed (a leaf that
        ``recompute``'s function closes over, found only when its backward ran)."""
        if t._fn is None and getattr(t, "_post_hooks", None) is not None:
            entry = self.left.get(id(t))
            if entry is None:
                self.left[id(t)] = [t, 1, False]
            else:
                entry[1] += 1

    def finish(self) -> None:
        for t, _, touched in list(self.left.values()):
            if touched:
                run_post(t)
        self.left.clear()


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
