"""Evaluation: nanoGPT's loss estimate over random batches, and the exact loss over the whole val split."""
from __future__ import annotations

from ..ops import cross_entropy
from ..tensor import no_grad

__all__ = ["estimate_loss", "exact_val_loss", "val_loss_sums"]


@no_grad()
def estimate_loss(model, sampler, eval_iters: int) -> dict:
    """Mean loss over ``eval_iters`` random batches of each split: ``{"train": float, "val": float}``."""
    model.eval()
    out = {}
    for split in ("train", "val"):
        total = 0.0
        for _ in range(eval_iters):
            x, y = sampler.get_batch(split)
            total += float(cross_entropy(model(x), y).item())
        out[split] = total / eval_iters
    model.train()
    return out


def exact_val_loss(model, sampler, batch_size: int) -> tuple[float, int]:
    """Mean loss over every target of the validation split (non-overlapping blocks): ``(loss, count)``."""
    total, count = val_loss_sums(model, sampler, batch_size)
    return total / count, count


@no_grad()
def val_loss_sums(model, sampler, batch_size: int, shard: tuple = (0, 1)) -> tuple[float, int]:
    """Summed loss and number of targets over the validation split's blocks: ``(total, count)``.

    ``shard=(rank, world_size)`` takes every ``world_size``-th batch of blocks
    from the ``rank``-th on: the ranks' sums add up to the whole split's.
    """
    rank, world = shard
    model.eval()
    total, count = 0.0, 0
    for i, (x, y) in enumerate(sampler.blocks("val", batch_size=batch_size)):
        if i % world != rank:
            continue
        n = y.data.size
        total += float(cross_entropy(model(x), y).item()) * n
        count += n
    model.train()
    return total, count
