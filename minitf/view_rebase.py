"""Views of a base changed in place, re-based as torch's (not refused).

    b = a.clone(); v = b[0]
    b.mul_(2)                   # recorded on b: b's grad_fn is MulBackward0
    v.grad_fn                   # AsStridedBackward0: v's elements read from b's new history
    v.sum().backward()          # a.grad is 2 on row 0, as torch's

Every view (``share_storage``: ``x[0]``, ``reshape``, ``t()``, ``diagonal``, ``real``...) is
noted on its base (``base._views``: weak references, so a view that dies costs nothing more).
After an in-place change of the base's storage that autograd records (:func:`minitf.ops.inplace._record`,
through the base or any of its views), every live view of it is re-based at once: its grad_fn
becomes ``AsStrided`` of the base as it now is (torch's ``AsStridedBackward0``; a view of another
dtype, ``z.real``, replays its view op on its own base instead). Ops recorded before keep
differentiating through the view as it was: the engine finds that in ``_prev`` (the view's old
grad_fn, its data and its version counter), as after any recorded in-place change, so an op
that saved the view's values still raises the version error (as torch's).

Done at the change, not on the next use as torch's (which regenerates ``grad_fn`` on access):
the engine's hot path (``Function.apply``) then needs no test of its inputs. A change made
through a view (``x[t].copy_(h)``) re-bases only the views whose memory may overlap the written
one: the others keep their grad_fn, whose gradient is the same (it reaches the base as it was,
and the change passes the elements it did not write straight back to that), and are marked
``_stale``; ``grad_fn`` re-bases one of them when asked for it, so its name is torch's. So a
loop that writes row t of a buffer while the earlier rows' views live on (in the graph) makes one
node per change, not one per live view: T rows cost O(T) nodes, not O(T^2).

A view made under ``no_grad()``, or one of the outputs of ``split``/``chunk``/``unbind`` (torch's
multi-output views), whose base is then changed in place while recording is refused as torch
refuses it: its grad_fn (or a backward through it) raises torch's error; so is an in-place
change of such an output while recording (minitf/ops/inplace.py).
"""
from __future__ import annotations

import weakref

from . import autograd, backend
from .autograd import Function
from .tensor import Tensor

_NO_GRAD_VIEW = ("A view was created in no_grad mode and its base or another view of its base has been modified "
                 "inplace with grad mode enabled. Given that this use case is ambiguous and error-prone, it is "
                 "forbidden. You can clarify your code by moving both the view and the inplace either both inside "
                 "the no_grad block (if you don't want the inplace to be tracked) or both outside (if you want the "
                 "inplace to be tracked).")


def note_view(view: Tensor, root: Tensor) -> None:
    """Remember ``view`` (sharing ``root``'s storage; root is no view) on root: an entry
    (weak reference, mode), the mode being the grad mode it was made in (True, False), or
    (op, output index) for an output of split/chunk/unbind (:func:`note_multi_output`). Dead
    entries are dropped each time the list reaches a power of two."""
    refs = getattr(root, "_views", None)
    if refs is None:
        root._views = refs = []
    refs.append((weakref.ref(view), autograd._tls.grad_enabled))
    n = len(refs)
    if n >= 16 and not n & (n - 1):
        refs[:] = [r for r in refs if r[0]() is not None]


_MULTI = ("This view is the output of a function that returns multiple views. Such functions do not allow the "
          "output views to be modified inplace. You should replace the inplace operation by an out-of-place one.")


def note_multi_output(outs, op: str):
    """``outs``, the views one call of ``op`` returned (torch's ``Split``, ``SplitWithSizes``,
    ``Unbind``): torch refuses an in-place change of one of them, and the use of one after its
    base changed in place (:func:`inplace_refusal`, :func:`rebase`). Returns ``outs``."""
    for k, v in enumerate(outs):
        refs = getattr(getattr(v, "_base", None), "_views", None) or ()
        for i in range(len(refs) - 1, -1, -1):   # (just noted: at the end)
            ref, mode = refs[i]
            if ref() is v:
                if mode is True:   # (one made under no_grad() keeps that refusal, as torch's)
                    refs[i] = (ref, (op, k))
                break
    return outs


def inplace_refusal(v: Tensor):
    """torch's error for an in-place change of view ``v`` that autograd would record, where torch
    forbids it (a view made under ``no_grad()``, an output of split/chunk/unbind); None otherwise."""
    for ref, mode in getattr(v._base, "_views", None) or ():
        if ref() is v:
            if mode is False:
                return _NO_GRAD_VIEW.replace("its base or another view of its base has been modified", "is being modified")
            if type(mode) is tuple:
                return f"Output {mode[1]} of {mode[0]} is a view and is being modified inplace. {_MULTI}"
            return None
    return None


class RefusedView(Function):
    """The grad_fn of a view that cannot be re-based (made under ``no_grad()``, an output of an op
    returning several views, a layout of another dtype no view op names): its backward, and
    ``Tensor.grad_fn``, raise ``view_refusal``, torch's error (torch raises on the view's next use)."""
    saves_inputs = saves_output = False

    def forward(self, x, view_refusal):
        self.view_refusal = view_refusal
        return x

    def backward(self, g):
        raise RuntimeError(self.view_refusal)


