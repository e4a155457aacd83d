"""Batching rules for :func:`minitf.func.vmap`: a stand-in tensor that carries the batch dims
of the active vmap levels through each op, so that ``f`` runs once on the whole batch.

A :class:`BatchedTensor` is what ``f`` sees for a mapped input: a :class:`~minitf.Tensor` of
the *logical* (one example's) shape, dtype and device, whose values live in ``_value``, an
ordinary Tensor whose leading dims are the batch dims of ``_levels`` (vmap nesting depths,
ascending: the innermost vmap's dim comes last among them), the example's dims after them.
Each supported op unwraps its operands, moves their batch dims into place (the dims named by
the op shifted past the batch dims; an unbatched operand broadcast against a batched one by
padding the batched one's example dims with 1s), runs the ordinary op once on the values and
wraps the result. The ops run on ordinary Tensors, so the graph is ordinary: gradients flow
through a vmapped function as through the loop.

Three ways in, each checked by type, never guessed:

- the ops that reach ``Function.apply`` with a BatchedTensor among their inputs are caught
  there through the debug-hook mechanism (:mod:`minitf.debughooks`, ``on_apply``): a hook is
  registered only while a batched run is on, so the engine's path is unchanged otherwise. The
  op's class picks its rule (:data:`_RULES` below);
- the view and indexing methods (``reshape``/``view``, ``transpose``, ``permute``,
  ``unsqueeze``, ``squeeze``, ``flatten``, ``expand``, ``mT``, ``split``, ``contiguous``,
  ``[...]``) and the arithmetic
  operators are methods of BatchedTensor (their functions' wrappers read storage a BatchedTensor
  has not got);
- the ops whose functions read storage before ``Function.apply`` (comparisons, the logical
  and bitwise ops, isnan and the like, ``where``,
  ``masked_fill``, embedding, gather / index_select with a batched index, attention, the view
  functions and ``split``) look for ``_vmap_batched`` on their operands and call their rule in
  :mod:`minitf.func.batching_fns`.

Anything else raises :class:`Unbatchable`: the BatchedTensor's ``.data`` is a :class:`_Meta`,
which answers ``shape``/``dtype``/``ndim``/``size`` (so the ops' argument checks see one
example) and refuses everything else, including being read as an array. vmap then abandons the
batched run and loops over the examples (see :mod:`minitf.func.vmap`), so an op without a rule
is slower, never wrong.
"""
from __future__ import annotations

from ..tensor import Tensor


class Unbatchable(Exception):
    """An op the batched run has no rule for (vmap falls back to its loop over the examples)."""


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
            raise Unbatchable("vmap: indexing with batched index tensors in a tuple has no batching rule")
        # unbatched index tensors / lists: the ordinary index arrays, then GetItem's rule
        from ..ops.subscript import GetItem, Staged, index_data
        index, advanced = index_data(index, self._value)
        items = index.second if isinstance(index, Staged) else index if isinstance(index, tuple) else (index,)
        if any(hasattr(it, "dtype") and it.dtype.kind == "b" for it in items):
            raise Unbatchable("vmap: a boolean mask's selection (its size depends on the values)")
        if not advanced:   # 0-d index tensors: integers, so basic indexing
            return self[tuple(items)] if all(type(it) in (int, slice) or it is None or it is Ellipsis
                                             for it in items) else _refuse("an index of this kind")
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


# ---------------------------------------------------------------- rules at Function.apply
def _same(cls, inputs, params):
    """An op that maps each element (or each trailing-dims row: linear, layer_norm) on its own:
    only its first input may be batched; it runs on the value as it is."""
    x = inputs[0]
    if type(x) is not BatchedTensor or any(type(t) is BatchedTensor for t in inputs[1:]):
        raise Unbatchable(f"vmap: {cls.__name__} with a batched parameter")
    return x._wrap(cls.apply(x._value, *inputs[1:], **params))


def _with_parameters(cls, inputs, params):
    """linear / layer_norm: :func:`_same`, or where a weight or bias is batched (per-example
    gradients through ``functional_call``) the op composed of batched matmul / elementwise ops."""
    if not any(type(t) is BatchedTensor for t in inputs[1:]):
        return _same(cls, inputs, params)
    x, *wb = inputs
    if cls.__name__ == "Linear":
        y = _matmul(x, wb[0].mT)
        return y if len(wb) == 1 else _binary("add", y, wb[1])
    plain = dict(params, has_weight=False, has_bias=False)   # normalised only, then scaled and shifted
    y = _same(cls, (x,), plain) if type(x) is BatchedTensor else cls.apply(x, **plain)
    if params["has_weight"]:
        y = _binary("mul", y, wb.pop(0))
    return _binary("add", y, wb[0]) if params["has_bias"] else y


