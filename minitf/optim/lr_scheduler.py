"""Learning-rate schedulers under PyTorch's names; reach them as ``minitf.optim.lr_scheduler``.

    from minitf import optim
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.95 ** epoch)
    for epoch in range(...):
        ...                                  # train: opt.step() for each batch
        sched.step()                         # then the lr for the next epoch
    sched.get_last_lr()                      # [lr of each parameter group]

As in PyTorch, a scheduler sets each group's lr for step 0 when it is built
(remembering the group's lr as ``initial_lr``, its base), and every
``step()`` moves on by one. :class:`CosineWarmupLR` (nanoGPT's warmup then
cosine decay, :func:`minitf.optim.cosine_with_warmup`) is the one defined in
:mod:`minitf.optim`, re-exported here.
"""
from __future__ import annotations

import math

from .optimizers import Optimizer
from .schedule import CosineWarmupLR, cosine_with_warmup  # noqa: F401

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
           "CosineWarmupLR", "cosine_with_warmup"]


def _check_optimizer(scheduler, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(scheduler).__name__}: expected a minitf optimizer, got {type(optimizer).__name__}")


class LRScheduler:
    """Base class: ``get_lr()`` gives each group's lr at ``self.last_epoch``; ``step()`` advances.

    Subclasses define ``get_lr``. ``last_epoch=-1`` starts afresh (each
    group's current lr becomes its ``initial_lr``); any other value resumes,
    which needs ``initial_lr`` already set in every group, as in PyTorch.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        _check_optimizer(self, optimizer)
        self.optimizer = optimizer
        for i, g in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                g.setdefault("initial_lr", g["lr"])
            elif "initial_lr" not in g:
                raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                               f"with last_epoch={last_epoch}")
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._step_count, self._is_initial = 0, True   # PyTorch's: the constructor's step is "initial"
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self) -> None:
        """Move to the next epoch (or iteration) and set every group's lr for it."""
        self.last_epoch += 1
        self._step_count += 1
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lr of each group as the last ``step()`` (or the constructor) set it."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (and functions, which cannot be saved as data)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer" and not callable(v)
                and k != "lr_lambdas"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch), as ``torch.optim.lr_scheduler.LambdaLR``.

    ``lr_lambda`` is one function for every group or a list of one per group.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        _check_optimizer(self, optimizer)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per parameter group), "
                                 f"got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(f"LambdaLR: lr_lambda must be callable (epoch -> factor), got {type(f).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas)]


# The schedules below are PyTorch's "chainable" ones: each step scales the lr the group has now
# (so two schedulers on one optimizer compose, and a hand-set lr is kept), with PyTorch's rules
# for the constructor's step; the lr then follows the closed form in the docstring, to rounding.
def _current(scheduler) -> list[float]:
    return [g["lr"] for g in scheduler.optimizer.param_groups]


def _positive(name: str, what: str, value) -> None:
    if not value > 0:
        raise ValueError(f"{name}: {what} must be positive, got {value}")


class StepLR(LRScheduler):
    """lr = initial_lr * gamma ** (epoch // step_size), as ``torch.optim.lr_scheduler.StepLR``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        _positive("StepLR", "step_size", step_size)
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _current(self)
        return [lr * self.gamma for lr in _current(self)]


class MultiStepLR(LRScheduler):
    """lr = initial_lr * gamma ** (number of milestones <= epoch), as PyTorch's ``MultiStepLR``
    (a milestone given twice counts twice)."""

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        times = self.milestones.count(self.last_epoch)
        return [lr * self.gamma ** times for lr in _current(self)] if times else _current(self)


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** epoch, as PyTorch's ``ExponentialLR``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return _current(self) if self._is_initial else [lr * self.gamma for lr in _current(self)]


class LinearLR(LRScheduler):
    """The factor goes linearly from ``start_factor`` to ``end_factor`` over ``total_iters``
    epochs and stays there, as PyTorch's ``LinearLR`` (a warmup, with its defaults)."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        if not (0 < start_factor <= 1 and 0 <= end_factor <= 1):
            raise ValueError(f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], "
                             f"got {start_factor} and {end_factor}")
        _positive("LinearLR", "total_iters", total_iters)
        self.start_factor, self.end_factor, self.total_iters = float(start_factor), float(end_factor), int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in _current(self)]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _current(self)
        d = self.end_factor - self.start_factor
        ratio = 1.0 + d / (self.total_iters * self.start_factor + (self.last_epoch - 1) * d)
        return [lr * ratio for lr in _current(self)]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2, as PyTorch's
    ``CosineAnnealingLR`` (past T_max the cosine goes on, back up over the next T_max epochs)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        _positive("CosineAnnealingLR", "T_max", T_max)
        self.T_max, self.eta_min = int(T_max), float(eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return _current(self)
        if (e - 1 - T) % (2 * T) == 0:   # the trough: the step back up from eta_min
            return [lr + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for lr, base in zip(_current(self), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (lr - lo) + lo for lr in _current(self)]
