"""Samplers under ``torch.utils.data``'s names: the orders a :class:`~minitf.utils.data.DataLoader`
visits a dataset in (``sampler=``) and the index batches it loads (``batch_sampler=``).

    loader = DataLoader(ds, batch_size=32, sampler=WeightedRandomSampler(w, num_samples=len(ds)))
    shard = DistributedSampler(ds, num_replicas=world, rank=rank)   # disjoint shards, same length
    for epoch in range(epochs):
        shard.set_epoch(epoch)                                      # a new order each epoch

Random draws come from ``generator`` (an ``mt.Generator`` or a NumPy one) or minitf's CPU
generator, so ``mt.manual_seed`` repeats them. They are not torch's streams: the same seed gives
another order than torch's (the properties -- permutations, frequencies, shards -- are torch's).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler"]


def _rng(generator):
    from .data import _generator
    return _generator(generator)


def _positive_int(value, what: str, cls: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{cls}: {what} should be a positive integer value, but got {what}={value!r}")
    return int(value)


def _bool(value, what: str, cls: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{cls}: {what} should be a boolean value, but got {what}={value!r}")
    return value


class Sampler:
    """Base class: ``__iter__`` yields dataset indices (or, for a batch sampler, lists of them);
    ``__len__`` (optional) says how many."""

    def __init__(self, data_source=None):   # torch accepts (and ignores) a data source here
        pass

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random permutation of ``range(len(data_source))`` at every iteration, or with
    ``replacement=True`` ``num_samples`` independent uniform draws. Without replacement,
    ``num_samples`` (default: the dataset's length) may exceed the length: whole permutations
    follow each other, the last one cut short, as torch's."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None, generator=None):
        self.data_source, self.generator = data_source, generator
        self.replacement = _bool(replacement, "replacement", "RandomSampler")
        self._num_samples = num_samples
        # (torch's check, of the default too: an empty data source is refused here, not by a
        # division by zero at the first iteration)
        _positive_int(self.num_samples if num_samples is None else num_samples, "num_samples", "RandomSampler")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self):
        n, k, rng = len(self.data_source), self.num_samples, _rng(self.generator)
        if n == 0:   # (num_samples given for an empty data source: torch divides by zero)
            raise ValueError(f"RandomSampler: cannot draw {k} samples from an empty data source")
        if self.replacement:
            yield from (int(i) for i in rng.integers(0, n, size=k))
            return
        for _ in range(k // n):
            yield from (int(i) for i in rng.permutation(n))
        yield from (int(i) for i in rng.permutation(n)[:k % n])

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a new random order at every iteration."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = indices, generator

    def __iter__(self):
        for i in _rng(self.generator).permutation(len(self.indices)):
            yield self.indices[int(i)]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in ``range(len(weights))``, index i drawn with probability
    ``weights[i] / sum(weights)`` (the weights need not sum to 1); without ``replacement`` each
    index at most once (then ``num_samples <= `` the number of non-zero weights).

    weights: (N,) non-negative, not all zero.
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        self.num_samples = _positive_int(num_samples, "num_samples", "WeightedRandomSampler")
        self.replacement = _bool(replacement, "replacement", "WeightedRandomSampler")
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given weights have "
                             f"shape {w.shape}")
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: the weights must be finite, non-negative and not all zero")
        if not self.replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples without replacement "
                             f"from {np.count_nonzero(w)} non-zero weights")
        self.weights, self.generator = w, generator

    def __iter__(self):
        p = self.weights / self.weights.sum()
        draw = _rng(self.generator).choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        yield from (int(i) for i in draw)

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler`` (an iterable of indices); the last list
    is shorter unless ``drop_last``. Pass it as ``DataLoader(..., batch_sampler=)``."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        self.batch_size = _positive_int(batch_size, "batch_size", "BatchSampler")
        self.drop_last = _bool(drop_last, "drop_last", "BatchSampler")
        self.sampler = sampler

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler):
    """Rank ``rank``'s shard of ``dataset`` among ``num_replicas`` processes, as torch's: the
    order (a permutation seeded with ``seed + epoch`` when ``shuffle``, else 0..N-1) is padded
    by repeating its start to a multiple of ``num_replicas`` (or, with ``drop_last``, cut to
    one), and rank r takes every ``num_replicas``-th index from r. The shards are disjoint
    except for the padding, all of length ``num_samples``; call :meth:`set_epoch` before each
    epoch for a new order (the same on every rank). ``num_replicas`` / ``rank`` default to
    minitf.distributed's world.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            from ..distributed import world
            w = world()
            num_replicas = w.size if num_replicas is None else num_replicas
            rank = w.rank if rank is None else rank
        num_replicas = _positive_int(num_replicas, "num_replicas", "DistributedSampler")
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank!r}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, int(rank)
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        n = len(dataset)
        if drop_last and n % num_replicas:   # the tail is dropped so every rank gets as many
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            from ..generator import Generator
            order = Generator().manual_seed(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > n:   # pad with the order's start, repeated as often as needed
            order = np.concatenate([order, np.resize(order, self.total_size - n)]) if n else order
        yield from (int(i) for i in order[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next iteration's order is seeded with (``seed + epoch``)."""
        self.epoch = int(epoch)
