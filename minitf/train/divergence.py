"""The divergence guard: what a run does when its loss, gradient norm or parameters stop being
finite (stop with :class:`TrainingDiverged`, keeping the last checkpoint as it was), and the
warning for a training loss far above uniform guessing (unstable, not yet diverged)."""
from __future__ import annotations

from .. import backend

__all__ = ["TrainingDiverged", "diverged", "explosion_warning", "all_finite"]


class TrainingDiverged(RuntimeError):
    """The loss, the gradient norm or the parameters stopped being finite; the last checkpoint is kept.

    Attributes: ``iter`` (the iteration), ``quantity`` (what was not finite),
    ``value`` and ``last_checkpoint_iter``.
    """

    def __init__(self, message, it, quantity, value, last_checkpoint_iter):
        super().__init__(message)
        self.iter, self.quantity, self.value = it, quantity, value
        self.last_checkpoint_iter = last_checkpoint_iter


def diverged(quantity: str, value, lr: float, it: int, ckpt_path, last_checkpoint_iter) -> TrainingDiverged:
    """The error for ``quantity`` found to be ``value`` (not finite) at iteration ``it``, saying
    which checkpoint is kept."""
    where = (f"the last checkpoint, {ckpt_path} (iter {last_checkpoint_iter}), is kept as it was"
             if last_checkpoint_iter is not None else "no checkpoint was written")
    return TrainingDiverged(f"training diverged at iter {it}: the {quantity} is {value} (lr {lr:.3g}); "
                            f"{where}; a lower --lr or --grad-clip may help", it, quantity, value,
                            last_checkpoint_iter)


def explosion_warning(it: int, loss: float, uniform_loss: float, vocab_size: int, lr: float) -> str | None:
    """The warning line for a training loss above 2 ln V + 1 (far above guessing uniformly over the
    V characters), or None."""
    if loss <= 2 * uniform_loss + 1:
        return None
    return (f"warning: iter {it}: the training loss {loss:.4g} is far above {uniform_loss:.3f}, the loss "
            f"of guessing uniformly (ln {vocab_size}): training is unstable; a lower --lr (now {lr:g}) may help")


def all_finite(params) -> bool:
    """Whether every parameter's values are finite (one device read per parameter)."""
    for p in params:
        xp = backend.get_array_module(p.data)
        if not bool(xp.isfinite(p.data).all()):
            return False
    return True
