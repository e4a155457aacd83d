"""Datasets and batching under PyTorch's names (``torch.utils.data``'s everyday part).

    from minitf.utils.data import TensorDataset, DataLoader, random_split
    train_set, val_set = random_split(TensorDataset(X, Y), [0.9, 0.1])
    for xb, yb in DataLoader(train_set, batch_size=32, shuffle=True):
        loss = F.cross_entropy(model(xb), yb)
        ...

A :class:`DataLoader` draws its shuffles from ``generator`` (a
``numpy.random.Generator``) or else from minitf's CPU generator, so
``minitf.manual_seed`` makes them repeat. It batches in the main process
(no workers). Batches of a :class:`TensorDataset` (or a :class:`Subset` of
one) are gathered with one index per tensor; other datasets' items are put
together by :func:`default_collate`, which stacks tensors, NumPy arrays and
numbers and recurses into tuples, lists and dicts, as PyTorch's does.
(The character corpora of the training job live in :mod:`minitf.data`.)
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "random_split", "default_collate"]


class Dataset:
    """Base class of map-style datasets: define ``__getitem__(i)`` and ``__len__()``."""

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError


class TensorDataset(Dataset):
    """Item i is ``(t[i] for t in tensors)``; every tensor has the same first dimension."""

    def __init__(self, *tensors: Tensor):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        for t in tensors:
            if not isinstance(t, Tensor) or t.ndim == 0:
                raise TypeError(f"TensorDataset: expected tensors with a first dimension, got "
                                f"{type(t).__name__}{'' if not isinstance(t, Tensor) else ' of shape ()'}")
        sizes = {t.shape[0] for t in tensors}
        if len(sizes) != 1:
            raise ValueError(f"TensorDataset: the tensors' first dimensions differ: "
                             f"{[t.shape[0] for t in tensors]}")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices):
        self.dataset, self.indices = dataset, [int(i) for i in indices]

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[[self.indices[int(i)] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths, generator: np.random.Generator | None = None) -> list[Subset]:
    """Disjoint random subsets of the given lengths, or fractions summing to 1 (the remainder of
    the rounding given out one by one from the first, as PyTorch does)."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(0 <= f <= 1 for f in lengths) and math.isclose(sum(lengths), 1) and sum(lengths) != n:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(int(v) != v or v < 0 for v in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: the lengths {lengths} must be non-negative integers summing to the "
                         f"dataset's {n} items (or fractions summing to 1)")
    order = _generator(generator).permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, order[start:start + int(k)]))
        start += int(k)
    return out


def default_collate(batch):
    """A list of items -> one batch: tensors stacked (a new first dim), NumPy arrays and numbers
    made into tensors (Python floats as float64, ints as int64, as PyTorch), strings left as a
    list, dicts collated key by key, tuples and lists field by field into a list (a namedtuple
    stays one)."""
    from ..creation import tensor
    from ..ops import stack
    first = batch[0]
    if isinstance(first, (str, bytes)):   # left as they are, as PyTorch does
        return list(batch)
    if isinstance(first, Tensor):
        return stack(batch, 0)
    if isinstance(first, (np.ndarray, np.generic, int, float, bool)):
        return tensor(np.stack([np.asarray(b) for b in batch]))
    if isinstance(first, dict):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(b) != len(first) for b in batch):
            raise ValueError("default_collate: the items of a batch have different lengths")
        fields = [default_collate(list(field)) for field in zip(*batch)]
        return type(first)(*fields) if hasattr(first, "_fields") else fields   # a namedtuple stays one
    raise TypeError(f"default_collate: cannot batch items of type {type(first).__name__}")


class DataLoader:
    """Batches of ``dataset``: ``batch_size`` items each (the last one smaller unless
    ``drop_last``), in order or reshuffled at every iteration with ``shuffle=True``."""

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 collate_fn=None, generator: np.random.Generator | None = None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        self.dataset, self.batch_size = dataset, int(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.collate_fn, self.generator = collate_fn, generator

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        order = _generator(self.generator).permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        gather = self.collate_fn is None and _tensors_of(self.dataset) is not None
        for start in range(0, stop, self.batch_size):
            idx = order[start:start + self.batch_size]
            if gather:  # one gather per tensor, not one item at a time; a list, as PyTorch's
                yield list(self.dataset[idx])
            else:
                yield (self.collate_fn or default_collate)([self.dataset[int(i)] for i in idx])


def _tensors_of(dataset):
    """The tensors behind a TensorDataset (or a Subset of one), or None; not for a subclass with
    its own ``__getitem__`` (a transform), which must see one index at a time."""
    while type(dataset).__getitem__ is Subset.__getitem__:
        dataset = dataset.dataset
    return dataset.tensors if type(dataset).__getitem__ is TensorDataset.__getitem__ else None


def _generator(generator):
    # shuffles are drawn on the host: a minitf Generator must be a CPU one
    from ..generator import resolve
    return resolve(generator, "cpu", "DataLoader / random_split", where="the shuffles (drawn on the host)")
