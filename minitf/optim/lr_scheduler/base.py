"""The scheduler base class and the helpers the schedulers share."""
from __future__ import annotations

import copy
import functools
import types
import warnings

from ..optimizer import Optimizer

def _track_step_called(optimizer: Optimizer) -> None:
    """Wrap ``optimizer.step`` (once) so that it notes it ran, as torch's schedulers do: the first
    ``scheduler.step()`` warns if ``optimizer.step()`` never did (see ``_check_step_order``)."""
    step = optimizer.step
    if getattr(step, "_wrapped_by_lr_sched", False):
        return

    @functools.wraps(step)
    def wrapper(*args, **kwargs):
        optimizer._opt_called = True
        return step(*args, **kwargs)
    wrapper._wrapped_by_lr_sched = True
    optimizer.step = wrapper


def _check_step_order(scheduler) -> None:
    """torch's warnings for a first ``scheduler.step()`` before any ``optimizer.step()``, which
    skips the schedule's first value (or for an ``optimizer.step`` replaced since)."""
    if scheduler._step_count != 1:
        return
    opt = scheduler.optimizer
    if not getattr(opt.step, "_wrapped_by_lr_sched", False):
        warnings.warn("Seems like `optimizer.step()` has been overridden after learning rate scheduler "
                      "initialization. Please, make sure to call `optimizer.step()` before "
                      "`lr_scheduler.step()`. See more details at "
                      "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate", UserWarning,
                      stacklevel=3)
    elif not getattr(opt, "_opt_called", False):
        warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and "
                      "later, you should call them in the opposite order: `optimizer.step()` before "
                      "`lr_scheduler.step()`.  Failure to do this will result in PyTorch skipping the first "
                      "value of the learning rate schedule. See more details at "
                      "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate", UserWarning,
                      stacklevel=3)


def _check_optimizer(scheduler, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(scheduler).__name__}: expected a minitf optimizer, got {type(optimizer).__name__}")


def _current(scheduler) -> list[float]:
    return [g["lr"] for g in scheduler.optimizer.param_groups]


def _whole(name: str, what: str, value, minimum: int) -> int:
    """``value`` as an int >= ``minimum``; a fraction is refused rather than truncated (PyTorch
    would use 2.5 as 2.5, where int() would silently make it 2)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < minimum:
        raise ValueError(f"{name}: {what} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _per_group(name: str, what: str, optimizer: Optimizer, value) -> list:
    """One value for every parameter group, or a list of one per group (PyTorch's ``_format_param``)."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name}: {what} must have one value per parameter group ({n}), got {len(value)}")
        return list(value)
    return [value] * n


class LRScheduler:
    """Base class: ``get_lr()`` gives each group's lr at ``self.last_epoch``; ``step()`` advances.

    Subclasses define ``get_lr`` and, where the lr has a closed form in
    ``last_epoch`` and the groups' ``initial_lr``, ``_get_closed_form_lr``
    (:class:`SequentialLR` uses it to restart a schedule at a milestone, as
    PyTorch does). ``last_epoch=-1`` starts afresh (each group's current lr
    becomes its ``initial_lr``); any other value resumes, which needs
    ``initial_lr`` already set in every group, as in PyTorch.
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
        _track_step_called(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        """The constructor's step (PyTorch's "initial" one, which some schedules treat apart)."""
        self._step_count, self._is_initial = 0, True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self) -> None:
        """Move to the next epoch (or iteration) and set every group's lr for it. The first call
        before any ``optimizer.step()`` warns, as torch's."""
        _check_step_order(self)
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        # epoch given: jump there, by the closed form where there is one (PyTorch's rule)
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for g, lr in zip(self.optimizer.param_groups, values):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lr of each group as the last ``step()`` (or the constructor) set it."""
        return list(self._last_lr)

    def __repr__(self):
        # torch's (object's default) repr under the public path: <minitf.optim.lr_scheduler.StepLR object at 0x...>
        mod = type(self).__module__
        mod = "minitf.optim.lr_scheduler" if mod.startswith("minitf.optim.lr_scheduler") else mod
        return f"<{mod}.{type(self).__qualname__} object at {id(self):#x}>"

    def state_dict(self) -> dict:
        """Everything but the optimizer (and functions, which cannot be saved as data), as copies.

        Plain data (numbers, strings, lists, dicts), so ``minitf.save`` stores it without pickle.
        """
        return copy.deepcopy({k: v for k, v in self.__dict__.items()
                              if k not in ("optimizer", "lr_lambdas") and not callable(v)})

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a :meth:`state_dict`: the schedule then goes on exactly where it was."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict, got "
                            f"{type(state_dict).__name__}")
        self.__dict__.update(copy.deepcopy(state_dict))


class _LambdaScheduler(LRScheduler):
    """Shared by LambdaLR and MultiplicativeLR: one function per group, saved as PyTorch saves them.

    ``state_dict()["lr_lambdas"]`` has, for each group, ``None`` where the
    function is a plain function or a lambda (code, which a checkpoint does
    not hold: the one given to the new scheduler is used), or a copy of the
    ``__dict__`` of a callable object, which ``load_state_dict`` puts back
    into the new scheduler's object.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        _check_optimizer(self, optimizer)
        name, n = type(self).__name__, len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"{name}: expected {n} lr_lambdas (one per parameter group), "
                                 f"got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(f"{name}: lr_lambda must be callable (epoch -> factor), got {type(f).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["lr_lambdas"] = [None if isinstance(f, types.FunctionType) else copy.deepcopy(f.__dict__)
                               for f in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", None) or []
        if len(saved) not in (0, len(self.lr_lambdas)):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state has {len(saved)} lr_lambdas, "
                             f"this scheduler has {len(self.lr_lambdas)}")
        super().load_state_dict(state)
        for f, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                f.__dict__.update(copy.deepcopy(attrs))
