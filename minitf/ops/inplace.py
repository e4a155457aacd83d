"""In-place changes (``x += y``, ``add_``, ``fill_``, ``copy_``, ``x[i] = v``...) with PyTorch's rules.

* Outside the graph (under ``no_grad()``, or when neither ``x`` nor the value requires
  grad) the change is written straight into ``x``'s array.
* A leaf that requires grad may only be changed under ``no_grad()`` (the optimizer's
  ``p -= lr * p.grad``); otherwise PyTorch's error.
* A tensor in a graph (or one about to enter it: ``buf[0] = w``) is changed in place
  *and* the change is recorded: the op runs out of place on the old value, the result
  is written into ``x``'s array and ``x`` takes the op as its new ``grad_fn``.
* A view (``x[0]``, ``x.reshape(...)``, ``x.t()``) changed in place while recording rewrites
  its base's history, as PyTorch's CopySlices: the change is recorded on the base, and the
  base's live views (x among them) are re-based on its new history (:mod:`minitf.view_rebase`),
  as after any recorded change of the base itself.

Every change bumps ``x._version`` (shared with the views of its storage), so a
backward that needs the old value raises instead of using the new one
(:func:`minitf.autograd.bump_version`).
"""
from __future__ import annotations

import numpy as np

from .. import autograd, backend, debughooks
from ..autograd import Function
from ..errors import DtypeError
from ..tensor import Tensor
from ..view_rebase import inplace_refusal, rebase, written_through
from .bitwise import bitwise_and, bitwise_or, bitwise_xor
from .division import floor_divide, remainder, fmod
from .arithmetic import check_bool_subtraction
from .promotion import can_cast, result_type
from ._util import as_tensor, broadcasts_to


class IndexPut(Function):
    """``out = a`` with ``out[index] = v``: the out-of-place form of ``a[index] = v``."""

    saves_inputs = saves_output = False

    def forward(self, a, v, index):
        self.index = index
        out = a.copy()
        assign(out, index, v)
        return out

    def backward(self, g):  # d/da: g outside the written places; d/dv: g at them (summed to v's shape)
        ga = g.copy()
        assign(ga, self.index, 0)
        return ga, take(g, self.index)

    def backward_graph(self, g):  # linear in (a, v): the same selections as recorded ops
        from .shape import GetItem
        a, v = self.inputs
        ga = IndexPut.apply(g, as_tensor(0.0, g), index=self.index) if a.requires_grad else None
        gv = GetItem.apply(g, index=self.index, advanced=True) if v.requires_grad else None
        return ga, gv


class Staged:
    """An index applied in two steps, ``a[first][second]``: PyTorch's rule for integers mixed
    with index arrays (integers select first), where NumPy's would move the array dims first."""

    __slots__ = ("first", "second")

    def __init__(self, first, second):
        self.first, self.second = first, second


def take(a, index):
    return a[index.first][index.second] if isinstance(index, Staged) else a[index]


def assign(a, index, v):
    if isinstance(index, Staged):
        a[index.first][index.second] = v  # a[first] is a view (integers and slices only)
    else:
        a[index] = v


def index_put(x: Tensor, index, value) -> Tensor:
    """``x`` with ``value`` written at ``index`` (out of place; differentiable in both)."""
    from .shape import index_data
    idx, _ = index_data(index, x)
    v = as_tensor(value, x)
    return IndexPut.apply(x, v, index=idx)


