"""Loss modules: thin wrappers of the loss functions in :mod:`minitf.functional`,
with PyTorch's names and arguments.

    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = criterion(logits, targets)        # logits (N, C) or (N, C, d1, ...), class dim 1 (torch's)

Class weights (``weight``, ``pos_weight``) are buffers, as PyTorch's: in the
state dict under those names, moved by ``to()``; they also follow the input's
device and dtype at each call when the two differ. They print as torch's, without their
arguments (``CrossEntropyLoss()``): read them from the attributes (``reduction``, ...).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..ops.pointwise_loss import legacy_reduction
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



class CrossEntropyLoss(Module):
    """Cross-entropy of class indices or probabilities under softmax(logits):
    ``F.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)``.

    input: (C,), (N, C) or (N, C, d1, ..., dk) logits, the class dim at index 1 (torch's
    layout); target: (), (N,) or (N, d1, ..., dk) class indices, or probabilities of the
    input's shape. weight: (C,) class weights or None.
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"CrossEntropyLoss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        if not 0.0 <= float(label_smoothing) <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.register_buffer("weight", _weight(weight))
        self.ignore_index = int(ignore_index)
        self.reduction, self.label_smoothing = reduction, float(label_smoothing)

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=_weight_like(self.weight, input),
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)



class NLLLoss(Module):
    """Negative log-likelihood of class indices given log-probabilities:
    ``F.nll_loss(input, target, weight, ignore_index, reduction)``; input (C,), (N, C) or
    (N, C, d1, ..., dk) (class dim 1), target (), (N,) or (N, d1, ..., dk)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"NLLLoss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.register_buffer("weight", _weight(weight))
        self.ignore_index, self.reduction = int(ignore_index), reduction

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=_weight_like(self.weight, input),
                          ignore_index=self.ignore_index, reduction=self.reduction)



def _check_reduction(name, reduction, allowed=("mean", "sum", "none")):
    if reduction not in allowed:
        raise ValueError(f"{name}: reduction must be {', '.join(map(repr, allowed))}, got {reduction!r}")
    return reduction


class _Loss(Module):
    """What the elementwise losses share (PyTorch's ``_Loss``): a checked ``reduction``, and
    PyTorch's deprecated ``size_average`` / ``reduce`` in its place (with PyTorch's warning)."""

    _reductions = ("mean", "sum", "none")

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        name = type(self).__name__
        reduction = legacy_reduction(name, size_average, reduce, reduction)
        self.reduction = _check_reduction(name, reduction, self._reductions)



class L1Loss(_Loss):
    """Mean absolute error: ``F.l1_loss(input, target, reduction)``, as ``torch.nn.L1Loss``."""

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """``F.smooth_l1_loss(input, target, reduction, beta)``, as ``torch.nn.SmoothL1Loss``."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0):
        super().__init__(size_average, reduce, reduction)
        if not float(beta) >= 0:
            raise ValueError(f"SmoothL1Loss: beta must be >= 0, got {beta}")
        self.beta = float(beta)

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)



class HuberLoss(_Loss):
    """``F.huber_loss(input, target, reduction, delta)``, as ``torch.nn.HuberLoss``."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        if not float(delta) > 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta}")
        self.delta = float(delta)

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)



class BCELoss(_Loss):
    """Binary cross-entropy of probabilities: ``F.binary_cross_entropy(input, target, weight,
    reduction)``, as ``torch.nn.BCELoss``; weight broadcastable to the input, or None."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _weight(weight))

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=_weight_like(self.weight, input),
                                      reduction=self.reduction)



class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, stable: ``F.binary_cross_entropy_with_logits(input, target,
    weight, reduction, pos_weight)``, as ``torch.nn.BCEWithLogitsLoss``; pos_weight e.g. (C,)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _weight(weight))
        self.register_buffer("pos_weight", _weight(pos_weight))

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, weight=_weight_like(self.weight, input),
                                                  reduction=self.reduction,
                                                  pos_weight=_weight_like(self.pos_weight, input))



class KLDivLoss(_Loss):
    """``F.kl_div(input, target, reduction, log_target)``, as ``torch.nn.KLDivLoss``: input
    log-probabilities, target probabilities (or log-probabilities with ``log_target=True``)."""

    _reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = bool(log_target)

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

