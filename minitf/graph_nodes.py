"""The graph's nodes as torch shows them: ``grad_fn.next_functions``, ``grad_fn.metadata``,
``grad_fn.register_hook`` / ``register_prehook``, and the ``AccumulateGrad`` node of a leaf.

    y = (x * w).sum()
    y.grad_fn                      # <SumBackward0 ...>
    y.grad_fn.next_functions       # ((<MulBackward0 ...>, 0),)
    y.grad_fn.next_functions[0][0].next_functions
                                   # ((<AccumulateGrad ...>, 0), (None, 0)): x requires grad, w not

``next_functions`` has one ``(node, 0)`` pair per input of the op: the node that made the input,
a leaf's ``AccumulateGrad`` (whose ``variable`` is the leaf), or None for an input that needs
no gradient; the 0 is the output's index (every minitf op has one output; output k of a
custom Function with several is ``(its Function's node, k)``, as torch's). Walking it from a
loss visits the whole graph, as ``mt.to_dot`` draws it.

A node hook sees the gradients at one op during backward: a prehook ``hook(grad_outputs)`` before
the op's backward, a hook ``hook(grad_inputs, grad_outputs)`` after it (both tuples of Tensors,
None where an input needs no gradient); either may return a replacement tuple. While a node has
hooks, backward takes the general walk of :mod:`minitf.backprop`, as for tensor hooks.
"""
from __future__ import annotations

import weakref

from . import tensor_hooks

__all__ = ["NodeAPI", "AccumulateGrad", "next_functions", "register_node_hook", "run_prehooks", "run_hooks"]

# id(leaf) -> its AccumulateGrad, while the leaf lives (a Tensor's == is elementwise: no WeakKeyDictionary)
_accumulators: dict = {}


class AccumulateGrad:
    """The node that adds a leaf's gradient into its ``.grad`` (torch's); ``variable`` is the leaf."""

    __slots__ = ("_variable", "__weakref__")

    def __init__(self, leaf):
        key = id(leaf)
        self._variable = weakref.ref(leaf, lambda _, key=key: _accumulators.pop(key, None))

    @property
    def variable(self):
        return self._variable()

    @property
    def next_functions(self) -> tuple:
        return ()

    @staticmethod
    def name() -> str:
        return "torch::autograd::AccumulateGrad"

    def register_hook(self, hook):
        raise NotImplementedError("AccumulateGrad.register_hook: use the leaf's register_hook or "
                                  "register_post_accumulate_grad_hook instead")

    register_prehook = register_hook

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


def _node_of(t):
    if t._fn is not None:
        return t._fn
    if not t._requires_grad:
        return None
    node = _accumulators.get(id(t))
    if node is None:
        node = _accumulators[id(t)] = AccumulateGrad(t)
    return node


def _edge(t) -> tuple:
    """``(node, output index)`` of the input ``t``: output k of a custom Function with several
    outputs is made by an unpacking node of the engine's; torch shows the Function's node and k."""
    from .custom_function import _Unpack
    fn = t._fn
    if isinstance(fn, _Unpack) and fn.node() is not None:
        return fn.node(), fn.k
    return _node_of(t), 0


def next_functions(fn) -> tuple:
    """``((node, index), ...)``, one per input of ``fn`` (see the module docstring)."""
    from .autograd import _inputs_as_of
    from .custom_function import _Unpack
    if isinstance(fn, _Unpack):   # an output of a multi-output custom Function: its node's edges
        node = fn.node()
        return () if node is None else next_functions(node)
    inputs = getattr(fn, "inputs", None)
    if inputs is None:   # freed by a backward without retain_graph: torch keeps the edges, minitf not
        return ()
    return tuple(_edge(t) for t in _inputs_as_of(fn))


class _NodeHandle:
    """What a node's ``register_hook`` / ``register_prehook`` returns: ``remove()`` takes it off."""

    def __init__(self, fn, key: str, hook):
        self._fn, self._key, self._hook = weakref.ref(fn), key, hook

    def remove(self) -> None:
        fn = self._fn()
        hooks = None if fn is None else fn.__dict__.get(self._key)
        if hooks and self._hook in hooks:
            hooks.remove(self._hook)
            if not fn.__dict__.get("_node_hooks") and not fn.__dict__.get("_node_prehooks"):
                _release(fn)


