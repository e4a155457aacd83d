"""Function-level batching rules for :func:`minitf.func.vmap` (see :mod:`minitf.func.batching`).

Some ops read their operands' storage before they reach ``Function.apply`` (comparisons, the
condition of ``where``, embedding's indices, the view wrappers' storage sharing), so the debug
hook never sees them. Their public functions look for ``_vmap_batched`` on their operands (one
attribute read, False on every ordinary Tensor) and hand a batched call here: each rule lines
the operands' batch dims up (:func:`~minitf.func.batching._aligned` / ``_full``), runs the
ordinary op once on the values and wraps the result. Arguments a rule does not cover raise
:class:`~minitf.func.batching.Unbatchable`, so vmap loops over the examples instead.
"""
from __future__ import annotations

from ..tensor import Tensor
from .batched_tensor import BatchedTensor, Unbatchable, _aligned, _full, _norm, refuse_data_dependent


def outside_graph(name: str, a, b, op=None):
    """A comparison (``op``: ops.arithmetic.compare, given the operands as they came, numbers
    too), or a logical_* / bitwise_* op on promoted tensors (``op`` None), per example: a
    batched tensor (bool for the comparisons)."""
    (va, vb), levels = _aligned((a, b))
    if op is not None:
        return BatchedTensor(op(va, vb, name), levels)
    from ..ops._util import elementwise_outside_graph as plain
    return BatchedTensor(plain(name, va, vb), levels)


def where(cond, a, b):
    """``where(cond, a, b)`` per example: any of the three batched (numbers are left to where)."""
    from ..ops.selection import where as plain
    (vc, va, vb), levels = _aligned((cond, a, b))
    return BatchedTensor(plain(vc, va, vb), levels)


def masked_fill(x, mask, value):
    """``x.masked_fill(mask, value)`` per example: ``where(mask, value, x)`` (x, mask or a 0-d
    tensor value batched), the value converted to x's dtype as the op converts it (a number x's
    dtype cannot hold refused: :mod:`minitf.ops.fill_values`)."""
    from ..ops._util import as_tensor
    from ..ops.fill_values import fill_number, fill_tensor_value
    base = x._value if type(x) is BatchedTensor else x
    if type(value) is BatchedTensor:
        v = value
    elif isinstance(value, Tensor):
        v = fill_tensor_value("masked_fill", value, base.dtype)
    else:
        v = as_tensor(fill_number("masked_fill", value, base.dtype), base)
    if v.dtype != base.dtype:   # (the result has x's dtype, as the op's)
        v = v.to(base.dtype)
    return where(mask, v, x)


def embedding(idx, weight, padding_idx):
    """``F.embedding(idx, weight)`` per example, idx (...) and weight (V, C) -> (..., C).
    Batched indices with an ordinary table: one
    lookup of every example's indices. A batched table (per-example weights, as from
    ``functional_call``): the examples' tables stacked into one of B*V rows and each example's
    indices offset by its b*V, after checking them against V (so an index out of one example's
    table is refused as the loop refuses it, not read from the next example's)."""
    from ..ops.nn import embedding as plain
    from ..ops._util import check_index_range
    if type(weight) is not BatchedTensor:
        if type(idx) is not BatchedTensor:
            raise Unbatchable("vmap: embedding of a batched argument other than idx or weight")
        return idx._wrap(plain(idx._value, weight, padding_idx))
    if padding_idx is not None or weight.ndim != 2 or not hasattr(idx, "dtype") or idx.dtype.kind not in "iu":
        raise Unbatchable("vmap: embedding with a batched table and these arguments")
    if not isinstance(idx, Tensor):
        raise Unbatchable("vmap: embedding with host indices and a batched table")
    (vi, vw), levels = _full((idx, weight))
    k = len(levels)
    lead = tuple(vw.shape[:k])
    n, (V, C) = 1, weight.shape
    for s in lead:
        n *= s
    check_index_range("embedding", "index", vi.data, V)
    from ..creation import arange
    offsets = (arange(n, device=vi.device, dtype=vi.dtype) * V).reshape(lead + (1,) * (vi.ndim - k))
    return BatchedTensor(plain(vi + offsets, vw.reshape((n * V, C))), levels)


def scaled_dot_product_attention(q, k, v, attn_mask, kwargs):
    """``F.scaled_dot_product_attention`` per example: q, k, v and a tensor mask with their batch
    dims in front, each padded to the operands' dims (the op broadcasts its leading dims). With
    dropout on (a random draw) it is Unbatchable, so vmap's randomness modes apply in the loop."""
    from ..ops.attention import scaled_dot_product_attention as plain
    if kwargs.get("dropout_p", 0.0) and kwargs.get("training", True):
        raise Unbatchable("vmap: attention dropout (a random draw) in the batched run")
    operands = (q, k, v) if attn_mask is None else (q, k, v, attn_mask)
    values, levels = _aligned(operands)   # (an unbatched mask of more dims: the examples padded to them)
    return BatchedTensor(plain(*values[:3], values[3] if attn_mask is not None else None, **kwargs), levels)


