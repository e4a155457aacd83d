"""``torch.convolution``: the one entry point that torch's convolutions of every rank share, as torch's.

The number of spatial dims comes from the weight (1 to 3) and ``transposed`` picks the conv or its
adjoint; the work is :mod:`minitf.ops.conv`'s (the same Functions as ``conv2d``, ``conv_transpose3d``, ...).
"""
from __future__ import annotations

from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from .conv import _conv, _conv_transpose


def _per_dim(name: str, value, d: int) -> tuple:
    """torch's int[] argument: a sequence of one value (for every dim) or of ``d`` values."""
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"convolution(): argument '{name}' must be tuple of ints, not {type(value).__name__}")
    vals = tuple(value) * d if len(value) == 1 else tuple(value)
    if len(vals) != d:
        raise ArgumentError(f"convolution: expected {name} to be a single integer value or a list of {d} values to "
                            f"match the convolution dimensions, but got {name}={list(value)}")
    return vals


def convolution(input: Tensor, weight: Tensor, bias: Tensor | None, stride, padding, dilation, transposed: bool,
                output_padding, groups: int) -> Tensor:
    """A convolution of as many spatial dims as ``weight`` has, as ``torch.convolution``.

    input: (N, C_in, *S) (batched only, as torch's); weight: (C_out, C_in / groups, *K), or with
    ``transposed=True`` (C_in, C_out / groups, *K); bias: (C_out,) or None -> (N, C_out, *S_out), as
    :func:`~minitf.ops.conv.conv2d` or :func:`~minitf.ops.conv.conv_transpose2d` give it. stride,
    padding, dilation, output_padding: lists of one int (every dim) or one per spatial dim;
    output_padding must be 0 unless transposed (torch's backward refuses it).
    """
    for name, t in (("input", input), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"convolution(): argument '{name}' must be Tensor, not {type(t).__name__}")
    d = weight.ndim - 2
    if d not in (1, 2, 3):
        raise ShapeError(f"convolution: expected a 3-, 4- or 5-dimensional weight, got {weight.ndim} dimensions")
    if input.ndim != weight.ndim:
        raise ShapeError(f"convolution: expected {weight.ndim}-dimensional input for {weight.ndim}-dimensional "
                         f"weight {list(weight.shape)}, but got {input.ndim}-dimensional input of size "
                         f"{list(input.shape)} instead")
    stride, padding, dilation, output_padding = (_per_dim(n, v, d) for n, v in (
        ("stride", stride), ("padding", padding), ("dilation", dilation), ("output_padding", output_padding)))
    op = f"convolution ({d}-d{', transposed' if transposed else ''})"
    if not transposed and any(output_padding):
        # torch's forward ignores it and its backward raises this: refused up front
        raise ArgumentError(f"{op}: output_padding is not supported for non-transposed convolutions; got: "
                            f"{' '.join(map(str, output_padding))}")
    if transposed:
        return _conv_transpose(op, d, input, weight, bias, stride, padding, output_padding, groups, dilation)
    return _conv(op, d, input, weight, bias, stride, padding, dilation, groups)
