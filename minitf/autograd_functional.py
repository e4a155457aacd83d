"""``torch.autograd.functional`` (also ``minitf.autograd.functional``): whole Jacobians and Hessians
from minitf's own reverse mode (:func:`minitf.grad`), one backward pass per output element.

    J = mt.autograd.functional.jacobian(f, x)     # f: (n,) -> (m,)  gives  J: (m, n)
    H = mt.autograd.functional.hessian(g, x)      # g: (n,) -> scalar gives H: (n, n)

Meant for small problems (checks, teaching, second-order methods on a few parameters): the cost is
``numel(output)`` backward passes (a Hessian's, of the gradient's graph).
"""
from __future__ import annotations

__all__ = ["jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"]


def _as_tuple(x, what: str, fname: str):
    from .tensor import Tensor
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fname}: the {what} must be Tensors (or a tuple of them); {what} {i} is a "
                            f"{type(t).__name__}")
    return is_tuple, items


def _prepare(inputs, create_graph: bool):
    # fresh leaves requiring grad, as torch's; under create_graph an input already in a graph
    # stays connected to it (a differentiable clone), so the result can be differentiated again
    return tuple(x.clone() if create_graph and x.requires_grad else x.detach().requires_grad_(True)
                 for x in inputs)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``, as ``torch.autograd.functional.jacobian``.

    ``inputs``: a Tensor or a tuple of them; ``func(*inputs)`` returns a Tensor or a tuple. The
    result for output shape O and input shape I is a tensor of shape O + I: one Tensor for one
    input and one output, a tuple over inputs (one output), over outputs (one input), or a tuple
    (per output) of tuples (per input). An output that does not depend on an input gives zeros
    (``strict=True``: a RuntimeError instead). ``create_graph=True`` records the computation, so
    the Jacobian can be differentiated again. ``vectorize`` is accepted (the values are the same);
    only ``strategy="reverse-mode"`` is supported.
    """
    from . import ops
    from .autograd import enable_grad
    from .creation import zeros, zeros_like
    from .backprop import grad
    from .tensor import Tensor
    if strategy != "reverse-mode":
        raise NotImplementedError(f"jacobian: minitf has reverse mode only, got strategy={strategy!r}")
    in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
    ins = _prepare(ins, create_graph)
    with enable_grad():
        outputs = func(*ins)
    out_tuple, outs = _as_tuple(outputs, "outputs", "jacobian")
    result = []
    for k, out in enumerate(outs):
        rows = [[] for _ in ins]
        if out.requires_grad:
            from . import backend
            xp = backend.get_array_module(out.data)
            for e in range(out.numel()):
                seed = xp.zeros(out.numel(), dtype=out.dtype)
                seed[e] = 1
                gs = grad(out, ins, grad_outputs=Tensor._make(seed.reshape(out.shape), None), retain_graph=True,
                          create_graph=create_graph, allow_unused=True)
                for i, g in enumerate(gs):
                    rows[i].append(g)
        per_input = []
        for i, x in enumerate(ins):
            if strict and (not rows[i] or any(g is None for g in rows[i])):
                raise RuntimeError(f"jacobian: output {k} is independent of input {i} (strict=True)")
            gs = [zeros_like(x) if g is None else g for g in rows[i]]
            if not gs:   # an output that requires no grad, or has no elements
                j = zeros(out.shape + x.shape, dtype=x.dtype, device=x.device)
            else:
                j = ops.stack(gs, 0).reshape(out.shape + x.shape)
            per_input.append(j if create_graph else j.detach())
        result.append(tuple(per_input) if in_tuple else per_input[0])
    return tuple(result) if out_tuple else result[0]


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs``, as ``torch.autograd.functional.hessian``:
    the Jacobian of its gradient, shape I + I for one input, a tuple of tuples H[i][j] of shape
    I_i + I_j for several. ``func`` must return a single-element Tensor."""
    from .backprop import grad
    from .creation import zeros_like
    in_tuple, _ = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        out = func(*xs)
        if not hasattr(out, "numel") or out.numel() != 1:
            raise RuntimeError("hessian: the function must return a single-element Tensor")
        if not out.requires_grad:
            gs = tuple(zeros_like(x) for x in xs)
        else:
            gs = tuple(zeros_like(x) if g is None else g
                       for x, g in zip(xs, grad(out.reshape(()), xs, create_graph=True, allow_unused=True)))
        return gs if in_tuple else gs[0]
    return jacobian(gradient, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                    strategy=outer_jacobian_strategy)


# vector products (group: utilities a PyTorch user reaches for): one or two backward passes each,
# whatever the sizes, where jacobian/hessian need one per output element

def _vectors(v, like, what: str, fname: str, in_tuple=None):
    """``v`` as a tuple matching the tensors ``like`` in count and shapes (torch's checks)."""
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(f"{fname}: the vector v can only be None if the {what} is a single Tensor with a "
                               f"single element")
        from .creation import ones_like
        return (ones_like(like[0]),)
    _, vs = _as_tuple(v, "v", fname)
    if len(vs) != len(like):
        raise RuntimeError(f"{fname}: v is a tuple of {len(vs)} Tensors, the {what} has {len(like)}")
    for i, (a, b) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(b.shape):
            from .errors import ShapeError
            raise ShapeError(f"{fname}: entry {i} of v has shape {tuple(a.shape)}, the {what}'s entry {i} has "
                             f"shape {tuple(b.shape)}; they must be equal")
    return vs


