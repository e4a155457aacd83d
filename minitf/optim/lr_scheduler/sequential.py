"""SequentialLR (one schedule after another, switching at milestones) and ChainedScheduler (several
at once, their factors multiplied), with PyTorch's rules."""
from __future__ import annotations

import bisect
import copy

from ..optimizer import Optimizer
from .base import LRScheduler, _check_optimizer, _check_step_order
from .plateau import ReduceLROnPlateau


class _Nesting(LRScheduler):
    """Shared by SequentialLR and ChainedScheduler: ``state_dict()`` nests each scheduler's own
    under ``"_schedulers"``, as torch's."""

    def _check_schedulers(self, schedulers: list, optimizer, verb: str) -> None:
        """Each of ``schedulers`` a minitf LRScheduler (not ReduceLROnPlateau) driving ``optimizer``."""
        name = type(self).__name__
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"{name}: scheduler {i} is a ReduceLROnPlateau, whose step() needs the "
                                 f"metric; it cannot be {verb}")
            if not isinstance(s, LRScheduler):
                raise TypeError(f"{name}: scheduler {i} is a {type(s).__name__}, not a minitf LRScheduler")
            if s.optimizer is not optimizer:
                raise ValueError(f"{name}: scheduler {i} ({type(s).__name__}) drives another optimizer; "
                                 f"all must drive the one given")

    def state_dict(self) -> dict:
        state = copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")})
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        nested = state.pop("_schedulers", None)
        if not isinstance(nested, list) or len(nested) != len(self._schedulers):
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected the states of "
                             f"{len(self._schedulers)} schedulers under '_schedulers'")
        super().load_state_dict(state)
        for s, sd in zip(self._schedulers, nested):
            s.load_state_dict(sd)


class SequentialLR(_Nesting):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]``, ..., as
    ``torch.optim.lr_scheduler.SequentialLR`` (a warmup then a decay, say).

    All schedulers drive ``optimizer``; there is one milestone fewer than
    schedulers. Building it puts every group back to its ``initial_lr`` and
    starts the first schedule afresh; at each milestone the next schedule
    starts from epoch 0 by its closed form (its ``_get_closed_form_lr`` where
    it has one, as PyTorch), so its lr is that of its own first epoch.
    ``state_dict()`` nests each scheduler's own.
    """

    def __init__(self, optimizer: Optimizer, schedulers, milestones, last_epoch: int = -1):
        _check_optimizer(self, optimizer)
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError("SequentialLR: expected at least one scheduler, got none")
        self._check_schedulers(schedulers, optimizer, "sequenced")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestones (one fewer than the "
                             f"{len(schedulers)} schedulers), got {len(milestones)}")
        if any(isinstance(m, bool) or not isinstance(m, int) for m in milestones) or milestones != sorted(milestones):
            raise ValueError(f"SequentialLR: milestones must be increasing integers, got {milestones}")
        self._schedulers, self._milestones = schedulers, milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for g in optimizer.param_groups:   # undo the lrs the schedulers' constructors set
            g["lr"] = g["initial_lr"]
        self._undo(self)
        first = self._schedulers[bisect.bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo(self, sched) -> None:
        """Take back the constructor's step of every (nested) scheduler, as PyTorch's recursive_undo."""
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._undo(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            _check_step_order(sched)   # torch's step(0): its first step, checked and counted
            sched._step_count += 1
            sched._update_lr(0)
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()


class ChainedScheduler(_Nesting):
    """Step several schedulers at once, as ``torch.optim.lr_scheduler.ChainedScheduler``: each
    ``step()`` steps every one in order, so chainable schedules compose (their factors multiply:
    a ConstantLR warmup over an ExponentialLR decay, say). All drive one optimizer (``optimizer``,
    default the first scheduler's); building it changes no lr (each scheduler has made its own
    first step). ``state_dict()`` nests theirs.
    """

    def __init__(self, schedulers, optimizer: Optimizer | None = None):
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("ChainedScheduler expects at least one scheduler to be chained, got none")
        optimizer = optimizer if optimizer is not None else getattr(schedulers[0], "optimizer", None)
        _check_optimizer(self, optimizer)
        self._check_schedulers(schedulers, optimizer, "chained")
        self._schedulers, self.optimizer = schedulers, optimizer
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def step(self) -> None:
        for s in self._schedulers:
            s.step()
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]
