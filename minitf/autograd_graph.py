"""``torch.autograd.graph`` for minitf, as ``mt.autograd.graph`` (also ``import minitf.autograd.graph``).

* :class:`Node`: the abstract base of the graph's nodes: ``isinstance(y.grad_fn, Node)`` holds for
  every op's node and a leaf's ``AccumulateGrad``, as torch's.
* :class:`GradientEdge` / :func:`get_gradient_edge`: where a tensor's gradient is computed, a
  ``(node, output_nr)`` pair that ``mt.autograd.grad`` takes in place of the tensor.
* :func:`increment_version`: count an in-place change autograd did not see (a write into ``.data``),
  so that a backward that saved the tensor raises instead of reading the new values.
* :func:`register_multi_grad_hook`: one hook over the gradients of several tensors.
* ``saved_tensors_hooks``, ``save_on_cpu``, ``disable_saved_tensors_hooks``: hooks on what ops save
  for backward (:mod:`minitf.saved_tensors`, imported on first use).
* ``allow_mutation_on_saved_tensors``: a saved tensor changed in place is cloned first
  (:mod:`minitf.saved_tensors_mutation`, imported on first use).
"""
from __future__ import annotations

import abc
import weakref
from typing import NamedTuple

_SAVED = ("saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks")   # minitf/saved_tensors.py's
_MUTATION = ("allow_mutation_on_saved_tensors",)   # minitf/saved_tensors_mutation.py's
__all__ = ["Node", "GradientEdge", "get_gradient_edge", "increment_version", "register_multi_grad_hook",
           *_SAVED, *_MUTATION]


class Node(abc.ABC):
    """The graph's node type, torch's ``torch.autograd.graph.Node``: every ``grad_fn`` (a
    :class:`minitf.autograd.Function`) and ``AccumulateGrad`` is one (a virtual subclass)."""

    @abc.abstractmethod
    def name(self) -> str:
        """The node's name: ``MulBackward0``."""

    @property
    @abc.abstractmethod
    def next_functions(self) -> tuple:
        """``((node, output_nr), ...)``, one per input of the op."""

    @property
    @abc.abstractmethod
    def metadata(self) -> dict:
        """A dict of the node's own."""

    @abc.abstractmethod
    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` after the node's backward."""

    @abc.abstractmethod
    def register_prehook(self, fn):
        """``fn(grad_outputs)`` before the node's backward."""

    @classmethod
    def __subclasshook__(cls, subclass):
        if cls is Node:
            from .autograd import Function
            from .graph_nodes import AccumulateGrad
            if issubclass(subclass, (Function, AccumulateGrad)):
                return True
        return NotImplemented


class GradientEdge(NamedTuple):
    """Where a tensor's gradient is computed: ``node`` (its ``grad_fn``, or a leaf's ``AccumulateGrad``)
    and ``output_nr`` (which output of the node the tensor is; 0 but for a custom Function's
    several outputs). ``ownership_token`` as torch's (None here: the node keeps its graph alive)."""

    node: object
    output_nr: int
    ownership_token: object = None


# (id(node), output_nr) -> the tensor get_gradient_edge was asked for (a non-leaf), while it lives
_edge_tensors: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def get_gradient_edge(tensor) -> GradientEdge:
    """The :class:`GradientEdge` of ``tensor`` (which must require grad): ``mt.autograd.grad(loss,
    get_gradient_edge(x))`` is ``mt.autograd.grad(loss, x)``."""
    from .graph_nodes import _edge
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does not require "
                           "gradients")
    node, nr = _edge(tensor)
    if tensor._fn is not None:
        _edge_tensors[id(node), nr] = tensor
    return GradientEdge(node, nr)


def edge_tensor(edge: GradientEdge):
    """The tensor whose gradient ``edge`` describes (for ``grad``'s inputs): minitf's graph is keyed by
    tensors; a leaf's is its ``AccumulateGrad``'s variable, a non-leaf's the one given to
    :func:`get_gradient_edge`."""
    from .graph_nodes import AccumulateGrad, _edge
    node = edge.node
    t = node.variable if isinstance(node, AccumulateGrad) else _edge_tensors.get((id(node), edge.output_nr))
    if t is None or _edge(t) != (node, edge.output_nr):
        raise RuntimeError("grad: a GradientEdge whose tensor minitf cannot find: take edges of non-leaf "
                           "tensors with get_gradient_edge (minitf's graph is keyed by tensors), and keep the "
                           "tensor's graph alive")
    return t


def increment_version(tensor) -> None:
    """Bump the version counter of ``tensor`` (a Tensor or an iterable of them), as an in-place op
    does: a backward that saved it then raises minitf's in-place error."""
    from .autograd import bump_version
    from .tensor import Tensor
    for t in (tensor,) if isinstance(tensor, Tensor) else tensor:
        if not isinstance(t, Tensor):
            raise TypeError(f"increment_version expects a Tensor or an iterable of Tensors, got {type(t).__name__}")
        bump_version(t)


class _MultiHandle:
    """What :func:`register_multi_grad_hook` returns: ``remove()`` takes off every tensor's hook."""

    def __init__(self, handles):
        self.handles = tuple(handles)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def register_multi_grad_hook(tensors, fn, *, mode: str = "all") -> _MultiHandle:
    """One hook over the gradients of ``tensors`` (a sequence of Tensors), as torch's.

    ``mode="all"``: ``fn(grads)`` once per backward pass that computes the gradient of any of them,
    ``grads`` a list of one entry per tensor, None for a tensor whose gradient this pass does not
    compute (not in its graph, or not needed for the pass's ``inputs``). minitf calls it when the
    pass has finished (``queue_callback``), torch's as soon as the last gradient is there: the same
    arguments. ``mode="any"``: ``fn(grad)`` with the first of their gradients computed in a pass.
    Every tensor must require grad in "all" mode; "any" skips those that do not."""
    from . import autograd as _ag
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = tuple(tensors)
    passes: dict = {}   # id(backward pass) -> (the pass, its state): per pass, as torch's graph task

    def state(new):
        """This pass's state (made by ``new()`` on its first gradient) and whether it was just made."""
        walk = _ag.outermost_walk()
        entry = passes.get(id(walk))
        if entry is not None and entry[0] is walk:
            return entry[1], False
        value = new()
        passes[id(walk)] = (walk, value)
        _ag.queue_callback(lambda: end(passes.pop(id(walk))[1]))
        return value, True

    def end(value):
        if mode == "all":
            fn(value)

    if mode == "all":
        def inner(idx):
            def hook(grad):
                grads, _ = state(lambda: [None] * len(tensors))
                grads[idx] = grad
            return hook
        return _MultiHandle(t.register_hook(inner(i)) for i, t in enumerate(tensors))

    def first(grad):
        if state(lambda: None)[1]:
            fn(grad)
    return _MultiHandle(t.register_hook(first) for t in tensors if t.requires_grad)


def __getattr__(name):
    if name in _SAVED:
        from . import saved_tensors
        return getattr(saved_tensors, name)
    if name in _MUTATION:
        from . import saved_tensors_mutation
        return getattr(saved_tensors_mutation, name)
    raise AttributeError(f"module 'minitf.autograd.graph' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
