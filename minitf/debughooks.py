"""How the debug tools watch the engine: :class:`~minitf.detect_anomaly` (:mod:`minitf.anomaly`)
and :class:`~minitf.profile` (:mod:`minitf.profiler`) register a hook while they are on.

A hook is an object with ``on_forward(cls, inputs, out, seconds)``, called after every op's
forward, and ``on_backward(fn, grad_out, grads_in, seconds)``, called after every op's backward
(by the general walk, :mod:`minitf.backprop`, which ``backward()`` hands over to while a hook
is on). ``synchronize = True`` asks for device synchronisation around every timing, so a GPU
op's seconds are its own and not those of the work queued before it.

Threads, as torch's tools: a hook is the process's (anomaly mode, forward-AD levels, the complex
guard, vmap's batching, which looks at each thread's own runs) or, registered with
``push(hook, thread=True)``, only its thread's (the profiler, saved-tensor hooks,
``allow_mutation_on_saved_tensors``). The hooks registered in all threads are a tuple,
``minitf.autograd._hooks``: it stays in the engine, which tests it on every ``Function.apply``,
and those that watch (``autograd._watchers``) on every ``backward()``; with none registered that
test of an empty tuple is all the hooks cost. Only then is this thread's tuple read
(``autograd._tls.hooks``, :func:`active`, :func:`watchers`): the process's hooks then its own,
or none while :func:`apply_hooked` runs an op unhooked (:func:`swap`, in this thread only). A hook
with ``watches = False`` and a ``route(cls, inputs, params)`` method only chooses the class each
op runs with (the complex guard, :mod:`minitf.complex_guard`): no timing, no general walk. This
module replaces the tuples (never mutates them), so a walk that read one keeps the hooks it
started with.

A hook with a ``before_write(tensor)`` method is told of an in-place write before it happens
(:func:`before_write`, called by the write paths of :mod:`minitf.ops.inplace` while any hook
is registered): ``allow_mutation_on_saved_tensors`` clones a saved tensor there
(:mod:`minitf.saved_tensors_mutation`).

A hook with a ``run_op(cls, inputs, params)`` method runs the op itself, in place of
``cls.apply(*inputs, **params)`` (forward-mode AD, :mod:`minitf.forward_rules`: it needs the
op's parameters and node to give the output its tangent); the other hooks see its output.
"""
from __future__ import annotations

import time
from _thread import allocate_lock

from . import autograd, backend


_registered: tuple = ()   # the process-wide hooks: every thread's ops see them
_owned: list = []         # the hooks each thread registered for itself (push(thread=True)), all threads'
_lock = allocate_lock()


def push(hook, thread: bool = False) -> None:
    """Register ``hook`` (a debug tool entering its context). ``thread=True``: only this thread's
    ops see it, as torch's thread-local tools (the profiler, saved-tensor hooks); otherwise every
    thread's do (anomaly mode, forward-AD levels: process-wide in torch)."""
    global _registered
    with _lock:
        if thread:
            s = autograd._tls
            s.own = s.own + (hook,)
            _owned.append(hook)
        else:
            _registered = _registered + (hook,)
        _publish()


def pop(hook) -> None:
    """Unregister ``hook`` (a debug tool leaving its context, even by an error)."""
    global _registered
    with _lock:
        s = autograd._tls
        k = next((i for i, h in enumerate(s.own) if h is hook), None)   # one registration: the first made
        if k is not None:
            s.own = s.own[:k] + s.own[k + 1:]
            del _owned[next(i for i, h in enumerate(_owned) if h is hook)]
        else:
            _registered = tuple(h for h in _registered if h is not hook)
        _publish()


def _publish() -> None:
    # a hook with ``watches = False`` only routes ops (the complex guard): it is not timed or shown
    autograd._hooks = hooks = _registered + tuple(_owned)
    autograd._watchers = _watching(hooks)
    _watch_cache.clear()
    autograd._ThreadState.hooks = _registered   # what a thread with no hooks of its own sees
    _mine(autograd._tls)


def _mine(s) -> tuple:
    """Set (and return) the hooks thread state ``s`` sees: the process-wide ones, then its own."""
    if s.swapped:   # an op runs unhooked (apply_hooked): restore() sets them when it is done
        return s.hooks
    if s.own:
        s.hooks, s.base = _registered + s.own, _registered
    else:
        s.__dict__.pop("hooks", None)   # the class's value: the process-wide hooks, kept current
    return s.hooks


def active() -> tuple:
    """The debug hooks this thread's ops see now (empty while an op runs unhooked)."""
    s = autograd._tls
    if s.own and not s.swapped and s.base is not _registered:   # the process-wide ones changed since
        return _mine(s)
    return s.hooks


def _watching(hooks) -> tuple:
    return tuple(h for h in hooks if getattr(h, "watches", True))


_watch_cache: dict = {}


def watchers(hooks=None) -> tuple:
    """Those of ``hooks`` (this thread's, by default) that watch the ops: all but route-only hooks."""
    hooks = active() if hooks is None else hooks
    w = _watch_cache.get(hooks)
    if w is None:
        w = _watch_cache[hooks] = _watching(hooks)
    return w


def swap(hooks: tuple):
    """Make ``hooks`` those of this thread's ops (``()``: unhooked) until :func:`restore` is given
    what this returns; other threads' hooks are untouched."""
    s = autograd._tls
    prev = s.hooks
    s.swapped += 1
    s.hooks = hooks
    return prev


def restore(prev) -> None:
    """Undo the :func:`swap` that returned ``prev``."""
    s = autograd._tls
    s.swapped -= 1
    if s.swapped:
        s.hooks = prev
    else:
        _mine(s)   # (what this thread registered meanwhile, and the process-wide ones now)


def before_write(tensor) -> None:
    """Tell every hook with a ``before_write`` method that ``tensor``'s storage is about to change."""
    for h in active():
        tell = getattr(h, "before_write", None)
        if tell is not None:
            tell(tensor)


def clock(hooks, tensors) -> float:
    """Seconds on the performance counter, after waiting for the device of ``tensors`` when a
    hook asks for synchronisation."""
    if any(getattr(h, "synchronize", False) for h in hooks):
        for t in tensors:
            if t.device != "cpu":
                backend.synchronize(t.device)
                break
    return time.perf_counter()


def apply_hooked(cls, inputs, params):
    """``cls.apply(*inputs, **params)`` timed, then shown to every hook (``on_forward``). A hook
    with a ``route(cls, inputs, params)`` method chooses the class that runs (or refuses the op):
    the complex guard (minitf/complex_guard.py), first; then a hook with ``on_apply`` (vmap's
    batching, :mod:`minitf.func.batching`) may compute the op instead: it returns the result, or
    NotImplemented to let the op run."""
    hooks = active()
    for h in hooks:
        route = getattr(h, "route", None)
        if route is not None:
            cls = route(cls, inputs, params)
    for h in hooks:
        on_apply = getattr(h, "on_apply", None)
        if on_apply is not None:
            out = on_apply(cls, inputs, params)
            if out is not NotImplemented:
                return out
    watching = watchers(hooks)
    prev = swap(())  # the op itself runs unhooked in this thread: nothing is counted twice
    try:
        if not watching:   # route-only hooks: nothing to time or show
            return cls.apply(*inputs, **params)
        start = clock(watching, inputs)
        run = next((h.run_op for h in watching if hasattr(h, "run_op")), None)
        out = cls.apply(*inputs, **params) if run is None else run(cls, inputs, params)
        seconds = clock(watching, inputs) - start
    finally:
        restore(prev)
    for h in watching:
        h.on_forward(cls, inputs, out, seconds)
    return out
