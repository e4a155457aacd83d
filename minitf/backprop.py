"""The general backward walk: everything beyond a plain ``loss.backward()``.

Several outputs at once, gradients returned for chosen tensors (:func:`grad`,
``torch.autograd.grad``), the backward pass recorded as a graph of its own
(``create_graph=True``: each op's ``backward_graph``, so gradients can be
differentiated again), and the debug hooks (``detect_anomaly``, ``profile``).
The plain ``loss.backward()`` keeps its own short loop in
:mod:`minitf.autograd` (``_run_backward``), which hands over to :func:`_backward`
here only when one of these is asked for.
"""
from __future__ import annotations

import numpy as np

from . import autograd as _ag
from . import backend, graph_nodes, tensor_hooks
from .autograd import (Function, _Walk, _accumulate_leaf, _accumulate_retained, _changed_since, _check_versions,
                       _freed_error, _graph_order, _inputs_as_of, _inputs_of, enable_grad, sum_to)
from .autograd_graph import GradientEdge, edge_tensor
from .debughooks import clock, watchers
from .tensor import Tensor



def _shaped_as(ig, inp: Tensor, create_graph: bool):
    """An op's gradient for input ``inp`` summed to ``inp``'s shape (undoing broadcasting): a recorded
    sum under ``create_graph`` (``ig`` a Tensor), else on the array."""
    if tuple(ig.shape) == inp.shape:
        return ig
    return _sum_to_tensor(ig, inp.shape) if create_graph else sum_to(ig, inp.data.shape)


def _sum_to_tensor(g: Tensor, shape) -> Tensor:
    """``sum_to`` in recorded Tensor ops (create_graph)."""
    from . import ops
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape)
                                      if n == 1 and g.shape[i + lead] != 1)
    return ops.reshape(ops.sum(g, axis=axes, keepdims=True), shape) if axes else ops.reshape(g, shape)


def _accumulate_leaf_graph(t: Tensor, g: Tensor) -> None:
    """create_graph: ``.grad`` becomes a Tensor that is part of the graph (as in PyTorch)."""
    from . import ops
    if g.dtype != t.dtype:
        g = ops.astype(g, t.dtype)
    if t._grad is not None:  # out of place: an existing .grad (plain or recorded) is never changed under the graph
        t._grad = t._grad + g
    elif g._fn is None:  # a constant may be shared with another leaf (Add hands on one g twice): own a copy,
        t._grad = Tensor._make(g.data.copy(), None)  # since a later plain backward adds into it in place
    else:
        t._grad = g


def _check_graph_inputs(fn: Function, inputs) -> None:
    """create_graph: ``backward_graph`` reads every input's value, also those that ``backward``
    does not save (``saves_inputs``). An input replaced by its value as of the forward
    (``_inputs_as_of``: a recorded in-place change) holds a private copy and is fine; one
    changed in place without being recorded (under no_grad, say) is not, nor one cut by
    ``detach_()`` since (its value as of the forward shares its storage)."""
    for k, (now, then) in enumerate(zip(fn.inputs, inputs)):
        if (now is then or then.data is now.data) and _changed_since(now, fn._epoch):
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: the input {k} of {fn.name()} (a tensor of shape {now.shape}), now at "
                f"version {now._version}, was changed after the op ran, and create_graph=True records "
                f"the backward from its value. Change it out of place, or clone() it first")


def _call_backward(fn, g, create_graph: bool, inputs):
    """``fn.backward(g)``, or with ``create_graph`` the recorded ``fn.backward_graph(g)`` reading
    ``inputs`` (the inputs as of ``fn``'s forward) through ``fn.inputs``."""
    if not create_graph:
        return fn.backward(g)
    if fn.backward_graph is None:
        raise RuntimeError(f"create_graph=True: the op {type(fn).__name__} has no differentiable "
                           f"backward (backward_graph), so its gradient cannot be differentiated again")
    current = fn.inputs
    fn.inputs = inputs  # the same tuple unless an input changed in place since the forward
    try:
        with enable_grad():
            from .ops.half_math import recorded_backward   # (float16 inputs computed in float32)
            return recorded_backward(fn, g)
    finally:
        fn.inputs = current


