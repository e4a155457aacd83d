"""``torch.autograd.graph.allow_mutation_on_saved_tensors``: in-place changes of saved tensors allowed.

    with mt.autograd.graph.allow_mutation_on_saved_tensors():
        b = a.clone()
        out = (b ** 2).sum()       # Pow saves b
        b.sin_()                   # b is cloned first: Pow's backward reads the clone
        out.backward()             # a.grad == 2 * a, where outside the context: the version error

How. Inside the context a pair of saved-tensor hooks (:mod:`minitf.saved_tensors`) packs every
tensor an op saves as a handle (one per tensor and version), and a debug hook
(:mod:`minitf.debughooks`, ``before_write``) is told of every in-place write before it happens
(the write paths of :mod:`minitf.ops.inplace`: the arithmetic and math ``_`` methods, ``x[i] = v``,
``fill_``/``zero_``/``copy_``, ``clamp_``, ``masked_fill_``, the index writes, the random fills
and ``unsqueeze_``-style reshapes, ``resize_``). A write into a storage some live handle's tensor
shares (the version counter is the storage's, so a view's write counts: torch's check, by data
pointer, misses a view at an offset) clones that tensor first; the handle unpacks the clone, and
backward's version check passes over the saved tensors so kept (:func:`kept`). A saved tensor
changed by a path that does not tell (an optimizer's or ``nn.init``'s direct array writes, or a
write before the first one that told) is not cloned: backward raises the usual in-place error.

As torch's: the backward of a graph recorded inside must run inside (outside, the unpack is an
AssertionError), the contexts do not nest (RuntimeError), and the context returns its state
(:class:`_AllowMutationOnSavedContext`), cleared on exit.
"""
from __future__ import annotations

import contextlib
import weakref
from collections import defaultdict

from . import autograd as _ag, debughooks
from .saved_tensors import saved_tensors_hooks

__all__ = ["allow_mutation_on_saved_tensors"]

_enabled = [False]   # a context is entered (in some thread: torch's flag is the process's too)
_OUTSIDE = ("Trying to backward outside of the 'allow_mutation_on_saved_tensors' context in which the "
            "graph was originally recorded")


class _Handle:
    """What the pack hook returns for one saved tensor (and version); ``cloned``: its value was
    copied before an in-place change, so backward's version check lets it pass."""

    __slots__ = ("cloned", "__weakref__")

    def __init__(self):
        self.cloned = False


class _AllowMutationOnSavedContext:
    """The state of one :func:`allow_mutation_on_saved_tensors` (torch's names): ``original`` (handle
    -> the saved tensor, until it is cloned), ``cloned`` (handle -> its clone),
    ``tid_to_weakhandle`` ((id, version) of a saved tensor -> its handle) and ``sid_to_tid`` (id of
    a storage's version counter -> those keys of the tensors saved from it)."""

    def __init__(self):
        self.cloned: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.original: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.tid_to_weakhandle: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self.sid_to_tid: dict = defaultdict(set)

    def clear(self) -> None:
        """Forget every saved tensor (on exit)."""
        self.cloned.clear()
        self.original.clear()
        self.tid_to_weakhandle.clear()
        self.sid_to_tid.clear()

    def pack(self, t) -> _Handle:
        tid = (id(t), t._version)
        self.sid_to_tid[id(_ag.shared_counter(t))].add(tid)
        handle = self.tid_to_weakhandle.get(tid)
        if handle is None or self.original.get(handle) is not t:   # (the same tensor saved twice: one handle)
            handle = _Handle()
            self.tid_to_weakhandle[tid] = handle
            self.original[handle] = t
        return handle

    def unpack(self, handle: _Handle):
        if not _enabled[0]:
            raise AssertionError(_OUTSIDE)
        t = self.cloned.get(handle)
        if t is None:
            t = self.original.get(handle)
            if t is None:
                raise AssertionError(_OUTSIDE)
        return t

    def before_write(self, x) -> None:
        """``x``'s storage is about to change in place: clone every saved tensor that shares it."""
        vc = getattr(x, "_vc", None)
        tids = self.sid_to_tid.get(id(vc)) if vc is not None else None
        if not tids:
            return
        for tid in tuple(tids):
            handle = self.tid_to_weakhandle.get(tid)
            t = None if handle is None else self.original.get(handle)
            # a tensor changed since it was saved, by a write that did not tell: left to the version check
            if t is None or getattr(t, "_vc", None) is not vc or t._version != tid[1]:
                continue
            with _ag.no_grad():
                self.cloned[handle] = t.detach().clone()
            handle.cloned = True
            del self.original[handle]


class _WriteWatch:
    """The debug hook of an entered context: told of each in-place write first (``before_write``);
    it routes no op and times none."""

    watches = False

    def __init__(self, ctx: _AllowMutationOnSavedContext):
        self.before_write = ctx.before_write


@contextlib.contextmanager
def allow_mutation_on_saved_tensors():
    """Context manager under which a tensor saved for backward may be changed in place: it is
    cloned first, and backward reads the clone (see the module docstring). Run the forward and
    the backward inside it. Yields the context's state (:class:`_AllowMutationOnSavedContext`)."""
    if _enabled[0]:
        raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
    ctx = _AllowMutationOnSavedContext()
    watch = _WriteWatch(ctx)
    with saved_tensors_hooks(ctx.pack, ctx.unpack):
        debughooks.push(watch, thread=True)   # this thread's writes (torch's hooks and mode: thread-local)
        _enabled[0] = True
        try:
            yield ctx
        finally:
            _enabled[0] = False
            debughooks.pop(watch)
            ctx.clear()


def kept(value) -> bool:
    """Whether a packed value is a handle whose tensor was cloned before an in-place change."""
    return type(value) is _Handle and value.cloned
