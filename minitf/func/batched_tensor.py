"""The batched value of :func:`minitf.func.vmap`'s batched run: :class:`BatchedTensor` (one
example's shape, dtype and device outside; the whole batch, batch dims first, in ``_value``), and
how operands are lined up for one op on the whole batch (:func:`_aligned` pads and broadcasts,
:func:`_full` repeats along the batch dims an operand lacks). Which op runs by which rule is
:mod:`minitf.func.batching`'s (the rules at ``Function.apply``) and
:mod:`minitf.func.batching_fns`'s (the ops that read storage before it).
"""
from __future__ import annotations

from ..tensor import Tensor

class Unbatchable(Exception):
    """An op the batched run has no rule for (vmap falls back to its loop over the examples)."""


class Refused(RuntimeError):
    """What ``torch.func.vmap`` refuses too (a result whose shape depends on each example's
    values, an in-place write of a batched value into an unbatched tensor, a random draw in
    randomness "error" mode): vmap raises it as it is, with no loop over the examples (where
    the loop would give a stack of mismatched shapes, or write every example into one tensor)."""


def refuse_data_dependent(what: str):
    """Raise :class:`Refused` for an op whose output's shape would depend on each example's values."""
    raise Refused(f"vmap: {what} gives each example an output whose shape depends on its values, which a "
                  f"batch cannot hold (as torch.func.vmap refuses it); use a fixed-size form such as "
                  f"torch.where, or run the examples in a Python loop")


def refuse_inplace(name: str):
    """Raise :class:`Refused` for ``name`` writing a batched value into a tensor that is not batched."""
    raise Refused(f"vmap: {name} writes a value that is batched (different for each example) into a tensor "
                  f"that is not: use the out-of-place op, or pass that tensor through vmap too")


class _Meta:
    """A BatchedTensor's ``.data``: one example's shape and dtype, and nothing else to read."""

    __slots__ = ("shape", "dtype", "ndim", "size")

    def __init__(self, value, k: int):
        self.shape = tuple(value.shape[k:])
        self.dtype, self.ndim = value.dtype, len(self.shape)
        self.size = 1
        for n in self.shape:
            self.size *= n

    def __getattr__(self, name):
        raise Unbatchable(f"vmap: the batched run reached the storage of a batched tensor ({name})")

    def __array__(self, *args, **kwargs):
        raise Unbatchable("vmap: the batched run reached the storage of a batched tensor")


class _Refused:
    """The grad_fn of a batched tensor that requires grad: reading it sends vmap to the loop."""

    __slots__ = ()

    def __getattr__(self, name):
        raise Unbatchable(f"vmap: the graph of a batched tensor was read ({name})")

    def __setattr__(self, name, value):
        raise Unbatchable(f"vmap: the graph of a batched tensor was changed ({name})")


_NODE = _Refused()


def _norm(d, n: int, what: str = "dim") -> int:
    """``d`` as a non-negative dim of ``n`` dims (out of range: Unbatchable, so the loop raises
    the op's own error)."""
    if isinstance(d, bool) or not isinstance(d, int) or not -n <= d < max(n, 1):
        raise Unbatchable(f"vmap: {what} {d!r} out of range")
    return d % max(n, 1)