def gather(x, dim, index):
    """``gather(x, dim, index)`` per example with a batched index: x and the index given every
    batch dim in full (x repeated where unbatched), then one gather along ``dim`` past them."""
    from ..ops.indexing import gather as plain
    if x.ndim == 0 or index.ndim != x.ndim:
        raise Unbatchable("vmap: gather of these shapes (the loop's checks)")
    (vx, vi), levels = _full((x, index))
    return BatchedTensor(plain(vx, _norm(dim, x.ndim) + len(levels), vi), levels)


def index_select(x, dim, index):
    """``index_select(x, dim, index)`` per example with a batched 1-D index: a gather whose index
    is the example's positions along ``dim``, the same at every other position."""
    if x.ndim == 0 or index.ndim != 1 or index.dtype.kind not in "iu":
        raise Unbatchable("vmap: index_select of these shapes (the loop's checks)")
    d = _norm(dim, x.ndim)
    shape = x.shape[:d] + index.shape + x.shape[d + 1:]
    return gather(x, d, index.reshape((1,) * d + index.shape + (1,) * (x.ndim - d - 1)).expand(shape))


def getitem(x, index):
    """``x[idx]`` per example with a batched integer tensor ``idx`` (rows of x's dim 0): an
    index_select of the flattened indices, shaped ``idx.shape + x.shape[1:]``. A negative index
    (which index_select refuses) sends vmap to the loop, where it counts from the end."""
    if type(index) is BatchedTensor and index.dtype.kind == "b":
        refuse_data_dependent("indexing with a batched boolean mask")
    if type(index) is not BatchedTensor or index.dtype.kind not in "iu" or not isinstance(x, Tensor) or x.ndim == 0:
        raise Unbatchable("vmap: indexing with a batched index of this kind")
    return index_select(x, 0, index.reshape(-1)).reshape(index.shape + x.shape[1:])


def cross_entropy(logits, targets, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0):
    """``F.cross_entropy`` of each example of a batched run (class-index targets): see
    :func:`_class_index_loss`."""
    from ..ops.loss import cross_entropy as plain
    return _class_index_loss("cross_entropy", lambda z, t, r: plain(z, t, weight, ignore_index, r, label_smoothing),
                             logits, targets, weight, ignore_index, reduction)


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """``F.nll_loss`` of each example of a batched run: see :func:`_class_index_loss`."""
    from ..ops.loss import nll_loss as plain
    return _class_index_loss("nll_loss", lambda z, t, r: plain(z, t, weight, ignore_index, r),
                             input, target, weight, ignore_index, reduction)


def _class_index_loss(name, per_row, logits, targets, weight, ignore_index, reduction):
    """A class-index loss of each example of a batched run, in torch's layout per example: logits
    (C,), (N, C) or (N, C, d1, ..., dk), targets (), (N,) or (N, d1, ..., dk). The examples' rows
    (the class dim moved last) as one call of ``per_row(rows (R, C), targets (R,), "none")``, then
    each example's sum or mean (over its non-ignored targets). Weighted means, probability targets
    and shapes that do not fit: Unbatchable (the loop, which also gives a bad shape's error)."""
    from ..ops.class_layout import index_shape
    if type(weight) is BatchedTensor or not isinstance(targets, Tensor) or targets.dtype.kind not in "iu" \
            or (weight is not None and reduction == "mean") or logits.ndim == 0 \
            or tuple(targets.shape) not in ({(), (1,)} if logits.ndim == 1 else {index_shape(logits.shape)}):
        raise Unbatchable(f"vmap: {name} without a batching rule for these arguments")
    (z, t), levels = _full((logits, targets))
    k = len(levels)
    if logits.ndim >= 3:   # the example's class dim (its dim 1) last
        z = z.movedim(k + 1, -1)
    lead = tuple(z.shape[:-1])   # (levels..., N, d1, ..., dk); (levels...) for (C,) examples
    t = t.reshape(lead)
    per = per_row(z.reshape(-1, z.shape[-1]), t.reshape(-1), "none").reshape(lead)
    if reduction != "none":
        axes = tuple(range(k, per.ndim))
        total = per.sum(axes) if axes else per
        if reduction == "mean":   # over the example's non-ignored targets (0/0: NaN, as torch)
            valid = (t != ignore_index).to(dtype=per.dtype)
            total = total / (valid.sum(axes) if axes else valid)
        per = total
    return BatchedTensor(per, levels)


def elementwise(op, *operands):
    """``op(*operands)`` per example for an elementwise op whose function reads storage before
    ``Function.apply`` (remainder / fmod / floor_divide: the operands' promotion, an integer
    division's check for zeros): the batch dims lined up, ``op`` run once on the values."""
    values, levels = _aligned(operands)
    return BatchedTensor(op(*values), levels)


