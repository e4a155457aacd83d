"""``func.jvp`` and ``func.jacfwd`` on forward-mode AD (:mod:`minitf.forward_ad`), as torch.func's.

J t comes from one pass of ``f`` on dual tensors: every op carries its tangent along
(:mod:`minitf.forward_rules`), in place of the double-vjp identity's forward and two backward
passes (:mod:`minitf.func.transforms`); a Jacobian (shape O + I) takes one such pass per input
element, its columns. ``f`` runs under the caller's grad mode: its output and the tangents are
recorded where they depend on something requiring grad (so differentiable, as torch's), and
nothing is recorded under ``no_grad()``. forward AD carries no complex tangents: a pass that
meets a complex value (a real function through an FFT) is given up, and the transform takes
the reverse-mode route, which handles them.

forward AD has one level at a time and is off under ``inference_mode()``: inside an open dual
level (``jvp(jvp(f))``, ``jacfwd(jacfwd(f))``), a vmap's batched run, or inference mode,
:func:`usable` says no and the transforms take the reverse-mode route.
"""
from __future__ import annotations

from .pytree import tree_flatten, tree_unflatten


def usable() -> bool:
    """Whether a new dual level may be opened here (see the module's docstring)."""
    from .. import autograd, forward_ad
    from .vmap import active   # (this thread's batched vmap runs)
    return forward_ad._current is None and not active() and not autograd._tls.inference


def _check_floating(leaves, fname: str):
    from ..tensor import Tensor
    for x in leaves:
        if not isinstance(x, Tensor):
            raise ValueError(f"{fname}: the values passed to a transform must be Tensors, got {type(x).__name__}")
        if not x.is_floating_point():
            raise RuntimeError(f"{fname}: only Tensors of floating point dtype can require gradients, got {x.dtype}")


def _complex_seen() -> bool:
    """Whether an op of the pass gave a complex output of duals (forward AD carries no complex
    tangents): the transform then answers None and takes the reverse-mode route."""
    from .. import forward_ad
    return forward_ad._current.dropped_complex


def _tangents_of(outs):
    """The outputs' tangents (zeros for an output that depends on no dual)."""
    import minitf.autograd.forward_ad as fwAD
    from ..creation import zeros_like
    ts = [fwAD.unpack_dual(o).tangent for o in outs]
    return [zeros_like(o) if t is None else t for o, t in zip(outs, ts)]


def jvp(func, primals, t_leaves, has_aux: bool, fname: str):
    """``(output, jvp_out[, aux])`` of ``func(*primals)`` by one pass on duals (``t_leaves``: the
    tangents' leaves, checked against the primals'); None where the pass met complex values."""
    import minitf.autograd.forward_ad as fwAD
    from .transforms import _split_aux, _tensors
    p_leaves, p_spec = tree_flatten(primals)
    _check_floating(p_leaves, fname)
    with fwAD.dual_level():
        duals = [fwAD.make_dual(p, t) for p, t in zip(p_leaves, t_leaves)]
        out, aux = _split_aux(func(*tree_unflatten(duals, p_spec)), has_aux, fname)
        outs, out_spec = _tensors(out, fname)
        js = _tangents_of(outs)
        if _complex_seen():
            return None
    value, j = tree_unflatten(outs, out_spec), tree_unflatten(js, out_spec)
    return (value, j, aux) if has_aux else (value, j)


def jacfwd(func, nums, single: bool, has_aux: bool, args, kwargs, fname: str):
    """The Jacobian of ``func`` at ``args`` in the arguments ``nums``, one pass on duals per
    input element (the unit tangents): the structure of :func:`minitf.func.jacrev`'s; None where
    a pass met complex values."""
    import minitf.autograd.forward_ad as fwAD
    from .. import ops
    from ..creation import eye
    from .transforms import _regroup, _split_aux, _tensors
    flat = [tree_flatten(args[a]) for a in nums]
    leaves = [x for ls, _ in flat for x in ls]
    _check_floating(leaves, fname)
    where = [(a, i) for a, (ls, _) in zip(nums, flat) for i in range(len(ls))]   # leaf -> (argnum, position)

    def call(k=None, tangent=None):
        new_args = list(args)
        for a, (ls, spec) in zip(nums, flat):
            new_args[a] = tree_unflatten(list(ls), spec)
        if k is not None:
            a, i = where[k]
            ls, spec = flat[nums.index(a)]
            ls = list(ls)
            ls[i] = fwAD.make_dual(ls[i], tangent)
            new_args[a] = tree_unflatten(ls, spec)
        out, aux = _split_aux(func(*new_args, **kwargs), has_aux, fname)
        outs, out_spec = _tensors(out, fname)
        return outs, out_spec, aux

    columns = [[] for _ in leaves]   # per input leaf: per element, the outputs' tangents
    outs = out_spec = aux = None
    with fwAD.dual_level():
        for k, x in enumerate(leaves):
            basis = eye(x.numel(), dtype=x.dtype, device=x.device)
            for e in range(x.numel()):
                outs, out_spec, aux = call(k, basis[e].reshape(tuple(x.shape)))
                columns[k].append(_tangents_of(outs))
                if _complex_seen():
                    return None
    if outs is None:   # no input element: the output's shapes from a plain call
        outs, out_spec, aux = call()
    per_output = []
    for j, o in enumerate(outs):
        jac = []
        for k, x in enumerate(leaves):
            shape = tuple(o.shape) + tuple(x.shape)
            if columns[k]:
                jac.append(ops.stack([col[j] for col in columns[k]], -1).reshape(shape))
            else:
                from ..creation import zeros
                jac.append(zeros(shape, dtype=o.dtype, device=o.device))
        per_output.append(_regroup(jac, [spec for _, spec in flat], single))
    result = tree_unflatten(per_output, out_spec)
    return (result, aux) if has_aux else result
