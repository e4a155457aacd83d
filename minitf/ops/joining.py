"""Joining and splitting: concatenate (cat), stack, split, with torch's dtype promotion."""
from __future__ import annotations

import numpy as np

from ..errors import ArgumentError, DimError, ShapeError
from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .promotion import promote_types
from ._util import check_same_device, inherit_index_bounds
from .casting import astype
from .subscript import getitem


class Concatenate(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, *xs, axis):
        self.axis = axis
        self.bounds = np.cumsum([x.shape[axis] for x in xs])[:-1].tolist()
        return backend.get_array_module(xs[0]).concatenate(xs, axis=axis)

    def backward(self, g):
        return tuple(backend.get_array_module(g).split(g, self.bounds, axis=self.axis))

    def backward_graph(self, g):
        edges, lead = [0] + self.bounds + [g.shape[self.axis]], (slice(None),) * self.axis
        return tuple(getitem(g, lead + (slice(lo, hi),)) for lo, hi in zip(edges[:-1], edges[1:]))


class Stack(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again

    def forward(self, *xs, axis):
        self.axis = axis
        return backend.get_array_module(xs[0]).stack(xs, axis=axis)

    def backward(self, g):
        n = g.shape[self.axis]
        return tuple(g.take(i, axis=self.axis) for i in range(n))

    def backward_graph(self, g):
        lead = (slice(None),) * self.axis
        return tuple(getitem(g, lead + (i,)) for i in range(g.shape[self.axis]))


def _check_axis(name, axis, ndim, shape):
    """``axis`` in [-ndim, ndim) as a non-negative int, or a ValueError naming the op."""
    if not -ndim <= axis < ndim:
        raise DimError(f"{name}: axis {axis} is out of range [{-ndim}, {ndim}) for input of shape {shape}")
    return int(axis) % ndim


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (PyTorch's ``cat``).

    tensors: k tensors (..., n_i, ...) equal outside ``axis`` -> (..., sum n_i, ...).
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")  # torch's class too
    check_same_device("concatenate", tensors)
    tensors = _promoted(tensors)
    ref = tensors[0]
    ax = _check_axis("concatenate", axis, ref.ndim, ref.shape)
    for t in tensors[1:]:
        if t.ndim != ref.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref.shape)) if i != ax):
            raise ShapeError(f"concatenate: shapes {ref.shape} and {t.shape} differ outside axis {axis}")
    out = Concatenate.apply(*tensors, axis=ax)
    inherit_index_bounds(out, *tensors)
    return out


cat = concatenate


def _promoted(tensors):
    """The tensors cast to their common dtype by torch's promotion (float32 with int32 is
    float32, not NumPy's float64), as torch.cat/stack do; the casts are differentiable."""
    dtype = tensors[0].dtype
    if all(t.dtype == dtype for t in tensors):
        return tensors
    for t in tensors[1:]:
        dtype = promote_types(dtype, t.dtype)
    return [astype(t, dtype) for t in tensors]


def stack(tensors, axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis.

    tensors: k tensors of shape S -> S with a new axis of size k inserted at ``axis``.
    """
    tensors = list(tensors)
    if not tensors:
        raise ArgumentError("stack: needs at least one tensor")
    check_same_device("stack", tensors)
    tensors = _promoted(tensors)
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack: all tensors need the same shape, got {tensors[0].shape} and {t.shape}")
    return Stack.apply(*tensors, axis=_check_axis("stack", axis, tensors[0].ndim + 1, tensors[0].shape))


def split(x: Tensor, split_size_or_sections, axis: int = 0):
    """Split into chunks along ``axis``: of size ``split_size_or_sections`` (an int, the
    last chunk may be smaller), or of the listed sizes (which must add up), as PyTorch.

    x: (..., n, ...) -> a tuple of (..., n_i, ...) with sum n_i = n along ``axis`` (torch's tuple).
    """
    if getattr(x, "_vmap_batched", False):   # inside vmap: the batched tensor's own split
        return x.split(split_size_or_sections, axis)
    axis = _check_axis("split", axis, x.ndim, x.shape)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: chunk size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] or [0]   # an empty dim: one empty piece, as torch
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ShapeError(f"split: sections {sizes} add up to {sum(sizes)}, axis {axis} has size {n}")
    lead = (slice(None),) * (axis % x.ndim)
    out, start = [], 0
    for s in sizes:
        out.append(getitem(x, lead + (slice(start, start + s),)))
        start += s
    from ..grad_fn_names import named   # torch's split(int) / split(sizes) kernels
    from ..view_rebase import note_multi_output   # views torch forbids changing in place
    kernel = "Split" if isinstance(split_size_or_sections, (int, np.integer)) else "SplitWithSizes"
    return note_multi_output(named(tuple(out), f"{kernel}Backward0", x), kernel)
