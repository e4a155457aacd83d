"""Loss modules: thin wrappers of the loss functions in :mod:`minitf.functional`,
with PyTorch's names and arguments.

    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = criterion(logits, targets)        # logits (..., C), class dimension last

The class weights of ``CrossEntropyLoss`` / ``NLLLoss`` are kept as a plain
tensor (minitf modules have no buffers): they are not in the state dict, and
they move to the input's device and dtype when the two differ.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import Tensor, tensor
from .module import Module


def _weight(weight):
    if weight is None:
        return None
    return weight.detach() if isinstance(weight, Tensor) else tensor(np.asarray(weight, dtype=np.float64))


def _weight_like(weight, x: Tensor):
    if weight is None or (weight.device == x.device and weight.dtype == x.dtype):
        return weight
    return weight.to(device=x.device, dtype=x.dtype)


class MSELoss(Module):
    """Mean squared error: ``F.mse_loss(input, target, reduction)``; reduction 'mean', 'sum' or 'none'."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"MSELoss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(Module):
    """Cross-entropy of class indices or probabilities under softmax(logits):
    ``F.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)``.

    input: (..., C) logits, class dimension last; target: (...) class indices
    or (..., C) probabilities. weight: (C,) class weights or None.
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"CrossEntropyLoss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        if not 0.0 <= float(label_smoothing) <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.weight, self.ignore_index = _weight(weight), int(ignore_index)
        self.reduction, self.label_smoothing = reduction, float(label_smoothing)

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=_weight_like(self.weight, input),
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)

    def extra_repr(self):
        return (f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}" + ("" if self.weight is None else ", weight=(...)"))


class NLLLoss(Module):
    """Negative log-likelihood of class indices given log-probabilities:
    ``F.nll_loss(input, target, weight, ignore_index, reduction)``; input (..., C), target (...)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"NLLLoss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.weight, self.ignore_index, self.reduction = _weight(weight), int(ignore_index), reduction

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=_weight_like(self.weight, input),
                          ignore_index=self.ignore_index, reduction=self.reduction)

    def extra_repr(self):
        return f"ignore_index={self.ignore_index}, reduction={self.reduction!r}"
