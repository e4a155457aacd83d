"""Activation layers (parameter-free wrappers of the elementwise ops)."""
from __future__ import annotations

from .. import functional as F
from .module import Module


class GELU(Module):
    """GELU(x) = x Phi(x), as ``torch.nn.GELU``: ``approximate="none"`` (the default) is the
    exact erf form, ``"tanh"`` GPT-2's 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x):
        return F.relu(x)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, x):
        return F.sigmoid(x)


class SiLU(Module):
    """x sigmoid(x) (swish)."""

    def forward(self, x):
        return F.silu(x)


class Softmax(Module):
    """softmax along ``dim``, as ``torch.nn.Softmax(dim)``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, dim=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log softmax along ``dim``, as ``torch.nn.LogSoftmax(dim)``."""

    def forward(self, x):
        return F.log_softmax(x, dim=self.dim)