def _record(x: Tensor, value, op_name: str, graph_op, reads=None):
    """Change ``x`` in place and record it: ``graph_op(old, value)`` gives the new value.
    ``reads``: the tensors graph_op reads besides x (``(value,)`` unless given)."""
    if autograd._tls.hooks and not (autograd._tls.grad_enabled and (x._requires_grad or _base_in_graph(x) or any(
            isinstance(t, Tensor) and t._requires_grad for t in ((value,) if reads is None else reads)))):
        from ..forward_inplace import tangent_change   # here for a dual's tangent only (forward AD)
        return tangent_change(x, value, op_name, graph_op)
    if x._fn is None and x.requires_grad:
        raise RuntimeError(f"{op_name}: a leaf Variable that requires grad is being used in an in-place "
                           f"operation (change it under minitf.no_grad(), as an optimizer step does)")
    if getattr(x, "_base", None) is not None:
        return _record_on_base(x, value, op_name, graph_op)
    old = Tensor._make(x.data.copy(), x._fn)  # the old value, a private copy for the ops that read it
    old._requires_grad = x._requires_grad
    # the epoch of the change first: every op graph_op records (there may be several: a cast after
    # the op, lerp's three) notes it, so none is taken for a reader of x's overwritten array, as
    # the ops recorded before are (only the last one's epoch was set after: the others raised)
    autograd._epoch += 1
    if autograd._tls.hooks:   # forward AD: the old value carries x's tangent into graph_op
        from ..forward_inplace import carry
        carry(x, old)
    res = graph_op(old, old if value is x else value)   # x.add_(x) reads x's old value, as torch
    _write(x, res.data, op_name)
    autograd.bump_version(x, advance=False)
    # ops that saved x's array before the write now reach it through `old` (old took x's grad_fn):
    # old carries the counter as it is now, so they see the change, and later changes of x,
    # which never touch old's private copy, leave it alone
    old._vc = list(autograd.shared_counter(x))
    # ops recorded before this one keep x as an input; the engine finds the value they saw in _prev
    old._prev = getattr(x, "_prev", None)
    x._prev = (autograd._epoch, old)
    x._fn, x._requires_grad = res._fn, res._requires_grad
    if autograd._tls.hooks:   # (the tangent's own in-place change advances the epoch)
        from ..forward_inplace import take
        take(x, res)
    if getattr(x, "_views", None):   # x's views read it again from its new history (torch's re-base)
        rebase(x)
    return x


def _record_on_base(x: Tensor, value, op_name: str, graph_op):
    """A view ``x`` of ``base`` changed in place: record ``base[index] = op(x)`` on the base
    (PyTorch's CopySlices: the base's new grad_fn); the base's views, x among them, are then
    re-based on it (:mod:`minitf.view_rebase`). An indexing view writes through its index
    (``_view_of``, recursively up to the root base); any other (a reshape, a transpose) as
    ``as_strided_scatter`` of the root base's storage."""
    root, view_of = x._base, getattr(x, "_view_of", None)
    refused = inplace_refusal(x)
    if refused is not None:
        raise RuntimeError(f"{op_name}: {refused}")
    base = root if view_of is None else view_of[0]
    for b in (base, root):
        if b._fn is None and b.requires_grad:   # torch's words for a view of such a leaf
            raise RuntimeError(f"{op_name}: a view of a leaf Variable that requires grad is being used in an "
                               f"in-place operation (change it under minitf.no_grad(), as an optimizer step does)")
    if view_of is None and x.data.dtype != root.data.dtype:
        raise RuntimeError(f"{op_name}: in-place change of a view of another dtype ({x.dtype}, of a {root.dtype} "
                           f"tensor) that autograd would have to record: not supported. Change the base, or use "
                           f"an out-of-place op")
    # what graph_op reads: a copy of x as it is (the ops it records save this, never changed);
    # ops recorded before reach x as it was through _prev once x is re-based
    before = x.clone() if x.requires_grad else x.detach().clone()
    if autograd._tls.hooks:
        from ..forward_inplace import carry
        carry(x, before)
    new = graph_op(before, before if value is x else value)
    with written_through(x.data):   # the root's views that cannot overlap x keep their grad_fn
        if view_of is None:
            from .as_strided import AsStridedScatter, Geometry, as_strided
            geo, into = Geometry.of(x.data), Geometry.of(root.data)
            _record(root, new, op_name, lambda a, v: AsStridedScatter.apply(a, v, geometry=geo, xgeo=into))
            fresh = as_strided(root, *geo) if autograd._tls.hooks else None
        elif hasattr(view_of[1], "write"):  # a view no basic index names (diagonal, real): its own write and read
            view_of[1].write(base, new, op_name)
            fresh = view_of[1].read(base) if autograd._tls.hooks else None
        else:
            from .shape import getitem
            setitem(base, view_of[1], new)  # recorded on the base (and refused there if it is a leaf)
            fresh = getitem(base, view_of[1]) if autograd._tls.hooks else None
    if root._fn is not None:
        root._fn._torch_name = "torch::autograd::CopySlices"
    if fresh is not None:
        from ..forward_inplace import alias
        alias(x, fresh)
    return x


