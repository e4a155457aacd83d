"""How the debug tools watch the engine: :class:`~minitf.detect_anomaly` (:mod:`minitf.anomaly`)
and :class:`~minitf.profile` (:mod:`minitf.profiler`) register a hook while they are on.

A hook is an object with ``on_forward(cls, inputs, out, seconds)``, called after every op's
forward, and ``on_backward(fn, grad_out, grads_in, seconds)``, called after every op's backward
(by the general walk, :mod:`minitf.backprop`, which ``backward()`` hands over to while a hook
is on). ``synchronize = True`` asks for device synchronisation around every timing, so a GPU
op's seconds are its own and not those of the work queued before it.

The registered hooks are a tuple, ``minitf.autograd._hooks``: it stays in the engine, which
tests it on every ``Function.apply``, and those that watch (``autograd._watchers``) on every
``backward()``; with none registered that test of an empty tuple is all the hooks cost. A hook
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

from . import autograd, backend


_registered: tuple = ()   # the hooks registered, whatever an op's unhooked run has set meanwhile


def push(hook) -> None:
    """Register ``hook`` (a debug tool entering its context)."""
    _set(_registered + (hook,))


def pop(hook) -> None:
    """Unregister ``hook`` (a debug tool leaving its context, even by an error)."""
    _set(tuple(h for h in _registered if h is not hook))


def _set(hooks) -> None:
    # a hook with ``watches = False`` only routes ops (the complex guard): it is not timed or shown
    global _registered
    _registered = hooks
    autograd._hooks = hooks
    autograd._watchers = tuple(h for h in hooks if getattr(h, "watches", True))


def before_write(tensor) -> None:
    """Tell every hook with a ``before_write`` method that ``tensor``'s storage is about to change."""
    for h in autograd._hooks:
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
    hooks = autograd._hooks
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
    watchers = autograd._watchers
    autograd._hooks = ()  # the op itself runs unhooked: nothing is counted twice
    try:
        if not watchers:   # route-only hooks: nothing to time or show
            return cls.apply(*inputs, **params)
        start = clock(watchers, inputs)
        run = next((h.run_op for h in watchers if hasattr(h, "run_op")), None)
        out = cls.apply(*inputs, **params) if run is None else run(cls, inputs, params)
        seconds = clock(watchers, inputs) - start
    finally:   # the hooks registered now (another thread may have pushed or popped one meanwhile)
        autograd._hooks = _registered
    for h in watchers:
        h.on_forward(cls, inputs, out, seconds)
    return out
