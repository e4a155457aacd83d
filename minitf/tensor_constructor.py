"""What ``torch.Tensor(...)``'s constructor accepts, turned into the array a Tensor wraps
(the library itself wraps backend arrays directly and never comes here)."""
from __future__ import annotations

import numpy as np

from . import autograd, creation
from .tensor import Tensor, _device_of


def constructor_data(self, data, sizes):
    """The array of ``Tensor(data)`` / ``Tensor(*sizes)`` for what is not a NumPy array, as
    ``torch.Tensor``: ``Tensor(2, 3)`` (uninitialised there, zeros here), ``Tensor()`` (shape
    (0,)), ``Tensor([1, 2])`` (a copy in the default float dtype), ``Tensor(t)`` (t's data and
    version counter, shared). A device array (fake, CuPy) is wrapped as is, as a NumPy one."""
    if not sizes:
        if data is None:
            sizes = (0,)
        elif isinstance(data, Tensor):
            self._vc = autograd.shared_counter(data)
            return data.data
        elif isinstance(data, np.integer):
            pass  # a size, as torch's Tensor(np.int64(3)): three elements
        elif isinstance(data, np.generic):  # a NumPy float or bool: a 0-d array of its dtype, as Tensor._make
            return np.asarray(data)
        elif hasattr(data, "shape") and hasattr(data, "dtype"):
            _device_of(data)  # a device's array (its type then known), or a TypeError naming its type
            return data
    if data is not None and (sizes or isinstance(data, (int, np.integer))) and not isinstance(data, bool):
        sizes = (data,) + sizes
        if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in sizes):
            raise TypeError(f"Tensor(*sizes): sizes must be ints, got {sizes}; to build a tensor from "
                            f"data use mt.tensor(data)")
    if sizes:
        if any(n < 0 for n in sizes):
            raise RuntimeError(f"Trying to create tensor with negative dimension: {list(sizes)}")
        return np.zeros(tuple(int(n) for n in sizes), dtype=creation.get_default_dtype())
    if not isinstance(data, (list, tuple)):
        raise TypeError(f"Tensor(data): data must be a sequence (a list or tuple) or sizes, got "
                        f"{type(data).__name__}; mt.tensor(data) builds a tensor from a number too")
    try:
        return creation.tensor(data, dtype=creation.get_default_dtype()).data
    except (TypeError, ValueError) as e:
        raise TypeError(f"Tensor(data): cannot build a tensor from {data!r}: {e}") from None
