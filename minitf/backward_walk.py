"""The backward pass under way: :class:`_Walk` (one pass, as a context), per thread, and torch's
``queue_callback`` for the end of the outermost pass. The engine (minitf/autograd.py) enters a walk
for every backward; nodes read :func:`current_walk` to tell this pass's gradients from an earlier one's.
"""
from __future__ import annotations

from _thread import _local as _thread_local  # threading.local itself, without importing threading

from . import autograd as _ag, backend

# the backward pass under way in each thread (a _Walk, None outside one): per thread, as PyTorch's
# engine runs a backward per thread (DataParallel's tests run ranks as threads, each its own pass)
_walks = _thread_local()


def current_walk():
    """The innermost backward pass (a ``_Walk``) under way in this thread, or None."""
    return getattr(_walks, "walk", None)


class _Walk:
    """One backward pass, as a context: NumPy's floating-point warnings off inside it
    (``backend.quiet_fp_warnings``: inf/NaN gradients are PyTorch's values, given silently).
    It notes the ``.grad`` tensors the pass made (``made``: ids) and those it added into in
    place (``changed``); on leaving, even by an error, each changed one's version is bumped
    once, as PyTorch's AccumulateGrad runs once per leaf and backward. The epoch advances
    then, not per addition (mid-walk, it would send every later op through the version
    checks: +24% on a chain of small ops), so an op of this same walk that saved a ``.grad``
    added into before its turn is not caught (PyTorch would raise); later backwards are.
    ``current_walk()`` is the innermost walk under way: a node tells a gradient noted in this
    pass from one left by an earlier pass that failed midway; ``recompute`` whether the pass
    under way is the general walk (``general``); ``failed``, once it has ended, whether by an error
    (what lets DataParallel's hooks tell a pass that raised midway from one that completed);
    ``callbacks``: what :func:`queue_callback` asked to run once the outermost pass completes
    (None when nothing was asked: one test at the end of each pass)."""

    __slots__ = ("made", "changed", "_quiet", "_outer", "general", "failed", "callbacks")

    def __enter__(self):
        self.made, self.changed, self.failed, self.callbacks = set(), {}, False, None
        self.general = False  # set by the general walk (minitf/backprop.py), which delivers extra_grads
        self._quiet = backend.quiet_fp_warnings()
        self._quiet.__enter__()
        self._outer, _walks.walk = current_walk(), self
        return self

    def __exit__(self, *exc):
        _walks.walk = self._outer
        self.failed = exc[0] is not None
        self._quiet.__exit__(*exc)
        if self.changed:
            _ag._epoch += 1   # one epoch for the whole pass (see above)
            for tg in self.changed.values():
                _ag.bump_version(tg, advance=False)
        if self.callbacks and exc[0] is None:  # queue_callback's, of a pass that completed
            # a callback may queue another, run after it (torch's): the list grows as it is read
            prev, _walks.finishing = getattr(_walks, "finishing", None), self
            try:
                for callback in self.callbacks:
                    callback()
            finally:
                _walks.finishing = prev


def queue_callback(callback) -> None:
    """Call ``callback()`` once the backward pass under way has finished (torch's
    ``Variable._execution_engine.queue_callback``): after its last gradient is accumulated
    and before ``backward()`` returns, in the order queued; not at all if the pass raises.
    Called from inside the pass (a hook) or from a callback (run after it). A nested pass (a
    recompute's, or an ``mt.grad`` inside a hook) queues on the outermost one, where torch's
    reentrant pass runs its own at its end: so DistributedDataParallel's wait, which this is,
    comes once, after the whole backward."""
    walk = outermost_walk() or getattr(_walks, "finishing", None)
    if walk is None:
        raise RuntimeError("queue_callback: final callbacks can only be installed during a backward pass")
    if walk.callbacks is None:
        walk.callbacks = []
    walk.callbacks.append(callback)


def outermost_walk():
    """The backward pass under way (the outermost walk: a recompute's nested one is part of it), or None."""
    w = current_walk()
    while w is not None and w._outer is not None:
        w = w._outer
    return w