def _backward(roots, seeds, targets=None, stop_at_targets=False, create_graph=False, retain_graph=False,
              collect=None, stop_at=()):
    """Propagate ``seeds`` (d out / d root, one per root) back through the graph.

    Without ``targets`` the leaves accumulate into ``.grad`` (``backward()``). With
    ``targets`` (a list of tensors) nothing is accumulated: the gradient of each target
    is returned in a dict keyed by ``id`` (``grad()``), and only the part of the graph
    that leads to a target is walked. ``stop_at_targets`` treats the targets as
    independent variables (a local vector-Jacobian product: gradients do not flow through
    one target into another). With ``create_graph`` the gradients are Tensors and every
    op's ``backward_graph`` runs with recording on, so the result can be differentiated.
    ``collect`` (a dict, without ``targets``): every leaf's gradient goes there instead, keyed
    by ``id`` as ``(leaf, gradient)``, and no leaf's hooks run: the backward nested in
    ``recompute``'s, whose leaves' gradients are that node's, handed to the outer pass.
    ``stop_at`` (ids, with ``collect``): non-leaf tensors walked no further, their gradients
    collected as a leaf's (the outer graph's tensors a recomputed function closes over).
    """
    with _Walk() as walk:  # no NumPy warnings for inf/NaN gradients; .grad versions bumped at the end
        walk.general = True
        return _propagate(roots, seeds, targets, stop_at_targets, create_graph, retain_graph, walk, collect,
                          stop_at)


def _propagate(roots, seeds, targets, stop_at_targets, create_graph, retain_graph, walk, collect=None,
               stop_at=()):
    want = None if targets is None else {id(t) for t in targets}
    stop = want if stop_at_targets else stop_at
    order = _graph_order(roots, stop)
    needed = None
    if want is not None:  # the tensors from which some target is reachable
        needed = set()
        for t in order:
            if id(t) in want or any(id(i) in want or id(i) in needed for i in _inputs_of(t._fn)):
                needed.add(id(t))
    if create_graph:  # out of place: a new .grad Tensor, as PyTorch
        accumulate = retained = _accumulate_leaf_graph
    else:
        def accumulate(t, g):
            _accumulate_leaf(t, g, walk)
        retained = _accumulate_retained
    grads, captured, pending, later = {}, {}, {}, []
    hooks = watchers()  # this thread's, read at call time: detect_anomaly/profile replace the tuple
    post = None  # Tensor.register_post_accumulate_grad_hook: each hooked leaf's uses, counted down
    if want is None and collect is None and tensor_hooks.posted:
        post = tensor_hooks.PostCounts([*roots, *(i for t in order for i in _inputs_of(t._fn))])

    def deliver(t, g, hooked=False):
        """Hand ``g`` to tensor ``t``: into the walk, or to a leaf/target at the end of it."""
        if t._fn is not None and id(t) not in stop:
            prev = grads.get(id(t))
            grads[id(t)] = g if prev is None else prev + g
        elif collect is not None:
            prev = collect.get(id(t))
            collect[id(t)] = (t, g if prev is None else prev[1] + g)
        elif not hooked and getattr(t, "_grad_hooks", None) and (want is None or id(t) in want):
            prev = pending.get(id(t))  # a leaf's hooks see its whole gradient: summed, run at the end
            pending[id(t)] = (t, g if prev is None else prev[1] + g)
        elif want is None:
            accumulate(t, g)
            if post is not None:
                post.arrived(t)  # its hooks run if that was its last use in this pass
        elif id(t) in want:
            prev = captured.get(id(t))
            captured[id(t)] = g if prev is None else prev + g

    for r, s in zip(roots, seeds):
        deliver(r, s)
    for t in reversed(order):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        if getattr(t, "_grad_hooks", None):  # Tensor.register_hook: the complete gradient, maybe replaced
            g = tensor_hooks.run(t, g, create_graph)
        if want is not None:
            if id(t) in want:
                captured[id(t)] = g  # complete: every consumer of t has been walked
            if id(t) not in needed:
                continue
        elif t._retain:
            retained(t, g)
        fn = t._fn
        inputs = fn.inputs
        if fn._epoch != _ag._epoch:  # something changed in place since this op ran (as _run_backward)
            inputs = _inputs_as_of(fn)
            _check_versions(t, fn, inputs)
            if create_graph:
                _check_graph_inputs(fn, inputs)
        if fn.freed:
            raise _freed_error()
        node_hooks = "_node_hooks_finalizer" in fn.__dict__   # grad_fn.register_(pre)hook
        if node_hooks:
            g = graph_nodes.run_prehooks(fn, g, create_graph)
        if hooks:
            start = clock(hooks, inputs)
            in_grads = _call_backward(fn, g, create_graph, inputs)
            seconds = clock(hooks, inputs) - start
            for h in hooks:
                h.on_backward(fn, g, in_grads, seconds)
        else:
            in_grads = _call_backward(fn, g, create_graph, inputs)
        if node_hooks:   # the hooks see one gradient per input, shaped as the input (None: needs none)
            in_grads = graph_nodes.run_hooks(fn, [
                None if ig is None or not inp._requires_grad else _shaped_as(ig, inp, create_graph)
                for inp, ig in zip(inputs, in_grads)], g, create_graph)
        extra = fn.extra_grads  # recompute: leaves its fn read without taking them as inputs
        if extra is not None:
            fn.extra_grads = None
            for inp, ig in extra:
                if want is None and post is not None:
                    post.expect(inp)  # not among the edges counted: one more use
                deliver(inp, ig)
        if not retain_graph and fn.saves_tensors:   # (one that saved nothing can run again, as torch's)
            if "_saves_nothing" in fn.__dict__:   # freed when the pass completes (see below)
                later.append((fn, node_hooks))
            else:
                _free(fn, node_hooks)
        for inp, ig in zip(inputs, in_grads):
            if ig is None or not inp._requires_grad:
                continue
            if needed is not None and id(inp) not in needed and id(inp) not in want:
                continue
            deliver(inp, _shaped_as(ig, inp, create_graph))
    for t, g in pending.values():
        deliver(t, tensor_hooks.run(t, g, create_graph), hooked=True)
    if post is not None:
        post.finish()
    # a node recorded under saved-tensor hooks that saved nothing (Sum, Add) is freed only now: a
    # pass that an unpack hook (or any hook) stops midway leaves it re-runnable, as torch's, whose
    # nodes without saved tensors run again (`order` holds its inputs until here anyway)
    for fn, node_hooks in later:
        _free(fn, node_hooks)
    return captured


