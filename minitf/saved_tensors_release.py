"""Releasing the arrays of tensors only the graph holds, once every op that reads them has packed them.

minitf's graph is made of the tensors themselves: an op keeps its input Tensors (``fn.inputs``),
so an activation stays alive, array and all, while the graph does, even when every op that
reads it packed it with a saved-tensor hook (:mod:`minitf.saved_tensors`). Torch's graph holds
only the packed values, and a tensor no one else holds is freed. This module does the same for
minitf's: a non-leaf tensor whose only references are the ``inputs`` of live ops that each
packed every occurrence of it (``sys.getrefcount`` says so: a user's variable, a view, a
``_prev`` or any other holder is one reference more; a tensor with a weak reference is left
alone too) gets, in place of its array, a zero-stride broadcast of one zero of its dtype on its
device (no memory; the shape, dtype and device backward reads from it stay right). The first of those ops to run
its backward puts the unpacked array back (:func:`restore`), before anything reads its values:
an op's consumers run their backward before it, and each of them unpacks it first.

The check runs when the outermost hooks context exits and, while it is entered, whenever the
tensors noted have doubled since the last check (amortised O(1) per op), so that a long forward
frees each block's activations once its locals are gone rather than at its end.
"""
from __future__ import annotations

import sys
import weakref

from . import backend

_noted: list = []          # (weakref to a tensor, weakref to an op that packed it), since the last sweep
_next_sweep = [64]         # sweep when _noted reaches this many
_released: dict = {}       # id(tensor) -> the stand-in array it holds, until restored


def note(t, fn) -> None:
    """``fn`` packed its input ``t``: a candidate for release if it is a non-leaf and not a view op's
    output (whose backward's version check may compare its array with its base's)."""
    if t._fn is None or t._fn.is_view:
        return
    # a weakref with a callback is an object of its own (a plain one is shared with any other
    # plain weakref.ref(t)), so sweep can tell its own weak references from anyone else's
    _noted.append((weakref.ref(t, _ignore), weakref.ref(fn)))


def _ignore(ref) -> None:
    pass


def maybe_sweep() -> None:
    """:func:`sweep` if the tensors noted have doubled since the last one (after an op is packed)."""
    if len(_noted) >= _next_sweep[0]:
        sweep()


def _fully_packed(t, fn) -> int:
    """How many times ``fn`` (alive, not yet run) takes ``t``, if it packed every one; else 0."""
    if fn is None or fn.freed:
        return 0
    packed = fn.__dict__.get("_saved_packed")
    if packed is None:
        return 0
    n = sum(1 for i in fn.inputs if i is t)
    ks = {v.index for _, _, _, items in packed for v in items if getattr(v, "index", None) is not None}
    return n if sum(1 for k in ks if fn.inputs[k] is t) == n else 0


def sweep() -> None:
    """Release every noted tensor that only packing ops hold (see the module docstring)."""
    by_tensor: dict = {}   # id of a live tensor -> the (tensor's weakref, op's weakref) noted for it
    for pair in _noted:
        t = pair[0]()
        if t is not None:
            by_tensor.setdefault(id(t), []).append(pair)
        del t
    _noted.clear()
    for pairs in by_tensor.values():
        t = pairs[0][0]()
        if t is None or id(t) in _released:
            continue
        expected, ok = 0, True
        for fref in {id(f): f for _, f in pairs}.values():
            n = _fully_packed(t, fref())
            if n == 0:
                ok = False
                break
            expected += n
        # the references: `expected` from those ops' inputs, one from the name t, one from the call;
        # and no weak reference but the notes' (a weakref's holder would find the tensor alive and
        # zero, where torch's, freed, would be gone: a WeakValueDictionary cache, a hook's weakref)
        if ok and sys.getrefcount(t) == expected + 2 and weakref.getweakrefcount(t) == len(pairs):
            _release(t)
        elif ok:   # held elsewhere for now (a local of the forward under way): try again next time
            _noted.extend(pairs)
        del t
    _next_sweep[0] = max(64, 2 * len(_noted))


def _release(t) -> None:
    xp = backend.get_array_module(t.data)
    stand_in = xp.broadcast_to(xp.zeros((), dtype=t.data.dtype), t.data.shape)
    t.data = _released[id(t)] = stand_in
    weakref.finalize(t, _released.pop, id(t), None)


def restore(t, data) -> None:
    """``t``'s array back (``data``, an unpacked value of it) if it was released."""
    if _released.get(id(t)) is t.data:
        t.data = data
        del _released[id(t)]
