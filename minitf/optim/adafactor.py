"""Adafactor: Adam's second moment kept as row and column factors, as ``torch.optim.Adafactor``
(PyTorch's names, signature, defaults and rules; Shazeer & Stern, 2018).

For a parameter with two or more dims, shape (..., R, C), the second moment is not kept
whole (R C numbers) but as its row means r (..., R, 1) and column means c (..., 1, C)
(R + C numbers): at step t, with w_t = t^``beta2_decay`` (1 - beta2_t in torch's docs),

    r <- r + w_t (mean_C(g^2) - r),   c <- c + w_t (mean_R(g^2) - c),
    v = r c / max(mean_R(r), eps1)           (the rank-1 estimate of E[g^2])

and a vector keeps v <- v + w_t (g^2 - v) whole. The step is
u = g / sqrt(max(v, eps1^2)), clipped to RMS ``d`` (u / max(1, rms(u) / d)), scaled by
alpha = max(eps2, rms(p)) min(lr, 1 / sqrt(t)): p <- p (1 - lr wd) - alpha u. No first
moment at all: the state of a (R, C) matrix is R + C + 1 numbers.

eps = (eps1, eps2); eps1 None is the dtype's machine epsilon. Every quantity stays on the
parameter's device (torch reads two norms back to the host per parameter and step).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import bump_version
from ..tensor import Tensor
from .optimizer import Optimizer, bump_step, step_tensor

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor, as ``torch.optim.Adafactor`` (see the module docstring for the update).

    State: ``step``; ``row_var`` (..., R, 1) and ``col_var`` (..., 1, C) for a parameter of two or
    more dims, ``variance`` (its shape) for a vector.
    """

    state_keys = {"step": "count", "row_var": "array", "col_var": "array", "variance": "array"}
    optional_state_keys = frozenset({"row_var", "col_var", "variance"})   # factors or whole, by rank

    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8, eps=(None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach=None, maximize: bool = False):
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d, weight_decay=weight_decay,
                                      foreach=foreach, maximize=bool(maximize)))

    def _check_hyper(self, group: dict) -> None:
        super()._check_hyper(group)
        eps1, eps2 = group["eps"]
        if not 0.0 >= group["beta2_decay"]:
            raise ValueError(f"beta2_decay should be <= 0 but is: {group['beta2_decay']}")
        if eps1 is not None and not 0.0 <= eps1:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps1}")
        if not 0.0 <= eps2:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps2}")
        if not 1.0 <= group["d"]:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {group['d']}")

    @staticmethod
    def _state_shape(key: str, p) -> tuple:
        shape = list(p.shape)
        if key == "row_var":
            shape[-1] = 1
        elif key == "col_var":
            shape[-2] = 1
        return tuple(shape)

    def _new_state(self, p) -> dict:
        xp = backend.get_array_module(p.data)
        state = {"step": step_tensor()}
        if p.ndim > 1:
            for key in ("row_var", "col_var"):
                state[key] = Tensor._make(xp.zeros(self._state_shape(key, p), dtype=p.data.dtype), None)
        else:
            state["variance"] = Tensor._make(xp.zeros_like(p.data), None)
        return state

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, wd, d = group["lr"], group["weight_decay"], group["d"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = self._new_state(p)
                t = bump_step(state)
                xp = backend.get_array_module(p.data)
                g = -p.grad.data if group["maximize"] else p.grad.data
                eps1, eps2 = group["eps"]
                if eps1 is None:
                    eps1 = float(np.finfo(p.data.dtype).eps)
                beta = t ** group["beta2_decay"]
                rho = min(lr, t ** -0.5)
                alpha = xp.maximum(eps2, xp.sqrt(xp.mean(p.data * p.data))) * rho   # on the device
                if wd != 0:
                    p.data *= 1 - lr * wd
                g2 = g * g
                if p.ndim > 1:
                    r, c = state["row_var"].data, state["col_var"].data
                    r += beta * (g2.mean(axis=-1, keepdims=True) - r)
                    c += beta * (g2.mean(axis=-2, keepdims=True) - c)
                    v = (r @ c) / xp.maximum(r.mean(axis=-2, keepdims=True), eps1)
                else:
                    v = state["variance"].data
                    v += beta * (g2 - v)
                    v = v.copy()
                u = g / xp.sqrt(xp.maximum(v, eps1 * eps1))
                denom = xp.maximum(1.0, xp.sqrt(xp.mean(u * u)) / d)
                p.data -= ((alpha / denom) * u).astype(p.data.dtype, copy=False)
                bump_version(p)
        return loss
