"""Evaluation: nanoGPT's loss estimate over random batches, and the exact loss over the whole val split."""
from __future__ import annotations

from ..ops import cross_entropy
from ..tensor import no_grad

__all__ = ["estimate_loss", "exact_val_loss"]


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


@no_grad()
def exact_val_loss(model, sampler, batch_size: int) -> tuple[float, int]:
    """Mean loss over every target of the validation split (non-overlapping blocks): ``(loss, count)``."""
    model.eval()
    total, count = 0.0, 0
    for x, y in sampler.blocks("val", batch_size=batch_size):
        n = y.data.size
        total += float(cross_entropy(model(x), y).item()) * n
        count += n
    model.train()
    return total / count, count
