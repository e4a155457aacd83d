"""The optimizers: SGD, Adam and AdamW (PyTorch's names, signatures and update rules).

Every update works in place on the backend arrays (``p.data``, ``p.grad.data``,
the ``.data`` of the state's Tensors) with the array module of the parameter
(NumPy, CuPy or the fake device), so a step records no graph and allocates only
a few temporaries. The base class, its state and its state dicts are in
:mod:`minitf.optim.optimizer`.
"""
from __future__ import annotations

import math

from .. import backend
from ..backend.fused import kernels_for
from ..autograd import bump_version
from ..tensor import Tensor
from .optimizer import Optimizer, bump_step, check_betas, step_tensor, zeros_state  # noqa: F401  (re-exported)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay.

    As ``torch.optim.SGD``: with g = grad + weight_decay * p,
    b <- momentum * b + (1 - dampening) * g (b = g on the first step),
    d = g + momentum * b if nesterov else b, and p <- p - lr * d.
    """

    state_keys = {"momentum_buffer": "array"}

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False):  # (torch's int zeros: its repr shows them)
        if momentum < 0.0:
            raise ValueError(f"invalid momentum {momentum}: must be >= 0")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
            wd, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if wd != 0:
                    g = g + wd * p.data
                if mom != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = g.copy()
                        state["momentum_buffer"] = Tensor._make(buf, None)
                    else:
                        buf = buf.data
                        buf *= mom
                        buf += (1 - damp) * g if damp else g
                    g = g + mom * buf if nesterov else buf
                p.data -= lr * g
                bump_version(p)  # an in-place change, as PyTorch counts it: a graph that saved p sees it
        return loss


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` is L2 added to the gradient.

    With g = grad + weight_decay * p, at step t:
    m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
    p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).

    ``amsgrad=True`` (Reddi et al., as torch's) divides by the running maximum of v instead
    of v: v_max <- max(v_max, v), p <- p - lr m_hat / (sqrt(v_max / (1 - b2^t)) + eps).
    ``maximize=True`` ascends: g is -grad.
    """

    _decoupled = False
    state_keys = {"step": "count", "exp_avg": "array", "exp_avg_sq": "array", "max_exp_avg_sq": "array"}
    optional_state_keys = frozenset({"max_exp_avg_sq"})  # amsgrad's only

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False):
        betas = check_betas(betas)
        if not eps >= 0.0:
            raise ValueError(f"invalid eps {eps}: must be >= 0")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=bool(amsgrad), maximize=bool(maximize)))

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            amsgrad, maximize = group.get("amsgrad", False), group.get("maximize", False)
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if maximize:
                    g = -g
                data = p.data
                xp = backend.get_array_module(data)
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = {"step": step_tensor(), "exp_avg": zeros_state(p),
                                             "exp_avg_sq": zeros_state(p)}
                t = bump_step(state)
                m, v = state["exp_avg"].data, state["exp_avg_sq"].data
                fused = None if amsgrad else kernels_for(xp, data, g, m, v)
                if fused is not None and g.shape == data.shape:
                    # the GPU: the update below in one kernel (minitf/backend/fused.py)
                    if wd != 0 and not self._decoupled:
                        g = g + wd * data
                    fused.adam_update(data, g, m, v, b1=b1, b2=b2, step_size=lr / (1 - b1 ** t),
                                      bias2_sqrt=math.sqrt(1 - b2 ** t), eps=eps,
                                      decay=1 - lr * wd if wd != 0 and self._decoupled else 1.0)
                    bump_version(p)
                    continue
                if wd != 0:
                    if self._decoupled:
                        data *= 1 - lr * wd          # AdamW: p <- p (1 - lr wd), apart from the gradient
                    else:
                        g = g + wd * data            # Adam: L2 in the gradient
                # one scratch array serves every temporary (out=: a 0-d g would give a NumPy scalar)
                tmp = xp.multiply(g, 1 - b1, out=xp.empty_like(g))
                m *= b1
                m += tmp                             # m <- b1 m + (1 - b1) g
                xp.multiply(g, g, out=tmp)
                tmp *= 1 - b2
                v *= b2
                v += tmp                             # v <- b2 v + (1 - b2) g^2
                step_size = lr / (1 - b1 ** t)
                if amsgrad:  # the running maximum of v (zeros at first, as torch's, also after loading a state without it)
                    if "max_exp_avg_sq" not in state:
                        state["max_exp_avg_sq"] = zeros_state(p)
                    vmax = state["max_exp_avg_sq"].data
                    xp.maximum(vmax, v, out=vmax)
                    v = vmax
                xp.sqrt(v, out=tmp)
                tmp /= math.sqrt(1 - b2 ** t)        # sqrt(v_hat) = sqrt(v) / sqrt(1 - b2^t)
                tmp += eps
                xp.divide(m, tmp, out=tmp)
                tmp *= step_size
                data -= tmp                          # p <- p - lr m_hat / (sqrt(v_hat) + eps)
                bump_version(p)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``.

    p <- p (1 - lr * weight_decay) first, then the Adam update; the decay
    never passes through the moment estimates. Default ``weight_decay`` 0.01.
    To decay only matrices (not biases, gains), pass the two groups of
    :func:`param_groups_for_weight_decay`.
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize)


def param_groups_for_weight_decay(named_params, weight_decay: float) -> list[dict]:
    """Two groups, as nanoGPT builds them: tensors with 2+ dims decay, the rest do not.

    Weight matrices and embeddings decay; biases and LayerNorm gains do not.
    ``named_params`` is ``model.named_parameters()`` (pairs or a dict);
    parameters that do not require grad are left out, tied ones counted once.
    Returns ``[{"params": decay, "weight_decay": weight_decay},
    {"params": no_decay, "weight_decay": 0.0}]``.
    """
    items = named_params.items() if isinstance(named_params, dict) else named_params
    decay, no_decay, seen = [], [], set()
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError("param_groups_for_weight_decay expects (name, tensor) pairs, "
                            "e.g. model.named_parameters()")
        _, p = item
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": float(weight_decay)},
            {"params": no_decay, "weight_decay": 0.0}]
