"""Gradient checkpointing: keep a function's inputs, not its activations, and recompute them in backward.

``y = recompute(fn, x)`` gives the same ``y`` as ``fn(x)``, but runs ``fn``
under ``no_grad()``, so none of the intermediate arrays its ops would save for
backward are kept: the graph holds one node, whose inputs are ``x`` and
``fn``'s parameters. When backward reaches that node it runs ``fn`` again on
(detached copies of) the inputs, this time recording, and backpropagates the
incoming gradient through the fresh graph, which is then dropped. The memory of
a stack of L blocks falls from L blocks' activations to L block inputs plus one
block's activations, for one more forward pass of each block (about a third
more compute): PyTorch's ``torch.utils.checkpoint`` and Chen et al., "Training
deep nets with sublinear memory cost" (2016).

The device's default random generator is copied before the forward pass and
replayed for the recomputation, so dropout draws the same masks: the gradients
are those of the plain run. (The name ``minitf.checkpoint`` is taken by the
module that saves training runs; hence ``recompute``.)
"""
from __future__ import annotations

from .. import autograd as _autograd
from .. import backprop as _backprop
from .. import random as _random
from ..autograd import Function, enable_grad, is_grad_enabled, no_grad
from ..tensor import Tensor


class Recompute(Function):
    """The one node a recomputed call leaves in the graph; its inputs are the tensor arguments, then
    the parameters. Built by :func:`recompute`, not by ``apply`` (its forward works on tensors)."""

    saves_output = False  # backward re-runs fn on the inputs (an input changed in place since is an error)

    def backward(self, g):
        args = [Tensor(a.data, requires_grad=a.requires_grad) if isinstance(a, Tensor) else a
                for a in self.args]
        own = [a for a in args if isinstance(a, Tensor)] + list(self.params) + list(self.captured)
        walk = _autograd.current_walk()
        if self.captured or (walk is not None and walk.general):   # hooks, grad(), or a closure
            return self._backward_collecting(g, args, own, walk)
        # the plain loop (no hooks anywhere, nothing closed over): the parameters' gradients so far
        # are put aside, what the recomputed graph gives them is this node's gradient for them,
        # which the engine then accumulates as for any input
        params = self.params
        saved = [p._grad for p in params]
        for p in params:
            p.grad = None
        try:
            with self.rng.replay(), enable_grad():
                out = self.fn(*args)
            if out.requires_grad:
                out.backward(g)
            grads = [None if t._grad is None else t._grad.data for t in own]
        finally:
            for p, s in zip(params, saved):
                p.grad = s
        return tuple(grads)

    def _backward_collecting(self, g, args, own, walk):
        """The backward through the general walk (some tensor has hooks, ``grad()``, or ``fn`` closes
        over tensors requiring grad): the recomputed graph's leaves keep their gradients out of
        ``.grad`` and their hooks unrun (``collect``), and it stops at the closed-over non-leaves
        (``stop_at``: their graph is the outer pass's to walk, once); this node returns them all
        as its inputs' gradients, so the outer pass accumulates each and runs each hook once, on
        the whole gradient, as torch's ``checkpoint(use_reentrant=False)``. A leaf ``fn`` read that
        the first run did not see (read by an op outside ``Function.apply``) goes back to the outer
        pass as ``extra_grads``, or straight into its ``.grad`` under the plain loop."""
        collected = {}
        with self.rng.replay(), enable_grad():
            out = self.fn(*args)
        if out.requires_grad:
            _backprop._backward([out], [g], collect=collected,
                                stop_at={id(t) for t in self.captured if t._fn is not None})
        grads = tuple(None if id(t) not in collected else collected.pop(id(t))[1] for t in own)
        unseen = [(t, ig) for t, ig in collected.values() if t._requires_grad]
        if unseen and walk is not None and walk.general:
            self.extra_grads = unseen
        for t, ig in (unseen if walk is not None and not walk.general else ()):
            _autograd._accumulate_leaf(t, ig, walk)
        return grads

    def backward_graph(self, g):
        """The recorded backward (``create_graph=True``): run ``fn`` again on the inputs themselves,
        recording, and differentiate it with ``g`` keeping that graph, so the gradients it returns
        depend on the inputs and can be differentiated again."""
        with self.rng.replay(), enable_grad():
            out = self.fn(*self.args)
        need = [t for t in self.inputs if t.requires_grad]
        # stopping at the inputs: a closed-over non-leaf's own graph is the outer pass's to walk
        got = _backprop._backward([out], [g], targets=need, stop_at_targets=True, create_graph=True,
                                  retain_graph=True) if need else {}
        return tuple(got.get(id(t)) for t in self.inputs)