def _forget() -> None:   # a node with hooks was freed
    tensor_hooks.active -= 1


def _release(fn) -> None:
    finalizer = fn.__dict__.pop("_node_hooks_finalizer", None)
    if finalizer is not None and finalizer.detach() is not None:
        _forget()


def register_node_hook(fn, hook, pre: bool):
    """Add ``hook`` to ``fn``'s hooks (``pre``: its prehooks); the handle removes it."""
    if not callable(hook):
        raise TypeError(f"register_{'pre' if pre else ''}hook: the hook must be callable, got {type(hook).__name__}")
    if getattr(fn, "freed", False):
        raise RuntimeError("cannot register a hook on a node whose backward has already run and freed it "
                           "(pass retain_graph=True to keep it)")
    d = fn.__dict__
    if "_node_hooks_finalizer" not in d:   # the first hook: backward takes the general walk from now on
        d["_node_hooks_finalizer"] = weakref.finalize(fn, _forget)
        tensor_hooks.active += 1
    key = "_node_prehooks" if pre else "_node_hooks"
    d.setdefault(key, []).append(hook)
    return _NodeHandle(fn, key, hook)


def _as_tensor(g, create_graph: bool):
    from .tensor import Tensor
    return g if g is None or create_graph else Tensor._make(g, None)


def _replaced(out, before: tuple, what: str, create_graph: bool) -> tuple:
    from .tensor import Tensor
    if out is None:
        return before
    out = tuple(out) if isinstance(out, (tuple, list)) else None
    if out is None or len(out) != len(before):
        raise TypeError(f"a node {what} must return None or a tuple of {len(before)} gradients")
    for new, old in zip(out, before):
        if new is not None and (not isinstance(new, Tensor) or (old is not None and tuple(new.shape) != tuple(old.shape))):
            raise RuntimeError(f"a node {what} returned a gradient of shape "
                               f"{getattr(new, 'shape', type(new).__name__)} where {getattr(old, 'shape', None)} was expected")
    return tuple(None if g is None else (g if create_graph else g.data) for g in out)


def run_prehooks(fn, g, create_graph: bool):
    """``g`` (the op's output gradient) through ``fn``'s prehooks."""
    for hook in list(fn.__dict__.get("_node_prehooks") or ()):
        (g,) = _replaced(hook((_as_tensor(g, create_graph),)), (g,), "prehook", create_graph)
    return g


def run_hooks(fn, in_grads, g, create_graph: bool):
    """``in_grads`` (one per input, shaped as the inputs) through ``fn``'s hooks."""
    for hook in list(fn.__dict__.get("_node_hooks") or ()):
        ins = tuple(_as_tensor(x, create_graph) for x in in_grads)
        in_grads = _replaced(hook(ins, (_as_tensor(g, create_graph),)), tuple(in_grads), "hook", create_graph)
    return in_grads


class NodeAPI:
    """torch's Node API, a base of :class:`minitf.autograd.Function`: the graph's edges, a per-node
    dict and node hooks (see the module docstring)."""

    __slots__ = ()

    @property
    def next_functions(self) -> tuple:
        """``((node, 0), ...)`` per input: the node that made it, a leaf's AccumulateGrad, or None."""
        return next_functions(self)

    @property
    def metadata(self) -> dict:
        """A dict of this node's own, for the user's notes (torch's ``grad_fn.metadata``)."""
        return self.__dict__.setdefault("_metadata", {})

    def register_hook(self, hook):
        """``hook(grad_inputs, grad_outputs)`` after this node's backward; may return new grad_inputs."""
        return register_node_hook(self, hook, pre=False)

    def register_prehook(self, hook):
        """``hook(grad_outputs)`` before this node's backward; may return new grad_outputs."""
        return register_node_hook(self, hook, pre=True)
