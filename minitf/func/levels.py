"""The machinery under :mod:`minitf.func.transforms`: a *level* (:class:`_Level`), the inputs of one
transform call replaced by graph nodes of their own, and the argument handling the transforms share
(argnums, pytrees of inputs and outputs, has_aux). See transforms' docstring for what a level is.
"""
from __future__ import annotations

from .pytree import tree_flatten, tree_unflatten

class _Level:
    """The inputs of one transform call as nodes to differentiate with respect to (see the
    module's docstring). ``inputs``: one per leaf of ``leaves``, in order.

    Inside vmap's batched run (:mod:`minitf.func.batching`) each input is one node per example:
    a BatchedTensor whose value (B, ...) is the node (an unbatched input repeated B times), so
    one backward pass of the batch gives every example's own gradient (the examples never mix).
    """

    def __init__(self, leaves, fname: str, allow_complex: bool = False):
        from ..autograd import is_grad_enabled
        from ..tensor import Tensor
        from .batching import BatchedTensor, Unbatchable
        from .vmap import active
        _active = active()
        self.outer = is_grad_enabled()   # the caller records: results keep their graph
        self.fresh, self.inputs, self.nodes = set(), [], []
        self.batch = _active[-1] if _active else None   # (level, batch size) of a batched vmap run
        if self.batch is not None and len(_active) > 1:
            raise Unbatchable(f"{fname} inside nested vmaps: differentiated in vmap's loop")
        for x in leaves:
            if not isinstance(x, Tensor):
                raise ValueError(f"{fname}: the values passed to a transform must be Tensors, got {type(x).__name__}")
            if not (x.is_floating_point() or allow_complex and x.is_complex()):
                raise RuntimeError(f"{fname}: only Tensors of floating point dtype can require gradients, "
                                   f"got {x.dtype}")
            if self.batch is not None:   # one node per example
                if type(x) is BatchedTensor:
                    x = x._value
                else:
                    x = x.unsqueeze(0).expand((self.batch[1],) + tuple(x.shape))
            if self.outer and x.requires_grad:
                w = x.view_as(x)
            else:
                w = x.detach().requires_grad_(True)
                self.fresh.add(id(w))
                _keep_tangent(x, w)   # (inside an open dual level: hessian = jacfwd(jacrev(f)))
            self.nodes.append(w)
            self.inputs.append(w if self.batch is None else BatchedTensor(w, (self.batch[0],)))

    def vjp(self, outs, cotangents, create_graph: bool):
        """sum_k <cotangent_k, d out_k / d input> for every input (zeros where unused)."""
        from ..backprop import grad as _grad
        from ..creation import zeros_like
        pairs = [(o, c) for o, c in zip(outs, cotangents) if o.requires_grad]
        if self.batch is not None:
            pairs = self._batched(pairs)
        from .. import forward_ad   # tangents flow through a backward only where its ops are recorded
        create_graph = create_graph or forward_ad._active() is not None
        gs = _grad([o for o, _ in pairs], self.nodes, [c for _, c in pairs], retain_graph=True,
                   create_graph=create_graph, allow_unused=True) if pairs else [None] * len(self.nodes)
        gs = [zeros_like(x) if g is None else g for x, g in zip(self.nodes, gs)]
        if self.batch is not None:
            from .batching import BatchedTensor
            gs = [BatchedTensor(g, (self.batch[0],)) for g in gs]
        return gs

    def _batched(self, pairs):
        """The (output, cotangent) pairs of a batched run as their values, (B, ...) each."""
        from .batching import BatchedTensor, Unbatchable
        level = (self.batch[0],)
        out = []
        for o, c in pairs:
            if type(o) is not BatchedTensor:   # not computed from the per-example nodes: no gradient
                continue
            if o._levels != level or (type(c) is BatchedTensor and c._levels != level):
                raise Unbatchable("vmap: a gradient of another vmap level's output")
            v = o._value
            out.append((v, c._value if type(c) is BatchedTensor else c.unsqueeze(0).expand(tuple(v.shape))))
        return out

    def release(self, value):
        """``value`` as the caller gets it: detached unless its graph reaches a tensor requiring
        grad from outside this level (``value`` may be anything: only a Tensor is changed)."""
        from ..tensor import Tensor
        from .batching import BatchedTensor
        if not isinstance(value, Tensor) or not value.requires_grad:
            return value
        if type(value) is BatchedTensor:
            inner = self.release(value._value)
            return value if inner is value._value else BatchedTensor(inner, value._levels)
        if self.reaches_outside(value):
            return value
        out = value.detach()
        tangent = _keep_tangent(value, out)
        if tangent is not None:   # the tangent, released as well
            from .. import forward_ad
            forward_ad._current.set(out, self.release(tangent))
        return out

    def reaches_outside(self, value) -> bool:
        """Whether the caller may differentiate ``value`` (a Tensor) further: its graph reaches
        a tensor that requires grad from outside this level (and the caller records)."""
        from ..autograd import _graph_order
        from .batching import BatchedTensor
        if type(value) is BatchedTensor:
            value = value._value
        if not self.outer or not value.requires_grad:
            return False
        if value._fn is None:
            return id(value) not in self.fresh
        return any(any(i._fn is None and i._requires_grad and id(i) not in self.fresh for i in node._fn.inputs)
                   for node in _graph_order([value]))