def _free(fn, node_hooks: bool) -> None:
    """Free ``fn`` after its backward without ``retain_graph``: its saved arrays and edges dropped."""
    if node_hooks:   # hooks of a freed node never run again: uncounted now, not when it dies
        graph_nodes._release(fn)
    fn.freed = True
    fn.__dict__.clear()  # drop the arrays forward saved


def _seeds(name, outputs, grad_outputs, create_graph):
    """d root / d output for each output: the cotangent given (a Tensor or array-like), or ones
    for a one-element output; Tensors under create_graph, arrays otherwise."""
    seeds, what = [], "grad_outputs" if name == "grad" else "grad_tensors"
    for k, (o, u) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(o, Tensor) or not o.requires_grad:
            raise RuntimeError(f"{name}: output {k} does not require grad (it does not depend on "
                               f"any input that requires grad, or it was made under no_grad())")
        if u is None:
            if o.data.size != 1:
                raise RuntimeError(f"{name}: output {k} has shape {o.shape}: {what} can be "
                                   f"omitted only for one-element outputs")
            if o.data.dtype.kind == "c":   # (torch's rule: a loss is real)
                raise RuntimeError(f"{name}: grad can be implicitly created only for real scalar outputs "
                                   f"(output {k} is {o.dtype})")
            u = Tensor._make(backend.get_array_module(o.data).ones(o.data.shape, dtype=o.data.dtype), None)
        elif not isinstance(u, Tensor):
            u = Tensor._make(backend.to_device(np.asarray(u, dtype=o.dtype), o.device), None)
        if u.shape != o.shape:
            raise ValueError(f"{name}: {what}[{k}] has shape {u.shape}, output {k} has shape {o.shape}")
        u = _ag.seed_in_dtype(u, o, k)
        seeds.append(u if create_graph else u.data)
    return seeds



