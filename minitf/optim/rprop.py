"""Rprop (Riedmiller & Braun): a per-coordinate step size driven by the gradient's sign alone,
as ``torch.optim.Rprop`` (names, signature, defaults and rule)."""
from __future__ import annotations

from .. import backend
from ..autograd import bump_version
from .optimizer import Optimizer, step_tensor, zeros_state


class Rprop(Optimizer):
    """Resilient backpropagation, as ``torch.optim.Rprop``; for full-batch gradients.

    Each coordinate keeps a step size s (``lr`` at first) and the previous
    gradient g': where g g' > 0, s <- min(s * etas[1], step_sizes[1]); where
    g g' < 0, s <- max(s * etas[0], step_sizes[0]) and that coordinate's g is
    taken as 0 (no move now, and no sign change seen next time); then
    p <- p - sign(g) s and g' <- g. ``maximize``: g = -grad. The lr of a group
    matters only when a parameter's state is made (a scheduler changing it
    later has no effect, as in torch).

    State, as torch names it: ``step``, ``prev`` (g'), ``step_size`` (s). ``foreach`` (torch's):
    accepted and kept in the group; the update is the per-tensor loop whatever it says (torch's loop
    and foreach give the same numbers).
    """

    state_keys = {"step": "count", "prev": "array", "step_size": "array"}

    def __init__(self, params, lr: float = 1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 foreach: bool | None = None, maximize: bool = False):
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                                      maximize=bool(maximize)))

    def _check_hyper(self, group: dict) -> None:
        super()._check_hyper(group)
        etas, sizes = group["etas"], group["step_sizes"]
        if len(etas) != 2 or not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Rprop: invalid etas {tuple(etas)}: need 0 < etas[0] < 1 < etas[1]")
        if len(sizes) != 2 or not 0.0 <= sizes[0] <= sizes[1]:
            # torch does not check; a minimum above the maximum would clamp every step to the maximum
            raise ValueError(f"Rprop: invalid step_sizes {tuple(sizes)}: need 0 <= step_sizes[0] <= step_sizes[1]")

    def _new_state(self, p, group) -> dict:
        """A parameter's state at its first step, with torch's entry names."""
        return {"step": step_tensor(), "prev": zeros_state(p),
                "step_size": zeros_state(p, group["lr"])}

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group, p, state, _ in self._with_grad(self._new_state):
            (eta_minus, eta_plus), (s_min, s_max) = group["etas"], group["step_sizes"]
            g = -p.grad.data if group["maximize"] else p.grad.data
            xp = backend.get_array_module(p.data)
            prev, size = state["prev"].data, state["step_size"].data
            agree = xp.multiply(g, prev, out=xp.empty_like(prev))   # (out=: a 0-d p would give a NumPy scalar)
            flipped = agree < 0
            factor = xp.where(agree > 0, eta_plus, xp.where(flipped, eta_minus, 1.0)).astype(size.dtype)
            size *= factor
            xp.clip(size, s_min, s_max, out=size)
            g = xp.where(flipped, 0, g).astype(size.dtype)   # a sign change: no move, and forget g
            xp.sign(g, out=agree)
            agree *= size
            p.data -= agree                          # p <- p - sign(g) s
            prev[...] = g
            bump_version(p)
        return loss
