"""``torch.nn.utils.clip_grad`` under its module name: the clipping functions of
:mod:`minitf.optim.clip` (one implementation, two import paths)."""
from ...optim.clip import (clip_grad_norm, clip_grad_norm_, clip_grad_value_,  # noqa: F401
                           clip_grads_with_norm_, get_total_norm)

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]
