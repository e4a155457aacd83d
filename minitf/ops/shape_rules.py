"""torch.broadcast_shapes: the shape that tensors of the given shapes broadcast to, without
making any tensor. (The dtype rules' public names, result_type, promote_types and can_cast,
are :mod:`minitf.ops.promotion`'s own functions.)"""
from __future__ import annotations

import operator

import numpy as np

from ..errors import ArgumentError, ShapeError


def broadcast_shapes(*shapes):
    """The broadcast shape of ``shapes`` (each a tuple of ints, or an int for a 1-D shape), as
    torch.broadcast_shapes: a :class:`minitf.Size`. Trailing dims are matched; a 1 stretches."""
    from ..size import Size
    dims = []
    for s in shapes:
        try:
            dims.append((operator.index(s),) if not isinstance(s, (tuple, list)) and not hasattr(s, "__len__")
                        else tuple(operator.index(n) for n in s))
        except TypeError:
            raise TypeError(f"broadcast_shapes: expected a shape (a tuple of ints or an int), got {s!r}") from None
        if any(n < 0 for n in dims[-1]):
            raise ArgumentError(f"broadcast_shapes: trying to create a tensor with negative dimension: {s}")
    try:
        return Size(np.broadcast_shapes(*dims))
    except ValueError:
        raise ShapeError(f"Shape mismatch: objects cannot be broadcast to a single shape: "
                         f"{', '.join(str(list(d)) for d in dims)}") from None


__all__ = ["broadcast_shapes"]
