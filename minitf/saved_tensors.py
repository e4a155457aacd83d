"""Hooks on what ops save for backward: ``torch.autograd.graph.saved_tensors_hooks`` and its kin.

    with mt.autograd.graph.save_on_cpu():
        loss = model(x)            # every array an op keeps for backward goes to the host
    loss.backward()                # and comes back to the device when that op's backward runs

What is saved. minitf's ops keep what their ``backward`` reads as attributes of the Function
(``Mul`` its operands' arrays ``self.a``, ``self.b``; ``Exp`` its output; ``LayerNorm`` the
normalised input ``xhat`` it derived): there is no single save point as torch's
``SavedVariable``. While a pair of hooks is entered, a debug hook (:mod:`minitf.debughooks`,
so the engine pays nothing while none is entered) looks, after each recorded op's forward, at
the Function's array attributes (one level into tuples and lists of arrays) and calls
``pack_hook`` once per saved array, in the order the op set them:

* an attribute that is an input's array, for an input backward reads (``saved_inputs``, what
  the version check uses: ``a * b`` with only ``b`` requiring grad saves ``b`` alone, as torch's
  ``MulBackward0``), is packed as that input Tensor; an input backward does not read stays, and
  so does a 0-d constant (``x * 1.5``'s number, a tensor here: torch keeps numbers unpacked);
* one that is the output's array (``saves_output``) is packed as the output Tensor, the one the
  op returns (torch's hook gets the output itself too);
* an attribute that is an input's array reshaped (``Linear``'s ``x.reshape(-1, C)``) is packed as
  that input, and reshaped again when unpacked;
* any other array (``xhat``, a mask, GELU's ``tanh``) is packed as a Tensor that needs no grad.

Functions an op keeps as attributes (attention's kernel) are looked into the same way.

The packed value replaces the attribute, which is removed, so the Function no longer holds the
array. Before the op's backward runs, a node prehook (:mod:`minitf.graph_nodes`: such a node
sends ``backward()`` to the general walk, as any hooked node does) calls ``unpack_hook`` on each
and puts the arrays back; after it, a node hook removes them again (a ``retain_graph=True``
pass unpacks again next time, as torch's); without ``retain_graph`` the node is freed as usual.
A packed attribute read outside backward (max pooling's ``return_indices``) is unpacked then,
through the ``__getattr__`` of a twin class the packed node takes (:func:`_packed_type`).
Custom Functions' ``ctx.save_for_backward`` tensors are packed when forward ends and unpacked
on every read of ``ctx.saved_tensors`` (torch's counts). Both hooks run under ``no_grad()``.

What it frees. minitf's graph is made of the tensors themselves (``fn.inputs``), so an input an
op saves would stay alive, array and all, as long as the graph holds the tensor. So a non-leaf
tensor that only the graph's packing ops hold has its array released once they have all
packed it, and put back at the first unpack (:mod:`minitf.saved_tensors_release`): as torch
frees a saved tensor nobody else holds. What stays is what some op takes without saving it (the
residual stream, read by additions) and what the user still holds. On the fake device a GPT
block's graph holds 75% less device memory under ``save_on_cpu``
(``benchmarks/saved_tensors_memory.py``; docs/autograd.md has the figures).

Double backward. An unpacked value for a custom Function's saved input or output that is not
the tensor itself carries that tensor's graph (an identity node to it), so a backward written
in Tensor ops differentiates again under ``create_graph=True``. minitf's own ops record their
double-backward (``backward_graph``) from their input Tensors, as the graph holds them: their
first-order gradient under ``create_graph=True`` reads the unpacked attributes only where
``backward_graph`` reads attributes, so a hook that *changes* values reaches a plain backward
fully and a recorded one only partly (torch's reads the unpacked values).

Threads. As torch's, the stack of entered pairs (and ``disable_saved_tensors_hooks``' message)
is each thread's own: a thread that entered none does not pack its ops. So is the debug hook,
registered for a thread while it has a pair entered (``debughooks.push(thread=True)``), and so are
grad mode (a pack hook runs under ``no_grad()``, which leaves other threads recording) and the
unhooked run of a hooked op (:func:`minitf.debughooks.apply_hooked`), as torch's: two threads may
run ops at the same time, each recorded and packed as it would be alone.

A failed unpack. An ``unpack_hook`` that raises stops the backward pass with its error; the node
it was unpacking for is left as it was, and so is every node that ran before it in that pass
and saved nothing (``_saves_nothing``, set here at forward: the general walk frees those only
when the pass completes), so a second backward, once the hook is fixed, works where torch's does
(the nodes that saved something and ran are freed, as torch's).

Kept difference: an unpacked tensor of another shape or device than the saved one is a
RuntimeError here.
"""
from __future__ import annotations