def _grads(outs, ins, cotangents, create_graph: bool, strict: bool, fname: str, what: str):
    from .backprop import grad
    from .creation import zeros_like
    live = [(o, c) for o, c in zip(outs, cotangents) if o.requires_grad]
    gs = (grad([o for o, _ in live], ins, grad_outputs=[c for _, c in live], create_graph=create_graph,
               allow_unused=True) if live else (None,) * len(ins))
    if strict and any(g is None for g in gs):
        raise RuntimeError(f"{fname}: the output is independent of input {[g is None for g in gs].index(True)} "
                           f"(strict=True); {what}")
    return tuple(zeros_like(x) if g is None else g for x, g in zip(ins, gs))


def _finish(ts, as_tuple: bool, create_graph: bool):
    ts = tuple(t if create_graph else t.detach() for t in ts)
    return ts if as_tuple else ts[0]


def _evaluate(func, inputs, create_graph: bool, fname: str):
    from .autograd import enable_grad
    in_tuple, ins = _as_tuple(inputs, "inputs", fname)
    ins = _prepare(ins, create_graph)
    with enable_grad():
        outputs = func(*ins)
    out_tuple, outs = _as_tuple(outputs, "outputs", fname)
    return in_tuple, ins, out_tuple, outs


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(*inputs), v^T J)``, as ``torch.autograd.functional.vjp``: the cotangent ``v``
    (shaped as the outputs; None for a single-element output) pulled back to the inputs' shapes
    in one backward pass."""
    in_tuple, ins, out_tuple, outs = _evaluate(func, inputs, create_graph, "vjp")
    vs = _vectors(v, outs, "output", "vjp")
    res = _grads(outs, ins, vs, create_graph, strict, "vjp", "its vjp would be zero")
    return _finish(outs, out_tuple, create_graph), _finish(res, in_tuple, create_graph)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(*inputs), J v)``, as ``torch.autograd.functional.jvp``: the tangent ``v`` (shaped as
    the inputs; None for one single-element input) pushed forward to the outputs' shapes.

    By the double-backward trick, as torch's: ``g(u) = u^T J`` is linear in a dummy cotangent u,
    and the gradient of ``<g(u), v>`` with respect to u is ``J v`` (two backward passes)."""
    from .backprop import grad
    from .creation import zeros_like
    in_tuple, ins, out_tuple, outs = _evaluate(func, inputs, create_graph, "jvp")
    vs = _vectors(v, ins, "input", "jvp")
    dummies = tuple(zeros_like(o).requires_grad_(True) for o in outs)
    pulled = _grads(outs, ins, dummies, True, strict, "jvp", "its jvp would be zero")
    live = [(p, t) for p, t in zip(pulled, vs) if p.requires_grad]
    gs = (grad([p for p, _ in live], dummies, grad_outputs=[t for _, t in live], create_graph=create_graph,
               allow_unused=True) if live else (None,) * len(dummies))
    res = tuple(zeros_like(o) if g is None else g for o, g in zip(outs, gs))
    return _finish(outs, out_tuple, create_graph), _finish(res, out_tuple, create_graph)


def _scalar(outs, fname: str):
    if len(outs) != 1 or outs[0].numel() != 1:
        raise RuntimeError(f"{fname}: the function must return a single Tensor with a single element")
    return outs[0]


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(*inputs), v^T H)``, as ``torch.autograd.functional.vhp``, for a scalar ``func``:
    the gradient of ``<grad func, v>`` (two backward passes); ``v`` shaped as the inputs."""
    in_tuple, ins, _, outs = _evaluate(func, inputs, create_graph, "vhp")
    out = _scalar(outs, "vhp")
    vs = _vectors(v, ins, "input", "vhp")
    g = _grads([out], ins, [None], True, strict, "vhp", "its vhp would be zero")
    res = _grads(g, ins, vs, create_graph, strict, "vhp", "its vhp would be zero")
    return _finish([out], False, create_graph), _finish(res, in_tuple, create_graph)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(*inputs), H v)``, as ``torch.autograd.functional.hvp``, for a scalar ``func``:
    torch's double-backward trick (the vjp of the gradient, then its linear map transposed);
    for a twice continuously differentiable ``func`` H is symmetric and this equals :func:`vhp`."""
    from .backprop import grad
    from .creation import zeros_like
    in_tuple, ins, _, outs = _evaluate(func, inputs, create_graph, "hvp")
    out = _scalar(outs, "hvp")
    vs = _vectors(v, ins, "input", "hvp")
    g = _grads([out], ins, [None], True, strict, "hvp", "its hvp would be zero")
    dummies = tuple(zeros_like(x).requires_grad_(True) for x in ins)
    back = _grads(g, ins, dummies, True, strict, "hvp", "its hvp would be zero")   # u -> H^T u, linear in u
    live = [(b, t) for b, t in zip(back, vs) if b.requires_grad]
    gs = (grad([b for b, _ in live], dummies, grad_outputs=[t for _, t in live], create_graph=create_graph,
               allow_unused=True) if live else (None,) * len(dummies))
    res = tuple(zeros_like(x) if h is None else h for x, h in zip(ins, gs))
    return _finish([out], False, create_graph), _finish(res, in_tuple, create_graph)
