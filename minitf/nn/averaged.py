"""Weight averaging over a Module, as ``torch.optim.swa_utils``'s AveragedModel and update_bn.

Both are modules' business (an AveragedModel is a Module holding a copy of one; update_bn runs
a model over a loader and resets its BatchNorms), so they live in minitf.nn, under the optimizers
in the layer order; ``minitf.optim.swa_utils`` (torch's path) hands them on when first asked for::

    from minitf.optim.swa_utils import AveragedModel, SWALR, update_bn
"""
from __future__ import annotations

import copy

from ..autograd import no_grad
from .batchnorm import _BatchNorm
from .module import Module

__all__ = ["AveragedModel", "update_bn"]


class AveragedModel(Module):
    """A running average of a model's weights, as ``torch.optim.swa_utils.AveragedModel``.

    Holds a deep copy of ``model`` (moved to ``device`` if given) as ``.module``
    and the buffer ``n_averaged`` (int64, the number of models averaged). Each
    :meth:`update_parameters` first copies the model's weights, then averages:
    ``avg_fn(averaged, current, n_averaged)`` returns each new average,
    ``multi_avg_fn(averaged_list, current_list, n_averaged)`` updates the lists
    in place (one call per device and dtype); with neither, the equal-weight
    average (SWA). ``use_buffers=True`` averages the buffers too (BatchNorm's
    running statistics, so no :func:`update_bn` is needed); otherwise they are
    copied from the model. ``forward`` calls the averaged module.
    """

    def __init__(self, model: Module, device=None, avg_fn=None, multi_avg_fn=None, use_buffers: bool = False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            # torch raises an AssertionError; an argument error here, with its meaning
            raise ValueError("AveragedModel: give only one of avg_fn and multi_avg_fn")
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: expected a minitf nn.Module, got {type(model).__name__}")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        from ..creation import tensor
        self.register_buffer("n_averaged", tensor(0, dtype="int64", device=device))   # (cpu if None, as torch)
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, bool(use_buffers)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _tensors(self, model: Module) -> list:
        if self.use_buffers:
            return list(model.parameters()) + list(model.buffers())
        return list(model.parameters())

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights (of the same architecture) into the average."""
        mine = [t.detach() for t in self._tensors(self.module)]
        theirs = [t.detach().to(a.device) for a, t in zip(mine, self._tensors(model))]
        count = int(self.n_averaged.item())
        with no_grad():
            if count == 0:
                for a, p in zip(mine, theirs):
                    a.copy_(p)
            elif self.avg_fn is not None:
                n = self.n_averaged
                for a, p in zip(mine, theirs):
                    a.copy_(self.avg_fn(a, p, n.to(a.device)))
            else:
                groups = {}   # (device, dtype) -> ([averages], [currents]), as torch groups them
                for a, p in zip(mine, theirs):
                    pair = groups.setdefault((str(a.device), str(a.dtype)), ([], []))
                    pair[0].append(a)
                    pair[1].append(p)
                for mine_g, theirs_g in groups.values():
                    n = self.n_averaged.to(mine_g[0].device)
                    if self.multi_avg_fn is not None:
                        self.multi_avg_fn(mine_g, theirs_g, n)
                    else:   # the equal-weight average, by torch's CPU rule: a <- a + (p - a) / (n + 1)
                        for a, p in zip(mine_g, theirs_g):
                            a.copy_(a + (p - a) / (n + 1))
            if not self.use_buffers:   # the buffers follow the model
                for b, mb in zip(self.module.buffers(), model.buffers()):
                    b.copy_(mb.detach().to(b.device))
            self.n_averaged.add_(1)


def update_bn(loader, model: Module, device=None) -> None:
    """Recompute the BatchNorm running statistics of ``model`` over one pass of ``loader``, as torch's.

    Every BatchNorm's statistics are reset and then accumulated as a cumulative
    average (momentum None) over the batches, in training mode, without
    gradients; the momenta and the training flag are put back afterwards. A
    batch that is a list or tuple contributes its first element (the inputs);
    ``device`` moves each batch first. A model without BatchNorm is left as it is.
    """
    momenta = {}
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.reset_running_stats()
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None
    try:
        with no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None:
                    batch = batch.to(device)
                model(batch)
    finally:
        for m, momentum in momenta.items():
            m.momentum = momentum
        model.train(was_training)
