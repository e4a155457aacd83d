"""Dataset combinators under ``torch.utils.data``'s names: :class:`ConcatDataset` (one after the
other, also ``a + b``), :class:`StackDataset` (side by side), :class:`IterableDataset` (a stream)
and :class:`ChainDataset` (streams one after the other), and :func:`get_worker_info`.
"""
from __future__ import annotations

import bisect

__all__ = ["IterableDataset", "ConcatDataset", "ChainDataset", "StackDataset", "get_worker_info"]


def get_worker_info():
    """``None``: minitf's DataLoader loads in the calling process, never in a worker (torch
    returns None there too)."""
    return None


class IterableDataset:
    """Base class of stream-style datasets: define ``__iter__``. A DataLoader batches the stream
    in order (``shuffle``, ``sampler`` and ``batch_sampler`` are refused, as torch does).
    ``a + b`` chains two streams into a :class:`ChainDataset`."""

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __add__(self, other):
        return ChainDataset([self, other])


class ConcatDataset:
    """The items of ``datasets`` (map-style) one after the other: index i goes to the dataset
    whose range holds it (``cumulative_sizes[k]``: the end of dataset k's range)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes, total = [], 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("ConcatDataset: absolute value of index should not exceed dataset length")
            idx += n
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for {n} items")
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[k][idx - (self.cumulative_sizes[k - 1] if k else 0)]

    def __add__(self, other):
        return ConcatDataset([self, other])


class ChainDataset(IterableDataset):
    """The streams ``datasets`` (iterable-style) one after the other; its length is their
    lengths' sum (where they have one)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
        return sum(len(d) for d in self.datasets)


class StackDataset:
    """Item i is ``(d[i] for d in args)`` (a tuple) or ``{k: d[i] for k, d in kwargs}`` (a dict);
    every dataset has the same length. Give positional or keyword datasets, not both."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        datasets = args or tuple(kwargs.values())
        if not datasets:
            raise ValueError("StackDataset: at least one dataset should be passed")
        self._length = len(datasets[0])
        if any(len(d) != self._length for d in datasets):
            raise ValueError(f"StackDataset: size mismatch between datasets: {[len(d) for d in datasets]}")
        self.datasets = args if args else dict(kwargs)

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length
