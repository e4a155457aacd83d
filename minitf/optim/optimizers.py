"""The optimizers: SGD, Adam and AdamW (PyTorch's names, signatures and update rules).

Every update works in place on the backend arrays (``p.data``, ``p.grad.data``,
the ``.data`` of the state's Tensors) with the array module of the parameter
(NumPy, CuPy or the fake device), so a step records no graph and allocates only
a few temporaries. The base class, its state and its state dicts are in
:mod:`minitf.optim.optimizer`.
"""
from __future__ import annotations

import functools
import math

from ..backend.fused import kernels_for
from . import multi_tensor
from .optimizer import Optimizer, bump_step, check_betas, step_tensor, zeros_state  # noqa: F401  (re-exported)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay.

    As ``torch.optim.SGD``: with g = grad + weight_decay * p (g = -grad + ... if ``maximize``),
    b <- momentum * b + (1 - dampening) * g (b = g on the first step),
    d = g + momentum * b if nesterov else b, and p <- p - lr * d.
    ``foreach``: one update over all of a group's tensors (optim/multi_tensor.py; default: on
    a device); ``fused`` as foreach here (no fused SGD kernel): the same numbers either way.
    """

    state_keys = {"momentum_buffer": "array"}

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, fused: bool | None = None):  # (torch's int zeros: its repr shows them)
        if momentum < 0.0:
            raise ValueError(f"invalid momentum {momentum}: must be >= 0")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov momentum needs momentum > 0 and dampening = 0")
        multi_tensor.check_foreach_fused(foreach, fused)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=bool(maximize),
                                      foreach=foreach, fused=fused))

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
            wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group.get("maximize", False)
            items = []   # (p, state, first): first, a momentum buffer made this step (b = g)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p] if mom != 0 else None
                first = mom != 0 and state.get("momentum_buffer") is None
                if first:
                    state["momentum_buffer"] = zeros_state(p)
                items.append((p, state, first))

            def update(xp, data, g, buffers, first):
                if maximize:
                    g = -g
                if wd != 0:
                    g = g + wd * data
                if mom != 0:
                    buf = buffers[0]
                    if first:
                        buf[...] = g
                    else:
                        buf *= mom
                        buf += (1 - damp) * g if damp else g
                    g = g + mom * buf if nesterov else buf
                data -= lr * g

            multi_tensor.run(self, group, items, ("momentum_buffer",) if mom != 0 else (), update)
        return loss


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` is L2 added to the gradient.

    With g = grad + weight_decay * p, at step t:
    m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
    p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).

    ``amsgrad=True`` (Reddi et al., as torch's) divides by the running maximum of v instead
    of v: v_max <- max(v_max, v), p <- p - lr m_hat / (sqrt(v_max / (1 - b2^t)) + eps).
    ``maximize=True`` ascends: g is -grad. ``decoupled_weight_decay=True`` is AdamW.
    ``foreach=True`` updates all of a group's tensors as one flat array (optim/multi_tensor.py:
    a few kernel launches on a GPU instead of 14 a tensor; the same numbers, bit for bit);
    the default, None, does so when every parameter is on a device, as torch's. ``fused=True``:
    the flat update too, and where ``MINITF_FUSED_KERNELS=1`` turns on the fused CUDA kernels
    (minitf/backend/fused.py: opt-in, not yet checked on a GPU), one kernel a bucket, whose numbers
    agree with the array path's to a rounding (the compiler may contract a multiply-add);
    ``fused=False`` keeps that kernel off even then.
    """

    _decoupled = False   # a group without "decoupled_weight_decay" (one saved before it was kept)
    state_keys = {"step": "count", "exp_avg": "array", "exp_avg_sq": "array", "max_exp_avg_sq": "array"}
    optional_state_keys = frozenset({"max_exp_avg_sq"})  # amsgrad's only

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, fused: bool | None = None, decoupled_weight_decay: bool = False):
        betas = check_betas(betas)
        if not eps >= 0.0:
            raise ValueError(f"invalid eps {eps}: must be >= 0")
        multi_tensor.check_foreach_fused(foreach, fused)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=bool(amsgrad), maximize=bool(maximize), foreach=foreach,
                                      fused=fused, decoupled_weight_decay=bool(decoupled_weight_decay)))

    def step(self, closure=None):
        """One update; ``closure`` (torch's): re-evaluates the loss first, its loss returned."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            amsgrad = group.get("amsgrad", False)
            items = []
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = {"step": step_tensor(), "exp_avg": zeros_state(p),
                                             "exp_avg_sq": zeros_state(p)}
                if amsgrad and "max_exp_avg_sq" not in state:
                    # zeros at first, as torch's, also after loading a state without it
                    state["max_exp_avg_sq"] = zeros_state(p)
                items.append((p, state, bump_step(state)))
            names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
            multi_tensor.run(self, group, items, names, functools.partial(self._update, group=group))
        return loss

    def _update(self, xp, data, g, buffers, t, *, group):
        """One step in place on arrays of one shape: a parameter, its gradient and its moments, or a
        bucket of them flattened and concatenated (optim/multi_tensor.py)."""
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        decoupled = group.get("decoupled_weight_decay", self._decoupled)
        m, v = buffers[0], buffers[1]
        vmax = buffers[2] if len(buffers) > 2 else None
        if group.get("maximize", False):
            g = -g
        fused = None if vmax is not None else kernels_for(xp, data, g, m, v, allowed=group.get("fused") is not False)
        if fused is not None and g.shape == data.shape:
            # the GPU: the update below in one kernel (minitf/backend/fused.py)
            if wd != 0 and not decoupled:
                g = g + wd * data
            fused.adam_update(data, g, m, v, b1=b1, b2=b2, step_size=lr / (1 - b1 ** t),
                              bias2_sqrt=math.sqrt(1 - b2 ** t), eps=eps,
                              decay=1 - lr * wd if wd != 0 and decoupled else 1.0)
            return
        if wd != 0:
            if decoupled:
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
        if vmax is not None:                 # amsgrad: the running maximum of v
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        xp.sqrt(v, out=tmp)
        tmp /= math.sqrt(1 - b2 ** t)        # sqrt(v_hat) = sqrt(v) / sqrt(1 - b2^t)
        tmp += eps
        xp.divide(m, tmp, out=tmp)
        tmp *= step_size
        data -= tmp                          # p <- p - lr m_hat / (sqrt(v_hat) + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``.

    p <- p (1 - lr * weight_decay) first, then the Adam update; the decay
    never passes through the moment estimates. Default ``weight_decay`` 0.01.
    To decay only matrices (not biases, gains), pass the two groups of
    :func:`param_groups_for_weight_decay`. ``foreach`` and ``fused`` as :class:`Adam`'s.
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, fused: bool | None = None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, foreach=foreach, fused=fused, decoupled_weight_decay=True)


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
