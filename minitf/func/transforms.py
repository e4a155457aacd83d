"""torch.func's gradient transforms on minitf's reverse mode: ``grad``, ``grad_and_value``, ``vjp``,
``jvp``, ``linearize``, ``jacrev``, ``jacfwd`` and ``hessian``.

Each transform runs ``f`` once with its inputs replaced by new graph nodes (a *level*) and
differentiates with :func:`minitf.grad` with respect to those nodes only:

- an input that already requires grad becomes ``x.view_as(x)``, a node of its own that stays
  connected to the caller's graph, so ``grad(grad(f))`` and an outer ``backward()`` see through
  the transform; an input that does not becomes a fresh leaf;
- the gradients are recorded (``create_graph``) whenever grad mode is on outside, so a result
  can be differentiated again; a result whose graph reaches nothing but the level's fresh leaves
  is handed back detached, as torch.func's are;
- ``f`` runs with grad mode on (torch.func ignores an outer ``no_grad``).

``jvp`` and ``jacfwd`` run forward-mode AD (:mod:`minitf.func.forward_transforms`); where
it cannot run (an open dual level, a vmap's batched run, inference mode, complex values) and
in ``linearize``, forward-mode products come from reverse mode by the double-vjp identity
(:mod:`minitf.func.reverse_jvp`): with u a dummy cotangent, g(u) = J^T u is linear in u, so
d<g(u), t>/du = J t. It costs two backward passes and needs every op's backward to be
differentiable (an op without one raises, never a wrong zero).
"""
from __future__ import annotations

