"""Weight normalisation, w = g v / ||v|| (Salimans & Kingma 2016): the norm and the hooks-based
``torch.nn.utils.weight_norm`` (deprecated in torch 2.13 for :func:`.parametrizations.weight_norm`,
which is the same formula; both exist here, as there).

    nn.utils.weight_norm(layer)          # layer.weight_g: (out, 1), layer.weight_v: (out, in)
    nn.utils.remove_weight_norm(layer)   # layer.weight is a Parameter again

``dim`` is the dim kept (one norm per slice along it): 0 by default, one per
output unit; ``None`` (or -1, as in PyTorch) one norm over the whole tensor.
"""
from __future__ import annotations

import warnings

from ...linalg import vector_norm
from ...ops._util import check_dim
from ...tensor import Tensor
from ..parameter import Parameter

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm", "norm_except_dim"]


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """The ``pow``-norm of ``v`` over every dim but ``dim``, as ``torch.norm_except_dim``.

    v: (d0, ..., dn) -> (1, ..., d_dim, ..., 1) (``dim`` kept, the others size 1);
    ``dim=-1`` means no dim is kept (PyTorch's convention, not the last dim):
    the norm of all of ``v``, a 0-d tensor.
    """
    if dim == -1:
        return vector_norm(v, pow)
    d = check_dim("norm_except_dim", dim, v.ndim)
    others = tuple(i for i in range(v.ndim) if i != d)
    if not others:   # a 1-d v: a norm per element, |v| (torch's view(n, 1).norm(dim=1))
        return v.abs()
    return vector_norm(v, pow, dim=others, keepdim=True)


def _weight_norm(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """w = v * (g / ||v||), the norm over every dim but ``dim`` (``torch._weight_norm``).
    v: (d0, ..., dn), g: the shape of ``norm_except_dim(v, 2, dim)`` -> (d0, ..., dn)."""
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook of :func:`weight_norm`: recomputes ``module.<name>`` from ``<name>_g``
    and ``<name>_v`` before each forward."""

    def __init__(self, name: str, dim: int | None):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module) -> Tensor:
        return _weight_norm(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"), self.dim)

    @staticmethod
    def apply(module, name: str, dim: int | None) -> "WeightNorm":
        warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                      "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=3)
        if _hook_key(module, WeightNorm, name) is not None:
            raise RuntimeError(f"cannot register two weight_norm hooks on the same parameter {name}")
        fn = WeightNorm(name, dim)
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
        g = norm_except_dim(weight, 2, fn.dim)   # (checks dim before anything changes)
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(g.detach()))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))   # a plain attribute, recomputed by the hook
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        module.__dict__.pop(self.name + "_g", None)
        module.__dict__.pop(self.name + "_v", None)
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name: str = "weight", dim: int | None = 0):
    """Weight normalisation by a forward pre-hook, as the deprecated ``torch.nn.utils.weight_norm``
    (it warns, as torch 2.13's; prefer :func:`minitf.nn.utils.parametrizations.weight_norm`).

    ``module.<name>`` is replaced by the Parameters ``<name>_g``: the shape of
    ``norm_except_dim(w, 2, dim)`` and ``<name>_v``: w's shape (their state-dict
    keys), and recomputed as g v / ||v|| before each forward. Returns ``module``.
    """
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name: str = "weight"):
    """Undo :func:`weight_norm`: ``module.<name>`` becomes a Parameter holding g v / ||v|| again."""
    return _remove_hook(module, WeightNorm, name, "weight_norm")


def _hook_key(module, cls, name: str):
    """The handle id of ``module``'s forward pre-hook of class ``cls`` on ``name``, or None."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, cls) and hook.name == name:
            return k
    return None


def _remove_hook(module, cls, name: str, what: str):
    k = _hook_key(module, cls, name)
    if k is None:
        raise ValueError(f"{what} of {name!r} not found in {type(module).__name__}")
    module._forward_pre_hooks[k].remove(module)
    del module._forward_pre_hooks[k]
    module._hook_flags.pop(k, None)
    return module
