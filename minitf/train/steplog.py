"""Each training step's loss and gradient norm, kept where they were computed and read in batches.

Reading a value from a GPU makes the host wait for all the work queued before
it: a loop that prints ``loss.item()`` after every step never lets the device
run ahead of Python. :class:`StepLog` keeps each step's loss and gradient norm
as 0-d arrays on their device and brings them to the host together, in one
transfer, when :meth:`StepLog.record` says so:

- on the CPU every step (reading is free there): the divergence guard sees a
  step's values before its optimizer step changes anything;
- on a device every ``every`` steps (the log interval): the guard sees the
  values of the steps since the last read, and the run stops naming the first
  bad one. Checkpoints are written only at evaluations, after a read, so a step
  that diverged never reaches a checkpoint.
"""
from __future__ import annotations

from typing import NamedTuple

from .. import backend

__all__ = ["Step", "StepLog", "read_every"]


class Step(NamedTuple):
    """One step's values on the host: its iteration, learning rate, loss and gradient norm."""
    iter: int
    lr: float
    loss: float
    norm: float


def read_every(cfg) -> int:
    """How often a run reads its steps' values: every step on the CPU, at log points elsewhere."""
    return 1 if cfg.device == "cpu" else log_every(cfg)


def log_every(cfg) -> int:
    """The plain progress line's interval: ``--log-interval``, or a fifth of the eval interval."""
    return cfg.log_interval or max(1, cfg.eval_interval // 5)


class StepLog:
    """The recorded, not yet read, values of the last steps (see the module docstring)."""

    def __init__(self, every: int = 1):
        self.every = int(every)
        self._pending = []

    def record(self, it: int, lr: float, loss, norm) -> bool:
        """Keep step ``it``'s ``loss`` and ``norm`` (0-d arrays, on any device); True when
        the steps recorded so far should be read now (after steps every-1, 2*every-1, ...,
        so that reads fall on the iterations a log line is printed at)."""
        self._pending.append((it, lr, loss, norm))
        return (it + 1) % self.every == 0

    def read(self, mean_over_ranks=None) -> list[Step]:
        """The recorded steps, in order, as host floats, and forget them: one host transfer.

        ``mean_over_ranks`` (a strategy's ``reduce_means``) makes every process of a
        data-parallel run see the same losses; the norms are of gradients already
        averaged over the ranks.
        """
        if not self._pending:
            return []
        pending, self._pending = self._pending, []
        values = backend.to_host_floats([v for _, _, loss, norm in pending for v in (loss, norm)])
        losses, norms = values[0::2], values[1::2]
        if mean_over_ranks is not None:
            losses = mean_over_ranks(losses)
        return [Step(it, lr, loss, norm) for (it, lr, _, _), loss, norm in zip(pending, losses, norms)]
