"""Muon: momentum whose update is orthogonalised, as ``torch.optim.Muon`` (PyTorch's names,
signature, defaults and rules; for 2-d parameters, the weight matrices of a network).

With mu = ``momentum``, each step keeps the momentum buffer B <- mu B + (1 - mu) g and forms
the direction M = (1 - mu) g + mu B (``nesterov``, the default) or M = B. Newton-Schulz
iterations then push every singular value of M towards 1 without an SVD: with
X = M / max(||M||_F, eps) (the wide way round: X has no more rows than columns),
``ns_steps`` times

    A = X X^T,   X <- a X + (b A + c A A) X,

for ``ns_coefficients`` (a, b, c) = (3.4445, -4.775, 2.0315), a quintic chosen to raise small
singular values fast (they end near, not at, 1). The parameter gets the decoupled weight
decay p <- p (1 - lr wd), then p <- p - lr' X, where lr' = lr sqrt(max(1, rows / cols))
(``adjust_lr_fn`` None or "original", Keller Jordan's) or lr 0.2 sqrt(max(rows, cols))
("match_rms_adamw", Moonshot's: the update's RMS of AdamW's).

Kept difference: torch runs the iterations in bfloat16; minitf in the parameter's dtype (so
a float64 run is exact where torch's is not). Every other step agrees with torch's to
rounding when torch's iterations run in the same dtype (tests/test_optim_muon.py).
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import bump_version
from .optimizer import Optimizer, zeros_state

__all__ = ["Muon"]


def orthogonalize(xp, m, coefficients, steps: int, eps: float):
    """The Newton-Schulz iterate of the matrix ``m`` (R, C): its singular values pushed towards 1."""
    a, b, c = coefficients
    wide = m.shape[0] <= m.shape[1]
    x = m if wide else m.T
    # ||X||_2 <= ||X||_F <= 1: inside the iteration's basin (the norm stays on the device: no host read)
    x = x / xp.maximum(xp.sqrt(xp.sum(x * x)), eps)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x if wide else x.T


class Muon(Optimizer):
    """Muon (Jordan et al.), momentum orthogonalised by Newton-Schulz, as ``torch.optim.Muon``.

    ``params``: 2-d tensors only (the other parameters of a model go to another optimizer, e.g.
    AdamW, as torch's docs advise). State: ``momentum_buffer``. See the module docstring for
    the update.
    """

    state_keys = {"momentum_buffer": "array"}

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients=(3.4445, -4.775, 2.0315), eps: float = 1e-7,
                 ns_steps: int = 5, adjust_lr_fn: str | None = None):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=bool(nesterov),
                                      ns_coefficients=tuple(ns_coefficients), eps=eps, ns_steps=ns_steps,
                                      adjust_lr_fn=adjust_lr_fn))

    def _check_hyper(self, group: dict) -> None:
        super()._check_hyper(group)
        if not group["momentum"] >= 0.0:
            raise ValueError(f"Muon: momentum should be >= 0 but is: {group['momentum']}")
        if group["adjust_lr_fn"] not in (None, "original", "match_rms_adamw"):
            raise ValueError(f"Muon: adjust_lr_fn {group['adjust_lr_fn']!r} is not supported (None, 'original' "
                             f"or 'match_rms_adamw')")
        if len(group["ns_coefficients"]) != 3:
            raise ValueError("Muon: ns_coefficients must be a tuple of exactly 3 values")
        if not isinstance(group["ns_steps"], int) or not 0 <= group["ns_steps"] < 100:
            raise ValueError(f"Muon: ns_steps must be an int in [0, 100), got {group['ns_steps']!r}")

    def add_param_group(self, group: dict) -> None:
        super().add_param_group(group)   # (its normalised params: tensors, (name, tensor) pairs, a generator)
        for p in self.param_groups[-1]["params"]:
            if p.ndim != 2:
                self.param_groups.pop()
                raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                 f"{tuple(p.shape)}")

    @staticmethod
    def _adjusted_lr(lr: float, how, shape) -> float:
        rows, cols = shape
        if how == "match_rms_adamw":
            return lr * 0.2 * math.sqrt(max(rows, cols))
        return lr * math.sqrt(max(1.0, rows / cols))

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            mu, lr = group["momentum"], group["lr"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = {"momentum_buffer": zeros_state(p)}
                xp = backend.get_array_module(p.data)
                g, buf = p.grad.data, state["momentum_buffer"].data
                buf *= mu
                buf += (1 - mu) * g                                # B <- mu B + (1 - mu) g
                direction = (1 - mu) * g + mu * buf if group["nesterov"] else buf
                x = orthogonalize(xp, direction, group["ns_coefficients"], group["ns_steps"], group["eps"])
                p.data *= 1 - lr * group["weight_decay"]
                p.data -= self._adjusted_lr(lr, group["adjust_lr_fn"], p.shape) * x.astype(p.data.dtype, copy=False)
                bump_version(p)
        return loss
