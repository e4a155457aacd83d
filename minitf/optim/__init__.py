"""Optimizers, gradient clipping and the learning-rate schedule.

PyTorch's names and signatures::

    from minitf import optim
    groups = optim.param_groups_for_weight_decay(model.named_parameters(), 0.1)
    opt = optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99))
    loss.backward()
    optim.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad()

One concept per module: the optimizers (``optimizers.py``; RMSprop and Adagrad,
whose step sizes adapt per coordinate, in ``adaptive.py``), gradient clipping
(``clip.py``), nanoGPT's warmup + cosine schedule (``schedule.py``) and the
PyTorch-named schedulers (the package ``lr_scheduler``, as ``optim.lr_scheduler``).
"""
from .optimizers import Optimizer, SGD, Adam, AdamW, param_groups_for_weight_decay  # noqa: F401
from .adaptive import RMSprop, Adagrad  # noqa: F401
from .clip import clip_grad_norm_  # noqa: F401
from .schedule import cosine_with_warmup, CosineWarmupLR  # noqa: F401
from . import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "clip_grad_norm_",
           "param_groups_for_weight_decay",
           "cosine_with_warmup", "CosineWarmupLR",
           "LBFGS"]

# quasi-Newton (step(closure) evaluates several times): minitf/optim/lbfgs.py, imported on first use
from .._lazy import lazy_attributes as _lazy_attributes  # noqa: E402
__getattr__, __dir__ = _lazy_attributes(__name__, globals(), {"LBFGS": ".lbfgs"})