def written_through(array):
    """A context for a recorded in-place change that writes only ``array``'s memory (a view's, or
    the selection of ``x[index] = v``; None: unknown, the whole base) (minitf/ops/inplace.py): the
    root's views that cannot overlap it keep their grad_fn (:func:`rebase`). The outermost
    wins: a change through ``b[0]`` of a view ``b`` writes b[0]'s elements only."""
    return _Written(array)


class _Written:
    def __init__(self, array):
        self.array = array

    def __enter__(self):
        self.prev = autograd._tls.written
        if self.prev is None and self.array is not None:
            autograd._tls.written = self.array

    def __exit__(self, *exc):
        autograd._tls.written = self.prev


def rebase(root: Tensor) -> None:
    """Give every live view of ``root`` a grad_fn reading it from root's current history; called
    once root's storage was changed in place by a recorded op and root took its new grad_fn.
    Under :func:`written_through`, a view that requires grad and cannot overlap the written
    memory is only marked ``_stale`` (see the module's docstring)."""
    refs = getattr(root, "_views", None)
    if not refs:
        return
    from .backend.storage import exact_overlap_test
    data = root.data
    xp = backend.get_array_module(data)
    shares, overlaps = xp.may_share_memory, exact_overlap_test(xp)
    written = autograd._tls.written
    kept, views = [], []
    for entry in refs:
        v = entry[0]()
        if v is None:
            continue
        a = v.data
        if written is not None and entry[1] is True and v._requires_grad and a is not written \
                and a.dtype == data.dtype and (not shares(a, written) or not overlaps(a, written)):
            v._stale = True   # its elements did not change: its grad_fn still gives the right gradient
            kept.append(entry)   # (refresh checks it is still a view of root)
        elif a is data or shares(a, data):   # (one whose .data was replaced is no view of root any more)
            kept.append(entry)
            views.append((v, entry[1]))
    refs[:] = kept
    if views:
        _rebase_views(root, views)


def refresh(v: Tensor) -> None:
    """Re-base view ``v``, marked ``_stale`` by :func:`rebase`, on its root's current history."""
    v._stale = False
    root = v._base
    if root is not None and (v.data is root.data or backend.get_array_module(v.data).may_share_memory(
            v.data, root.data)):
        _rebase_views(root, [(v, True)])


def _rebase_views(root: Tensor, views) -> None:
    """``views``: (view, grad mode it was made in) of root, each given its new grad_fn."""
    # the views' new grad_fns come after every op recorded so far (the change's own: `b.add_(v)`
    # read v as it was), which find each view's old state in _prev: one new epoch for all of them
    autograd._epoch += 1
    epoch = autograd._epoch
    for v, _ in views:
        old = autograd.as_it_was(v)   # the view as the ops recorded before saw it
        v._prev = (epoch, old)
        if getattr(v, "_stale", False):
            v._stale = False
    replay = []
    for v, with_grad in views:
        if type(with_grad) is tuple:   # an output of split, chunk, unbind
            fn = _refused(root, f"Output {with_grad[1]} of {with_grad[0]} is a view and its base or another view "
                                f"of its base has been modified inplace. {_MULTI}")
        else:
            fn = _strided_node(v, root) if with_grad else _refused(root, _NO_GRAD_VIEW)
        if fn is None:
            replay.append(v)
        else:
            v._fn, v._requires_grad = fn, True
    # the others read again by their own view op from their base, a base before its views (z.real
    # before z.real[0]): each reads its base as re-based here
    for v in sorted(replay, key=_depth):
        v._fn, v._requires_grad = _replayed_node(v, root), True


def _strided_node(v: Tensor, root: Tensor):
    """v's view of root's current value as as_strided of root's storage (torch's AsStridedBackward0),
    or None where v is no layout of it (another dtype: z.real)."""
    from .backend import storage
    from .ops.as_strided import AsStrided, Geometry
    if v.data.dtype != root.data.dtype:
        return None
    out = AsStrided.apply(root, geometry=Geometry.of(v.data))
    if storage.data_ptr(out.data) != storage.data_ptr(v.data) or out.data.strides != v.data.strides:
        return None   # (a storage block that is itself strided: its geometry is the array's own)
    return out._fn


def _replayed_node(v: Tensor, root: Tensor):
    view_of = getattr(v, "_view_of", None)
    if view_of is not None:
        base, index = view_of
        if hasattr(index, "read"):   # z.real, view_as_real(z), a diagonal
            fn = index.read(base)._fn
        else:
            from .ops.shape import getitem
            fn = getitem(base, index)._fn
        if fn is not None:
            return fn
    return _refused(root, f"a view of shape {v.shape} ({v.dtype}) of a tensor of dtype {root.dtype} was taken "
                          f"before its base was changed in place by an op autograd recorded, and no view op "
                          f"reads it again from the base: take the view after the change")


def _depth(v: Tensor) -> int:
    n = 0
    while getattr(v, "_view_of", None) is not None:
        v, n = v._view_of[0], n + 1
    return n


def _refused(root: Tensor, message: str):
    fn = RefusedView()
    fn.inputs, fn.freed, fn.params, fn._epoch, fn.view_refusal = (root,), False, {}, autograd._epoch, message
    return fn
