"""Weight averaging, as ``torch.optim.swa_utils``: AveragedModel (SWA, EMA), SWALR and update_bn.

    from minitf import optim
    swa = optim.swa_utils.AveragedModel(model)                      # an equal-weight average (SWA)
    ema = optim.swa_utils.AveragedModel(model, multi_avg_fn=optim.swa_utils.get_ema_multi_avg_fn(0.999))
    sched = optim.swa_utils.SWALR(opt, swa_lr=0.05)
    for epoch in range(...):
        ...                                    # train
        swa.update_parameters(model)
        sched.step()
    optim.swa_utils.update_bn(loader, swa)     # BatchNorm statistics for the averaged weights

The one module of ``minitf.optim`` that builds on ``minitf.nn`` (an AveragedModel is a Module, as
torch's): ``minitf.optim`` imports it on first use only, so the optimizers never import nn.
"""
from __future__ import annotations

import copy
import math

from ..autograd import no_grad
from ..errors import DtypeError
from ..nn.batchnorm import _BatchNorm
from ..nn.module import Module
from ..tensor import Tensor
from .lr_scheduler.base import LRScheduler, _per_group

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"invalid decay {decay}: must be in [0, 1]")


def get_ema_multi_avg_fn(decay: float = 0.999):
    """``multi_avg_fn`` of an exponential moving average: each average a <- decay a + (1 - decay) p, in place.

    Floating tensors by ``lerp_``, others (integer buffers, with ``use_buffers``) by
    a copy of decay a + (1 - decay) p, rounded toward zero, as torch's."""
    _check_decay(decay)

    def ema_update(ema_params: list, current_params: list, num_averaged) -> None:
        with no_grad():
            for a, p in zip(ema_params, current_params):
                if a.is_floating_point():
                    a.lerp_(p, 1 - decay)
                else:
                    a.copy_(a * decay + p * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn():
    """``multi_avg_fn`` of the running equal-weight average: a <- a + w (p - a), in place, with
    w = 1 / (n + 1) (n: the number averaged so far; a Tensor n gives w in the default float dtype,
    as torch's). Floating tensors only: torch refuses integer buffers here (its integer addcdiv),
    and so does minitf, with a DtypeError; the default average (no ``multi_avg_fn``) takes them."""
    def swa_update(averaged_params: list, current_params: list, num_averaged) -> None:
        weight = 1 / (num_averaged + 1)
        with no_grad():
            for a, p in zip(averaged_params, current_params):
                if not a.is_floating_point():
                    raise DtypeError(f"get_swa_multi_avg_fn: cannot average a tensor of dtype {a.dtype} in place "
                                     f"(torch refuses integer addcdiv too); leave use_buffers=False or use the "
                                     f"default average")
                a.lerp_(p, weight)
    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    """``avg_fn`` of an exponential moving average: returns decay a + (1 - decay) p."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """``avg_fn`` of the running equal-weight average: returns a + (p - a) / (n + 1)."""
    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """A running average of a model's weights, as ``torch.optim.swa_utils.AveragedModel``.

    Holds a deep copy of ``model`` (moved to ``device`` if given) as ``.module``
    and the buffer ``n_averaged`` (int64, the number of models averaged). Each
    :meth:`update_parameters` first copies the model's weights, then averages:
    ``avg_fn(averaged, current, n_averaged)`` returns each new average,
    ``multi_avg_fn(averaged_list, current_list, n_averaged)`` updates the lists
    in place (one call per device and dtype); with neither, the equal-weight
    average (SWA). ``use_buffers=True`` averages the buffers too (BatchNorm's
    running statistics, so no :func:`update_bn` is needed); otherwise they are
    copied from the model. ``forward`` calls the averaged module.
    """

    def __init__(self, model: Module, device=None, avg_fn=None, multi_avg_fn=None, use_buffers: bool = False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            # torch raises an AssertionError; an argument error here, with its meaning
            raise ValueError("AveragedModel: give only one of avg_fn and multi_avg_fn")
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: expected a minitf nn.Module, got {type(model).__name__}")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        from ..creation import tensor
        self.register_buffer("n_averaged", tensor(0, dtype="int64", device=device))   # (cpu if None, as torch)
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, bool(use_buffers)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _tensors(self, model: Module) -> list:
        if self.use_buffers:
            return list(model.parameters()) + list(model.buffers())
        return list(model.parameters())

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights (of the same architecture) into the average."""
        mine = [t.detach() for t in self._tensors(self.module)]
        theirs = [t.detach().to(a.device) for a, t in zip(mine, self._tensors(model))]
        count = int(self.n_averaged.item())
        with no_grad():
            if count == 0:
                for a, p in zip(mine, theirs):
                    a.copy_(p)
            elif self.avg_fn is not None:
                n = self.n_averaged
                for a, p in zip(mine, theirs):
                    a.copy_(self.avg_fn(a, p, n.to(a.device)))
            else:
                groups = {}   # (device, dtype) -> ([averages], [currents]), as torch groups them
                for a, p in zip(mine, theirs):
                    pair = groups.setdefault((str(a.device), str(a.dtype)), ([], []))
                    pair[0].append(a)
                    pair[1].append(p)
                for mine_g, theirs_g in groups.values():
                    n = self.n_averaged.to(mine_g[0].device)
                    if self.multi_avg_fn is not None:
                        self.multi_avg_fn(mine_g, theirs_g, n)
                    else:   # the equal-weight average, by torch's CPU rule: a <- a + (p - a) / (n + 1)
                        for a, p in zip(mine_g, theirs_g):
                            a.copy_(a + (p - a) / (n + 1))
            if not self.use_buffers:   # the buffers follow the model
                for b, mb in zip(self.module.buffers(), model.buffers()):
                    b.copy_(mb.detach().to(b.device))
            self.n_averaged.add_(1)


def update_bn(loader, model: Module, device=None) -> None:
    """Recompute the BatchNorm running statistics of ``model`` over one pass of ``loader``, as torch's.

    Every BatchNorm's statistics are reset and then accumulated as a cumulative
    average (momentum None) over the batches, in training mode, without
    gradients; the momenta and the training flag are put back afterwards. A
    batch that is a list or tuple contributes its first element (the inputs);
    ``device`` moves each batch first. A model without BatchNorm is left as it is.
    """
    momenta = {}
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.reset_running_stats()
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None
    try:
        with no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None:
                    batch = batch.to(device)
                model(batch)
    finally:
        for m, momentum in momenta.items():
            m.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr to ``swa_lr`` over ``anneal_epochs`` epochs, then hold it, as
    ``torch.optim.swa_utils.SWALR``.

    ``anneal_strategy``: ``"cos"`` or ``"linear"``. Each step moves the lr a
    group has now by torch's rule (so a hand-set lr is annealed from); the
    groups gain ``swa_lr`` (one value, or one per group).
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1):
        for g, lr in zip(optimizer.param_groups, _per_group("SWALR", "swa_lr", optimizer, swa_lr)):
            g["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self._set_anneal_func(anneal_strategy)
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be an integer >= 0, got {anneal_epochs!r}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    def _set_anneal_func(self, strategy: str) -> None:
        self._anneal_strategy = strategy
        self.anneal_func = self._cosine_anneal if strategy == "cos" else self._linear_anneal

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        """The lr the annealing started from, given the lr now at the previous fraction ``alpha``."""
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) * (1 - alpha)
                for g in self.optimizer.param_groups]

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self._set_anneal_func(self._anneal_strategy)
