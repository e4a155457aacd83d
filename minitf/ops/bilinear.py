"""The bilinear map of nn.Bilinear: y_o = x1^T A_o x2 + b_o.

    x1: (..., in1), x2: (..., in2), weight A: (out, in1, in2), bias b: (out,) -> y: (..., out)

Composed of differentiable ops (one GEMM, a product and a sum), so its backward is theirs:
    dy/dx1 = A_o x2,  dy/dx2 = A_o^T x1,  dy/dA_o = x1 x2^T,  dy/db_o = 1
and it is differentiable twice.
"""
from __future__ import annotations

from ..errors import ShapeError
from ..tensor import Tensor
from ._util import check_same_dtype
from .linear import linear


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o], as torch's F.bilinear.

    input1: (..., in1), input2: (..., in2) with the same leading dims (no broadcasting, as torch);
    weight: (out, in1, in2); bias: (out,) or None. Returns (..., out). All in one dtype.
    """
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"bilinear: {name} must be a Tensor, got {type(t).__name__}")
    check_same_dtype("bilinear", input1=input1, input2=input2, weight=weight, bias=bias)
    if weight.ndim != 3:
        raise ShapeError(f"bilinear: weight must be 3-D (out, in1, in2), got shape {weight.shape}")
    out, in1, in2 = weight.shape
    if input1.ndim < 1 or input2.ndim != input1.ndim or input1.shape[:-1] != input2.shape[:-1]:
        raise ShapeError(f"bilinear: input batch dimensions do not match: input1 {input1.shape}, "
                         f"input2 {input2.shape}")
    if input1.shape[-1] != in1:
        raise ShapeError(f"bilinear: input1 size does not match weight size: got {input1.shape[-1]} but "
                         f"expected {in1} (weight {weight.shape})")
    if input2.shape[-1] != in2:
        raise ShapeError(f"bilinear: input2 size does not match weight size: got {input2.shape[-1]} but "
                         f"expected {in2} (weight {weight.shape})")
    if bias is not None and tuple(bias.shape) != (out,):
        raise ShapeError(f"bilinear: bias size does not match weight size: got {tuple(bias.shape)} but "
                         f"expected ({out},)")
    lead = input1.shape[:-1]
    x1, x2 = input1.reshape(-1, in1), input2.reshape(-1, in2)            # (B, in1), (B, in2)
    # A x2 for every (o, i) at once: one GEMM (B, in2) x (in2, out*in1) -> (B, out, in1)
    ax2 = linear(x2, weight.reshape(out * in1, in2)).reshape(-1, out, in1)
    y = (ax2 * x1.unsqueeze(1)).sum(axis=-1)                              # (B, out)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out)
