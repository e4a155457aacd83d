"""``torch.autograd.functional`` (also ``minitf.autograd.functional``): whole Jacobians and Hessians
from minitf's own reverse mode (:func:`minitf.grad`), one backward pass per output element.

    J = mt.autograd.functional.jacobian(f, x)     # f: (n,) -> (m,)  gives  J: (m, n)
    H = mt.autograd.functional.hessian(g, x)      # g: (n,) -> scalar gives H: (n, n)

Meant for small problems (checks, teaching, second-order methods on a few parameters): the cost is
``numel(output)`` backward passes (a Hessian's, of the gradient's graph).
"""
from __future__ import annotations

__all__ = ["jacobian", "hessian"]


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
