"""The hooks-based spectral normalisation of ``torch.nn.utils.spectral_norm`` (torch 2.13 keeps it
beside :func:`.parametrizations.spectral_norm`, without a deprecation warning).

    nn.utils.spectral_norm(layer)          # state dict: weight_orig, weight_u, weight_v
    nn.utils.remove_spectral_norm(layer)   # layer.weight is a Parameter again

Before each forward, ``module.<name>`` is recomputed as ``<name>_orig / sigma``,
sigma = u . W v, after ``n_power_iterations`` power-method steps on the buffers
``<name>_u`` (rows,) and ``<name>_v`` (cols,) in training mode (v first, then u:
this version's order) and none in eval mode.

The state dict's metadata records ``{"spectral_norm": {"<name>.version": 1}}``, as torch's; a
state dict without it that holds ``<name>`` (W / sigma) instead of ``<name>_v`` (torch before
1.1) is converted on load: v is solved from W_orig v ~ u and scaled so that u . W_orig v = sigma.
"""
from __future__ import annotations

import numpy as np

from ... import backend
from ...grad_modes import no_grad
from ...ops.similarity import normalize
from ...ops._util import check_dim
from ...tensor import Tensor
from ..parameter import Parameter
from .parametrizations import _as_matrix, _check_iterations, _default_dim, _normalize_into
from .weight_norm_hook import _hook_key, _remove_hook

__all__ = ["SpectralNorm", "spectral_norm", "remove_spectral_norm"]


class SpectralNorm:
    """The forward pre-hook of :func:`spectral_norm`."""

    _version = 1   # 1: <name>_v in the state dict (torch 1.1 on); None: <name> instead

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        _check_iterations(n_power_iterations)
        self.name, self.dim, self.n_power_iterations, self.eps = name, dim, n_power_iterations, eps

    def compute_weight(self, module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        w = _as_matrix(weight, self.dim)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    _normalize_into(v, w.detach().mT @ u, self.eps)
                    _normalize_into(u, w.detach() @ v, self.eps)
                u, v = u.clone(), v.clone()   # the graph keeps these values (torch clones them too)
        sigma = (u * (w @ v)).sum()
        return weight / sigma

    def remove(self, module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        # the state-dict hooks for this name go too, as torch's
        for k, (hook, _) in list(module._state_dict_hooks.items()):
            if isinstance(hook, _StateDictVersion) and hook.name == self.name:
                del module._state_dict_hooks[k]
        for k, hook in list(module._load_state_dict_pre_hooks.items()):
            if isinstance(hook, _LoadPreV1) and hook.name == self.name:
                del module._load_state_dict_pre_hooks[k]
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module, name: str, n_power_iterations: int, dim: int, eps: float) -> "SpectralNorm":
        if _hook_key(module, SpectralNorm, name) is not None:
            raise RuntimeError(f"cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None "
                             f"(or {type(module).__name__} has no parameter {name!r})")
        fn.dim = check_dim("spectral_norm", dim, weight.ndim)
        from ...creation import randn
        with no_grad():
            h, w = _as_matrix(weight, fn.dim).shape
            u = normalize(randn(h, dtype=weight.dtype, device=weight.device), dim=0, eps=fn.eps)
            v = normalize(randn(w, dtype=weight.dtype, device=weight.device), dim=0, eps=fn.eps)
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())   # a plain attribute until the first forward, as torch
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        module._register_state_dict_hook(_StateDictVersion(fn.name, fn._version))
        module._register_load_state_dict_pre_hook(_LoadPreV1(fn.name, fn.dim))
        return fn


class _StateDictVersion:
    """state_dict hook: the format version in the module's metadata, as torch's."""

    def __init__(self, name: str, version: int):
        self.name, self.version = name, version

    def __call__(self, module, state_dict, prefix, local_metadata) -> None:
        versions = local_metadata.setdefault("spectral_norm", {})
        key = self.name + ".version"
        if key in versions:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        versions[key] = self.version


class _LoadPreV1:
    """load_state_dict pre-hook: converts a state dict of version None (``<name>``, no ``<name>_v``)."""

    def __init__(self, name: str, dim: int):
        self.name, self.dim = name, dim

    def __call__(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs) -> None:
        version = local_metadata.get("spectral_norm", {}).get(self.name + ".version")
        if version is not None and version >= 1:
            return
        key = prefix + self.name
        if version is None and key not in state_dict and all(key + s in state_dict for s in ("_orig", "_u", "_v")):
            return   # today's keys without the metadata (a dict built by hand): taken as they are
        absent = [key + s for s in ("_orig", "", "_u") if key + s not in state_dict]
        if absent:
            if strict:
                missing_keys.extend(absent)
            return
        from ..state_dict import _as_array
        orig = _as_array(state_dict[key + "_orig"], key + "_orig")
        weight = backend.to_numpy(_as_array(state_dict.pop(key), key)).astype(np.float64)
        u = backend.to_numpy(_as_array(state_dict[key + "_u"], key + "_u")).astype(np.float64)
        w_orig = backend.to_numpy(orig).astype(np.float64)
        sigma = (w_orig / weight).mean()
        mat = np.moveaxis(w_orig, self.dim, 0).reshape(w_orig.shape[self.dim], -1)
        # least squares for W v = u (pinv: W^T W may be singular), then u . W v = sigma
        v = np.linalg.pinv(mat.T @ mat) @ mat.T @ u
        v *= sigma / (u @ (mat @ v))
        state_dict[key + "_v"] = v.astype(orig.dtype)


def spectral_norm(module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None):
    """Spectral normalisation by a forward pre-hook, as ``torch.nn.utils.spectral_norm``.

    ``module.<name>`` (a Parameter) becomes ``<name>_orig``; the buffers
    ``<name>_u``: (rows,) and ``<name>_v``: (cols,) hold the power method's
    vectors (random unit vectors at first, no iteration yet, as torch); the
    matrix has ``dim`` (default 0, 1 for a ConvTranspose) as its rows.
    A state dict saved before torch 1.1 (``weight`` instead of ``weight_v``, no
    version in its metadata) is converted on load, as PyTorch's. Returns ``module``.
    """
    if dim is None:
        dim = _default_dim(module)
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name: str = "weight"):
    """Undo :func:`spectral_norm`: ``module.<name>`` becomes a Parameter holding W / sigma
    (sigma from the current u, v: no further iteration)."""
    return _remove_hook(module, SpectralNorm, name, "spectral_norm")