import weakref

import numpy as np

from . import autograd as _ag, backend, graph_nodes
from . import saved_tensors_release as release
from .backend import storage
from .autograd import Function
from .tensor import Tensor

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]



from .saved_tensors_context import (current, disable_saved_tensors_hooks,   # noqa: F401 (re-exported)
                                    save_on_cpu, saved_tensors_hooks)


_NOT_ARRAYS = (int, float, bool, str, tuple, list, dict, type(None), slice)


def _is_array(v) -> bool:
    """Whether ``v`` is an array of some device (not a NumPy scalar, nor any other attribute)."""
    t = type(v)
    if t is np.ndarray:
        return True
    if t in _NOT_ARRAYS or isinstance(v, np.generic):
        return False
    try:
        return backend.device_of(v) != "cpu"
    except TypeError:
        return False


class _Packed:
    """One saved array's packed value, with the hook that unpacks it and what it must come back as."""

    __slots__ = ("value", "unpack_hook", "shape", "device", "index", "reshape")

    def __init__(self, t: Tensor, pack_hook, unpack_hook, index=None, reshape=None):
        with _ag.no_grad():   # torch runs both hooks without recording
            self.value = pack_hook(t)
        self.unpack_hook, self.shape, self.device = unpack_hook, t.shape, t.device
        self.index = index   # the op's input it is, if it is one (its array may be released meanwhile)
        self.reshape = reshape   # the shape the op kept it at, if it kept a reshaped view of that input

    def unpack(self) -> Tensor:
        with _ag.no_grad():
            t = self.unpack_hook(self.value)
        if not isinstance(t, Tensor):
            raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got result of "
                            f"type {type(t).__name__}")
        if t.shape != self.shape or t.device != self.device:
            raise RuntimeError(f"saved tensor unpack_hook returned a tensor of shape {t.shape} on {t.device} "
                               f"for one saved with shape {self.shape} on {self.device}")
        return t


class _Watch:
    """The debug hook of a thread while it has a pair entered: packs each recorded op's saved arrays."""

    synchronize = False

    def on_forward(self, cls, inputs, out, seconds) -> None:
        fn = getattr(out, "_fn", None)
        hooks = current()
        if fn is None or hooks is None or fn.freed or "_saved_packed" in fn.__dict__:
            return
        packed = _pack_op(fn, out, *hooks)
        if packed:
            fn.__dict__["_saved_packed"] = packed
            graph_nodes.register_node_hook(fn, _Restore(fn), pre=True)
            graph_nodes.register_node_hook(fn, _Release(fn), pre=False)
            fn.__class__ = _packed_type(type(fn))
            release.maybe_sweep()
        elif not _holds_arrays(fn):   # (Sum, Add, a view): re-runnable after a pass a hook failed
            fn.__dict__["_saves_nothing"] = True

    def on_backward(self, fn, grad_out, grads_in, seconds) -> None:
        pass


_WATCH = _Watch()


