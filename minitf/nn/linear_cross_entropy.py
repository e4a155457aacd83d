"""``nn.LinearCrossEntropyLoss``: a linear head and its cross-entropy as one module (torch 2.13's).

    criterion = nn.LinearCrossEntropyLoss(H, V, options=nn.LinearCrossEntropyOptions())
    loss = criterion(h, targets)           # h (N, H), targets (N,): the (N, V) logits never exist

See :func:`minitf.functional.linear_cross_entropy` for the op and the chunking.
"""
from __future__ import annotations

import math

from .. import functional as F
from ..errors import ArgumentError, ShapeError
from ..ops._util import is_int
from .linear import Linear
from .linear_cross_entropy_options import LinearCrossEntropyOptions
from .loss import _weight, _weight_like
from .module import Module

__all__ = ["LinearCrossEntropyLoss"]


class LinearCrossEntropyLoss(Module):
    """``F.linear_cross_entropy(input, W, target, ...)`` with W a learnt ``Linear``, as torch's.

    The head is ``self.linear = Linear(in_features, num_classes * prod(out_features), bias)``
    (flat storage, torch's state-dict layout); forward reshapes its weight to
    (num_classes, *out_features, in_features). input: (N, in_features) or (in_features,);
    target: class indices (N, *out_features) or probabilities (N, num_classes,
    *out_features). weight: (num_classes,) class weights, a buffer. The other arguments
    are :func:`~minitf.functional.linear_cross_entropy`'s; ``options`` (a
    :class:`LinearCrossEntropyOptions`) turns on the chunked op.
    """

    def __init__(self, in_features: int, num_classes: int, *, out_features=(), bias: bool = False, device=None,
                 dtype=None, reduction: str = "mean", weight=None, ignore_index: int | None = None,
                 label_smoothing: float = 0.0, options: LinearCrossEntropyOptions | None = None):
        super().__init__()
        out_features = tuple(out_features)
        if not all(is_int(d) and d > 0 for d in (num_classes, *out_features)):
            raise ArgumentError(f"LinearCrossEntropyLoss: num_classes and out_features must be positive ints, "
                                f"got {num_classes!r} and {out_features!r}")
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"LinearCrossEntropyLoss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        if options is not None and not isinstance(options, LinearCrossEntropyOptions):
            raise TypeError(f"LinearCrossEntropyLoss: options must be a LinearCrossEntropyOptions or None, "
                            f"got {type(options).__name__}")
        self.num_classes, self.out_features = int(num_classes), tuple(int(d) for d in out_features)
        self.reduction, self.ignore_index = reduction, None if ignore_index is None else int(ignore_index)
        if weight is not None and tuple(weight.shape) != (self.num_classes,):   # torch checks both here
            raise ShapeError(f"LinearCrossEntropyLoss: expected weight shape to be ({self.num_classes},), "
                             f"got {tuple(weight.shape)}")
        if not 0.0 <= float(label_smoothing) <= 1.0:
            raise ArgumentError(f"LinearCrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.label_smoothing, self.options = float(label_smoothing), options
        self.register_buffer("weight", _weight(weight))
        # the head drawn on its device in its dtype, as every layer (not drawn in the default dtype and
        # cast); the class weight stays as given, as torch's
        self.linear = Linear(in_features, self.num_classes * math.prod(self.out_features), bias=bias,
                             device=device, dtype=dtype)

    def forward(self, input, target):
        lin = self.linear
        w = lin.weight.reshape((self.num_classes, *self.out_features, lin.in_features))
        b = None if lin.bias is None else lin.bias.reshape((self.num_classes, *self.out_features))
        return F.linear_cross_entropy(input, w, target, linear_bias=b, weight=_weight_like(self.weight, input),
                                      reduction=self.reduction, ignore_index=self.ignore_index,
                                      label_smoothing=self.label_smoothing, options=self.options)

    def extra_repr(self):
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
                f"out_features={self.out_features}, bias={self.linear.bias is not None}, "
                f"reduction={self.reduction}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}, options={self.options}")
