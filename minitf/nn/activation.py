"""Activation layers (parameter-free wrappers of the elementwise ops)."""
from __future__ import annotations

from .. import functional as F
from .module import Module


class GELU(Module):
    """GELU, tanh approximation as GPT-2: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def forward(self, x):
        return F.gelu(x)


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x):
        return F.relu(x)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x):
        return F.tanh(x)
