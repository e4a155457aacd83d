"""Torch's layout of the classification losses (cross_entropy, nll_loss), and its checks.

    input: (C,), (N, C) or (N, C, d1, ..., dk): the class dim is dim 1 (dim 0 of a 1-D input)
    class-index targets: () (or (1,)) for (C,), (N,) for (N, C), (N, d1, ..., dk) for the K-dim case
    probability targets (cross_entropy): the input's shape

The losses compute on rows: :func:`class_last` moves the class dim last (``movedim(1, -1)``, a
recorded view, so gradients and tangents flow back through it); the flat (rows, C) code then
sees one row per position, and reduction='none' gives the targets' shape (N, d1, ..., dk).
2-D input is passed through as it is (the training loop's case: no copy).

:func:`index_target_shape` checks a class-index target's shape in torch's order, with torch's
message (prefixed by the op's name, followed by the shapes minitf expected).
"""
from __future__ import annotations

from ..errors import DimError, ShapeError


def check_has_class_dim(name: str, x) -> None:
    """A 0-d input has no class dim: torch's 'Expected 1 or more dimensions (got 0)'."""
    if x.ndim == 0:
        raise DimError(f"{name}: Expected 1 or more dimensions (got 0): the input needs a class dimension, "
                       f"(C,), (N, C) or (N, C, d1, ..., dk)")


def index_shape(shape: tuple) -> tuple:
    """The class-index targets' shape for input of ``shape``: (), (N,) or (N, d1, ..., dk)."""
    return () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])


def index_target_shape(name: str, shape: tuple, tshape: tuple, soft: bool = False) -> tuple:
    """The shape a class-index target must have for input of ``shape`` (also the shape of
    reduction='none''s output); raises torch's error if ``tshape`` is not it. A 1-D input takes
    a 0-d target or, as torch, a 1-D one of size 1 (both give a 0-d 'none' output). ``soft``:
    the op also takes probability targets (of the input's shape), which the message mentions."""
    n = len(shape)
    lead = index_shape(shape)
    torch_msg = None
    if n == 1:
        if len(tshape) == 1 and tshape[0] != 1:
            torch_msg = f"For 1D input, 1D target must have size 1, but got target size: {tshape[0]}"
        elif len(tshape) > 1:
            torch_msg = "0D or 1D target tensor expected, multi-target not supported"
    elif not tshape or tshape[0] != shape[0]:
        torch_msg = (f"Expected input batch_size ({shape[0]}) to match target batch_size "
                     f"({tshape[0] if tshape else 0}).")
    elif n == 2 and len(tshape) != 1:
        torch_msg = "0D or 1D target tensor expected, multi-target not supported"
    elif n == 4 and len(tshape) != 3:
        torch_msg = f"only batches of spatial targets supported (3D tensors) but got targets of dimension: {len(tshape)}"
    elif n == 4 and tuple(tshape) != lead:
        torch_msg = f"size mismatch (got input: {list(shape)} , target: {list(tshape)})"
    elif tuple(tshape) != lead:
        torch_msg = f"Expected target size {list(lead)}, got {list(tshape)}"
    if torch_msg is None:
        return lead
    probs = f" or {tuple(shape)} (probabilities)" if soft else ""
    raise ShapeError(f"{name}: {torch_msg} (input of shape {tuple(shape)}, class dim {min(n - 1, 1)}, needs "
                     f"targets of shape {lead} (class indices){probs}, got {tuple(tshape)})")


def num_classes(x) -> int:
    """C: the size of dim 1, or of dim 0 for a 1-D input."""
    return x.shape[1] if x.ndim >= 2 else x.shape[0]


def class_last(x):
    """``x`` (a Tensor, or an array of probability targets) with the class dim last: (N, d1, ..., dk, C)
    for (N, C, d1, ..., dk), a recorded view; (C,) and (N, C) unchanged."""
    if x.ndim < 3:
        return x
    if hasattr(x, "movedim"):
        return x.movedim(1, -1)
    from .. import backend
    return backend.get_array_module(x).moveaxis(x, 1, -1)
