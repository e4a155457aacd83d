"""Adam's relatives: Adamax, NAdam and RAdam (PyTorch's names, signatures, defaults and rules).

Each keeps Adam's first moment m <- b1 m + (1 - b1) g and changes what divides it
(Adamax: an infinity norm) or how it is applied (NAdam: Nesterov momentum with a
decaying schedule; RAdam: a rectified step that starts as plain momentum). As the
optimizers of :mod:`minitf.optim.optimizers`, a step works in place on the
parameters' arrays, on their device; the step count (and NAdam's ``mu_product``)
are 0-d host tensors of the default float dtype, as torch's.
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import bump_version
from .optimizer import Optimizer, check_betas, step_tensor, zeros_state


class _AdamLike(Optimizer):
    """Shared: betas, eps, weight_decay and maximize, checked with torch's rules (per group)."""

    def _check_hyper(self, group: dict) -> None:
        super()._check_hyper(group)
        group["betas"] = check_betas(group["betas"])
        if not group["eps"] >= 0.0:
            raise ValueError(f"{type(self).__name__}: invalid eps {group['eps']}: must be >= 0")

    @staticmethod
    def _first_moment(xp, m, g, b1):
        """m <- b1 m + (1 - b1) g in place; returns a scratch array of g's shape."""
        tmp = xp.multiply(g, 1 - b1, out=xp.empty_like(g))   # (out=: a 0-d g would give a NumPy scalar)
        m *= b1
        m += tmp
        return tmp

    @staticmethod
    def _second_moment(xp, v, g, b2, tmp):
        """v <- b2 v + (1 - b2) g^2 in place (``tmp``: scratch)."""
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v *= b2
        v += tmp


class Adamax(_AdamLike):
    """Adamax (Kingma & Ba), Adam with the infinity norm, as ``torch.optim.Adamax``.

    With g = grad + weight_decay * p at step t: m <- b1 m + (1 - b1) g,
    u <- max(b2 u, |g| + eps), p <- p - lr / (1 - b1^t) * m / u.
    State: ``step``, ``exp_avg`` (m), ``exp_inf`` (u). ``foreach`` (torch's): accepted and kept in
    the group; the update is the per-tensor loop whatever it says (torch's loop and foreach give the
    same numbers).
    """

    state_keys = {"step": "count", "exp_avg": "array", "exp_inf": "array"}

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 foreach: bool | None = None, *, maximize: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=bool(maximize)))

    def _new_state(self, p, group) -> dict:
        """A parameter's state at its first step, with torch's entry names."""
        return {"step": step_tensor(), "exp_avg": zeros_state(p), "exp_inf": zeros_state(p)}

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group, p, state, t in self._with_grad(self._new_state):
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            xp = backend.get_array_module(p.data)
            g = self._gradient(group, p, decoupled=False)
            m, u = state["exp_avg"].data, state["exp_inf"].data
            tmp = self._first_moment(xp, m, g, b1)
            xp.abs(g, out=tmp)
            tmp += eps
            u *= b2
            xp.maximum(u, tmp, out=u)              # u <- max(b2 u, |g| + eps)
            xp.divide(m, u, out=tmp)
            tmp *= lr / (1 - b1 ** t)
            p.data -= tmp
            bump_version(p)
        return loss