def _dims(args):
    """Dims given as ints or one tuple/list (``x.permute(1, 0)`` or ``x.permute((1, 0))``)."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


class BatchedTensor(Tensor):
    """One example's view of a batch inside vmap: logical shape ``_value.shape[len(_levels):]``.

    Not built by users: :func:`minitf.func.vmap` makes them for mapped inputs and unwraps the
    outputs."""

    __slots__ = ("_value", "_levels")
    _vmap_batched = True   # (what an op with a function-level rule looks for: see batching_fns)

    def __init__(self, value: Tensor, levels: tuple):
        self._value, self._levels = value, levels
        # the graph is the value's; a batched tensor handed to the engine itself (backward,
        # mt.autograd.grad, a grad transform's vjp) meets a node that refuses to be read, so
        # vmap falls back to the loop rather than give a wrong zero gradient
        needs = value._requires_grad
        self._grad, self._retain, self._requires_grad = None, False, needs
        self._fn = _NODE if needs else None

    data = property(lambda self: _Meta(self._value, len(self._levels)))
    shape = property(lambda self: tuple(self._value.shape[len(self._levels):]))
    ndim = property(lambda self: self._value.ndim - len(self._levels))
    dtype = property(lambda self: self._value.dtype)
    device = property(lambda self: self._value.device)

    def __repr__(self):
        return f"BatchedTensor(levels={self._levels}, value={self._value!r})"

    def _wrap(self, value):
        return BatchedTensor(value, self._levels)

    def size(self, dim=None):
        from ..size import Size
        return Size(self.shape) if dim is None else self.shape[_norm(dim, self.ndim)]

    def numel(self) -> int:
        return _Meta(self._value, len(self._levels)).size

    def dim(self) -> int:
        return self.ndim

    def __len__(self):
        if not self.ndim:
            raise Unbatchable("vmap: len() of a 0-d batched tensor")
        return self.shape[0]

    def __iter__(self):
        raise Unbatchable("vmap: iterating over a batched tensor")

    def requires_grad_(self, flag: bool = True):
        raise Unbatchable("vmap: requires_grad_ on a batched tensor (a gradient per example runs in the loop)")

    def backward(self, *args, **kwargs):
        raise Unbatchable("vmap: backward() of a batched tensor")

    def detach(self):
        return self._wrap(self._value.detach())

    # ------------------------------------------------------------ views (dims shifted past the batch)
    def reshape(self, *shape):
        k = len(self._levels)
        return self._wrap(self._value.reshape(tuple(self._value.shape[:k]) + tuple(int(n) for n in _dims(shape))))

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    reshape_as = view_as

    def transpose(self, dim0=-2, dim1=-1):
        k, n = len(self._levels), self.ndim
        return self._wrap(self._value.transpose(_norm(dim0, n) + k, _norm(dim1, n) + k))

    swapaxes = transpose

    def permute(self, *dims):
        k, n = len(self._levels), self.ndim
        dims = _dims(dims)
        if len(dims) != n or len({_norm(d, n) for d in dims}) != n:
            raise Unbatchable("vmap: permute's dims are not a permutation")
        return self._wrap(self._value.permute(tuple(range(k)) + tuple(_norm(d, n) + k for d in dims)))

    def t(self):
        if self.ndim > 2:
            raise Unbatchable("vmap: t() of more than 2 dims")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self):
        return self.permute(tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def movedim(self, source, destination):
        k, n = len(self._levels), self.ndim
        src = source if isinstance(source, (tuple, list)) else (source,)
        dst = destination if isinstance(destination, (tuple, list)) else (destination,)
        return self._wrap(self._value.movedim(tuple(_norm(s, n) + k for s in src), tuple(_norm(d, n) + k for d in dst)))

    def unsqueeze(self, dim):
        k, n = len(self._levels), self.ndim
        return self._wrap(self._value.unsqueeze(_norm(dim, n + 1) + k))

    def squeeze(self, dim=None):
        n, shape = self.ndim, self.shape
        dims = range(n) if dim is None else {_norm(d, n) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        keep = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
        return self.reshape(keep)

    def flatten(self, start_dim=0, end_dim=-1):
        n = self.ndim
        if n == 0:
            return self.reshape(1)
        s, e = _norm(start_dim, n), _norm(end_dim, n)
        if s > e:
            raise Unbatchable("vmap: flatten's start_dim is after its end_dim")
        shape = self.shape
        middle = 1
        for m in shape[s:e + 1]:
            middle *= m
        return self.reshape(shape[:s] + (middle,) + shape[e + 1:])

    def split(self, split_size_or_sections, dim=0, *, axis=None):
        dim = dim if axis is None else axis
        k = len(self._levels)
        return tuple(self._wrap(p) for p in self._value.split(split_size_or_sections, _norm(dim, self.ndim) + k))

    def contiguous(self):
        return self._wrap(self._value.contiguous())

    def expand(self, *sizes):
        sizes, k = _dims(sizes), len(self._levels)
        v = _pad(self._value, k, len(sizes))
        return self._wrap(v.expand(tuple(v.shape[:k]) + tuple(sizes)))

    def expand_as(self, other):
        return self.expand(other.shape)

    def __getitem__(self, index):
        items = index if isinstance(index, tuple) else (index,)
        if all(it is None or it is Ellipsis or type(it) in (int, slice) for it in items):
            return self._wrap(self._value[(slice(None),) * len(self._levels) + items])
        if type(index) is BatchedTensor:
            from .batching_fns import getitem
            return getitem(self, index)
        if any(type(it) is BatchedTensor for it in items):
            if any(type(it) is BatchedTensor and it.dtype.kind == "b" for it in items):
                refuse_data_dependent("indexing with a batched boolean mask")
            raise Unbatchable("vmap: indexing with batched index tensors in a tuple has no batching rule")
        # unbatched index tensors / lists: the ordinary index arrays, then GetItem's rule
        from ..ops.subscript import GetItem, Staged, index_data
        index, advanced = index_data(index, self._value)
        items = index.second if isinstance(index, Staged) else index if isinstance(index, tuple) else (index,)
        if any(hasattr(it, "dtype") and it.dtype.kind == "b" for it in items):
            # an unbatched mask selects the same positions in every example: its index arrays
            if isinstance(index, Staged) or any(hasattr(it, "dtype") and it.dtype.kind == "b" and not it.ndim
                                                for it in items):
                raise Unbatchable("vmap: a 0-d boolean index, or one mixed with ints")
            from .. import backend
            items = tuple(a for it in items for a in (backend.get_array_module(it).nonzero(it)
                                                       if hasattr(it, "dtype") and it.dtype.kind == "b" else (it,)))
            index, advanced = items, True
        if not advanced:   # 0-d index tensors: integers, so basic indexing
            return self[tuple(items)] if all(type(it) in (int, slice) or it is None or it is Ellipsis
                                             for it in items) else _refuse("an index of this kind")
        from .batching import _getitem   # GetItem's rule at Function.apply (that module imports this one)
        return _getitem(GetItem, (self,), {"index": index, "advanced": True})

    # ------------------------------------------------------------ arithmetic operators
    def __add__(self, o): return _binary("add", self, o)
    def __radd__(self, o): return _binary("add", o, self)
    def __sub__(self, o): return _binary("sub", self, o)
    def __rsub__(self, o): return _binary("sub", o, self)
    def __mul__(self, o): return _binary("mul", self, o)
    def __rmul__(self, o): return _binary("mul", o, self)
    def __truediv__(self, o): return _binary("div", self, o)
    def __rtruediv__(self, o): return _binary("div", o, self)
    def __pow__(self, o): return _binary("pow", self, o)
    def __rpow__(self, o): return _binary("pow", o, self)
    def __matmul__(self, o): return _matmul(self, o)
    def __rmatmul__(self, o): return _matmul(o, self)
    def __neg__(self): return self._wrap(-self._value)


def _refuse(what: str):
    raise Unbatchable(f"vmap: {what} has no batching rule")


def _pad(v, k: int, n: int):
    """``v`` (k batch dims, then an example's dims) with 1s inserted after the batch dims until
    the example has ``n`` dims (NumPy's broadcasting, aligned from the right, per example)."""
    have = v.ndim - k
    if have >= n:
        return v
    return v.reshape(tuple(v.shape[:k]) + (1,) * (n - have) + tuple(v.shape[k:]))


def _aligned(operands, n=None):
    """``(values, levels)``: the operands' values with the batch dims of every level among them
    in front (size 1 where an operand lacks one), each batched operand's example padded to ``n``
    dims (the operands' largest by default). An unbatched operand (or a number) is left as it is:
    broadcasting puts it right."""
    levels = tuple(sorted({lv for o in operands if type(o) is BatchedTensor for lv in o._levels}))
    if n is None:
        n = max((o.ndim for o in operands if isinstance(o, Tensor)), default=0)
    values = []
    for o in operands:
        if type(o) is not BatchedTensor:
            values.append(o)
            continue
        v, k = o._value, len(o._levels)
        if o._levels != levels:   # a level it lacks: a size-1 dim in that place
            it = iter(v.shape[:k])
            v = v.reshape(tuple(next(it) if lv in o._levels else 1 for lv in levels) + tuple(v.shape[k:]))
        values.append(_pad(v, len(levels), n))
    return values, levels


def _binary(name: str, a, b):
    from .. import ops
    (va, vb), levels = _aligned((a, b))
    return BatchedTensor(getattr(ops, name)(va, vb), levels)


def _matmul(a, b):
    """NumPy's matmul per example: a 1-D batched operand made a row (a) or a column (b) first,
    and that dim dropped from the result."""
    from .. import ops
    bvec = isinstance(b, Tensor) and b.ndim == 1
    row = type(a) is BatchedTensor and a.ndim == 1
    col = type(b) is BatchedTensor and b.ndim == 1
    if not all(isinstance(o, Tensor) and o.ndim for o in (a, b)):
        raise Unbatchable("vmap: matmul of a 0-d operand")
    if row:
        a = a.unsqueeze(0)
    if col:
        b = b.unsqueeze(1)
    n = max(o.ndim for o in (a, b) if type(o) is BatchedTensor or o.ndim > 1)
    (va, vb), levels = _aligned((a, b), n)
    out = ops.matmul(va, vb)
    if col:
        out = out.squeeze(-1)
    if row:   # the row's dim: before b's columns, or last where b is an unbatched vector
        out = out.squeeze(-1 if bvec else -2)
    return BatchedTensor(out, levels)


def _full(operands):
    """``(values, levels)``: every operand's value with the batch dims of every level among them,
    in full (an unbatched operand, or one lacking a level, repeated along it)."""
    levels = tuple(sorted({lv for t in operands if type(t) is BatchedTensor for lv in t._levels}))
    sizes = {}
    for t in operands:
        if type(t) is BatchedTensor:
            sizes.update(zip(t._levels, t._value.shape[:len(t._levels)]))
    lead = tuple(sizes[lv] for lv in levels)
    values = []
    for t in operands:
        if type(t) is not BatchedTensor:
            t = BatchedTensor(t, ())
        v = t._value
        if t._levels != levels:
            it = iter(v.shape[:len(t._levels)])
            v = v.reshape(tuple(next(it) if lv in t._levels else 1 for lv in levels) + tuple(t.shape))
            v = v.expand(lead + tuple(t.shape))
        values.append(v)
    return values, levels
