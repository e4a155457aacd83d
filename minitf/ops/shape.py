"""Shape: reshape, permute, swapaxes, transpose (views with a new shape or axis order).

This module is also where the rest of the former shape module is found under its old
names (``from .shape import GetItem, concatenate, Where, ...``): indexing is in
:mod:`minitf.ops.subscript`, joining and splitting in :mod:`minitf.ops.joining`, where and
masked_fill in :mod:`minitf.ops.selection`, dtype and device moves in :mod:`minitf.ops.casting`.
"""
from __future__ import annotations

import numpy as np

from ..errors import DimError, ShapeError
from ..autograd import Function
from ..tensor import Tensor
from ._util import inherit_index_bounds, share_storage
from .joining import _check_axis
from .subscript import GetItem, getitem, index_data, _staged, _has_integer_array  # noqa: F401  (old home)
from .joining import Concatenate, Stack, concatenate, cat, _promoted, stack, split  # noqa: F401  (old home)
from .selection import Where, where, masked_fill  # noqa: F401  (old home)
from .casting import AsType, ToDevice, astype  # noqa: F401  (old home)


class Reshape(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again
    is_view = True  # the output may share the input's storage

    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.in_shape),)

    def backward_graph(self, g):
        return (reshape(g, self.in_shape),)


class Permute(Function):
    saves_inputs = saves_output = False
    saves_tensors = False   # torch's node keeps no tensor: backward can run again
    is_view = True

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, g):  # the inverse permutation
        return (g.transpose(tuple(np.argsort(self.axes))),)

    def backward_graph(self, g):
        return (Permute.apply(g, axes=tuple(int(a) for a in np.argsort(self.axes))),)


def reshape(x: Tensor, shape) -> Tensor:
    """The same elements in a new shape (one dimension may be -1)."""
    if getattr(x, "_vmap_batched", False):   # inside vmap: the batched tensor's own view
        return x.reshape(shape)
    shape = tuple(int(n) for n in shape)
    try:
        out = share_storage(Reshape.apply(x, shape=shape), x)
    except ValueError:
        raise ShapeError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.numel()} elements) "
                         f"into shape {shape}") from None
    inherit_index_bounds(out, x)  # the same values: the same known range (integer ids only have one)
    if out is not x and getattr(out, "_base", None) is None and out._fn is not None and x.numel():
        from ..grad_fn_names import named   # a layout no view gives: torch's clone + _unsafe_view
        named(out, "UnsafeViewBackward0", x)
    return out


def permute(x: Tensor, axes) -> Tensor:
    """Reorder the axes: output axis i is input axis ``axes[i]``."""
    if getattr(x, "_vmap_batched", False):
        return x.permute(tuple(axes))
    axes = tuple(axes)
    if len(axes) != x.ndim:
        raise ShapeError(f"permute: {axes} names {len(axes)} dims, the tensor of shape {x.shape} has {x.ndim}")
    for a in axes:  # PyTorch's rule: each dim in [-ndim, ndim), negative ones counting from the end
        if not -x.ndim <= a < x.ndim:
            raise DimError(f"permute: dim {a} is out of range [{-x.ndim}, {x.ndim - 1}] for shape {x.shape}")
    norm = tuple(int(a) % x.ndim for a in axes)
    if len(set(norm)) != len(norm):
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of shape {x.shape} "
                         f"(a dim is repeated)")
    return share_storage(Permute.apply(x, axes=norm), x)


def swapaxes(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two axes (PyTorch's ``transpose(dim0, dim1)``)."""
    if getattr(x, "_vmap_batched", False):
        return x.transpose(dim0, dim1)
    dim0, dim1 = (_check_axis("transpose", d, x.ndim, x.shape) for d in (dim0, dim1))
    axes = list(range(x.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    from ..grad_fn_names import named
    return named(share_storage(Permute.apply(x, axes=tuple(axes)), x), "TransposeBackward0", x)


def transpose(x: Tensor, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap two axes (the last two by default)."""
    return swapaxes(x, dim0, dim1)