def recompute(fn, *inputs, params=None) -> Tensor:
    """``fn(*inputs)``, recomputed during backward instead of keeping its intermediate activations.

    Parameters
    ----------
    fn : callable
        Returns one Tensor; a Module (e.g. a transformer block) or a function.
        It must be a deterministic function of its inputs, its parameters and
        the device's default random generator (dropout): it runs twice.
    *inputs : Tensor or other values
        Passed to ``fn`` as they are; Tensors among them receive gradients.
    params : sequence of Tensor, optional
        The tensors ``fn`` uses without taking them as inputs, which need
        gradients. Default: ``fn.parameters()`` when ``fn`` has that method
        (a Module), else none. A tensor requiring grad that ``fn`` reads from
        elsewhere (a closure), leaf or not, is found during the first run and
        becomes one more input of the node: its gradient reaches the outer graph
        once, through it, its hooks run once on its whole gradient (also when it
        is used outside ``fn`` too), and a non-leaf's own graph is walked by the
        outer pass only, as with torch's ``checkpoint(use_reentrant=False)``.

    Returns
    -------
    Tensor
        The output of ``fn``: same values; the same gradients reach ``inputs``
        and ``params`` as without recomputation. With recording off
        (``no_grad``), or when nothing requires grad, this is just ``fn(*inputs)``.

    Examples
    --------
    >>> import minitf as mt
    >>> from minitf import nn
    >>> block = nn.TransformerBlock(n_embd=8, n_head=2)
    >>> x = mt.randn(2, 5, 8, requires_grad=True)
    >>> mt.recompute(block, x).sum().backward()      # as block(x).sum().backward()
    """
    if params is None:
        params = fn.parameters() if callable(getattr(fn, "parameters", None)) else ()
    tensors = [a for a in inputs if isinstance(a, Tensor)]
    seen = {id(t) for t in tensors}
    params = [p for p in params if id(p) not in seen and not seen.add(id(p))]
    if not is_grad_enabled() or not any(t.requires_grad for t in tensors + params):
        return fn(*inputs)
    device = (tensors or params)[0].device
    rng = _random.ReplayableRNG(device)
    outer_reads, _autograd._reads = _autograd._reads, []
    try:
        with rng.first(), no_grad():
            out = fn(*inputs)
    finally:
        reads, _autograd._reads = _autograd._reads, outer_reads
        if outer_reads is not None:   # a recompute inside another's first run: what it read, the outer read
            outer_reads.extend(reads)
    if not isinstance(out, Tensor):
        raise TypeError(f"recompute: fn must return one Tensor, got {type(out).__name__}")
    # the tensors requiring grad fn read from elsewhere (a closure): inputs of the node too, so that
    # their gradient reaches the outer graph through it, counted as one more use
    captured = [t for t in reads if id(t) not in seen and not seen.add(id(t))]
    node = Recompute()
    node.fn, node.args, node.params, node.rng, node.captured = fn, inputs, params, rng, captured
    node.inputs, node.freed, node._epoch = tuple(tensors + params + captured), False, _autograd._epoch
    return Tensor._make(out.data, node)