def _keep_tangent(x, w):
    """``w`` (a detached ``x``) gets ``x``'s tangent where a dual level is open; returns it (or None)."""
    from .. import forward_ad
    lv = forward_ad._active()
    t = None if lv is None else lv.tangent_of(x)
    if t is not None:
        lv.set(w, t)
    return t


def _argnums(argnums, nargs: int, fname: str):
    """``(positions, single)``: ``argnums`` (an int or a tuple of ints) checked against ``nargs``."""
    single = isinstance(argnums, int) and not isinstance(argnums, bool)
    nums = (argnums,) if single else argnums
    if not isinstance(nums, tuple) or not nums or not all(isinstance(a, int) and not isinstance(a, bool)
                                                          for a in nums):
        raise RuntimeError(f"{fname}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    for a in nums:
        if not -nargs <= a < nargs:
            raise RuntimeError(f"{fname}: got argnum={a}, but only {nargs} positional inputs")
    nums = tuple(a % nargs for a in nums)
    if len(set(nums)) != len(nums):
        raise RuntimeError(f"{fname}: argnums must be unique, got {argnums!r}")
    return nums, single


def _enter(args, nums, fname: str, allow_complex: bool = False):
    """``(level, new_args, specs)``: the arguments at ``nums`` (pytrees) replaced by a level's nodes."""
    flat = [tree_flatten(args[a]) for a in nums]
    level = _Level([x for leaves, _ in flat for x in leaves], fname, allow_complex)
    new_args, pos = list(args), 0
    for a, (leaves, spec) in zip(nums, flat):
        new_args[a] = tree_unflatten(level.inputs[pos:pos + len(leaves)], spec)
        pos += len(leaves)
    return level, new_args, [spec for _, spec in flat]


def _regroup(values, specs, single: bool):
    """Per-leaf ``values`` back into the argnums' structures (one, or a tuple of them)."""
    out, pos = [], 0
    for spec in specs:
        out.append(tree_unflatten(values[pos:pos + spec.num_leaves], spec))
        pos += spec.num_leaves
    return out[0] if single else tuple(out)


def _split_aux(out, has_aux: bool, fname: str):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{fname}: with has_aux=True the function must return a tuple (output, aux)")
    return out


def _tensors(tree, fname: str, what: str = "outputs"):
    from ..tensor import Tensor
    leaves, spec = tree_flatten(tree)
    for x in leaves:
        if not isinstance(x, Tensor):
            raise RuntimeError(f"{fname}: expected the function's {what} to be Tensors (or pytrees of them), "
                               f"got {type(x).__name__}")
    return leaves, spec


def _run(func, args, kwargs):
    from ..grad_modes import enable_grad
    with enable_grad():
        return func(*args, **kwargs)


def _release_all(level, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([level.release(x) for x in leaves], spec)
