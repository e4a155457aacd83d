"""The schedules with a closed form in the epoch: LambdaLR, MultiplicativeLR, StepLR, MultiStepLR,
ConstantLR, LinearLR, ExponentialLR, CosineAnnealingLR, PolynomialLR (PyTorch's names, signatures and rules)."""
from __future__ import annotations

import bisect
import math

from ..optimizer import Optimizer
from .base import LRScheduler, _current, _LambdaScheduler, _whole


class LambdaLR(_LambdaScheduler):
    """lr = initial_lr * lr_lambda(epoch), as ``torch.optim.lr_scheduler.LambdaLR``.

    ``lr_lambda`` is one function for every group or a list of one per group.
    Its ``state_dict()`` holds the functions as PyTorch's does: ``None`` for a
    function or lambda (not saved: the new scheduler's own is used), the
    attributes of a callable object.
    """

    def get_lr(self) -> list[float]:
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas)]


class MultiplicativeLR(_LambdaScheduler):
    """Each step multiplies the lr by lr_lambda(epoch), as ``torch.optim.lr_scheduler.MultiplicativeLR``
    (the constructor's step leaves it); the functions are saved as :class:`LambdaLR`'s."""

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return _current(self)
        return [lr * f(self.last_epoch) for lr, f in zip(_current(self), self.lr_lambdas)]


# The schedules below are PyTorch's "chainable" ones: each step scales the lr the group has now
# (so two schedulers on one optimizer compose, and a hand-set lr is kept), with PyTorch's rules
# for the constructor's step; the lr then follows the closed form in the docstring, to rounding.
class StepLR(LRScheduler):
    """lr = initial_lr * gamma ** (epoch // step_size), as ``torch.optim.lr_scheduler.StepLR``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size, self.gamma = _whole("StepLR", "step_size", step_size, 1), float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _current(self)
        return [lr * self.gamma for lr in _current(self)]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr = initial_lr * gamma ** (number of milestones <= epoch), as PyTorch's ``MultiStepLR``
    (a milestone given twice counts twice)."""

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self.milestones = sorted(_whole("MultiStepLR", "a milestone", m, 0) for m in milestones)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        times = self.milestones.count(self.last_epoch)
        return [lr * self.gamma ** times for lr in _current(self)] if times else _current(self)

    def _get_closed_form_lr(self):
        return [base * self.gamma ** bisect.bisect_right(self.milestones, self.last_epoch) for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """lr = initial_lr * factor until epoch ``total_iters``, then initial_lr, as PyTorch's ``ConstantLR``
    (chainable: the factor is applied at epoch 0 and divided out at ``total_iters``)."""

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1):
        # PyTorch takes [0, 1]; a factor of 0 would divide by zero at total_iters, so it is refused here
        if not 0 < factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in (0, 1], got {factor}")
        self.factor, self.total_iters = float(factor), _whole("ConstantLR", "total_iters", total_iters, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in _current(self)]
        if self.last_epoch != self.total_iters:
            return _current(self)
        return [lr * (1.0 / self.factor) for lr in _current(self)]

    def _get_closed_form_lr(self):
        f = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [base * f for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** epoch, as PyTorch's ``ExponentialLR``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return _current(self) if self._is_initial else [lr * self.gamma for lr in _current(self)]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class LinearLR(LRScheduler):
    """The factor goes linearly from ``start_factor`` to ``end_factor`` over ``total_iters``
    epochs and stays there, as PyTorch's ``LinearLR`` (a warmup, with its defaults)."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        if not (0 < start_factor <= 1 and 0 <= end_factor <= 1):
            raise ValueError(f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], "
                             f"got {start_factor} and {end_factor}")
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = _whole("LinearLR", "total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in _current(self)]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _current(self)
        d = self.end_factor - self.start_factor
        ratio = 1.0 + d / (self.total_iters * self.start_factor + (self.last_epoch - 1) * d)
        return [lr * ratio for lr in _current(self)]

    def _get_closed_form_lr(self):
        f = self.start_factor + (self.end_factor - self.start_factor) * min(self.total_iters, self.last_epoch) \
            / self.total_iters
        return [base * f for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2, as PyTorch's
    ``CosineAnnealingLR`` (past T_max the cosine goes on, back up over the next T_max epochs)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max, self.eta_min = _whole("CosineAnnealingLR", "T_max", T_max, 1), float(eta_min)
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

    def _get_closed_form_lr(self):
        lo = self.eta_min
        return [lo + (base - lo) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """lr = initial_lr * (1 - min(epoch, total_iters) / total_iters) ** power, as PyTorch's
    ``PolynomialLR`` (chainable: each step multiplies by the ratio of consecutive factors; zero
    from ``total_iters`` on). ``total_iters`` >= 1 (torch takes 0 too, then its closed form divides by it)."""

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1):
        self.total_iters = _whole("PolynomialLR", "total_iters", total_iters, 1)
        self.power = float(power)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch > self.total_iters:
            return _current(self)
        e, n = self.last_epoch, self.total_iters
        ratio = ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power
        return [lr * ratio for lr in _current(self)]

    def _get_closed_form_lr(self):
        f = (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
        return [base * f for base in self.base_lrs]
