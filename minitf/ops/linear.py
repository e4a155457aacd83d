"""The affine map of a Linear layer, fused: y = x W^T + b."""
from __future__ import annotations

from math import prod

from ..errors import ShapeError
from ..autograd import Function
from ..tensor import Tensor
from ._util import check_same_dtype


class Linear(Function):
    saves_output = False   # backward never reads the output, so changing it in place is allowed

    def forward(self, x, w, *b):
        # one 2-D GEMM over all leading dims (faster than a batched matmul); the row count is
        # given, not -1, which NumPy cannot infer when a dimension is 0 (in_features or out_features)
        self.w, self.lead = w, x.shape[:-1]
        self.x2 = x.reshape(prod(self.lead), x.shape[-1])
        y = self.x2 @ w.T
        if b:
            y += b[0]
        return y.reshape(self.lead + (w.shape[0],))

    def backward(self, g):  # dx = G W;  dW = G^T x;  db = sum of G over rows
        g2 = g.reshape(prod(self.lead), g.shape[-1])
        dx = (g2 @ self.w).reshape(self.lead + (self.w.shape[1],))
        dw = g2.T @ self.x2
        return (dx, dw, g2.sum(axis=0)) if len(self.inputs) == 3 else (dx, dw)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x W^T + b. x: (..., in_features), weight: (out_features, in_features), bias: (out_features,).

    x, weight and bias must share one dtype (a TypeError otherwise, as PyTorch's
    "mat1 and mat2 must have the same dtype"): a float32 layer does not silently
    compute in float64.
    """
    check_same_dtype("linear", input=x, weight=weight, bias=bias)
    if weight.ndim != 2 or x.shape[-1:] != weight.shape[1:]:
        raise ShapeError(f"linear: input of shape {x.shape} does not fit weight of shape {weight.shape} "
                         f"(expected (..., {weight.shape[-1] if weight.ndim else '?'}))")
    if bias is not None:
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias has shape {bias.shape}, expected ({weight.shape[0]},)")
        return Linear.apply(x, weight, bias)
    return Linear.apply(x, weight)
