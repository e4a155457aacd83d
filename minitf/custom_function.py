"""User-defined differentiable functions in ``torch.autograd.Function``'s style.

    class Cube(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):            # Tensors (and any other arguments) in, a Tensor (or tuple) out
            ctx.save_for_backward(x)
            ctx.scale = scale
            return scale * x ** 3

        @staticmethod
        def backward(ctx, grad):               # d loss / d out -> one gradient per forward argument
            (x,) = ctx.saved_tensors
            return grad * 3 * ctx.scale * x ** 2, None

    y = Cube.apply(x, 2.0)

A subclass of :class:`minitf.autograd.Function` whose ``forward`` is a ``staticmethod`` is one
of these (the engine's own ops define ``forward(self, *arrays)`` on arrays instead): its
``apply`` runs ``forward`` under ``no_grad()`` and records one node whose backward calls the
user's ``backward`` with Tensors. As in torch: ``backward`` returns as many values as
``forward`` took arguments (None for a non-Tensor one or one needing no gradient), each of the
input's shape or broadcastable to it from the input's shape (then summed down to it);
``ctx.saved_tensors`` gives the inputs as passed and, for a saved output, the output ``apply``
returned (so that a backward in Tensor ops differentiates again under ``create_graph=True``
through it too), and refuses a tensor changed in place since forward ended;
``ctx.needs_input_grad``, ``ctx.mark_non_differentiable``, ``ctx.set_materialize_grads``,
``ctx.mark_dirty`` (not on views; a tensor that is not an input: torch's warning) and
:func:`once_differentiable` as torch's. ``forward`` may return a tuple: ``backward`` then takes
one gradient per output (zeros for an output that got none, for an integer one or a
non-differentiable one, or None with ``set_materialize_grads(False)``; None for a non-Tensor);
minitf needs the differentiable outputs to share one floating dtype and device.
"""
from __future__ import annotations

import functools
import warnings
import weakref

from . import autograd as _engine, backend
from .tensor import Tensor
from .function_ctx import FunctionCtx  # (also torch.autograd.function.FunctionCtx by this module)


class _UserNode(_engine.Function):
    """The engine node of one call of a custom Function: backward hands over to the user's.

    Its output is forward's one differentiable output, or, for several, a 0-d token (the engine's
    nodes have one output): each output is then an :class:`_Unpack` of it, whose backward notes
    the output's gradient here (``pending``) and sends the token a 0-d zero, so that this node's
    backward runs after them. No gradient buffer the size of all outputs is made: only zeros for
    an output that got no gradient, and none with ``set_materialize_grads(False)``."""

    saves_inputs = False   # the user's saved tensors are checked by ctx.saved_tensors instead
    saves_output = False

    @property
    def saves_tensors(self) -> bool:
        """Whether forward saved a tensor with ``ctx.save_for_backward``: torch frees only those, so a
        Function that saved none (or only None; a tensor kept as a ctx attribute is not a saved
        tensor) can run its backward again after a pass without retain_graph, as torch's."""
        ctx = self.__dict__.get("ctx")
        return ctx is None or any(not (isinstance(e, tuple) and e[0] is None) for e in ctx._saved)

    def forward(self, *arrays, out, user, ctx, positions, nargs, outputs, unpack_type):
        self.user, self.ctx, self.positions, self.nargs, self.outputs = user, ctx, positions, nargs, outputs
        self.unpack_type = unpack_type
        self.pending = {}  # output k -> (the backward pass, its gradient), noted by its _Unpack
        return out

    def _output_grads(self, g):
        """One gradient per output of forward: those noted in this backward pass, zeros (or None,
        without materialized grads) for those that got none (a gradient noted by an earlier pass that
        failed before reaching this node is not this pass's) and for the other Tensors, None for
        non-Tensors."""
        if self.outputs is None:
            return (g,)
        pending, self.pending = self.pending, {}
        walk = _engine.current_walk()
        grads = []
        for k, (kind, shape, dtype) in enumerate(self.outputs):
            noted = pending.get(k)
            if noted is not None and noted[0] is walk:
                grads.append(noted[1])
            elif kind == "other" or not self.ctx.materialize_grads:
                grads.append(None)
            else:
                xp = backend.get_array_module(g.data)
                grads.append(Tensor._make(xp.zeros(shape, dtype=dtype), None))
        return tuple(grads)

    def _user_grads(self, gs) -> tuple:
        self.ctx._running = self
        try:
            grads = self.user.backward(self.ctx, *gs)
        finally:
            self.ctx._running = None
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) != self.nargs:
            raise RuntimeError(f"function {self.user.__name__}Backward returned an incorrect number of gradients "
                               f"(expected {self.nargs}, got {len(grads)})")
        out = []
        for k in self.positions:  # the gradients of the Tensor arguments, in order
            gk, inp = grads[k], self.inputs[len(out)]
            if gk is not None:
                if not isinstance(gk, Tensor):
                    raise TypeError(f"{self.user.__name__}.backward: gradient {k} is a {type(gk).__name__}, "
                                    f"not a Tensor or None")
                # torch's rule: a gradient the input's shape expands to is summed down to it (the engine's sum_to)
                if gk.shape != inp.shape and not _expands_to(inp.shape, gk.shape):
                    raise RuntimeError(f"Function {self.user.__name__}Backward returned an invalid gradient at "
                                       f"index {k} - got {list(gk.shape)} but expected shape compatible with "
                                       f"{list(inp.shape)}")
                if gk.dtype.kind == "c" and inp.dtype.kind != "c":   # (no silent drop of its imaginary part)
                    raise RuntimeError(f"Function {self.user.__name__}Backward returned a complex gradient at index "
                                       f"{k} for a real input of dtype {inp.dtype} (torch's error: return the real "
                                       f"part of the conjugate Wirtinger gradient)")
                if gk.dtype != inp.dtype and inp.dtype.kind in "fc":
                    gk = gk.to(dtype=inp.dtype)   # torch casts a gradient to its input's dtype (real to complex too)
            out.append(gk)
        return tuple(out)

    def backward(self, g):
        with _engine.no_grad():
            grads = self._user_grads(self._output_grads(Tensor._make(g, None)))
        return tuple(None if t is None else t.data for t in grads)

    def backward_graph(self, g):
        with _engine.enable_grad():  # the user's backward, recorded: differentiable again
            return self._user_grads(self._output_grads(g))