class NAdam(_AdamLike):
    """NAdam (Dozat), Adam with Nesterov momentum, as ``torch.optim.NAdam``.

    At step t, mu_t = b1 (1 - 0.96^(t psi) / 2) (psi = ``momentum_decay``) and
    P_t = mu_1 ... mu_t (the state's ``mu_product``). With g = grad (+ weight_decay * p,
    or p <- p (1 - lr wd) when ``decoupled_weight_decay``, NAdamW):
    m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2, D = sqrt(v / (1 - b2^t)) + eps,
    p <- p - lr (1 - mu_t) / (1 - P_t) g / D - lr mu_{t+1} / (1 - P_t mu_{t+1}) m / D.
    State: ``step``, ``mu_product``, ``exp_avg``, ``exp_avg_sq``.
    """

    state_keys = {"step": "count", "mu_product": "scalar", "exp_avg": "array", "exp_avg_sq": "array"}

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=bool(decoupled_weight_decay), foreach=foreach,
                                      maximize=bool(maximize)))

    def _check_hyper(self, group: dict) -> None:
        super()._check_hyper(group)
        if not group["momentum_decay"] >= 0.0:
            raise ValueError(f"NAdam: invalid momentum_decay {group['momentum_decay']}: must be >= 0")

    def _new_state(self, p, group) -> dict:
        """A parameter's state at its first step, with torch's entry names."""
        return {"step": step_tensor(), "mu_product": step_tensor(1.0),
                "exp_avg": zeros_state(p), "exp_avg_sq": zeros_state(p)}

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group, p, state, t in self._with_grad(self._new_state):
            lr, (b1, b2), eps, psi = group["lr"], group["betas"], group["eps"], group["momentum_decay"]
            xp = backend.get_array_module(p.data)
            g = self._gradient(group, p, decoupled=group["decoupled_weight_decay"])
            mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            prod = state["mu_product"].data
            prod *= mu                             # P_t, kept in the default dtype as torch's
            prod = float(prod)
            m, v = state["exp_avg"].data, state["exp_avg_sq"].data
            tmp = self._first_moment(xp, m, g, b1)
            self._second_moment(xp, v, g, b2, tmp)
            xp.sqrt(v, out=tmp)
            tmp /= math.sqrt(1 - b2 ** t)
            tmp += eps                             # D = sqrt(v / (1 - b2^t)) + eps
            data = p.data
            data -= xp.divide(g, tmp) * (lr * (1.0 - mu) / (1.0 - prod))
            xp.divide(m, tmp, out=tmp)
            tmp *= lr * mu_next / (1.0 - prod * mu_next)
            data -= tmp
            bump_version(p)
        return loss


class RAdam(_AdamLike):
    """RAdam (Liu et al.), Adam with a rectified adaptive step, as ``torch.optim.RAdam``.

    With g as Adam's (``decoupled_weight_decay``: p <- p (1 - lr wd) instead of L2),
    m and v as Adam's, rho_inf = 2 / (1 - b2) - 1 and
    rho_t = rho_inf - 2 t b2^t / (1 - b2^t): while rho_t <= 5 the step is momentum
    alone, p <- p - lr m / (1 - b1^t); after, it is Adam's times the rectification
    r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)):
    p <- p - lr r_t m / (1 - b1^t) * sqrt(1 - b2^t) / (sqrt(v) + eps).
    State: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    state_keys = {"step": "count", "exp_avg": "array", "exp_avg_sq": "array"}

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=bool(decoupled_weight_decay), foreach=foreach,
                                      maximize=bool(maximize)))

    def _new_state(self, p, group) -> dict:
        """A parameter's state at its first step, with torch's entry names."""
        return {"step": step_tensor(), "exp_avg": zeros_state(p),
                "exp_avg_sq": zeros_state(p)}

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group, p, state, t in self._with_grad(self._new_state):
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            xp = backend.get_array_module(p.data)
            g = self._gradient(group, p, decoupled=group["decoupled_weight_decay"])
            m, v = state["exp_avg"].data, state["exp_avg_sq"].data
            tmp = self._first_moment(xp, m, g, b1)
            self._second_moment(xp, v, g, b2, tmp)
            bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
            rho_inf = 2 / (1 - b2) - 1
            rho_t = rho_inf - 2 * t * b2 ** t / bc2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                xp.sqrt(v, out=tmp)
                tmp += eps
                xp.divide(m, tmp, out=tmp)
                tmp *= lr * rect * math.sqrt(bc2) / bc1
            else:   # the variance estimate is too young: momentum alone
                xp.multiply(m, lr / bc1, out=tmp)
            p.data -= tmp
            bump_version(p)
        return loss
