"""Linear: the affine map y = x W^T + b; Identity, the map that does nothing."""
from __future__ import annotations

import math


from .. import functional as F
from . import init
from .module import Module
from .parameter import empty_parameter
from ..ops._util import is_int


class Linear(Module):
    """y = x W^T + b, with PyTorch's layout.

    Parameters: ``weight`` (out_features, in_features), ``bias`` (out_features,)
    or None. x: (..., in_features) -> (..., out_features). Initialised as
    PyTorch does: U(-1/sqrt(in_features), 1/sqrt(in_features)). ``device`` / ``dtype``: where
    and in what the parameters are made (None: the default device and dtype), as torch's.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not is_int(n) or n < 0:
                raise ValueError(f"Linear: {name} must be an int >= 0, got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = empty_parameter(self.out_features, self.in_features, device=device, dtype=dtype)
        if bias:
            self.bias = empty_parameter(self.out_features, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's: weight and bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features)), in place."""
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """y = x: a placeholder layer (e.g. where a configuration leaves a block out).

    Accepts and ignores any constructor arguments, as PyTorch's does.
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x
