"""nn.CTCLoss: the connectionist temporal classification loss as a module, over F.ctc_loss."""
from __future__ import annotations

from .. import functional as F
from .loss import _Loss


class CTCLoss(_Loss):
    """``F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction,
    zero_infinity)``, as ``torch.nn.CTCLoss``.

    log_probs (T, N, C) or (T, C); targets (N, S) padded or 1-D concatenated; input_lengths,
    target_lengths (N,). reduction 'mean' (each loss over its target length, then the batch mean),
    'sum' or 'none' -> (N,). Printed without arguments, as torch's (``CTCLoss()``).
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = int(blank), bool(zero_infinity)

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=self.blank,
                          reduction=self.reduction, zero_infinity=self.zero_infinity)
