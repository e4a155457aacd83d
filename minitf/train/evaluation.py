"""Evaluation: nanoGPT's loss estimate over random batches, and the exact loss over the whole val split.

The estimate draws its batches from a generator of its own, seeded by the
run's seed and the iteration (:func:`eval_generator`), never from the
training sampler's: what is evaluated, and how often, cannot change what is
trained, the batches evaluated at iteration N are the same in every run of
that seed, and a resumed run needs no saved state to evaluate exactly as the
uninterrupted one.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..ops import cross_entropy
from ..tensor import no_grad

__all__ = ["estimate_loss", "exact_val_loss", "val_loss_sums", "eval_generator", "token_cross_entropy"]

EVAL_STREAM = 0x6576616C  # "eval": keeps these seeds apart from any other use of the run's seed


def eval_generator(seed: int, it: int) -> np.random.Generator:
    """The generator of the loss estimate at iteration ``it`` of a run seeded with ``seed``."""
    return np.random.default_rng([EVAL_STREAM, int(seed), int(it)])


@no_grad()
def estimate_loss(model, sampler, eval_iters: int, generator: np.random.Generator | None = None) -> dict:
    """Mean loss over ``eval_iters`` random batches of each split: ``{"train": float, "val": float}``.

    The batches come from ``generator`` (default: the sampler's own generator).
    """
    model.eval()
    out = {}
    for split in ("train", "val"):
        losses = [_loss(model, *sampler.get_batch(split, generator)) for _ in range(eval_iters)]
        total = 0.0
        for v in backend.to_host_floats(losses):  # one read for all the batches, summed in order
            total += v
        out[split] = total / eval_iters
    model.train()
    return out


def token_cross_entropy(logits, targets):
    """The mean cross-entropy of next-token targets (B, T) under logits (B, T, V): both flattened to
    torch's layout, (B T, V) and (B T,) (cross_entropy reads a 3-D input's dim 1 as the classes)."""
    return cross_entropy(logits.reshape((-1, logits.shape[-1])), targets.reshape(-1))


def _loss(model, x, y):
    return token_cross_entropy(model(x), y).data


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
    losses, sizes = [], []
    for i, (x, y) in enumerate(sampler.blocks("val", batch_size=batch_size)):
        if i % world != rank:
            continue
        losses.append(_loss(model, x, y))
        sizes.append(y.data.size)
    total, count = 0.0, 0
    for v, n in zip(backend.to_host_floats(losses), sizes):  # one read at the end, summed in order
        total += v * n
        count += n
    model.train()
    return total, count