class _Unpack(_engine.Function):
    """Output ``k`` of a custom Function with several: forward's own array (so it can be changed in
    place as torch's), recorded on the node's 0-d token. Its backward notes its gradient on the node
    and gives the token a 0-d zero. Subclassed per custom Function, so that its name is ``FnBackward``."""

    saves_inputs = saves_output = False
    saves_tensors = False   # (a view of the node's token: what is freed is the node's)

    def forward(self, token, out, k, node):
        self.k, self.node = k, weakref.ref(node)
        return out

    def _note(self, g):
        node = self.node()
        if node is not None:
            node.pending[self.k] = (_engine.current_walk(), g)

    def backward(self, g):
        self._note(Tensor._make(g, None))
        return (backend.get_array_module(g).zeros((), dtype=g.dtype),)

    def backward_graph(self, g):
        self._note(g)
        return (Tensor._make(backend.get_array_module(g.data).zeros((), dtype=g.dtype), None),)


class _DelayedError(_engine.Function):
    """Stands for a gradient made by a :func:`once_differentiable` backward: differentiating it raises."""

    saves_inputs = saves_output = False

    def forward(self, x):
        return x

    def backward(self, g):
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")

    backward_graph = backward


def once_differentiable(backward):
    """Decorator for a custom Function's ``backward`` (``torch.autograd.function.once_differentiable``):
    it runs without recording, so it may use any code; with ``create_graph=True`` its gradients are
    marked, and differentiating them again raises an error instead of giving a wrong zero."""
    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with _engine.no_grad():
            out = backward(ctx, *grads)
        if not _engine.is_grad_enabled() or not any(isinstance(g, Tensor) and g.requires_grad for g in grads):
            return out

        def mark(t):
            if not isinstance(t, Tensor):
                return t
            leaf = Tensor._make(t.data, None)
            leaf._requires_grad = True
            return _DelayedError.apply(leaf)
        return tuple(mark(t) for t in out) if isinstance(out, tuple) else mark(out)
    return wrapper


def _expands_to(shape, target) -> bool:
    """Whether ``shape`` broadcasts to ``target`` (torch's ``is_expandable_to``)."""
    if len(shape) > len(target):
        return False
    return all(n == m or n == 1 for n, m in zip(reversed(shape), reversed(target)))


def _is_float(t) -> bool:
    """A floating or complex Tensor: an output that gets a gradient, as torch's."""
    return isinstance(t, Tensor) and t.dtype.kind in "fc"


def _dirty_inputs(cls, ctx, tensors, outs, record) -> dict:
    """``ctx.mark_dirty``: bump each dirty input's version and, when recording, stand a Tensor for its
    value before forward (``_prev``, as the recorded in-place ops): ``{id(input): that Tensor}``."""
    found = {}
    for t in ctx._dirty:
        if not any(t is o for o in outs):   # any dirty tensor, an input or not, recorded or not (torch's)
            raise RuntimeError(f"{cls.__name__}: some elements marked as dirty during the forward method were "
                               f"not returned as output; the inputs that are modified in place must all be "
                               f"outputs of the Function")
        if not any(t is a for a in tensors):
            if record:   # torch warns (when it records) and takes it as an ordinary output
                warnings.warn(f"{cls.__name__}: ctx.mark_dirty() received a tensor that was not an input; only "
                              f"input Tensors that have been mutated should be passed to ctx.mark_dirty() "
                              f"(it is taken as an ordinary output)", UserWarning, stacklevel=4)
            continue
        if record and t._fn is None and t.requires_grad:
            raise RuntimeError(f"{cls.__name__}: a leaf Variable that requires grad has been used in an in-place "
                               f"operation (mark_dirty)")
        if record and getattr(t, "_base", None) is not None:
            raise NotImplementedError(f"{cls.__name__}: mark_dirty on a view is not supported; pass a tensor "
                                      f"of its own storage (clone() it first)")
        _engine.bump_version(t)
        if record:
            # its value before forward is gone (forward wrote over it): the earlier ops that saved it see
            # the change through the one version counter, the others reach its earlier graph through `old`
            old = _engine.as_it_was(t)
            t._prev = (_engine._epoch, old)
            found[id(t)] = old
    return found


