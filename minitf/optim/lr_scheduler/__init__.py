"""Learning-rate schedulers under PyTorch's names; reach them as ``minitf.optim.lr_scheduler``.

    from minitf import optim
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.95 ** epoch)
    for epoch in range(...):
        ...                                  # train: opt.step() for each batch
        sched.step()                         # then the lr for the next epoch
    sched.get_last_lr()                      # [lr of each parameter group]

As in PyTorch, a scheduler sets each group's lr for step 0 when it is built
(remembering the group's lr as ``initial_lr``, its base), and every
``step()`` moves on by one. :class:`CosineWarmupLR` (nanoGPT's warmup then
cosine decay, :func:`minitf.optim.cosine_with_warmup`) is the one defined in
:mod:`minitf.optim`, re-exported here.

One concept per module: the base class (``base.py``), the schedules with a
closed form in the epoch (``chainable.py``), the cycling ones
(``cyclic.py``: OneCycleLR, CyclicLR, CosineAnnealingWarmRestarts), the metric-driven
one (``plateau.py``) and the sequencing and chaining of others (``sequential.py``:
SequentialLR, ChainedScheduler).
Every ``state_dict()`` is plain data (numbers, strings, lists, dicts), which
``minitf.save`` stores without pickle; ``load_state_dict`` then resumes the
schedule exactly.
"""
from ..schedule import CosineWarmupLR, cosine_with_warmup  # noqa: F401
from .base import LRScheduler  # noqa: F401
from .chainable import (LambdaLR, MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, ExponentialLR,  # noqa: F401
                        LinearLR, CosineAnnealingLR)
from .cyclic import OneCycleLR, CosineAnnealingWarmRestarts  # noqa: F401
from .plateau import ReduceLROnPlateau  # noqa: F401
from .sequential import SequentialLR  # noqa: F401
# optimizers and schedulers group (round 3)
from .chainable import PolynomialLR  # noqa: F401
from .cyclic import CyclicLR  # noqa: F401
from .sequential import ChainedScheduler  # noqa: F401

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "ExponentialLR",
           "CosineAnnealingLR", "LinearLR", "SequentialLR", "OneCycleLR", "CosineAnnealingWarmRestarts",
           "ReduceLROnPlateau", "CosineWarmupLR", "cosine_with_warmup",
           # optimizers and schedulers group (round 3)
           "PolynomialLR", "CyclicLR", "ChainedScheduler"]
