"""``nn.utils`` as in PyTorch: gradient clipping, defined in :mod:`minitf.optim` and re-exported here.

    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)   # same function as optim.clip_grad_norm_
"""
from ..optim import clip_grad_norm_  # noqa: F401

__all__ = ["clip_grad_norm_"]