def _become(t: Tensor, result: Tensor) -> Tensor:
    """A dirty input ``t`` takes the recorded output's place (torch returns the input itself)."""
    t._fn, t._requires_grad = result._fn, True
    if getattr(t, "_views", None):   # its views read it again from its new history (torch's re-base)
        from .view_rebase import rebase
        rebase(t)
    return t


def _node_types(cls):
    """The node classes of ``cls``, made once: grad_fn is <CubeBackward>, as torch names it. A class
    with ``takes_complex = True`` (its backward holds for complex numbers: minitf.linalg's) passes
    the complex guard (minitf/complex_guard.py) with its complex inputs; others are refused there."""
    types = cls.__dict__.get("_minitf_node")
    if types is None:
        attrs = {"__module__": cls.__module__, "takes_complex": getattr(cls, "takes_complex", False)}
        types = (type(cls.__name__, (_UserNode,), attrs), type(cls.__name__, (_Unpack,), dict(attrs)))
        type.__setattr__(cls, "_minitf_node", types)
    return types


def apply(cls, *args, **kwargs):
    """``cls.apply(*args)``: ``cls.forward(ctx, *args)`` under no_grad, recorded as one node (with a
    dual level open and a dual argument, the outputs' tangents from ``cls.jvp``: :mod:`minitf.forward_rules`)."""
    if kwargs:
        raise TypeError(f"{cls.__name__}.apply takes positional arguments only, as torch's")
    if _engine._tls.hooks:   # (a dual level open: forward AD's hook)
        from .forward_rules import custom_apply
        return custom_apply(cls, args, _apply)
    return _apply(cls, args)


def _apply(cls, args, keep=None):
    """:func:`apply` itself; ``keep``: a list that gets the call's ctx (for ``jvp``)."""
    positions = tuple(k for k, a in enumerate(args) if isinstance(a, Tensor))
    needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    ctx = FunctionCtx(needs)
    if keep is not None:
        keep.append(ctx)
    with _engine.no_grad():
        out = cls.forward(ctx, *args)
    several = isinstance(out, (tuple, list))
    outs = tuple(out) if several else (out,)
    if not several and not isinstance(out, Tensor):
        raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple, got {type(out).__name__}")
    for t in ctx._non_differentiable:
        if not any(t is o for o in outs):
            raise ValueError(f"{cls.__name__}: mark_non_differentiable was given a tensor that forward did not return")
    # the outputs that get a gradient: floating ones not marked non-differentiable
    diff = [_is_float(o) and not any(o is t for t in ctx._non_differentiable) for o in outs]
    tensors = [args[k] for k in positions]
    record = bool(tensors) and any(diff) and _engine.is_grad_enabled() and any(needs)
    dirty = _dirty_inputs(cls, ctx, tensors, outs, record)
    if not record:
        ctx._finish(args, outs, [None] * len(outs))
        return tuple(outs) if several else out  # nothing to record (an integer output has no gradient)
    node, unpack = _node_types(cls)
    params = dict(user=cls, ctx=ctx, positions=positions, nargs=len(args), unpack_type=unpack)
    if dirty:
        tensors = [dirty.get(id(t), t) for t in tensors]  # the node's input: each dirty one's value before
    if not several:
        result = node.apply(*tensors, out=out.data, outputs=None, **params)
        result._vc = _engine.shared_counter(out)  # the same storage as forward's result: one version counter
        result = _become(out, result) if dirty else result
        ctx._finish(args, outs, [result])
        return result
    floats = [o for o, d in zip(outs, diff) if d]
    if len({(o.dtype, o.device) for o in floats}) > 1:
        raise TypeError(f"{cls.__name__}.forward: minitf records several floating outputs of one dtype and "
                        f"device, got {sorted({f'{o.dtype} on {o.device}' for o in floats})}")
    layout = [("float" if d else "tensor" if isinstance(o, Tensor) else "other", getattr(o, "shape", None),
               getattr(o, "dtype", None)) for o, d in zip(outs, diff)]
    xp = backend.get_array_module(floats[0].data)
    # the node's output is a 0-d token: the outputs' gradients reach the node by their _Unpack's notes
    packed = node.apply(*tensors, out=xp.zeros((), dtype=floats[0].dtype), outputs=layout, **params)
    fn = packed.grad_fn
    results = []
    for k, ((kind, _, _), o) in enumerate(zip(layout, outs)):
        if kind == "float":
            r = unpack.apply(packed, out=o.data, k=k, node=fn)
            r._vc = _engine.shared_counter(o)
            if id(o) in dirty:
                r = _become(o, r)
            results.append(r)
        else:
            results.append(None)
    ctx._packed = weakref.ref(packed)
    ctx._finish(args, outs, results)
    return tuple(o if r is None else r for o, r in zip(outs, results))
