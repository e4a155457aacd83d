"""nanoGPT's learning-rate schedule: linear warmup, cosine decay, then a floor."""
from __future__ import annotations

import math

from .optimizer import Optimizer


def cosine_with_warmup(it: int, lr: float, min_lr: float, warmup_iters: int, lr_decay_iters: int) -> float:
    """nanoGPT's ``get_lr``: linear warmup, cosine decay, then a floor.

    * ``it < warmup_iters``: lr * (it + 1) / (warmup_iters + 1)
    * ``it > lr_decay_iters``: min_lr
    * in between: min_lr + 0.5 (1 + cos(pi r)) (lr - min_lr),
      r = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    """
    if warmup_iters < 0 or lr_decay_iters < 0:
        raise ValueError(f"warmup_iters ({warmup_iters}) and lr_decay_iters ({lr_decay_iters}) must be >= 0")
    if it < warmup_iters:
        return lr * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters or lr_decay_iters <= warmup_iters:
        return min_lr
    ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


class CosineWarmupLR:
    """Scheduler object over :func:`cosine_with_warmup`.

    Each group's lr at its construction is its peak; ``min_lr`` is the floor
    for every group. Call ``step()`` once per iteration (after
    ``optimizer.step()``) or ``set_iter(it)`` to jump; the lr for iteration 0
    is set at construction.
    """

    def __init__(self, optimizer: Optimizer, warmup_iters: int, lr_decay_iters: int, min_lr: float = 0.0,
                 last_iter: int = -1):
        self.optimizer = optimizer
        self.warmup_iters, self.lr_decay_iters, self.min_lr = int(warmup_iters), int(lr_decay_iters), min_lr
        for g in optimizer.param_groups:
            g.setdefault("initial_lr", g["lr"])
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.set_iter(last_iter + 1)

    def get_lr(self, it: int) -> list[float]:
        return [cosine_with_warmup(it, base, self.min_lr, self.warmup_iters, self.lr_decay_iters)
                for base in self.base_lrs]

    def set_iter(self, it: int) -> None:
        self.iter = int(it)
        for g, lr in zip(self.optimizer.param_groups, self.get_lr(self.iter)):
            g["lr"] = lr

    def step(self) -> None:
        self.set_iter(self.iter + 1)

    def get_last_lr(self) -> list[float]:
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {"iter": self.iter, "base_lrs": list(self.base_lrs), "warmup_iters": self.warmup_iters,
                "lr_decay_iters": self.lr_decay_iters, "min_lr": self.min_lr}

    def load_state_dict(self, state: dict) -> None:
        self.base_lrs = list(state["base_lrs"])
        self.warmup_iters, self.lr_decay_iters = state["warmup_iters"], state["lr_decay_iters"]
        self.min_lr = state["min_lr"]
        self.set_iter(state["iter"])
