"""ASGD: SGD with a decaying step and Polyak-Ruppert averaging of the iterates, as ``torch.optim.ASGD``."""
from __future__ import annotations

from .. import backend
from ..autograd import bump_version
from .optimizer import Optimizer, step_tensor, zeros_state


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky), as ``torch.optim.ASGD``.

    With g = grad + weight_decay * p (g = -grad first when ``maximize``) at
    step t, using the eta and mu of the step before (eta = lr, mu = 1 at first):
    p <- p (1 - lambd eta) - eta g; the average a <- a + mu (p - a) (a copy of p
    while mu = 1); then eta <- lr / (1 + lambd lr t)^alpha and
    mu <- 1 / max(1, t - t0), so averaging starts after step ``t0``. The
    parameters follow SGD; the average is in ``optimizer.state[p]["ax"]``.

    State, as torch names it: ``step``, ``eta``, ``mu`` (0-d host tensors of the
    default float dtype, as torch's) and ``ax`` (the average). ``foreach`` (torch's): accepted and
    kept in the group; the update is the per-tensor loop whatever it says (torch's loop and foreach
    give the same numbers).
    """

    state_keys = {"step": "count", "eta": "scalar", "mu": "scalar", "ax": "array"}

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False):
        # torch's order: foreach and maximize positional too
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=bool(maximize)))

    def _new_state(self, p, group) -> dict:
        """A parameter's state at its first step, with torch's entry names."""
        return {"step": step_tensor(), "eta": step_tensor(group["lr"]),
                "mu": step_tensor(1.0), "ax": zeros_state(p)}

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group, p, state, t in self._with_grad(self._new_state):
            lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
            g, data = self._gradient(group, p), p.data   # (-grad when maximize, + weight_decay p)
            xp = backend.get_array_module(data)
            eta, mu = float(state["eta"].data), float(state["mu"].data)
            data *= 1 - lambd * eta
            data -= xp.multiply(g, eta)              # p <- p (1 - lambd eta) - eta g
            ax = state["ax"].data
            if mu != 1:
                tmp = xp.subtract(data, ax)
                tmp *= mu
                ax += tmp                            # a <- a + mu (p - a)
            else:
                ax[...] = data
            state["eta"].data[()] = lr / ((1 + lambd * lr * t) ** alpha)
            state["mu"].data[()] = 1 / max(1, t - t0)
            bump_version(p)
        return loss