def _write(x: Tensor, new, op_name: str) -> None:
    if tuple(new.shape) != x.shape:
        raise RuntimeError(f"{op_name}: output with shape {x.shape} doesn't match the broadcast shape "
                           f"{tuple(new.shape)}")
    x.data[...] = new


def _write_back(x: Tensor, new, op_name: str) -> Tensor:
    """An in-place op's end outside the graph: the result written into x, x's version bumped."""
    _write(x, new, op_name)
    autograd.bump_version(x)
    return x


def _check_value(x: Tensor, v: Tensor, op_name: str) -> None:
    if v._vmap_batched and not x._vmap_batched:   # inside vmap: every example written into one tensor
        from ..func.batched_tensor import refuse_inplace
        refuse_inplace(op_name)
    if type(v.data) is not type(x.data):
        raise backend.DeviceError(f"{op_name}: tensor on {x.device}, value on {v.device}")


def _check_cast(name: str, rt, x: Tensor) -> None:
    """torch's rule for the result of an in-place op: it must cast to x's dtype (torch.can_cast)."""
    if not can_cast(rt, x.dtype):
        raise DtypeError(f"{name}: result type {np.dtype(rt)} can't be cast to the desired output type {x.dtype} "
                         f"(as torch); use the out-of-place op, or convert x first")


def _check_writable(x: Tensor, op_name: str) -> None:
    """Refuse a write into an expanded view (expand, broadcast_to: a stride 0 over a dim of size
    > 1), where several elements are one memory location, as PyTorch refuses it. NumPy would
    say only "read-only"; CuPy would write, each element racing the others."""
    strides = x.data.strides
    # an empty array has no elements to alias (NumPy gives it zero strides: clone() of one too)
    if 0 in strides and x.data.size and any(st == 0 and n > 1 for st, n in zip(strides, x.data.shape)):
        raise RuntimeError(f"{op_name}: the tensor is an expanded view (expand, broadcast_to): more than one "
                           f"of its elements refers to a single memory location, so an in-place write is "
                           f"ambiguous (as PyTorch). clone() it first")
    flags = getattr(x.data, "flags", None)
    if flags is not None and not getattr(flags, "writeable", True):
        raise RuntimeError(f"{op_name}: the tensor's array is read-only (a broadcast view, or NumPy memory "
                           f"marked read-only): clone() it first")
    if autograd._tls.hooks:   # the write is coming: allow_mutation_on_saved_tensors clones what was saved
        debughooks.before_write(x)


def _needs_graph(x: Tensor, *values) -> bool:
    """Whether the change of ``x`` (to a value computed from ``values``) goes through :func:`_record`:
    a gradient flows, or (a dual level open) a tangent. A view without grad (made under no_grad())
    of a base in a graph goes there too: refused in _record_on_base, as torch."""
    if autograd._tls.grad_enabled and (x._requires_grad or _base_in_graph(x) or any(
            isinstance(v, Tensor) and v._requires_grad for v in values)):
        return True
    return bool(autograd._tls.hooks) and _tangent_flows(x, *values)


def _base_in_graph(x: Tensor) -> bool:
    base = getattr(x, "_base", None)
    return base is not None and base._requires_grad


def _tangent_flows(x: Tensor, *values) -> bool:
    from ..forward_inplace import flows
    return flows(x, *values)