def _paired(tensors, grads, name: str, what: str, grads_name: str) -> tuple[list, list]:
    """``tensors`` (one Tensor or a sequence) and their cotangents as two lists of one length
    (None or one Tensor stands for every tensor's, as torch's)."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grads is None or isinstance(grads, Tensor):
        grads = [grads] * len(tensors) if grads is None else [grads]
    grads = list(grads)
    if len(grads) != len(tensors):
        raise ValueError(f"{name}: {len(tensors)} {what} but {len(grads)} {grads_name}")
    return tensors, grads

def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False, inputs=None) -> None:
    """``torch.autograd.backward``: ``tensors[k].backward(grad_tensors[k])`` for all k in one pass.

    ``tensors`` is a Tensor or a sequence; ``grad_tensors`` one gradient per tensor (None, or a
    None entry: ones, for a one-element tensor). Each leaf's ``.grad`` gets the sum over the
    tensors, walked once (so ``retain_graph=False`` frees a graph the tensors share only after
    all of them). ``retain_graph``, ``create_graph`` and ``inputs`` as :meth:`Tensor.backward`.
    """
    tensors, grad_tensors = _paired(tensors, grad_tensors, "backward", "tensors", "grad_tensors")
    if not tensors:
        raise RuntimeError("backward: no tensors given")
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return tensors[0].backward(grad_tensors[0], retain_graph=retain_graph, create_graph=create_graph,
                                   inputs=inputs)
    retain_graph = create_graph if retain_graph is None else retain_graph
    if inputs is None:
        _backward(tensors, _seeds("backward", tensors, grad_tensors, create_graph), create_graph=create_graph,
                  retain_graph=retain_graph)
        return
    inputs, into = backward_inputs(inputs)
    # as Tensor.backward(inputs=): the gradients of grad(), added to each input's .grad
    grads = grad(tensors, inputs, grad_tensors, retain_graph=retain_graph, create_graph=create_graph,
                 allow_unused=True)
    _accumulate_inputs(inputs, grads, create_graph, into)


def backward_inputs(inputs):
    """``backward(inputs=...)``'s tensors (a Tensor, a GradientEdge or a sequence of them) and, for
    each, whether its ``.grad`` gets the gradient: an edge stands for its tensor, and as torch's,
    a leaf's edge accumulates into the leaf's ``.grad``, a non-leaf's into nothing."""
    inputs = [inputs] if isinstance(inputs, (Tensor, GradientEdge)) else list(inputs)
    if not inputs:
        raise RuntimeError("backward(): the inputs argument cannot be empty")
    tensors = [edge_tensor(t) if isinstance(t, GradientEdge) else t for t in inputs]
    for k, t in enumerate(tensors):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"backward(): inputs[{k}] does not require grad")
    return tensors, [not isinstance(e, GradientEdge) or t._fn is None for e, t in zip(inputs, tensors)]


def _accumulate_inputs(inputs, grads, create_graph: bool, into=None) -> None:
    """``backward(inputs=...)``: each input's gradient from :func:`grad` (None: not reached) added
    to its ``.grad`` by the engine's own rules (in place, or out of place under a graph), then
    the post-accumulate-grad hooks of the hooked leaves among them; ``into``: which inputs get it
    (all by default)."""
    reached = [(t, g) for k, (t, g) in enumerate(zip(inputs, grads)) if g is not None and (into is None or into[k])]
    if create_graph:
        for t, g in reached:
            _accumulate_leaf_graph(t, g)
    else:
        with _Walk() as walk:  # .grad versions bumped as backward() bumps them
            for t, g in reached:
                _accumulate_leaf(t, g.data, walk)
    for t, _ in reached:
        if t._fn is None and tensor_hooks.post_hooks(t):
            tensor_hooks.run_post(t)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool | None = None, materialize_grads: bool = False):
    """The gradients of ``outputs`` with respect to ``inputs``, as ``torch.autograd.grad``.

    Computes sum_k <grad_outputs_k, d outputs_k / d input> for each input and returns
    them as a tuple (one per input, in order); ``.grad`` is not touched. ``outputs``
    and ``inputs`` are a Tensor or a sequence of them; ``grad_outputs`` one cotangent
    per output (None: ones, allowed for one-element outputs). ``create_graph=True``
    records the backward pass, so the returned gradients can be differentiated again
    (Hessian-vector products, gradient penalties); ``retain_graph`` defaults to
    ``create_graph``. An input the outputs do not depend on is an error, or None with
    ``allow_unused=True``, or zeros of its shape and dtype with ``materialize_grads=True`` (which
    implies allow_unused; they require grad under ``create_graph``, as torch's).
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    allow_unused = bool(allow_unused) or materialize_grads
    outputs, grad_outputs = _paired(outputs, grad_outputs, "grad", "outputs", "grad_outputs")
    inputs = [inputs] if isinstance(inputs, (Tensor, GradientEdge)) else list(inputs)
    inputs = [edge_tensor(t) if isinstance(t, GradientEdge) else t for t in inputs]   # get_gradient_edge's
    for k, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {k} does not require grad")
    seeds = _seeds("grad", outputs, grad_outputs, create_graph)
    captured = _backward(outputs, seeds, targets=inputs, create_graph=create_graph,
                         retain_graph=create_graph if retain_graph is None else retain_graph)
    result = []
    for k, t in enumerate(inputs):
        g = captured.get(id(t))
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {k} (shape {t.shape}) was not used to compute the "
                                   f"outputs; pass allow_unused=True to get None for it")
            if materialize_grads:
                from .creation import zeros_like
                result.append(zeros_like(t, requires_grad=create_graph))
            else:
                result.append(None)
        elif create_graph:
            from . import ops
            result.append(g if g.dtype == t.dtype else ops.astype(g, t.dtype))
        else:  # own the buffer, as .grad does: g may be shared with another path
            result.append(Tensor._make(g.astype(t.data.dtype, copy=True), None))
    return tuple(result)
