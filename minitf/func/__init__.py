"""``minitf.func``: torch.func's composable function transforms (also ``minitf.vmap``).

    from minitf.func import grad, vmap
    df = grad(f)                        # x -> df/dx for a scalar f
    per_example = vmap(grad(loss), in_dims=(None, 0, 0))(w, xs, ys)   # (B, *w.shape)

- gradients: :func:`grad`, :func:`grad_and_value`, :func:`vjp`, :func:`jacrev`, :func:`hessian`;
- forward-mode products: :func:`jvp`, :func:`linearize`, :func:`jacfwd`, computed from reverse
  mode by the double-vjp identity (see :mod:`minitf.func.transforms`);
- batching: :func:`vmap`, a loop over the examples (see :mod:`minitf.func.vmap`).

Inputs and outputs may be pytrees: tuples, lists and dicts of tensors (:mod:`minitf.func.pytree`).
"""
from .transforms import grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd, hessian
from .vmap import vmap

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian", "vmap"]
