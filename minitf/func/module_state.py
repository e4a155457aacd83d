"""``torch.func.stack_module_state``: the parameters and buffers of several copies of one model,
stacked, for an ensemble run under :func:`minitf.func.vmap` with :func:`minitf.func.functional_call`.

    models = [nn.Linear(3, 3) for _ in range(5)]
    params, buffers = stack_module_state(models)          # {"weight": (5, 3, 3), "bias": (5, 3)}, {}
    out = vmap(lambda p, b, x: functional_call(models[0], (p, b), (x,)), in_dims=(0, 0, None))(params, buffers, x)
"""
from __future__ import annotations

__all__ = ["stack_module_state"]


def stack_module_state(models) -> tuple[dict, dict]:
    """``(params, buffers)``: for each name of ``models[0]``'s ``named_parameters()`` (and
    ``named_buffers()``), the M models' tensors stacked along a new dim 0 ((M, *shape)), as torch's.
    The stacked parameters are new leaves that require grad (an optimizer can take them; they share
    nothing with the models'), the stacked buffers need none. ``models``: a non-empty sequence (or
    ``nn.ModuleList``) of modules of one class, all in training or all in eval mode; a name's
    tensors must all require grad or none (torch's RuntimeErrors otherwise)."""
    from ..ops import stack
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({bool(m.training) for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if any(type(m) is not type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named):
        per_model = [dict(named(m)) for m in models]
        out = {}
        for name in per_model[0]:
            tensors = [d[name] for d in per_model]
            grads = {bool(t.requires_grad) for t in tensors}
            if len(grads) != 1:
                raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
            t = stack([x.detach() for x in tensors])
            out[name] = t.requires_grad_() if grads == {True} else t
        return out
    return stacked(lambda m: m.named_parameters()), stacked(lambda m: m.named_buffers())
