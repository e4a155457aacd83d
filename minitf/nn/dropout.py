"""Dropout: zero activations at random while training."""
from __future__ import annotations

from .. import functional as F
from .module import Module


class Dropout(Module):
    """Inverted dropout with probability ``p`` in training mode; the identity in eval mode.

    x: any shape -> same shape. Draws from the device's default generator.
    ``p = 1`` zeroes everything in training, as PyTorch's.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p}")
        self.p, self.inplace = float(p), bool(inplace)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        return F.dropout(x, self.p, training=True, inplace=self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"   # torch's repr: Dropout(p=0.1, inplace=False)