def along(op, x, dim, *, flat: bool = False, **kwargs):
    """``op(x, dim=dim, **kwargs)`` per example for an op along one dim or a few (x the only
    batched operand): max / min with a dim (values, indices), argmax / argmin, logsumexp,
    any / all, sort / topk. ``dim`` is shifted past the batch dims; None means every dim of the
    example: given as the tuple of them, or (``flat``: argmax's index into the flattened example)
    the example flattened to one dim. A 0-d example is its one element along a dim of its own,
    each output made 0-d again (dim 0 and -1 are the 0-d tensor's, as torch). Outputs: a tensor,
    or a tuple / namedtuple of them, each wrapped at x's levels."""
    if type(x) is not BatchedTensor:
        raise Unbatchable(f"vmap: {op.__name__} with a batched argument other than the tensor")
    k, n, v = len(x._levels), x.ndim, x._value
    lead = tuple(v.shape[:k])
    if n == 0:
        v = v.unsqueeze(-1)
    if dim is None:
        if flat:
            v, d = v.reshape(lead + (-1,)), k
        else:
            d = tuple(range(k, v.ndim))
    elif isinstance(dim, (tuple, list)):
        if not dim:   # () is "every dim" to some ops, "none" to others: the loop decides
            raise Unbatchable(f"vmap: {op.__name__} over dim=()")
        d = tuple(_norm(a, max(n, 1)) + k for a in dim)
    else:
        d = _norm(dim, max(n, 1)) + k
    keep = flat and dim is None and kwargs.get("keepdim")
    if keep:
        kwargs["keepdim"] = False
    out = op(v, dim=d, **kwargs)

    def wrap(o):
        if n == 0 or keep:   # the example's shape: () or (1,) * n
            o = o.reshape(lead + (1,) * (n if keep else 0))
        return BatchedTensor(o, x._levels)
    return type(out)(*map(wrap, out)) if isinstance(out, tuple) else wrap(out)


def dropout(x, p: float):
    """``F.dropout(x, p)`` (training, 0 < p, the default generator) per example in the batched
    run, by vmap's ``randomness`` at each active level: "error" refuses the draw (as torch's);
    "different" draws a mask per example (one draw of the whole batch); "same" one mask for
    the examples of that level (drawn with size 1 along its dim, broadcast). A level that x is
    not batched at but whose examples must differ: Unbatchable (the loop draws per example)."""
    from .. import backend
    from ..ops.nn import Dropout
    from .batched_tensor import Refused
    from .vmap import ERROR_MODE, active
    runs = active()
    if any(r.randomness == "error" for r in runs):
        raise Refused(ERROR_MODE)
    mode = {r.level: r.randomness for r in runs}
    if type(x) is not BatchedTensor or any(m == "different" and lv not in x._levels for lv, m in mode.items()):
        raise Unbatchable("vmap: dropout of a tensor not batched at a level whose examples draw their own")
    v = x._value
    xp = backend.get_array_module(v.data)
    if p == 1.0:   # everything dropped: no draw (as the op)
        keep = xp.zeros(v.shape, dtype=v.dtype)
    else:
        shape = tuple(n if mode.get(lv) == "different" else 1 for lv, n in zip(x._levels, v.shape)) + x.shape
        gen = runs[0].generators.outside(str(x.device))   # (an inner run's saved one is the outer run's stand-in)
        keep = (gen.random(shape, dtype=v.dtype) >= p) * v.dtype.type(1.0 / (1.0 - p))
        keep = xp.ascontiguousarray(xp.broadcast_to(keep, v.shape))
    return x._wrap(Dropout.apply(v, keep=keep))


def inplace(op, name: str, x, other, *args):
    """``op(x, other, *args)`` (add_ / sub_ / mul_ / div_) per example, x batched: ``op`` on x's
    value, ``other``'s batch dims lined up with x's (an unbatched ``other`` broadcasts against
    the example). ``other`` batched at a level x is not: torch's refusal (one tensor per
    example would be written into one); more example dims than x: the loop's error."""
    return _written(x, other, name, lambda v, o: op(v, o, *args))


def setitem(x, index, value, op_name: str):
    """``x[index] = value`` per example, x batched and ``index`` basic (ints, slices, None,
    ``...``): the batch dims' full slices put in front, ``value``'s batch dims lined up with the
    selection's. Other indices: Unbatchable (the loop)."""
    from ..ops.inplace import setitem as plain
    items = index if isinstance(index, tuple) else (index,)
    if not all(it is None or it is Ellipsis or type(it) in (int, slice) for it in items):
        raise Unbatchable("vmap: a write through an index of this kind")
    key = (slice(None),) * len(x._levels) + items
    return _written(x[index], value, op_name, lambda v, o: plain(x._value, key, o, op_name), x)


def _written(target, value, name: str, write, x=None):
    """``write(target's value, value lined up with it)``, then x (the target, or the tensor it
    selects from) given its value's new autograd state."""
    from .batched_tensor import _NODE, refuse_inplace
    x = target if x is None else x
    if isinstance(value, Tensor) and value.ndim > target.ndim:   # (else it would meet the batch dims)
        raise Unbatchable(f"vmap: {name} of a value with more dims than the tensor (the loop's error)")
    if type(value) is BatchedTensor:
        if not set(value._levels) <= set(target._levels):
            refuse_inplace(name)
        (_, value), _ = _aligned((target, value))
    write(target._value, value)
    x._requires_grad = x._value._requires_grad   # (a value that requires grad written in)
    x._fn = _NODE if x._requires_grad else None
    return x
