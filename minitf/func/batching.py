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
  functions and ``split``, max / min with a dim, argmax / argmin, logsumexp, any / all, sort / argsort /
  topk, remainder / fmod / floor_divide, dropout, and the in-place add_ / sub_ / mul_ / div_ and
  ``x[i] = v`` into a batched x) look for ``_vmap_batched`` on their operands and call their rule
  in :mod:`minitf.func.batching_fns`.

Anything else raises :class:`Unbatchable`: the BatchedTensor's ``.data`` is a :class:`_Meta`,
which answers ``shape``/``dtype``/``ndim``/``size`` (so the ops' argument checks see one
example) and refuses everything else, including being read as an array. vmap then abandons the
batched run and loops over the examples (see :mod:`minitf.func.vmap`), so an op without a rule
is slower, never wrong.

BatchedTensor itself, and how the operands of one op are lined up along the batch dims, are in
:mod:`minitf.func.batched_tensor`; this module holds the rules at ``Function.apply`` and the hook.
"""
from __future__ import annotations

# the batched value and the operands' alignment (Unbatchable is also caught by this module's name)
from .batched_tensor import BatchedTensor, Unbatchable, _aligned, _binary, _full, _matmul


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
    """A reduction over ``axis`` (None: every dim of the example; else a sorted tuple), shifted
    past the batch dims: sum / mean / var / std, the norms, amax / amin and max / min without a
    dim. A 0-d example is its one element along a dim of its own, reduced (so var's NaN and the
    norm's |x| are the loop's)."""
    x = inputs[0]
    k, n, axis, v = len(x._levels), x.ndim, params["axis"], x._value
    if n == 0:
        v, axis, params = v.unsqueeze(-1), (k,), dict(params, keepdims=False)
    else:
        axis = tuple(range(k, k + n)) if axis is None else tuple(a + k for a in axis)
    return x._wrap(cls.apply(v, **dict(params, axis=axis)))


def _scan(cls, inputs, params):
    """cumsum / cumprod along ``axis`` (non-negative; a 0-d example is made 1-D by the op's wrapper)."""
    x = inputs[0]
    return x._wrap(cls.apply(x._value, **dict(params, axis=params["axis"] + len(x._levels))))


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
                ("layer_normalization", "LayerNorm", _with_parameters),
                ("arithmetic", "Add Sub Mul Div", _broadcast), ("pointwise", "Maximum Minimum PowTensor ClampTensor", _broadcast),
                ("unary", "Floor Ceil Trunc Round", _same),
                ("nn", "Softmax LogSoftmax", _axis), ("reduction", "Sum Mean Var", _reduce),
                ("statistics", "Std Norm2 NormP Norm0", _reduce), ("extrema", "Amax Amin Max Min", _reduce),
                ("cumulative", "Cumsum Cumprod", _scan),
                ("joining", "Concatenate Stack", _join), ("arithmetic", "MatMul", _matmul_rule),
                ("subscript", "GetItem", _getitem)):
            table.update(dict.fromkeys(classes(module, names), rule))
        _RULES.update(table)
    return _RULES


class BatchingHook:
    """The debug hook (:mod:`minitf.debughooks`) registered while a batched vmap run is on: it
    applies the rule of an op that gets a BatchedTensor, and lets every other op run as usual."""

    synchronize = False
    # not a watcher (see minitf.debughooks): it times nothing and sees no backward, so the
    # ops it lets through run untimed and backward() keeps the engine's own walk
    watches = False
    users = 0   # the threads in a batched run (minitf.func.vmap._register)

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
