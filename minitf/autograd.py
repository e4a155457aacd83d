"""The reverse-mode autograd engine: Function, graph recording, topological order, backward.

Every differentiable op is a small :class:`Function` subclass whose ``forward``
computes on arrays and whose ``backward`` maps the gradient of the output to
gradients of the inputs; the two sit side by side in :mod:`minitf.ops`. When
recording is on and some input requires grad, the output remembers the
Function that made it (``tensor._fn``) and the Function remembers its inputs:
that is the graph.

``loss.backward()`` orders the graph topologically (iteratively, so a
10,000-step RNN unroll is fine), then walks it from the output back, summing
the gradient contributions that reach every tensor before passing them on (so
``b = a + a; c = b + b`` gives dc/da = 4, never more). Gradients are summed to
the shape of each input here, once, for all broadcasting ops; leaves that
require grad accumulate into ``.grad``.

The :class:`~minitf.tensor.Tensor` (its data, attributes and PyTorch-named
methods) lives in :mod:`minitf.tensor`; this module is only the engine.
"""
from __future__ import annotations

import functools


from . import backend
from .tensor import Tensor

_grad_enabled = True

class no_grad:
    """Context manager (and decorator) that turns graph recording off."""

    def __enter__(self):
        global _grad_enabled
        self._prev, _grad_enabled = _grad_enabled, False

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)  # keeps the signature for help() and inspect
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Context manager (and decorator) that turns graph recording on, even inside ``no_grad()``."""

    def __enter__(self):
        global _grad_enabled
        self._prev, _grad_enabled = _grad_enabled, True

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with enable_grad():
                return fn(*args, **kwargs)
        return wrapper


def is_grad_enabled() -> bool:
    return _grad_enabled


def sum_to(grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape) if lead else grad


class Function:
    """One recorded op. Subclasses define ``forward(*arrays, **params) -> array``
    and ``backward(grad_out) -> tuple of grads`` (one per input, None allowed).

    ``forward`` may keep what ``backward`` needs on ``self``; the engine drops
    the whole Function (and so those arrays) once backward has used it, unless
    ``retain_graph=True``.
    """

    __slots__ = ("inputs", "freed", "__dict__")

    @classmethod
    def apply(cls, *inputs: "Tensor", **params) -> "Tensor":
        fn = cls()
        data0 = inputs[0].data
        if len(inputs) > 1:
            t0 = type(data0)
            for t in inputs[1:]:
                if type(t.data) is not t0 and backend.device_of(t.data) != backend.device_of(data0):
                    raise backend.DeviceError(
                        f"{cls.__name__.lower()}: tensors on different devices: "
                        f"{inputs[0].device} and {t.device}")
        out = fn.forward(*[t.data for t in inputs], **params)
        if _grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    fn.inputs = inputs
                    fn.freed = False
                    return Tensor._make(out, fn)
        return Tensor._make(out, None)

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError


def _topological_order(root: Tensor):
    """Tensors reachable from ``root`` through recorded ops, inputs before outputs.

    Iterative depth-first search: recursion would overflow on long RNN unrolls.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        fn = t._fn
        if fn is not None:
            for inp in fn.inputs:
                if inp._fn is not None and id(inp) not in visited:
                    stack.append((inp, False))
    return order


def _accumulate_leaf(t: Tensor, g):
    if t.grad is None:
        # own the buffer: g may be shared with another path or be an input's data
        t.grad = g.copy() if g.dtype == t.data.dtype else g.astype(t.data.dtype)
    else:
        t.grad += g


def _run_backward(root: Tensor, grad, retain_graph: bool) -> None:
    grads = {id(root): grad}
    for t in reversed(_topological_order(root)):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        fn = t._fn
        if fn is None:  # backward() called on a leaf itself: its gradient is the seed
            _accumulate_leaf(t, g)
            continue
        if t._retain:
            _accumulate_leaf(t, g)
        if fn.freed:
            raise RuntimeError(
                "trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed): pass retain_graph=True to the "
                "first backward() if you need to call it twice")
        in_grads = fn.backward(g)
        if not retain_graph:
            fn.freed = True
            fn.__dict__.clear()  # drop the arrays forward saved
        for inp, ig in zip(fn.inputs, in_grads):
            if ig is None or not inp.requires_grad:
                continue
            if ig.shape != inp.data.shape:
                ig = sum_to(ig, inp.data.shape)
            if inp._fn is None:
                _accumulate_leaf(inp, ig)
            else:
                prev = grads.get(id(inp))
                grads[id(inp)] = ig if prev is None else prev + ig
