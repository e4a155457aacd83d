"""``nn.utils`` as in PyTorch: gradient clipping (defined in :mod:`minitf.optim`, re-exported here)
and the conversion between parameters and one flat vector.

    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)   # same function as optim.clip_grad_norm_
    nn.utils.clip_grad_value_(model.parameters(), 0.5)
    vec = nn.utils.parameters_to_vector(model.parameters())      # (sum of numels,)
    nn.utils.vector_to_parameters(vec, model.parameters())

Parametrisations (``parametrize``, ``parametrizations``) and the hooks-based
``weight_norm`` / ``spectral_norm`` are imported on first use.
"""
from __future__ import annotations

from ...autograd import bump_version
from ...ops import concatenate
from ...optim import clip_grad_norm_  # noqa: F401
from ...optim.clip import clip_grad_value_  # noqa: F401
from ...optim.clip import clip_grad_norm, clip_grads_with_norm_, get_total_norm  # noqa: F401  (torch 2.13's split)
from ...tensor import Tensor

from . import rnn  # noqa: F401,E402  (nn.utils.rnn.pad_sequence)
# module machinery: stateless calls, skip_init, conv/linear + batch-norm fusion
from . import stateless, fusion  # noqa: F401,E402
from .init import skip_init  # noqa: F401,E402
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights  # noqa: F401,E402

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters", "rnn",
           # parametrisations, weight/spectral norm and torch 2.13's clipping split
           "clip_grad_norm", "clip_grads_with_norm_", "get_total_norm", "clip_grad",
           "parametrize", "parametrizations", "weight_norm", "remove_weight_norm", "spectral_norm",
           "remove_spectral_norm",
           # module machinery
           "stateless", "fusion", "skip_init", "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]

# parametrisations and weight/spectral norm: imported on first use (minitf/_lazy.py)
_LAZY = {"weight_norm": ".weight_norm_hook", "remove_weight_norm": ".weight_norm_hook",
         "spectral_norm": ".spectral_norm_hook", "remove_spectral_norm": ".spectral_norm_hook"}
_SUBMODULES = ("parametrize", "parametrizations", "clip_grad")


def _submodule(name):
    if name not in _SUBMODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    return importlib.import_module(f"{__name__}.{name}")   # (the import binds it in this package too)


from ..._lazy import lazy_attributes as _lazy_attributes  # noqa: E402
__getattr__, _dir = _lazy_attributes(__name__, globals(), _LAZY, fallback=_submodule)


def __dir__():
    return sorted(set(_dir()) | set(_SUBMODULES))


def _one_device(params, name: str) -> list:
    params = [params] if isinstance(params, Tensor) else list(params)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: expected Tensors, got {type(p).__name__}")
    if len({p.device for p in params}) > 1:
        raise TypeError(f"{name}: found parameters on different devices "
                        f"({', '.join(sorted({p.device for p in params}))}); this is not supported, as in PyTorch")
    return params


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and joined, in order, as ``torch.nn.utils.parameters_to_vector``.

    parameters: tensors of any shapes, on one device -> (sum of their numels,).
    The result is recorded in the graph (a gradient flows back to each
    parameter), as PyTorch's ``cat`` of views is.
    """
    params = _one_device(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return concatenate([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Set the parameters from one vector, in order, as ``torch.nn.utils.vector_to_parameters``.

    vec: (sum of the parameters' numels,), on the parameters' device. As in
    PyTorch each parameter's data becomes a view of its slice of ``vec`` (they
    share memory afterwards); where the dtypes differ the slice is cast to the
    parameter's dtype (a copy). Each parameter's version goes up by one, so a
    graph that saved one refuses to backpropagate through the old values.
    Unlike PyTorch, a vector of the wrong length or rank is refused
    (ValueError) rather than cut short or failing midway.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, got {type(vec).__name__}")
    params = _one_device(parameters, "vector_to_parameters")
    if params and vec.device != params[0].device:
        raise TypeError(f"vector_to_parameters: the vector is on {vec.device}, the parameters on {params[0].device}")
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: expected a vector of {total} elements (the parameters' numels), "
                         f"got shape {vec.shape}")
    start = 0
    for p in params:
        n = p.numel()
        part = vec.data[start:start + n].reshape(p.shape)
        p.data = part if part.dtype == p.dtype else part.astype(p.dtype)
        bump_version(p)
        start += n
