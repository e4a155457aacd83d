"""Optimizers, gradient clipping and the learning-rate schedule.

PyTorch's names and signatures::

    from minitf import optim
    groups = optim.param_groups_for_weight_decay(model.named_parameters(), 0.1)
    opt = optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99))
    loss.backward()
    optim.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad()

One concept per module: the optimizers (``optimizers.py``; RMSprop, Adagrad and
Adadelta, whose step sizes adapt per coordinate, in ``adaptive.py``; Adamax, NAdam
and RAdam in ``adam_variants.py``; ``rprop.py``, ``asgd.py``, ``lbfgs.py``; weight
averaging in ``swa_utils.py``), gradient clipping
(``clip.py``), nanoGPT's warmup + cosine schedule (``schedule.py``) and the
PyTorch-named schedulers (the package ``lr_scheduler``, as ``optim.lr_scheduler``).
"""
from .optimizers import Optimizer, SGD, Adam, AdamW, param_groups_for_weight_decay  # noqa: F401
from .adaptive import RMSprop, Adagrad, Adadelta  # noqa: F401
from .clip import clip_grad_norm_  # noqa: F401
from .schedule import cosine_with_warmup, CosineWarmupLR  # noqa: F401
from . import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "clip_grad_norm_",
           "param_groups_for_weight_decay",
           "cosine_with_warmup", "CosineWarmupLR",
           "LBFGS",
           # optimizers and schedulers group (round 3): Adadelta eager (adaptive.py); the rest lazy
           "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD", "swa_utils",
           # Muon (orthogonalised momentum for weight matrices) and Adafactor (factored second moments),
           # imported on first use
           "Muon", "Adafactor"]

# quasi-Newton (step(closure) evaluates several times): minitf/optim/lbfgs.py, imported on first use
from .._lazy import lazy_attributes as _lazy_attributes  # noqa: E402


def _submodule(name):
    """``optim.swa_utils`` (torch's module of weight averaging): imported on first use, as the lazy
    optimizers are (its AveragedModel and update_bn are minitf.nn's, handed on when asked for)."""
    if name == "swa_utils":
        import importlib
        return importlib.import_module(".swa_utils", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__getattr__, _lazy_dir = _lazy_attributes(__name__, globals(), {
    "LBFGS": ".lbfgs",
    # optimizers and schedulers group (round 3): Adam's relatives, Rprop, ASGD, imported on first use
    "Adamax": ".adam_variants", "NAdam": ".adam_variants", "RAdam": ".adam_variants",
    "Rprop": ".rprop", "ASGD": ".asgd",
    # Muon and Adafactor: minitf/optim/muon.py, adafactor.py
    "Muon": ".muon", "Adafactor": ".adafactor",
}, fallback=_submodule)


def __dir__():
    return sorted(set(_lazy_dir()) | {"swa_utils"})
