"""Optimizers with a per-coordinate step size from past squared gradients: RMSprop, Adagrad, Adadelta.

PyTorch's names, signatures, defaults and update rules (``torch.optim.RMSprop``,
``torch.optim.Adagrad``). As the optimizers of :mod:`minitf.optim.optimizers`,
each step works in place on the backend arrays of the parameters, on their
device, reading nothing back to the host; the step counts are 0-d host tensors, as torch's.
"""
from __future__ import annotations

from .. import backend
from ..autograd import bump_version
from .multi_tensor import check_foreach_fused
from .optimizer import Optimizer, bump_step, step_tensor, zeros_state


def _non_negative(name: str, what: str, value) -> None:
    if not value >= 0.0:   # NaN too
        raise ValueError(f"{name}: invalid {what} {value}: must be >= 0")


class RMSprop(Optimizer):
    """RMSprop (Hinton), as ``torch.optim.RMSprop``.

    With g = grad + weight_decay * p:
    v <- alpha v + (1 - alpha) g^2; if ``centered``, also
    m <- alpha m + (1 - alpha) g and the denominator is sqrt(v - m^2) + eps,
    else sqrt(v) + eps. Without momentum p <- p - lr g / denominator; with it
    b <- momentum b + g / denominator and p <- p - lr b (b starts at zero).

    ``maximize``: g = -grad first. ``foreach`` (torch's): accepted and kept in the group; the update
    is the per-tensor loop whatever it says (torch's loop and foreach give the same numbers).

    Per-parameter state, as PyTorch names it: ``step``, ``square_avg``, and
    ``momentum_buffer`` (when momentum > 0) and ``grad_avg`` (when centered),
    made at the first step that needs them.
    """

    state_keys = {"step": "count", "square_avg": "array", "momentum_buffer": "array", "grad_avg": "array"}
    optional_state_keys = frozenset({"momentum_buffer", "grad_avg"})

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 foreach: bool | None = None, maximize: bool = False):   # torch's order, all positional
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=bool(centered), foreach=foreach,
                                      maximize=bool(maximize)))

    def _check_hyper(self, group: dict) -> None:
        super()._check_hyper(group)
        for what in ("eps", "momentum", "alpha"):
            _non_negative("RMSprop", what, group[what])

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            mom, centered = group["momentum"], group["centered"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                data = p.data
                xp = backend.get_array_module(data)
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = {"step": step_tensor(), "square_avg": zeros_state(p)}
                if mom > 0 and "momentum_buffer" not in state:
                    state["momentum_buffer"] = zeros_state(p)
                if centered and "grad_avg" not in state:
                    state["grad_avg"] = zeros_state(p)
                bump_step(state)   # RMSprop counts its steps (torch keeps "step") but does not use them
                g = self._gradient(group, p)   # (-grad when maximize, + weight_decay p)
                v = state["square_avg"].data
                tmp = xp.multiply(g, g, out=xp.empty_like(g))   # (out=: a 0-d g gives a NumPy scalar)
                tmp *= 1 - alpha
                v *= alpha
                v += tmp                               # v <- alpha v + (1 - alpha) g^2
                if centered:
                    m = state["grad_avg"].data
                    xp.subtract(g, m, out=tmp)
                    tmp *= 1 - alpha
                    m += tmp                           # m <- m + (1 - alpha) (g - m), PyTorch's lerp
                    xp.multiply(m, m, out=tmp)
                    xp.subtract(v, tmp, out=tmp)
                    xp.sqrt(tmp, out=tmp)
                else:
                    xp.sqrt(v, out=tmp)
                tmp += eps
                xp.divide(g, tmp, out=tmp)             # g / (sqrt(v [- m^2]) + eps)
                if mom > 0:
                    buf = state["momentum_buffer"].data
                    buf *= mom
                    buf += tmp
                    xp.multiply(buf, lr, out=tmp)
                else:
                    tmp *= lr
                data -= tmp
                bump_version(p)
        return loss


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), as ``torch.optim.Adagrad``.

    With g = grad + weight_decay * p at step t: s <- s + g^2,
    p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps); the sum s
    starts at ``initial_accumulator_value``.

    As in PyTorch the state (``step`` = 0, ``sum``) of every parameter is made
    when the optimizer is built, so ``state_dict()`` lists them all from the
    start. One difference: a parameter group's own ``initial_accumulator_value``
    is used for its parameters (PyTorch fills every group's sums with the
    constructor's value). ``maximize``: g = -grad first. ``foreach`` (torch's): accepted and kept in
    the group; the update is the per-tensor loop whatever it says (torch's loop and foreach give the
    same numbers); so does ``fused`` (torch's fused Adagrad kernel; both True is torch's
    RuntimeError).
    """

    state_keys = {"step": "count", "sum": "array"}

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, fused: bool | None = None):
        check_foreach_fused(foreach, fused)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      foreach=foreach, maximize=bool(maximize), fused=fused))

    def _check_hyper(self, group: dict) -> None:
        super()._check_hyper(group)
        for what in ("lr_decay", "initial_accumulator_value", "eps"):
            _non_negative("Adagrad", what, group[what])

    def add_param_group(self, group: dict) -> None:
        super().add_param_group(group)
        new = self.param_groups[-1]
        for p in new["params"]:
            self._init_state(p, new)

    def _init_state(self, p, group) -> dict:
        state = self.state[p] = {"step": step_tensor(), "sum": zeros_state(p, group["initial_accumulator_value"])}
        return state

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                data = p.data
                xp = backend.get_array_module(data)
                state = self.state.get(p) or self._init_state(p, group)  # a state loaded empty
                t = bump_step(state)
                g = self._gradient(group, p)   # (-grad when maximize, + weight_decay p)
                clr = lr / (1 + (t - 1) * lr_decay)
                s = state["sum"].data
                tmp = xp.multiply(g, g, out=xp.empty_like(g))   # (out=: a 0-d g gives a NumPy scalar)
                s += tmp                               # s <- s + g^2
                xp.sqrt(s, out=tmp)
                tmp += eps
                xp.divide(g, tmp, out=tmp)
                tmp *= clr
                data -= tmp                            # p <- p - clr g / (sqrt(s) + eps)
                bump_version(p)
        return loss


class Adadelta(Optimizer):
    """Adadelta (Zeiler), as ``torch.optim.Adadelta``.

    With g = grad + weight_decay * p (g = -grad first when ``maximize``):
    v <- rho v + (1 - rho) g^2, d = sqrt(u + eps) / sqrt(v + eps) * g,
    u <- rho u + (1 - rho) d^2, p <- p - lr d. The step size needs no tuning
    (the default lr is 1.0, a plain multiplier of d).

    Per-parameter state, as PyTorch names it: ``step``, ``square_avg`` (v) and
    ``acc_delta`` (u), made at the parameter's first step. ``foreach`` (torch's): accepted and kept
    in the group; the update is the per-tensor loop whatever it says (torch's loop and foreach give
    the same numbers).
    """

    state_keys = {"step": "count", "square_avg": "array", "acc_delta": "array"}

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach: bool | None = None, *, maximize: bool = False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=bool(maximize)))

    def _check_hyper(self, group: dict) -> None:
        super()._check_hyper(group)
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Adadelta: invalid rho {group['rho']}: must be in [0, 1]")
        _non_negative("Adadelta", "eps", group["eps"])

    def _new_state(self, p, group) -> dict:
        """A parameter's state at its first step, with torch's entry names."""
        return {"step": step_tensor(), "square_avg": zeros_state(p),
                "acc_delta": zeros_state(p)}

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group, p, state, _ in self._with_grad(self._new_state):   # (the step is counted, as torch's, not used)
            lr, rho, eps = group["lr"], group["rho"], group["eps"]
            g, data = self._gradient(group, p), p.data   # (-grad when maximize, + weight_decay p)
            xp = backend.get_array_module(data)
            v, u = state["square_avg"].data, state["acc_delta"].data
            tmp = xp.multiply(g, g, out=xp.empty_like(g))   # (out=: a 0-d g gives a NumPy scalar)
            tmp *= 1 - rho
            v *= rho
            v += tmp                               # v <- rho v + (1 - rho) g^2
            d = xp.add(u, eps, out=xp.empty_like(u))
            xp.sqrt(d, out=d)
            xp.add(v, eps, out=tmp)
            xp.sqrt(tmp, out=tmp)
            d /= tmp
            d *= g                                 # d = sqrt(u + eps) / sqrt(v + eps) g
            xp.multiply(d, d, out=tmp)
            tmp *= 1 - rho
            u *= rho
            u += tmp                               # u <- rho u + (1 - rho) d^2
            d *= lr
            data -= d
            bump_version(p)
        return loss
