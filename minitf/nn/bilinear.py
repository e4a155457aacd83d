"""nn.Bilinear: y = x1^T A x2 + b over F.bilinear, with torch's parameters and initialisation."""
from __future__ import annotations

import math

from .. import functional as F
from ..ops._util import is_int
from . import init
from .module import Module
from .parameter import empty_parameter


class Bilinear(Module):
    """y[..., o] = x1[..., :] weight[o] x2[..., :] + bias[o], as ``torch.nn.Bilinear``.

    Parameters: ``weight`` (out_features, in1_features, in2_features), ``bias`` (out_features,)
    or None; both U(-1/sqrt(in1_features), 1/sqrt(in1_features)), as torch's, made on ``device`` in
    ``dtype`` (None: the default device and dtype).
    forward(input1, input2): (..., in1_features), (..., in2_features) -> (..., out_features).
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        for name, n in (("in1_features", in1_features), ("in2_features", in2_features),
                        ("out_features", out_features)):
            if not is_int(n) or n < 0:
                raise ValueError(f"Bilinear: {name} must be an int >= 0, got {n!r}")
        if in1_features == 0:   # torch's (its init bound is 1/sqrt(in1_features))
            raise ValueError(f"in1_features must be > 0, but got (in1_features={in1_features})")
        self.in1_features, self.in2_features = int(in1_features), int(in2_features)
        self.out_features = int(out_features)
        bound = 1.0 / math.sqrt(self.in1_features)
        self.weight = init.uniform_(empty_parameter(self.out_features, self.in1_features, self.in2_features,
                                                    device=device, dtype=dtype),
                                    -bound, bound)
        if bias:
            self.bias = init.uniform_(empty_parameter(self.out_features, device=device, dtype=dtype), -bound, bound)
        else:
            self.register_parameter("bias", None)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