def _holds_arrays(fn: Function, seen=None) -> bool:
    """Whether ``fn`` keeps an array attribute (alone, or in a tuple or list), or a Function that does."""
    seen = seen or {id(fn)}
    for key, value in fn.__dict__.items():
        if key == "params" or key.startswith("_"):
            continue
        if _is_array(value) or type(value) in (tuple, list) and any(_is_array(v) for v in value):
            return True
        if isinstance(value, Function) and id(value) not in seen:
            seen.add(id(value))
            if _holds_arrays(value, seen):
                return True
    return False


def _reshape_of(a, b) -> bool:
    """Whether array ``a`` is ``b`` reshaped (a view of the same elements in the same order)."""
    return (a.size == b.size and a.dtype == b.dtype and a.size > 0 and a.flags.c_contiguous
            and b.flags.c_contiguous and storage.data_ptr(a) == storage.data_ptr(b))


def _pack_op(fn: Function, out: Tensor, pack_hook, unpack_hook) -> list:
    """Pack ``fn``'s saved arrays (see the module docstring) and remove them from ``fn`` (and from the
    Functions it keeps as attributes, as attention keeps its kernel's): ``[(the dict they were in,
    attribute, container type or None, [a _Packed or a value kept as is, ...]), ...]``."""
    inputs = fn.inputs
    read = set(fn.saved_inputs(inputs))
    claimed = set()   # inputs already matched to an attribute (x * x: a and b are input 0 and 1)

    def pack_one(a):
        for k, t in enumerate(inputs):
            if k in claimed:
                continue
            same = t.data is a
            if same or (a.ndim and t.data.ndim and _reshape_of(a, t.data)):   # Linear keeps x.reshape(-1, C)
                claimed.add(k)
                # a number operand (x * 1.5) is a 0-d constant here: kept, as torch keeps the number
                number = a.ndim == 0 and not t._requires_grad
                if k not in read or number:
                    return a
                release.note(t, fn)
                return _Packed(t, pack_hook, unpack_hook, k, None if same else a.shape)
        if a is out.data:
            return _Packed(out, pack_hook, unpack_hook) if fn.saves_output else a
        return _Packed(Tensor._make(a, None), pack_hook, unpack_hook)

    saved, seen, owners = [], {id(fn)}, [fn.__dict__]
    for d in owners:
        for key, value in list(d.items()):
            if key == "params" or key.startswith("_"):
                continue
            if _is_array(value):
                container, items = None, [pack_one(value)]
            elif type(value) in (tuple, list) and value and all(_is_array(v) for v in value):
                container, items = type(value), [pack_one(v) for v in value]
            else:
                if isinstance(value, Function) and id(value) not in seen:   # a kernel object the op runs
                    seen.add(id(value))
                    owners.append(value.__dict__)
                continue
            if any(type(v) is _Packed for v in items):
                saved.append((d, key, container, items))
                del d[key]
    return saved


class _Restore:
    """The node prehook of a packed op: its attributes back from ``unpack_hook``, before backward."""

    def __init__(self, fn):
        self.fn = _weak(fn)

    def __call__(self, grad_outputs):
        fn = self.fn()
        d = fn.__dict__
        for owner, key, container, items in d["_saved_packed"]:
            if key not in owner:   # (one read before, by unpack_attribute, is there already)
                values = [_unpacked(fn, v) if type(v) is _Packed else v for v in items]
                owner[key] = values[0] if container is None else container(values)


_packed_types: dict = {}   # an op's class -> its packed twin


