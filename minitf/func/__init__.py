"""``minitf.func``: torch.func's composable function transforms (also ``minitf.vmap``).

    from minitf.func import grad, vmap
    df = grad(f)                        # x -> df/dx for a scalar f
    per_example = vmap(grad(loss), in_dims=(None, 0, 0))(w, xs, ys)   # (B, *w.shape)

- gradients: :func:`grad`, :func:`grad_and_value`, :func:`vjp`, :func:`jacrev`, :func:`hessian`;
- forward-mode products: :func:`jvp`, :func:`linearize`, :func:`jacfwd`, computed from reverse
  mode by the double-vjp identity (see :mod:`minitf.func.transforms`);
- batching: :func:`vmap`, one batched run where every op has a batching rule, else a loop over
  the examples (see :mod:`minitf.func.vmap`);
- modules as functions: :func:`functional_call` (a module called with other parameters and
  buffers; :mod:`minitf.nn.utils.stateless`, imported on first use), so that
  ``grad(lambda p: loss(functional_call(model, p, (x,))))(params)`` differentiates a model;
  :func:`stack_module_state` stacks several models' parameters for an ensemble under ``vmap``.

Inputs and outputs may be pytrees: tuples, lists and dicts of tensors (:mod:`minitf.func.pytree`).
"""
from .transforms import grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd, hessian
from .vmap import vmap

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian", "vmap",
           "functional_call", "stack_module_state"]


def __getattr__(name):
    if name == "functional_call":   # (nn is imported on first use: minitf.func itself does not need it)
        from ..nn.utils.stateless import _functional_call
        globals()[name] = _functional_call
        return _functional_call
    if name == "stack_module_state":   # ensembles: the stacked state of several models (minitf/func/module_state.py)
        from .module_state import stack_module_state
        return stack_module_state
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
