"""More activation layers over ``F``'s ops, with torch's arguments and reprs: Hardtanh,
Hardswish, Hardsigmoid, Mish, Softsign, SELU, CELU, PReLU (the one with a parameter), RReLU,
Threshold, Softmin, Softmax2d, Tanhshrink, Softshrink, Hardshrink."""
from __future__ import annotations

from .. import functional as F
from .activation import _InPlace
from .module import Module
from . import init as _init   # (PReLU's argument `init` is torch's name)
from .parameter import empty_parameter


def _tail(inplace):
    return ", inplace=True" if inplace else ""


class Hardtanh(_InPlace):
    """min(max(x, min_val), max_val), as ``torch.nn.Hardtanh(min_val=-1.0, max_val=1.0, inplace=False)``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        if min_val > max_val:
            raise ValueError("min_val cannot be greater than max_val")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + _tail(self.inplace)


class Hardswish(_InPlace):
    """x relu6(x + 3) / 6, as ``torch.nn.Hardswish(inplace=False)`` (whose repr shows no flag)."""

    def forward(self, x):
        return F.hardswish(x, self.inplace)

    def extra_repr(self):
        return ""


class Hardsigmoid(_InPlace):
    """relu6(x + 3) / 6, as ``torch.nn.Hardsigmoid(inplace=False)`` (whose repr shows no flag)."""

    def forward(self, x):
        return F.hardsigmoid(x, self.inplace)

    def extra_repr(self):
        return ""


class Mish(_InPlace):
    """x tanh(softplus(x)), as ``torch.nn.Mish(inplace=False)``."""

    def forward(self, x):
        return F.mish(x, self.inplace)


class SELU(_InPlace):
    """Scaled ELU with torch's constants, as ``torch.nn.SELU(inplace=False)``."""

    def forward(self, x):
        return F.selu(x, self.inplace)


class CELU(_InPlace):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)), as ``torch.nn.CELU(alpha=1.0, inplace=False)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, x):
        return F.celu(x, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + _tail(self.inplace)


class RReLU(_InPlace):
    """Randomized leaky ReLU, as ``torch.nn.RReLU(lower=1/8, upper=1/3, inplace=False)``: a random
    slope per element in training (from minitf's generator), the mean slope in eval."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__(inplace)
        self.lower, self.upper = lower, upper

    def forward(self, x):
        return F.rrelu(x, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + _tail(self.inplace)


class Threshold(_InPlace):
    """x where x > threshold, else value, as ``torch.nn.Threshold(threshold, value, inplace=False)``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__(inplace)
        self.threshold, self.value = threshold, value

    def forward(self, x):
        return F.threshold(x, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}" + _tail(self.inplace)


class PReLU(Module):
    """x for x > 0, a x otherwise with a learnt slope a, as ``torch.nn.PReLU(num_parameters=1,
    init=0.25, device=None, dtype=None)``: ``weight`` (num_parameters,), one slope for all, or one
    per channel (dim 1 of the input, which must then have that many), made on ``device`` in ``dtype``
    (None: the default device and dtype). x: (N, C, ...) -> the same."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = int(num_parameters), init
        self.weight = _init.constant_(empty_parameter(self.num_parameters, device=device, dtype=dtype), float(init))

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Softsign(Module):
    """x / (1 + |x|), as ``torch.nn.Softsign``."""

    def forward(self, x):
        return F.softsign(x)


class Tanhshrink(Module):
    """x - tanh(x), as ``torch.nn.Tanhshrink``."""

    def forward(self, x):
        return F.tanhshrink(x)


class Softshrink(Module):
    """x -+ lambd outside [-lambd, lambd], 0 inside, as ``torch.nn.Softshrink(lambd=0.5)``."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return F.softshrink(x, self.lambd)

    def extra_repr(self):
        return str(self.lambd)


class Hardshrink(Softshrink):
    """x outside [-lambd, lambd], 0 inside, as ``torch.nn.Hardshrink(lambd=0.5)``."""

    def forward(self, x):
        return F.hardshrink(x, self.lambd)


class Softmin(Module):
    """softmax(-x) along ``dim``, as ``torch.nn.Softmin(dim=None)`` (no dim: torch's implicit
    choice, with its warning)."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmin(x, dim=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax2d(Module):
    """softmax over the channels at each location, as ``torch.nn.Softmax2d``:
    x: (N, C, H, W) or (C, H, W) -> the same shape, normalised along dim -3."""

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {x.ndim}D instead")
        return F.softmax(x, dim=-3)

