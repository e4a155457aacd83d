"""Forward-mode products from reverse mode, the double-vjp identity: with u a dummy cotangent,
g(u) = J^T u is linear in u, so d<g(u), t>/du = J t (two backward passes; every op's backward
must be differentiable: an op without one raises, never a wrong zero). ``func.linearize``
always takes this route (one recorded pass for every call of its jvp_fn), ``func.jvp`` where
forward AD cannot run (:mod:`minitf.func.forward_transforms`) and for complex primals, whose
pairing is Re sum(conj(g) t). :func:`jvp_by_double_vjp` is the route on its own: the
independent derivation the forward-mode tests compare with.
"""
from __future__ import annotations

from .pytree import tree_unflatten
from .transforms import _check_tangents, _enter, _release_all, _run, _split_aux, _tensors


def _linearized(func, primals, fname: str, has_aux: bool):
    """``(level, outs, out_spec, aux, jvp_of)``: ``func`` run once; ``jvp_of(tangent leaves)`` gives
    the Jacobian-vector products of every output by the double-vjp identity."""
    from ..backprop import grad as _grad
    from ..creation import zeros_like
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{fname}: expected primals to be a tuple, so that f(*primals) is valid")
    nums = tuple(range(len(primals)))
    level, new_args, _ = _enter(primals, nums, fname, allow_complex=True)
    out, aux = _split_aux(_run(func, new_args, {}), has_aux, fname)
    outs, out_spec = _tensors(out, fname)
    from ..grad_modes import enable_grad
    dummies = [zeros_like(o).requires_grad_(True) for o in outs]   # u: the dummy cotangents
    with enable_grad():   # (recorded under an outer no_grad too: torch.func ignores it, and without
        g_of_u = level.vjp(outs, dummies, create_graph=True)       # it J^T u was a constant: J t zeros)

    def jvp_of(tangents):
        total = None
        with enable_grad():
            for g, t in zip(g_of_u, tangents):
                if g.requires_grad:
                    term = _pairing(g, t)
                    total = term if total is None else total + term
        if total is None:   # no output depends on any input
            return [zeros_like(o) for o in outs]
        js = _grad(total, dummies, retain_graph=True, create_graph=level.outer, allow_unused=True)
        return [zeros_like(o) if j is None else level.release(j) for o, j in zip(outs, js)]
    return level, outs, out_spec, aux, jvp_of


def _pairing(g, t):
    """Re <g, t> = Re sum(conj(g) t), the real inner product the vjp is the adjoint for (torch's
    conjugate Wirtinger convention): its gradient in the cotangent u of g = J^T u is J t, for
    complex primals, outputs or both (for real ones, the sum of g t)."""
    if g.is_complex() or t.is_complex():
        return (g.conj() * t).real.sum()
    return (g * t).sum()


def _jvp_by_double_vjp(func, primals, t_leaves, has_aux: bool, fname: str):
    level, outs, out_spec, aux, jvp_of = _linearized(func, primals, fname, has_aux)
    value = tree_unflatten([level.release(o) for o in outs], out_spec)
    j = tree_unflatten(jvp_of(t_leaves), out_spec)
    return (value, j, _release_all(level, aux)) if has_aux else (value, j)


def jvp_by_double_vjp(func, primals, tangents, *, has_aux: bool = False):
    """:func:`jvp` by the double-vjp identity whatever the context (reverse mode only): the
    independent derivation the forward-mode tests compare with."""
    fname = "jvp(f, primals, tangents)"
    return _jvp_by_double_vjp(func, primals, _check_tangents(tangents, primals, fname), has_aux, fname)
