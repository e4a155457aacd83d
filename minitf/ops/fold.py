"""``unfold`` (im2col) and ``fold`` (col2im), as ``torch.nn.functional.unfold`` / ``fold``.

    unfold: x (N, C, H, W) -> cols (N, C * kH * kW, L),  cols[n, (c, i, j), l] = xpad[n, c, window l + (i, j) dil]
    fold:   cols (N, C * kH * kW, L) -> x (N, C, H, W),   the sum of every window element at its place

L is the number of windows, row-major over (H_out, W_out). Each is the other's adjoint
(fold(unfold(x)) counts each element once per window it is in), so each is the other's backward.
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..errors import ShapeError
from ..tensor import Tensor
from ._util import as_result
from .windows import col2im, crop_array, im2col, ntuple, out_size, pad_array


def _unfold_array(x, geom):
    kernel, stride, dilation, pads, out = geom
    n, c = x.shape[:2]
    v = im2col(pad_array(x, pads), kernel, stride, dilation, out)      # (N, C, Ho, Wo, kH, kW)
    return v.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * math.prod(kernel), math.prod(out))


def _fold_array(cols, geom, spatial):
    kernel, stride, dilation, pads, out = geom
    n, kk = cols.shape[0], math.prod(kernel)
    c = cols.shape[1] // kk
    padded = tuple(m + lo + hi for m, (lo, hi) in zip(spatial, pads))
    vals = cols.reshape((n, c) + tuple(kernel) + tuple(out))               # (N, C, *K, *Out), a view
    acc = col2im(backend.get_array_module(cols), lambda k: vals[(slice(None), slice(None)) + k], (n, c), padded,
                 kernel, stride, dilation, out, cols.dtype)
    return crop_array(acc, pads, spatial)


class Unfold(Function):
    saves_inputs = saves_output = False

    def forward(self, x, geom):
        self.spatial = x.shape[2:]
        return _unfold_array(x, geom)

    def backward(self, g):  # the adjoint of gathering windows: fold
        return (_fold_array(g, self.params["geom"], self.spatial),)

    def backward_graph(self, g):
        return (Fold.apply(g, geom=self.params["geom"], spatial=self.spatial),)


class Fold(Function):
    saves_inputs = saves_output = False

    def forward(self, cols, geom, spatial):
        return _fold_array(cols, geom, spatial)

    def backward(self, g):  # the adjoint of summing windows back: unfold
        return (_unfold_array(g, self.params["geom"]),)

    def backward_graph(self, g):
        return (Unfold.apply(g, geom=self.params["geom"]),)


def _geometry(op, spatial, kernel_size, dilation, padding, stride):
    kernel = ntuple(kernel_size, 2, op, "kernel_size", 1)
    dilation = ntuple(dilation, 2, op, "dilation", 1)
    pads = tuple((p, p) for p in ntuple(padding, 2, op, "padding", 0))
    stride = ntuple(stride, 2, op, "stride", 1)
    out = out_size(op, spatial, pads, kernel, stride, dilation)
    return kernel, stride, dilation, pads, out


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Every sliding window of a batch of images as columns (im2col), as torch's.

    input: (N, C, H, W) or unbatched (C, H, W) -> (N, C * kH * kW, L) (or (C * kH * kW, L)),
    L = H_out * W_out with H_out = (H + 2 padding - dilation (kH - 1) - 1) // stride + 1.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"unfold: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (3, 4):
        raise ShapeError(f"unfold: expected 3D (unbatched) or 4D (batched) input, got input of shape {input.shape}")
    x = input.reshape((1,) + input.shape) if input.ndim == 3 else input
    y = Unfold.apply(x, geom=_geometry("unfold", x.shape[2:], kernel_size, dilation, padding, stride))
    return as_result(y, y.shape[1:]) if input.ndim == 3 else y


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum columns of sliding windows back into images (col2im), as torch's; the adjoint of unfold.

    input: (N, C * kH * kW, L) or (C * kH * kW, L) -> (N, C, *output_size) (or (C, *output_size));
    L must be the number of windows of that size, as :func:`unfold` counts them.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"fold: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise ShapeError(f"fold: expected 2D (unbatched) or 3D (batched) input, got input of shape {input.shape}")
    cols = input.reshape((1,) + input.shape) if input.ndim == 2 else input
    spatial = ntuple(output_size, 2, "fold", "output_size", 1)
    geom = _geometry("fold", spatial, kernel_size, dilation, padding, stride)
    kk = math.prod(geom[0])
    if cols.shape[1] % kk:
        raise ShapeError(f"fold: expected size of input's dimension 1 to be divisible by the product of "
                         f"kernel_size, but got input.size(1)={cols.shape[1]} and kernel_size={geom[0]}")
    if cols.shape[2] != math.prod(geom[4]):
        raise ShapeError(f"fold: given output_size={spatial}, kernel_size={geom[0]}, dilation={geom[2]}, "
                         f"padding={tuple(p for p, _ in geom[3])}, stride={geom[1]}, expected size of input's "
                         f"dimension 2 to match the calculated number of sliding blocks "
                         f"{' * '.join(map(str, geom[4]))} = {math.prod(geom[4])}, but got {cols.shape[2]}")
    y = Fold.apply(cols, geom=geom, spatial=spatial)
    return as_result(y, y.shape[1:]) if input.ndim == 2 else y