def _packed_type(cls):
    """``cls`` with a ``__getattr__`` that unpacks a packed attribute read outside backward (max pooling's
    ``return_indices`` reads what the op kept right after forward), as torch unpacks on a read of
    ``grad_fn._saved_self``. A packed node takes this class (same name, module and layout): the
    ops' own classes have no ``__getattr__``, which would slow every attribute read on the
    default path (CPython specialises attribute reads only without one)."""
    twin = _packed_types.get(cls)
    if twin is None:
        twin = _packed_types[cls] = type(cls.__name__, (cls,), {
            "__slots__": (), "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "__getattr__": _unpack_on_read})
    return twin


def _unpack_on_read(fn, name: str):
    found, value = unpack_attribute(fn, name)
    if found:
        return value
    raise AttributeError(f"'{type(fn).__name__}' object has no attribute '{name}'")


def unpack_attribute(fn, name: str):
    """``(True, value)`` for a packed attribute ``name`` of ``fn`` read outside its backward: unpacked
    and put back on ``fn`` (until its backward has run); ``(False, None)`` if ``fn`` packed none such."""
    for owner, key, container, items in fn.__dict__.get("_saved_packed", ()):
        if key == name and owner is fn.__dict__:
            values = [_unpacked(fn, v) if type(v) is _Packed else v for v in items]
            owner[key] = value = values[0] if container is None else container(values)
            return True, value
    return False, None


def _unpacked(fn, v: _Packed):
    data = v.unpack().data
    if v.index is not None:   # an input whose own array the graph may have released: back now
        release.restore(fn.inputs[v.index], data)
    return data if v.reshape is None else data.reshape(v.reshape)


class _Release:
    """The node hook of a packed op: its unpacked attributes removed again once backward has run."""

    def __init__(self, fn):
        self.fn = _weak(fn)

    def __call__(self, grad_inputs, grad_outputs):
        fn = self.fn()
        for owner, key, _, _ in fn.__dict__.get("_saved_packed", ()):
            owner.pop(key, None)


def _weak(fn):
    return weakref.ref(fn)   # (the node holds its hooks: a strong reference back would be a cycle)


# --- custom Functions: ctx.save_for_backward


class _Unpacked(Function):
    """An unpacked value standing in for the saved tensor it came from: its values, and the saved
    tensor's graph (the gradient passes straight through), so that double backward reaches it."""

    saves_inputs = saves_output = False

    def forward(self, x, data):
        return data

    def backward(self, g):
        return (g,)

    def backward_graph(self, g):
        return (g,)


class SavedByCtx:
    """A tensor ``ctx.save_for_backward`` kept, packed: ``original`` is the input (or a weak
    reference to the output) it stands for, None for a tensor forward made."""

    __slots__ = ("packed", "original", "weak", "k")

    def __init__(self, t: Tensor, original, weak: bool, k, hooks):
        self.packed, self.original, self.weak, self.k = _Packed(t, *hooks), original, weak, k

    def unpack(self, ctx, position: int, version, modified_error) -> Tensor:
        t = self.packed.unpack()
        orig = self.original() if self.weak else self.original
        if orig is None:
            if self.weak:   # a saved output whose Tensor is gone: rebuilt on the node, as without hooks
                return ctx._rebuild(self.k, Tensor._make(t.data, None))
            return t
        if orig._version != version and not _mutation().kept(self.packed.value):
            raise modified_error(position, orig, version)
        if t is orig or not (orig._requires_grad and _ag.is_grad_enabled()):
            return t
        return _Unpacked.apply(orig, data=t.data)


def _mutation():
    from . import saved_tensors_mutation   # (allow_mutation_on_saved_tensors' handles: on first need)
    return saved_tensors_mutation


def pack_saved(saved: tuple, inputs, hooks) -> tuple:
    """``ctx._saved`` with every tensor packed: ``(SavedByCtx, version, None)`` entries."""
    out = []
    for t, version, output in saved:
        if t is None:
            out.append((t, version, output))
        elif output is not None:   # a saved output: (weak ref to the Tensor apply returned, version, (k, plain))
            k, plain = output
            result = t()
            out.append((SavedByCtx(plain if result is None else result, t, True, k, hooks), version, None))
        else:
            original = t if any(t is a for a in inputs) else None
            out.append((SavedByCtx(t, original, False, None, hooks), version, None))
    return tuple(out)
