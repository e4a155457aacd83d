"""Shape helpers with PyTorch's names: clone, contiguous, unsqueeze, squeeze, flatten,
expand, repeat, chunk, t. Most are reshapes or views; expand and repeat have their own
backward (a sum over the broadcast or tiled copies)."""
from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError
from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import check_dim, share_storage
from .shape import reshape, split, swapaxes


class Clone(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, strides=None):
        if strides is None:
            return x.copy()
        from ..backend import storage   # a layout of torch's: x's own (dense) strides, or a channels-last one
        out = storage.view(backend.get_array_module(x).empty(x.size, x.dtype), x.shape, strides, 0)
        out[...] = x
        return out

    def backward(self, g):
        return (g,)

    def backward_graph(self, g):
        return (g,)


class Contiguous(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, order=None):   # order: the dims from the outermost in memory (channels_last)
        xp = backend.get_array_module(x)
        if order is None:
            return xp.ascontiguousarray(x)
        return xp.ascontiguousarray(x.transpose(order)).transpose(tuple(int(i) for i in np.argsort(order)))

    def backward(self, g):
        return (g,)

    def backward_graph(self, g):
        return (g,)


class Expand(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again
    is_view = True

    def forward(self, x, shape):
        return backend.get_array_module(x).broadcast_to(x, shape)

    def backward(self, g):  # the engine sums g back to the input's shape (sum_to)
        return (g,)

    def backward_graph(self, g):
        return (g,)


class Repeat(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, x, reps):
        x = x.reshape((1,) * (len(reps) - x.ndim) + x.shape)
        self.shape, self.reps = x.shape, reps
        return backend.get_array_module(x).tile(x, reps)

    def backward(self, g):  # every tiled copy contributes: view g as (r0, s0, r1, s1, ...) and sum the r's
        split_shape = tuple(v for r, s in zip(self.reps, self.shape) for v in (r, s))
        return (g.reshape(split_shape).sum(axis=tuple(range(0, len(split_shape), 2))),)

    def backward_graph(self, g):
        from .reduction import sum as _sum
        split_shape = tuple(v for r, s in zip(self.reps, self.shape) for v in (r, s))
        return (_sum(reshape(g, split_shape), axis=tuple(range(0, len(split_shape), 2))),)


def clone(x: Tensor, memory_format=None) -> Tensor:
    """A copy with its own storage, laid out as ``memory_format`` (None: torch's default
    preserve_format, x's own strides when x is dense; :func:`minitf.type_objects.like_strides`);
    gradients flow back unchanged."""
    if memory_format is None and (getattr(x, "_vmap_batched", False) or x.data.flags.c_contiguous):   # (vmap: no storage)
        return Clone.apply(x)
    from ..type_objects import like_strides
    return Clone.apply(x, strides=like_strides("clone", x.shape, x.stride(), memory_format))


def contiguous(x: Tensor, memory_format=None) -> Tensor:
    """``x`` itself when its array is laid out as ``memory_format`` (None: ``contiguous_format``,
    C order; :mod:`minitf.type_objects`), else a copy that is (differentiable)."""
    if memory_format is None:
        if x.data.flags.c_contiguous:
            return x
        return Contiguous.apply(x)
    from ..type_objects import channels_last_order, check_memory_format
    fmt = check_memory_format("contiguous", memory_format)
    order = channels_last_order(fmt, x.ndim)
    if x.is_contiguous(memory_format=fmt):
        return x
    return Contiguous.apply(x, order=order)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """A new dim of size 1 at ``dim`` (in [-ndim-1, ndim]).

    x: (d_0, ..., d_{n-1}) -> (d_0, ..., 1, ..., d_{n-1}).
    """
    from ..grad_fn_names import named
    d = check_dim("unsqueeze", dim, x.ndim + 1)
    return named(reshape(x, x.shape[:d] + (1,) + x.shape[d:]), "UnsqueezeBackward0", x)


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Drop dims of size 1: all of them, or ``dim`` (an int or tuple) when it has size 1."""
    if dim is None:
        dims = {i for i, n in enumerate(x.shape) if n == 1}
    else:
        dims = {check_dim("squeeze", d, x.ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        dims = {d for d in dims if x.ndim and x.shape[d] == 1}  # PyTorch leaves other sizes alone
    from ..grad_fn_names import named
    overload = 0 if dim is None else 2 if isinstance(dim, (tuple, list)) else 1   # torch's squeeze(), (dim), (dims)
    return named(reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in dims)), f"SqueezeBackward{overload}", x)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` (inclusive) into one; a 0-d tensor becomes (1,)."""
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = check_dim("flatten", start_dim, x.ndim), check_dim("flatten", end_dim, x.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(x, x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:])


def expand(x: Tensor, sizes) -> Tensor:
    """A broadcast view of ``x`` with ``sizes`` (-1 keeps a dim; new dims go in front).

    Read-only, as PyTorch's (whose in-place writes to it are an error too).
    """
    sizes = tuple(int(n) for n in sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"expand: {len(sizes)} sizes given for a tensor of shape {x.shape}")
    lead = len(sizes) - x.ndim
    shape = []
    for i, n in enumerate(sizes):
        own = x.shape[i - lead] if i >= lead else None
        if n == -1:
            if own is None:
                raise ValueError(f"expand: -1 is not allowed for the new leading dim {i}")
            n = own
        if own is not None and own != 1 and own != n:
            raise ShapeError(f"expand: the size of dim {i} ({own}) must match {n} or be 1 (shape {x.shape})")
        shape.append(n)
    out = Expand.apply(x, shape=tuple(shape))
    return share_storage(out, x)


def repeat(x: Tensor, sizes) -> Tensor:
    """Tile ``x``: dim i repeated ``sizes[i]`` times (PyTorch's ``repeat``, NumPy's ``tile``).

    x: (d_0, ..., d_{n-1}) with len(sizes) >= n -> (r_0 d'_0, ...), x promoted with leading 1s.
    """
    reps = tuple(int(r) for r in sizes)
    if len(reps) < x.ndim:
        raise ValueError(f"repeat: {len(reps)} repeats given for a tensor of {x.ndim} dims; need at least {x.ndim}")
    if any(r < 0 for r in reps):
        raise ValueError(f"repeat: repeats must be >= 0, got {reps}")
    return Repeat.apply(x, reps=reps)


def chunk(x: Tensor, chunks: int, dim: int = 0):
    """Split into ``chunks`` pieces along ``dim`` of size ceil(n / chunks) (the last may be
    smaller, and there may be fewer pieces), as PyTorch."""
    if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive integer, got {chunks}")
    d = check_dim("chunk", dim, x.ndim)
    n = x.shape[d]
    if n == 0:   # torch's: ``chunks`` empty pieces
        return split(x, [0] * int(chunks), d)
    return split(x, -(-n // int(chunks)), d)


def t(x: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dims (0-d and 1-d come back as they are)."""
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor of at most 2 dims, got shape {x.shape}; use transpose or mT")
    from ..grad_fn_names import named
    return reshape(x, x.shape) if x.ndim < 2 else named(swapaxes(x, 0, 1), "TBackward0", x)


def numel(x: Tensor) -> int:
    """The number of elements of ``x``."""
    return x.numel()
