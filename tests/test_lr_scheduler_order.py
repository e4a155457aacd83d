"""torch's warning when the first scheduler.step() comes before any optimizer.step() (the schedule's
first value is skipped), and when optimizer.step was replaced after the scheduler was made."""
import warnings

import pytest

import minitf as mt
from minitf import nn, optim
from minitf.optim import lr_scheduler as L

SCHEDULERS = {
    "StepLR": lambda o: L.StepLR(o, 2), "LambdaLR": lambda o: L.LambdaLR(o, lambda e: 0.5 ** e),
    "OneCycleLR": lambda o: L.OneCycleLR(o, 0.1, total_steps=10),
    "SequentialLR": lambda o: L.SequentialLR(o, [L.StepLR(o, 2), L.ExponentialLR(o, 0.5)], [2]),
    "ReduceLROnPlateau": lambda o: L.ReduceLROnPlateau(o),
    "CosineAnnealingWarmRestarts": lambda o: L.CosineAnnealingWarmRestarts(o, 2),
}


def order_warnings(lib, name, optimizer_first, override=False):
    opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1, momentum=0.9)
    sched = SCHEDULERS[name](opt) if lib is mt else TORCH[name](lib, opt)
    if override:
        opt.step = lambda closure=None: None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            if optimizer_first:
                opt.step()
            sched.step(1.0) if name == "ReduceLROnPlateau" else sched.step()
    return [str(w.message).split(".")[0] for w in caught if w.category is UserWarning]


TORCH = {
    "StepLR": lambda t, o: t.optim.lr_scheduler.StepLR(o, 2),
    "LambdaLR": lambda t, o: t.optim.lr_scheduler.LambdaLR(o, lambda e: 0.5 ** e),
    "OneCycleLR": lambda t, o: t.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=10),
    "SequentialLR": lambda t, o: t.optim.lr_scheduler.SequentialLR(
        o, [t.optim.lr_scheduler.StepLR(o, 2), t.optim.lr_scheduler.ExponentialLR(o, 0.5)], [2]),
    "ReduceLROnPlateau": lambda t, o: t.optim.lr_scheduler.ReduceLROnPlateau(o),
    "CosineAnnealingWarmRestarts": lambda t, o: t.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 2),
}


@pytest.mark.parametrize("name", ["StepLR", "LambdaLR", "OneCycleLR", "SequentialLR"])
def test_scheduler_before_optimizer_warns_once(name):
    # SequentialLR: once for each schedule it starts (torch checks each one's first step)
    expected = ["Detected call of `lr_scheduler"] * (2 if name == "SequentialLR" else 1)
    assert order_warnings(mt, name, optimizer_first=False) == expected
    assert order_warnings(mt, name, optimizer_first=True) == []
    assert order_warnings(mt, name, optimizer_first=True, override=True) == \
        ["Seems like `optimizer"] * (2 if name == "SequentialLR" else 1)


def test_the_optimizer_keeps_working_once_wrapped():
    p = nn.Parameter(mt.ones(2))
    opt = optim.SGD([p], lr=0.5)
    L.StepLR(opt, 1)
    L.StepLR(opt, 1)                       # wrapped once, not twice
    p.grad = mt.ones(2)
    assert opt.step(lambda: mt.tensor(3.0)).item() == 3.0
    assert p.numpy().tolist() == [0.5, 0.5] and opt._opt_called


@pytest.mark.parametrize("name", SCHEDULERS)
def test_warnings_match_torch(name):
    torch = pytest.importorskip("torch")
    for first in (False, True):
        assert order_warnings(mt, name, first) == order_warnings(torch, name, first), (name, first)
