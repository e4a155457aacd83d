"""LayerNorm over the last axis."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from . import init
from .module import Module, Parameter


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over the last axis.

    x: (..., C) -> (..., C). ``weight`` (C,) starts at 1, ``bias`` (C,) at 0;
    ``bias=False`` keeps the weight and drops the bias (as GPT configs with
    ``bias=False`` do).
    """

    def __init__(self, normalized_shape: int, eps: float = 1e-5, bias: bool = True):
        super().__init__()
        self.normalized_shape, self.eps = int(normalized_shape), float(eps)
        self.weight = init.ones_(Parameter(np.empty(self.normalized_shape, np.float32)))
        if bias:
            self.bias = init.zeros_(Parameter(np.empty(self.normalized_shape, np.float32)))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.layer_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, bias={self.bias is not None}"