def _arith(name, array_op, graph_op):
    subtraction, true_division = name == "sub_", name == "div_"

    def op(x: Tensor, other, alpha=1) -> Tensor:
        if x._vmap_batched:   # inside vmap: written into the batch's value
            from ..func.batching_fns import inplace
            return inplace(op, name, x, other, alpha)
        _check_writable(x, name)
        if subtraction and (x.data.dtype.kind == "b" or isinstance(other, (bool, np.bool_))
                            or isinstance(other, Tensor) and other.data.dtype.kind == "b"):
            check_bool_subtraction(name, x, other)
        xd = x.data.dtype
        if isinstance(other, Tensor):   # one dtype fits, but an integer quotient is a float
            fast = other.data.dtype == xd and (xd.kind == "f" or not true_division)
        else:                           # a float tensor with a Python number keeps its dtype
            fast = xd.kind == "f" and type(other) in (int, float)
        if not fast:   # PyTorch's result type must fit x (bool_tensor += 1, int_tensor /= 2 are errors)
            rt = result_type(x, as_tensor(other, x) if isinstance(other, np.ndarray) else other)
            if true_division and rt.kind in "biu":
                from ..creation import get_default_dtype
                rt = get_default_dtype()
            _check_cast(name, rt, x)
        v = as_tensor(other, x)
        if alpha != 1:
            v = v * alpha
        _check_value(x, v, name)
        if not fast and xd.kind in "biu" and v.data.dtype != xd:
            # an integer result into a narrower integer dtype wraps, as torch's (uint8 += int64):
            # the sum, difference or product modulo 2^bits is that of the operands cast first
            v = Tensor._make(v.data.astype(x.data.dtype), None)
        if _needs_graph(x, v):
            return _record(x, v, name, graph_op)
        if not broadcasts_to(v.shape, x.shape):
            raise RuntimeError(f"{name}: output with shape {x.shape} doesn't match the broadcast shape "
                               f"of {x.shape} and {v.shape}")
        array_op(x.data, v.data)
        autograd.bump_version(x)
        return x
    op.__name__ = name
    op.__doc__ = f"In place: ``x {name[:-1]}= other`` (times ``alpha``), PyTorch's ``Tensor.{name}``."
    return op


def _iadd(a, b): a += b
def _isub(a, b): a -= b
def _imul(a, b): a *= b
def _idiv(a, b): a /= b


add_ = _arith("add_", _iadd, lambda a, b: a + b)
sub_ = _arith("sub_", _isub, lambda a, b: a - b)
mul_ = _arith("mul_", _imul, lambda a, b: a * b)
div_ = _arith("div_", _idiv, lambda a, b: a / b)


def _from_out_of_place(name: str, out_of_place):
    """``x.<name>(other)``: ``out_of_place(x, other)`` written back into x, recorded when a
    gradient flows, with torch's checks (the result must keep x's shape, and its type must
    cast to x's: ``int_tensor.remainder_(2.5)`` is an error, not a truncation)."""
    def op(x: Tensor, other) -> Tensor:
        _check_writable(x, name)
        v = other if isinstance(other, Tensor) else as_tensor(other, x) if isinstance(other, np.ndarray) else other
        if isinstance(v, Tensor):
            _check_value(x, v, name)
        if _needs_graph(x, v):
            return _record(x, v, name, out_of_place)
        r = out_of_place(x, v)
        _check_cast(name, r.dtype, x)
        return _write_back(x, r.data, name)
    op.__name__ = name
    op.__doc__ = f"In place: PyTorch's ``Tensor.{name}``, the result of ``{name[:-1]}`` written into x."
    return op


floor_divide_ = _from_out_of_place("floor_divide_", floor_divide)
remainder_ = _from_out_of_place("remainder_", remainder)
fmod_ = _from_out_of_place("fmod_", fmod)
bitwise_and_ = _from_out_of_place("bitwise_and_", bitwise_and)
bitwise_or_ = _from_out_of_place("bitwise_or_", bitwise_or)
bitwise_xor_ = _from_out_of_place("bitwise_xor_", bitwise_xor)
_neg_ = _from_out_of_place("neg_", lambda a, _: -a)


def neg_(x: Tensor) -> Tensor:
    """In place: ``x = -x``, PyTorch's ``Tensor.neg_``."""
    return _neg_(x, None)


# the writes of given values (x[i] = v, fill_, copy_ ...): their own module, imported last (it reads the above)
from .inplace_writes import clamp_, copy_, fill_, masked_fill_, setitem, zero_  # noqa: E402,F401