from .pytree import tree_flatten, tree_unflatten

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian"]


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


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``f -> (x -> (df/dx, f(x)))``, as ``torch.func.grad_and_value``.

    ``func`` returns a 0-dim Tensor (with ``has_aux``: a tuple ``(output, aux)``); the gradient
    has the structure of the argument at ``argnums`` (a tuple of them for a tuple ``argnums``).
    The arguments differentiated may be pytrees (tuples, lists, dicts) of floating tensors.
    Returns ``(grads, value)`` or, with ``has_aux``, ``(grads, (value, aux))``.
    """
    fname = "grad_and_value(f)(*args)"

    def wrapper(*args, **kwargs):
        nums, single = _argnums(argnums, len(args), fname)
        level, new_args, specs = _enter(args, nums, fname)
        out, aux = _split_aux(_run(func, new_args, kwargs), has_aux, fname)
        from ..tensor import Tensor
        if not isinstance(out, Tensor):
            raise RuntimeError(f"{fname}: expected f(*args) to return a Tensor, got {type(out).__name__}")
        if out.ndim != 0:
            raise RuntimeError(f"{fname}: expected f(*args) to return a scalar (0-dim) Tensor, got one with "
                               f"{out.ndim} dims; use vjp or jacrev for a non-scalar output")
        from .. import forward_ad
        from ..creation import ones_like
        # the gradients' graph is recorded only where the caller may differentiate them (an outer
        # grad transform, a tensor from outside that requires grad: their graph is out's, so one
        # walk of out's decides for all of them, and spares a walk of each) or push tangents
        # through them (an open dual level: jvp of grad)
        keep = level.reaches_outside(out)
        record = keep or (level.outer and forward_ad._active() is not None)
        gs = [level.release(g) for g in level.vjp([out], [ones_like(out)], create_graph=record)]
        grads, value = _regroup(gs, specs, single), out if keep else level.release(out)
        if has_aux:
            return grads, (value, _release_all(level, aux))
        return grads, value
    return wrapper


def _release_all(level, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([level.release(x) for x in leaves], spec)


def grad(func, argnums=0, has_aux: bool = False):
    """``f -> (x -> df/dx)``, as ``torch.func.grad``: the gradient of a scalar function with
    respect to the argument(s) at ``argnums``, which have the same structure as those arguments.

    Composes: ``grad(grad(f))(x)`` is f''(x) for a scalar x; ``vmap(grad(f))`` gives per-sample
    gradients. With ``has_aux=True``, ``func`` returns ``(output, aux)`` and this returns
    ``(grads, aux)``. Example::

        mt.func.grad(lambda x: (x ** 3).sum())(mt.tensor([1., 2.]))    # tensor([ 3., 12.])
    """
    g_and_v = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        grads, value = g_and_v(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads
    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """``(output, vjp_fn)``, as ``torch.func.vjp``: ``func(*primals)`` and a function mapping
    cotangents (the output's structure and shapes) to the vector-Jacobian products, one per
    primal (a tuple, each with its primal's structure). ``vjp_fn`` may be called many times.
    With ``has_aux``, ``func`` returns ``(output, aux)`` and this returns ``(output, vjp_fn, aux)``.
    """
    fname = "vjp(f, *primals)"
    level, new_args, specs = _enter(primals, tuple(range(len(primals))), fname)
    out, aux = _split_aux(_run(func, new_args, {}), has_aux, fname)
    outs, out_spec = _tensors(out, fname)

    def vjp_fn(cotangents):
        from ..autograd import is_grad_enabled
        cots = _matching(cotangents, outs, out_spec, "vjp_fn", "cotangent", "output")
        gs = level.vjp(outs, cots, create_graph=level.outer and is_grad_enabled())
        return _regroup([level.release(g) for g in gs], specs, single=False)

    value = tree_unflatten([level.release(o) for o in outs], out_spec)
    return (value, vjp_fn, _release_all(level, aux)) if has_aux else (value, vjp_fn)


def _matching(values, like, like_spec, fname: str, what: str, like_what: str):
    """The leaves of ``values`` (Tensors), checked to have the structure ``like_spec`` and the shapes of
    the tensors ``like`` (the vjp's cotangents against the outputs, the jvp's tangents against the primals)."""
    leaves, spec = _tensors(values, fname, what + "s")
    if spec != like_spec:
        raise RuntimeError(f"{fname}: expected the {what}s to have the structure of the {like_what}s: "
                           f"{what}s {spec!r}, {like_what}s {like_spec!r}")
    for k, (v, x) in enumerate(zip(leaves, like)):
        if tuple(v.shape) != tuple(x.shape):
            raise RuntimeError(f"{fname}: {what} {k} has shape {tuple(v.shape)} but its {like_what} has shape "
                               f"{tuple(x.shape)}")
        if v.is_complex() != x.is_complex():   # (torch takes a complex tangent of a real primal as its extension)
            raise RuntimeError(f"{fname}: {what} {k} is {v.dtype} but its {like_what} is {x.dtype}: both must be "
                               f"real or both complex")
    return leaves


def _check_tangents(tangents, primals, fname: str):
    if not isinstance(tangents, tuple):
        raise RuntimeError(f"{fname}: expected tangents to be a tuple (one per primal)")
    p_leaves, p_spec = tree_flatten(primals)
    return _matching(tangents, p_leaves, p_spec, fname, "tangent", "primal")


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(output, jvp_out)``, as ``torch.func.jvp``: ``func(*primals)`` and the Jacobian-vector
    product J t (the output's structure). ``primals`` and ``tangents``: tuples of the same
    structure and shapes (a complex primal's tangent complex, a real one's real). With
    ``has_aux``: ``(output, jvp_out, aux)``. One pass of ``func`` on dual tensors (forward-mode
    AD, :mod:`minitf.func.forward_transforms`); inside an open dual level, a vmap's batched run
    or inference mode, and for complex primals, by the double-vjp identity (the module's
    docstring) instead: the same values."""
    fname = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{fname}: expected primals to be a tuple, so that f(*primals) is valid")
    t_leaves = _check_tangents(tangents, primals, fname)
    from . import forward_transforms   # (forward AD carries no complex tangents: complex primals by reverse mode)
    result = None
    if forward_transforms.usable() and not any(t.is_complex() for t in t_leaves):
        result = forward_transforms.jvp(func, primals, t_leaves, has_aux, fname)
    if result is not None:
        return result
    from .reverse_jvp import _jvp_by_double_vjp
    return _jvp_by_double_vjp(func, primals, t_leaves, has_aux, fname)


def linearize(func, *primals):
    """``(output, jvp_fn)``, as ``torch.func.linearize``: ``func(*primals)`` and a function of the
    tangents (``jvp_fn(*tangents)``) giving J t, reusing the one recorded pass for every call."""
    from .reverse_jvp import _linearized
    fname = "linearize(f, *primals)"
    level, outs, out_spec, _, jvp_of = _linearized(func, primals, fname, has_aux=False)

    def jvp_fn(*tangents):
        return tree_unflatten(jvp_of(_check_tangents(tangents, primals, "jvp_fn")), out_spec)
    return tree_unflatten([level.release(o) for o in outs], out_spec), jvp_fn


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None, _preallocate_and_copy: bool = False):
    """``f -> (x -> J)``, as ``torch.func.jacrev``: for an output of shape O and an input of shape
    I, the Jacobian of shape O + I, in the output's structure with, at each output, the argnums'
    structure. One backward pass per output element (``chunk_size`` is accepted; it only groups
    those passes in torch). With ``has_aux``: ``(jacobian, aux)``."""
    fname = "jacrev(f)(*args)"
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"{fname}: chunk_size must be a positive int or None, got {chunk_size!r}")

    def wrapper(*args, **kwargs):
        from .. import backend, ops
        from ..tensor import Tensor
        nums, single = _argnums(argnums, len(args), fname)
        level, new_args, specs = _enter(args, nums, fname)
        out, aux = _split_aux(_run(func, new_args, kwargs), has_aux, fname)
        outs, out_spec = _tensors(out, fname)
        per_output = []
        for o in outs:
            rows = [[] for _ in level.inputs]
            xp = backend.get_array_module(o.data)
            for e in range(o.numel()):   # one backward per output element: row e of the Jacobian
                seed = xp.zeros(o.numel(), dtype=o.dtype)
                seed[e] = 1
                for r, g in zip(rows, level.vjp([o], [Tensor._make(seed.reshape(o.shape), None)],
                                                create_graph=level.outer)):
                    r.append(g)
            from ..creation import zeros
            jac = [level.release(ops.stack(r, 0).reshape(tuple(o.shape) + tuple(x.shape))) if r else
                   zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype, device=x.device)
                   for r, x in zip(rows, level.inputs)]
            per_output.append(_regroup(jac, specs, single))
        result = tree_unflatten(per_output, out_spec)
        return (result, _release_all(level, aux)) if has_aux else result
    return wrapper


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """``f -> (x -> J)``, as ``torch.func.jacfwd``: the same Jacobian as :func:`jacrev` (shape
    O + I, the same structure), from one forward-mode pass per input element (a column each,
    :mod:`minitf.func.forward_transforms`). Inside an open dual level (``jacfwd(jacfwd(f))``),
    a vmap's batched run or inference mode it is computed as :func:`jacrev` does, one backward
    pass per output element (the values agree to rounding). ``randomness`` is accepted for
    torch's signature ("error", "different" or "same")."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"jacfwd: randomness must be 'error', 'different' or 'same', got {randomness!r}")
    fname = "jacfwd(f)(*args)"
    reverse = jacrev(func, argnums, has_aux=has_aux)

    def wrapper(*args, **kwargs):
        from . import forward_transforms
        if forward_transforms.usable():
            nums, single = _argnums(argnums, len(args), fname)
            result = forward_transforms.jacfwd(func, nums, single, has_aux, args, kwargs, fname)
            if result is not None:
                return result
        return reverse(*args, **kwargs)
    return wrapper


def hessian(func, argnums=0):
    """``f -> (x -> H)``, as ``torch.func.hessian``: the Jacobian of the gradient of a scalar
    function, shape I + I for one input. torch takes ``jacfwd(jacrev(func))``; here reverse over
    reverse, ``jacrev(jacrev(func))``, the same values: forward over reverse (one pass of forward
    AD through a recorded backward per input element) measured 2x slower
    (benchmarks/forward_ad_cost.py --transforms)."""
    return jacrev(jacrev(func, argnums), argnums)
