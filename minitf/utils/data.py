"""Datasets and batching under PyTorch's names (``torch.utils.data``'s everyday part).

    from minitf.utils.data import TensorDataset, DataLoader, random_split
    train_set, val_set = random_split(TensorDataset(X, Y), [0.9, 0.1])
    for xb, yb in DataLoader(train_set, batch_size=32, shuffle=True):
        loss = F.cross_entropy(model(xb), yb)    # logits (N, C), as torch's layout
        ...

A :class:`DataLoader` draws its shuffles from ``generator`` (a
``numpy.random.Generator``) or else from minitf's CPU generator, so
``minitf.manual_seed`` makes them repeat. It batches in the main process
(``num_workers`` is accepted, but no worker processes are started). Batches of a :class:`TensorDataset` (or a :class:`Subset` of
one) are gathered with one index per tensor; other datasets' items are put
together by :func:`default_collate`, which stacks tensors, NumPy arrays and
numbers and recurses into tuples, lists and dicts, as PyTorch's does.
(The character corpora of the training job live in :mod:`minitf.data`.)
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "random_split", "default_collate", "default_convert"]

# samplers and dataset combinators (group: utilities a PyTorch user reaches for)
from .data_sampler import (BatchSampler, DistributedSampler, RandomSampler, Sampler,  # noqa: E402,F401
                           SequentialSampler, SubsetRandomSampler, WeightedRandomSampler)
from .data_datasets import (ChainDataset, ConcatDataset, IterableDataset, StackDataset,  # noqa: E402,F401
                            get_worker_info)
__all__ += ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
            "BatchSampler", "DistributedSampler", "IterableDataset", "ConcatDataset", "ChainDataset",
            "StackDataset", "get_worker_info"]


class Dataset:
    """Base class of map-style datasets: define ``__getitem__(i)`` and ``__len__()``."""

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __add__(self, other):
        """``a + b``: a :class:`ConcatDataset` of the two."""
        return ConcatDataset([self, other])


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
    ``drop_last``), in order or reshuffled at every iteration with ``shuffle=True``.

    torch's signature, in its order. ``sampler`` (an iterable of indices, with a length) replaces
    the order; ``batch_sampler`` (an iterable of lists of indices) replaces the batching too.
    There are no worker processes: items are loaded in this process whatever ``num_workers``
    says (the batches are those torch's workers give, in order); ``worker_init_fn(0)`` is called
    here when ``num_workers > 0``, at each iteration (once, with ``persistent_workers``).
    ``pin_memory``, ``timeout``, ``multiprocessing_context``, ``prefetch_factor``,
    ``pin_memory_device`` and ``in_order`` are accepted and checked as torch checks them, and
    change nothing (CPU batches need no pinning here).
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None, multiprocessing_context=None,
                 generator: np.random.Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "", in_order: bool = True):
        if isinstance(dataset, IterableDataset):   # a stream: its own order, no sampler
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, "
                                     f"but got {name}={value!r}")
        _check_loader_options(batch_size, shuffle, sampler, batch_sampler, num_workers, drop_last, timeout,
                              prefetch_factor, persistent_workers)
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn, self.generator = collate_fn, generator
        self.num_workers, self.pin_memory, self.timeout = int(num_workers), bool(pin_memory), timeout
        self.worker_init_fn, self.persistent_workers = worker_init_fn, bool(persistent_workers)
        self.multiprocessing_context, self.prefetch_factor = multiprocessing_context, prefetch_factor
        self.pin_memory_device, self.in_order = pin_memory_device, in_order
        self._workers_started = False

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):   # as torch: from the stream's length, if it has one
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _stream(self):
        """The batches of an IterableDataset: its items in order, ``batch_size`` at a time."""
        fn = self.collate_fn or (default_convert if self.batch_size is None else default_collate)
        if self.batch_size is None:
            yield from (fn(item) for item in self.dataset)
            return
        batch = []
        for item in self.dataset:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield fn(batch)

    def _batches(self):
        """The index batches of one iteration (arrays or lists of ints)."""
        if self.batch_sampler is not None:
            yield from self.batch_sampler
            return
        if self.sampler is not None:
            order = np.fromiter((int(i) for i in self.sampler), dtype=np.int64)
        else:
            n = len(self.dataset)
            order = _generator(self.generator).permutation(n) if self.shuffle else np.arange(n)
        step = self.batch_size
        stop = len(order) - len(order) % step if self.drop_last else len(order)
        for start in range(0, stop, step):
            yield order[start:start + step]

    def __iter__(self):
        if self.num_workers > 0 and self.worker_init_fn is not None and not (
                self.persistent_workers and self._workers_started):
            self.worker_init_fn(0)  # the one "worker" is this process
        self._workers_started = True
        if isinstance(self.dataset, IterableDataset):
            yield from self._stream()
            return
        if self.batch_size is None and self.batch_sampler is None:  # torch's automatic batching off: items as they are
            fn = self.collate_fn or default_convert
            order = (self.sampler if self.sampler is not None else
                     _generator(self.generator).permutation(len(self.dataset)) if self.shuffle
                     else range(len(self.dataset)))
            for i in order:
                yield fn(self.dataset[int(i)])
            return
        gather = self.collate_fn is None and _tensors_of(self.dataset) is not None
        for idx in self._batches():
            if gather:  # one gather per tensor, not one item at a time; a list, as PyTorch's
                yield list(self.dataset[np.asarray(idx, dtype=np.int64)])
            else:
                yield (self.collate_fn or default_collate)([self.dataset[int(i)] for i in idx])


def default_convert(item):
    """What ``DataLoader(batch_size=None)`` yields for an item, as torch's: NumPy arrays become
    tensors (sharing memory), tuples become lists, recursively into lists, tuples and dicts."""
    if isinstance(item, np.ndarray):
        from ..creation import from_numpy
        try:
            return from_numpy(item)
        except TypeError:  # a dtype no tensor has (strings, objects): left as it is, as torch's
            return item
    if isinstance(item, dict):
        return {k: default_convert(v) for k, v in item.items()}
    if isinstance(item, tuple) and hasattr(item, "_fields"):  # a namedtuple keeps its type
        return type(item)(*(default_convert(v) for v in item))
    if isinstance(item, (tuple, list)):
        return [default_convert(v) for v in item]
    return item


def _check_loader_options(batch_size, shuffle, sampler, batch_sampler, num_workers, drop_last, timeout,
                          prefetch_factor, persistent_workers) -> None:
    """torch's checks of DataLoader's arguments, with its messages' substance."""
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
        raise ValueError(f"DataLoader: batch_size must be a positive int (or None), got {batch_size!r}")
    if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
        raise ValueError(f"DataLoader: num_workers must be a non-negative int, got {num_workers!r}")
    if not timeout >= 0:
        raise ValueError(f"DataLoader: timeout must be non-negative, got {timeout!r}")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("DataLoader: prefetch_factor can only be given with num_workers > 0")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers needs num_workers > 0")
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler is mutually exclusive with shuffle")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
        raise ValueError("DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, sampler "
                         "and drop_last")
    if batch_size is None and drop_last:
        raise ValueError("DataLoader: batch_size=None (no automatic batching) is mutually exclusive with "
                         "drop_last")


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