def _broadcast(cls, inputs, params):
    values, levels = _aligned(inputs)
    return BatchedTensor(cls.apply(*values, **params), levels)


def _axis(cls, inputs, params):
    """softmax / log_softmax: ``axis`` (non-negative, checked by the op's wrapper) shifted."""
    x = inputs[0]
    return x._wrap(cls.apply(x._value, **dict(params, axis=params["axis"] + len(x._levels))))


def _reduce(cls, inputs, params):
    """sum / mean / var: ``axis`` None (every dim of the example) or a sorted tuple, shifted."""
    x = inputs[0]
    k, n, axis = len(x._levels), x.ndim, params["axis"]
    if n == 0:   # the sum or mean of one number is that number (var's is not: the loop's NaN)
        if cls.__name__ == "Var" or x.dtype.kind != "f":
            raise Unbatchable("vmap: var, or an integer sum, of a 0-d batched tensor")
        return x._wrap(x._value.clone())
    axis = tuple(range(k, k + n)) if axis is None else tuple(a + k for a in axis)
    return x._wrap(cls.apply(x._value, **dict(params, axis=axis)))


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


def _join(cls, inputs, params):
    """cat / stack: every operand given every batch dim in full (an unbatched one repeated)."""
    values, levels = _full(inputs)
    return BatchedTensor(cls.apply(*values, **dict(params, axis=params["axis"] + len(levels))), levels)


def _getitem(cls, inputs, params):
    """GetItem with index arrays (gather, index_select, ``x[idx]``; the index unbatched): the
    batch dims' full slices put in front. NumPy moves the dims of index arrays that are not next
    to each other to the front of the result (before the batch dims too), so such an index, and
    minitf's two-step :class:`Staged` one (ints mixed with arrays), are Unbatchable."""
    from ..ops.subscript import Staged
    x, index = inputs[0], params["index"]
    items = index if isinstance(index, tuple) else (index,)
    arrays = [i for i, it in enumerate(items) if hasattr(it, "ndim") or isinstance(it, int)]
    if type(x) is not BatchedTensor or isinstance(index, Staged) or len(inputs) != 1 \
            or (arrays and len(arrays) != arrays[-1] - arrays[0] + 1):
        raise Unbatchable("vmap: an index whose arrays are not next to each other")
    return x._wrap(cls.apply(x._value, **dict(params, index=(slice(None),) * len(x._levels) + items)))


def _matmul_rule(cls, inputs, params):
    return _matmul(*inputs)


_RULES: dict = {}


def _rule_table() -> dict:
    """{Function class: rule}, built on the first batched run (the ops' modules are imported then)."""
    if not _RULES:
        import importlib

        def classes(module, names):
            m = importlib.import_module(f"minitf.ops.{module}")
            return [getattr(m, n) for n in names.split()]

        table = {}
        for module, names, rule in (
                ("elementwise", "Exp Log Sqrt Tanh Sigmoid ReLU GELU GELUErf SiLU", _same),
                ("arithmetic", "Neg Pow", _same), ("unary", "Sin Cos Rsqrt Reciprocal", _same),
                ("pointwise", "Abs Clamp TriMask", _same), ("views", "Clone Contiguous", _same),
                ("casting", "AsType", _same), ("linear", "Linear", _with_parameters),
                ("nn", "LayerNorm", _with_parameters),
                ("arithmetic", "Add Sub Mul Div", _broadcast), ("pointwise", "Maximum Minimum PowTensor ClampTensor", _broadcast),
                ("nn", "Softmax LogSoftmax", _axis), ("reduction", "Sum Mean Var", _reduce),
                ("joining", "Concatenate Stack", _join), ("arithmetic", "MatMul", _matmul_rule),
                ("subscript", "GetItem", _getitem)):
            table.update(dict.fromkeys(classes(module, names), rule))
        _RULES.update(table)
    return _RULES


class BatchingHook:
    """The debug hook (:mod:`minitf.debughooks`) registered while a batched vmap run is on: it
    applies the rule of an op that gets a BatchedTensor, and lets every other op run as usual."""

    synchronize = False

    def on_apply(self, cls, inputs, params):
        for t in inputs:
            if type(t) is BatchedTensor:
                break
        else:
            return NotImplemented
        rule = _rule_table().get(cls)
        if rule is None:
            raise Unbatchable(f"vmap: no batching rule for {cls.__name__}")
        return rule(cls, inputs, params)

    def on_forward(self, cls, inputs, out, seconds):
        pass

    def on_backward(self, fn, grad_out, grads_in, seconds):
        pass
