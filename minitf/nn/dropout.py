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


# channel-wise and SELU-preserving dropout (minitf/ops/feature_dropout.py)
class _DropoutNd(Dropout):
    """A dropout layer calling ``functional`` (an op of :mod:`minitf.ops.feature_dropout`) in training."""
    functional = None

    def __init__(self, p: float = 0.5, inplace: bool = False):
        if not 0.0 <= p <= 1.0:   # torch's message
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        super().__init__(p, inplace)

    def forward(self, x):
        from ..ops import feature_dropout
        return getattr(feature_dropout, self.functional)(x, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zero whole channels in training: x: (N, C, L) or (C, L) -> the same shape."""
    functional = "dropout1d"


class Dropout2d(_DropoutNd):
    """Zero whole channels in training: x: (N, C, H, W) -> the same shape (3-D input: see F.dropout2d)."""
    functional = "dropout2d"


class Dropout3d(_DropoutNd):
    """Zero whole channels in training: x: (N, C, D, H, W) or (C, D, H, W) -> the same shape."""
    functional = "dropout3d"


class AlphaDropout(_DropoutNd):
    """SELU-preserving dropout in training (keeps zero mean, unit variance): x: any shape."""
    functional = "alpha_dropout"


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels in training: x: (N, C, *S) -> the same shape."""
    functional = "feature_alpha_dropout"
