"""The autograd side of module backward hooks (``register_full_backward_pre_hook``,
``register_full_backward_hook``), with torch's semantics.

A hooked call ``y = module(x1, x2)`` passes each side's tensors that require grad through one
*bundle*: a node whose inputs are those tensors (x1, x2) and whose output is a placeholder
tensor standing for all of them; the tensors handed on (to ``forward``, or back to the caller)
are one small identity node each (``BackwardHookFunction``, a view of its tensor) reading that
placeholder:

    x1 --\\                 /--> x1' --\\
          [bundle] --> p --<            forward --> y --> [bundle] --> p --> y' --> caller
    x2 --/                 \\--> x2' --/

(p: the placeholder; every arrow a recorded edge, from input to output.)

In backward each identity node hands its gradient to the placeholder as one entry of a
:class:`_Parts` (the gradients of several tensors travelling together; the engine sums them
there like any gradient, entry by entry). The engine's topological order runs the bundle once,
after every consumer of every x_k' (or y'), that is when all the gradients are complete: the
output bundle runs the pre-hooks (and keeps ``grad_output`` for the call), the input bundle
runs the full hooks, and each returns one gradient per tensor it stands for. So nothing in the
engine knows about module hooks, and graphs without them do not pay for them.

Which gradients the hooks see, as torch 2.13's: ``grad_output`` has None for an output that
got no gradient (and that output's producer gets none either); ``grad_input`` has zeros for a
tensor argument that got none (also one that does not require grad, while another does), and
these zeros flow on (a leaf's ``.grad`` becomes zeros). A gradient that reaches the inputs
without passing through the outputs of the same call (a second-order backward through the
module's own backward) runs no full hook. Under ``create_graph=True`` the hooks see, and may
return, gradients that carry a graph.

In-place changes of the wrapped tensors: torch refuses them (its views of a custom Function);
here they are views like ``x[...]``, so a change in place is recorded on the tensor viewed
(a leaf that requires grad refuses, as without hooks) and the hooks still see the gradients
with respect to the values as the module received or returned them.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import autograd as _ag
from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ..ops._util import share_storage


class _Parts:
    """Gradients of several tensors as one value (None: none yet): what the engine sums at a
    bundle's placeholder. ``shape`` is the placeholder's, so the engine never reduces it."""

    __slots__ = ("items", "shape")
    dtype = np.dtype(object)  # not a float array: the anomaly check looks at the bundle's own outputs

    def __init__(self, items, shape):
        self.items, self.shape = items, shape

    def __add__(self, other):
        return _Parts(tuple(a if b is None else b if a is None else a + b
                            for a, b in zip(self.items, other.items)), self.shape)


class BackwardHookFunction(Function):
    """One wrapped tensor: the identity on entry ``k`` of a bundle (the name torch's grad_fn has)."""

    saves_inputs = saves_output = False

    def backward(self, g):
        items = [None] * self.n
        items[self.k] = g
        return (_Parts(tuple(items), self.shape),)

    backward_graph = backward  # the identity: the same Tensor handed on, its graph kept


class BackwardHookBundle(Function):
    """The tensors of one side of a hooked call, joined: backward runs that side's hooks."""

    saves_inputs = saves_output = False

    def backward(self, parts):
        return self.run(self, parts.items, False)

    def backward_graph(self, parts):
        return self.run(self, parts.items, True)


def _node(cls, inputs, **attrs):
    """A recorded ``cls`` node on ``inputs``, built by hand (no forward: the data is shared)."""
    fn = cls()
    fn.inputs, fn.freed, fn.params, fn._epoch = tuple(inputs), False, {}, _ag._epoch
    fn.__dict__.update(attrs)
    return fn


def _wrap(tensors, run):
    """``tensors`` (each requires grad) through one bundle whose backward is ``run``."""
    first = tensors[0].data
    placeholder = backend.get_array_module(first).empty((0,), first.dtype)  # on the tensors' device
    bundle = Tensor._make(placeholder, _node(BackwardHookBundle, tensors, run=run))
    out = []
    for k, t in enumerate(tensors):
        v = Tensor._make(t.data, _node(BackwardHookFunction, (bundle,), k=k, n=len(tensors), shape=bundle.shape))
        share_storage(v, t)            # a view: one version counter, re-based with t's root (view_rebase.py)
        v._view_of = (t, Ellipsis)     # a change of v in place is recorded on t as t[...] = ...
        out.append(v)
    return out


def _name(hook) -> str:
    return getattr(hook, "__name__", type(hook).__name__)


def _as_grad(value, like: Tensor, hook, what: str, create_graph: bool):
    """A gradient a hook returned for tensor ``like``: checked, as an array (or a Tensor with
    ``create_graph``), None kept."""
    if value is None:
        return None
    if not isinstance(value, Tensor):
        raise TypeError(f"backward hook {_name(hook)!r} returned {type(value).__name__} in {what}: "
                        f"a Tensor or None is expected")
    if value.shape != like.shape:
        raise RuntimeError(f"backward hook {_name(hook)!r} has changed the size of value: {what} has shape "
                           f"{value.shape}, the tensor has shape {like.shape}")
    if value.dtype != like.dtype or value.device != like.device:
        raise RuntimeError(f"backward hook {_name(hook)!r} has changed the type of value: {what} is "
                           f"{value.dtype} on {value.device}, the tensor is {like.dtype} on {like.device}")
    return value if create_graph else value.data


def _count_error(kind: str, what: str, got: int, expected: int) -> RuntimeError:  # torch's words
    return RuntimeError(f"Backward {kind} returned an invalid number of {what}, got {got}, but expected {expected}")


class ModuleCall:
    """One hooked call of a module: its hooks (as registered when it ran), where its tensors sit
    among the arguments and outputs, and ``grad_output`` between the two bundles' backwards."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs = None
        self.inputs = None  # (position, shape, dtype, array module) per tensor argument; None: none requires grad
        self.n_inputs = 0
        self.hooked_inputs = ()  # positions of the arguments that require grad (the input bundle's)
        self.n_outputs, self.hooked_outputs = 1, ()  # the same for the output (a Tensor or a tuple)

    # ---------------------------------------------------------------- forward: wrapping
    def wrap_inputs(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        tensors = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor)]
        grad = [(i, a) for i, a in tensors if a.requires_grad]
        if not (grad and _ag._tls.grad_enabled):
            return args
        # shapes, dtypes and array modules only, for the zeros of grad_input (no data is kept)
        self.inputs = [(i, a.shape, a.dtype, backend.get_array_module(a.data)) for i, a in tensors]
        self.hooked_inputs = [i for i, _ in grad]
        new = list(args)
        for (i, _), v in zip(grad, _wrap([a for _, a in grad], self._input_backward)):
            new[i] = v
        return tuple(new) if type(args) is tuple else type(args)(*new)

    def wrap_outputs(self, output):
        single = isinstance(output, Tensor)
        if not single and not isinstance(output, tuple):
            warnings.warn(f"{type(self.module).__name__}: backward hooks need the module's output to be a "
                          f"Tensor or a tuple of Tensors, not {type(output).__name__}; they will not be called",
                          UserWarning, stacklevel=4)
            return output
        items = (output,) if single else output
        self.n_outputs = len(items)
        grad = [(i, t) for i, t in enumerate(items) if isinstance(t, Tensor) and t.requires_grad]
        if not (grad and _ag._tls.grad_enabled):
            return output
        self.hooked_outputs = [i for i, _ in grad]
        new = list(items)
        for (i, _), v in zip(grad, _wrap([t for _, t in grad], self._output_backward)):
            new[i] = v
        if single:
            return new[0]
        return tuple(new) if type(output) is tuple else type(output)(*new)

    # ---------------------------------------------------------------- backward: the hooks
    def _output_backward(self, fn, grads, create_graph):
        """The gradients of the hooked outputs are complete: the pre-hooks, then (no input requires
        grad) the full hooks; returns the gradients the module's own backward receives."""
        wrap = (lambda g: g) if create_graph else (lambda g: None if g is None else Tensor._make(g, None))
        go = [None] * self.n_outputs
        for i, g in zip(self.hooked_outputs, grads):
            go[i] = wrap(g)
        go, last = tuple(go), None
        for hook in self.pre_hooks:
            result = hook(self.module, go)
            if result is None:
                continue
            if len(result) != len(go):
                raise _count_error("pre hook", "grad_output", len(result), len(go))
            go, last = result, hook
        self.grad_outputs = go
        if self.inputs is None:  # no argument requires grad: torch runs the full hooks now, on Nones
            warnings.warn(f"{type(self.module).__name__}: full backward hooks run with the gradients of the "
                          f"outputs, as none of the inputs requires grad (grad_input is all None)",
                          UserWarning, stacklevel=2)
            none = (None,) * self.n_inputs
            for hook in self.hooks:
                result = hook(self.module, none, go)
                if result is not None and not (isinstance(result, tuple) and all(r is None for r in result)):
                    raise RuntimeError("a full backward hook of a module none of whose inputs requires grad "
                                       "must return None (or a tuple of None)")
            self.grad_outputs = None
        return tuple(_as_grad(go[i], t, last, f"grad_output[{i}]", create_graph)
                     for i, t in zip(self.hooked_outputs, fn.inputs))

    def _input_backward(self, fn, grads, create_graph):
        """The gradients of the hooked arguments are complete: the full hooks; returns what flows
        on to the arguments."""
        received = dict(zip(self.hooked_inputs, grads))
        gi = [None] * self.n_inputs
        for i, shape, dtype, xp in self.inputs:  # torch's: zeros for every tensor without a gradient
            g = received.get(i)
            if g is None:
                g = xp.zeros(shape, dtype)
                g = Tensor._make(g, None) if create_graph else g
            gi[i] = g if create_graph else Tensor._make(g, None)
        gi, last = tuple(gi), None
        go, self.grad_outputs = self.grad_outputs, None
        if go is not None:  # None: this gradient did not come through the outputs (double backward)
            for hook in self.hooks:
                result = hook(self.module, gi, go)
                if result is None:
                    continue
                if len(result) != len(gi):
                    raise _count_error("hook", "grad_input", len(result), len(gi))
                gi, last = result, hook
        return tuple(_as_grad(gi[i], t, last, f"grad_input[{i}]", create_graph)
                     for i, t in zip(self.hooked_inputs, fn.inputs))

