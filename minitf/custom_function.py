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
``forward`` took arguments (None for a non-Tensor one or one needing no gradient);
``ctx.saved_tensors`` refuses a tensor changed in place since it was saved; ``ctx.needs_input_grad``
says which arguments need a gradient; written in Tensor ops, ``backward`` is differentiated
again under ``create_graph=True``. ``forward`` may return a tuple: ``backward`` then takes one
gradient per output (zeros for an output that got none, or for an integer one; None for a
non-Tensor), as torch's; minitf needs the floating outputs to share one dtype and device.
"""
from __future__ import annotations

from . import autograd as _engine, backend
from .tensor import Tensor


class FunctionCtx:
    """The ``ctx`` of a custom Function: what ``forward`` leaves for ``backward``."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved = ()

    def save_for_backward(self, *tensors) -> None:
        """Keep these tensors (or None) for ``backward``, with their versions, checked when read."""
        for k, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save Tensors or None, got {type(t).__name__} "
                                f"at position {k} (keep other values as attributes of ctx)")
        self._saved = tuple((t, None if t is None else t._version) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        """What :meth:`save_for_backward` kept; an error if one was changed in place since."""
        for k, (t, version) in enumerate(self._saved):
            if t is not None and t._version != version:
                raise RuntimeError(f"one of the variables needed for gradient computation has been modified "
                                   f"by an inplace operation: saved tensor {k} of shape {t.shape} is at version "
                                   f"{t._version}; expected version {version} instead")
        return tuple(t for t, _ in self._saved)

    def mark_non_differentiable(self, *tensors) -> None:
        """Accepted for torch's code; minitf's output is always differentiable (its gradient may be ignored)."""


class _UserNode(_engine.Function):
    """The engine node of one call of a custom Function: backward hands over to the user's.

    Its output is forward's one floating output, or, for several, all of them flattened and
    concatenated (the engine's nodes have one output); each output is then a reshaped slice of it,
    so the gradients of all of them reach this node as one array, cut up again for the user."""

    saves_inputs = False   # the user's saved tensors are checked by ctx.saved_tensors instead
    saves_output = False

    def forward(self, *arrays, out, user, ctx, positions, nargs, outputs):
        self.user, self.ctx, self.positions, self.nargs, self.outputs = user, ctx, positions, nargs, outputs
        return out

    def _output_grads(self, g, slice_):
        """One gradient per output of forward: the floating ones' slices of ``g`` (the packed gradient),
        zeros for the other Tensors (torch's for a non-differentiable output), None for non-Tensors."""
        if self.outputs is None:
            return (g,)
        grads = []
        for kind, shape, lo, hi, dtype in self.outputs:
            if kind == "float":
                grads.append(slice_(g, lo, hi, shape))
            elif kind == "tensor":
                xp = backend.get_array_module(g.data)
                grads.append(Tensor._make(xp.zeros(shape, dtype=dtype), None))
            else:
                grads.append(None)
        return tuple(grads)

    def _user_grads(self, gs) -> tuple:
        grads = self.user.backward(self.ctx, *gs)
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
                if gk.shape != inp.shape:
                    raise RuntimeError(f"function {self.user.__name__}Backward returned an invalid gradient at "
                                       f"index {k} - got {list(gk.shape)} but expected shape compatible with "
                                       f"{list(inp.shape)}")
            out.append(gk)
        return tuple(out)

    def backward(self, g):
        with _engine.no_grad():
            gs = self._output_grads(Tensor._make(g, None),
                                    lambda t, lo, hi, shape: Tensor._make(t.data[lo:hi].reshape(shape), None))
            grads = self._user_grads(gs)
        return tuple(None if t is None else t.data for t in grads)

    def backward_graph(self, g):
        from . import ops
        with _engine.enable_grad():  # the user's backward, recorded: differentiable again
            gs = self._output_grads(g, lambda t, lo, hi, shape: ops.reshape(ops.narrow(t, 0, lo, hi - lo), shape))
            return self._user_grads(gs)


def _is_float(t) -> bool:
    return isinstance(t, Tensor) and t.dtype.kind == "f"


def apply(cls, *args, **kwargs):
    """``cls.apply(*args)``: ``cls.forward(ctx, *args)`` under no_grad, recorded as one node."""
    if kwargs:
        raise TypeError(f"{cls.__name__}.apply takes positional arguments only, as torch's")
    positions = tuple(k for k, a in enumerate(args) if isinstance(a, Tensor))
    needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    ctx = FunctionCtx(needs)
    with _engine.no_grad():
        out = cls.forward(ctx, *args)
    several = isinstance(out, (tuple, list))
    outs = tuple(out) if several else (out,)
    if not several and not isinstance(out, Tensor):
        raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple, got {type(out).__name__}")
    tensors = [args[k] for k in positions]
    floats = [o for o in outs if _is_float(o)]
    if not tensors or not floats or not _engine.is_grad_enabled() or not any(needs):
        return tuple(outs) if several else out  # nothing to record (an integer output has no gradient)
    node = cls.__dict__.get("_minitf_node")
    if node is None:  # one node class per custom Function: grad_fn is <CubeBackward>, as torch names it
        node = type(cls.__name__, (_UserNode,), {"__module__": cls.__module__})
        type.__setattr__(cls, "_minitf_node", node)
    params = dict(user=cls, ctx=ctx, positions=positions, nargs=len(args))
    if not several:
        result = node.apply(*tensors, out=out.data, outputs=None, **params)
        result._vc = _engine.shared_counter(out)  # the same storage as forward's result: one version counter
        return result
    if len({(o.dtype, o.device) for o in floats}) > 1:
        raise TypeError(f"{cls.__name__}.forward: minitf records several floating outputs of one dtype and device, "
                        f"got {sorted({f'{o.dtype} on {o.device}' for o in floats})}")
    layout, lo = [], 0
    for o in outs:
        if _is_float(o):
            layout.append(("float", o.shape, lo, lo + o.numel(), o.dtype))
            lo += o.numel()
        else:
            layout.append(("tensor" if isinstance(o, Tensor) else "other", getattr(o, "shape", None), 0, 0,
                           getattr(o, "dtype", None)))
    xp = backend.get_array_module(floats[0].data)
    packed = node.apply(*tensors, out=xp.concatenate([o.data.reshape(-1) for o in floats]), outputs=layout, **params)
    from . import ops
    return tuple(ops.reshape(ops.narrow(packed, 0, lo, hi - lo), shape) if kind == "float" else o
                 for (kind, shape, lo, hi, _), o in zip(layout, outs))
