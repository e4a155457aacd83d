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

AveragedModel and update_bn work on Modules, so they live in :mod:`minitf.nn.averaged` (nn sits
above optim in the layer order); this module, torch's path to them, imports that on first use of
either name, so ``import minitf.optim.swa_utils`` (SWALR, the avg_fn makers) never imports nn.
"""
from __future__ import annotations

import math

from ..autograd import no_grad
from ..errors import DtypeError
from ..tensor import Tensor
from .lr_scheduler.base import LRScheduler, _per_group

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def __getattr__(name):
    # torch's optim.swa_utils.AveragedModel / update_bn: minitf.nn's, imported when first asked for
    if name in ("AveragedModel", "update_bn"):
        from ..nn import averaged
        return getattr(averaged, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"AveragedModel", "update_bn"})


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
