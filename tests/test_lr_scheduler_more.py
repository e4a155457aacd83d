"""CyclicLR, PolynomialLR and ChainedScheduler against torch's over 60 steps (lr, momentum, get_last_lr), their
state dicts resuming exactly, and minitf's list of schedulers covering torch's."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import optim

from .test_lr_scheduler_torch import make_opt, sched_mod, snapshot


class Halving:
    """A callable scale_fn with state (its __dict__ goes into the state dict, as torch's)."""

    def __init__(self):
        self.base = 0.5

    def __call__(self, x):
        return self.base ** x


SCHEDULES = {  # name -> (optimizer kind, builder(module, optimizer)); the same arguments for both libraries
    "CyclicLR-triangular-sgd": ("sgd", lambda m, o: m.CyclicLR(o, 0.01, [0.1, 0.05], step_size_up=5)),
    "CyclicLR-triangular2-adam": ("adam", lambda m, o: m.CyclicLR(o, [0.001, 0.002], 0.05, step_size_up=4,
                                                                  step_size_down=7, mode="triangular2")),
    "CyclicLR-exp_range": ("sgd", lambda m, o: m.CyclicLR(o, 0.01, 0.2, step_size_up=6, mode="exp_range",
                                                          gamma=0.97, base_momentum=[0.7, 0.75], max_momentum=0.95)),
    "CyclicLR-scale_fn-cycle": ("sgd", lambda m, o: m.CyclicLR(o, 0.01, 0.1, 3, scale_fn=lambda x: 1 / x,
                                                               cycle_momentum=False)),
    "CyclicLR-scale_fn-iterations": ("adam", lambda m, o: m.CyclicLR(o, 0.01, 0.1, 5, 2, scale_fn=Halving(),
                                                                     scale_mode="iterations")),
    "CyclicLR-down-0": ("sgd", lambda m, o: m.CyclicLR(o, 0.01, 0.1, 4, 0)),
    "PolynomialLR": ("sgd", lambda m, o: m.PolynomialLR(o, total_iters=30, power=2.0)),
    "PolynomialLR-defaults": ("adam", lambda m, o: m.PolynomialLR(o)),
    "PolynomialLR-sqrt": ("sgd", lambda m, o: m.PolynomialLR(o, 45, 0.5)),
    "ChainedScheduler-warmup-decay": ("sgd", lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.1, total_iters=4), m.ExponentialLR(o, gamma=0.95)])),
    "ChainedScheduler-three": ("adam", lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, 0.2, 1.0, 10), m.StepLR(o, 7, 0.5), m.CosineAnnealingLR(o, 20, 0.0)], optimizer=o)),
    "ChainedScheduler-polynomial": ("sgd", lambda m, o: m.ChainedScheduler(
        [m.PolynomialLR(o, 50, 1.5), m.MultiStepLR(o, [10, 20, 20], 0.5)])),
    "SequentialLR-polynomial": ("sgd", lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.1, 1.0, 5), m.PolynomialLR(o, 40, 2.0)], milestones=[5])),
}
STEPS = 60


def drive(lib, name, steps=STEPS):
    kind, build = SCHEDULES[name]
    opt = make_opt(lib, kind)
    sched = build(sched_mod(lib), opt)
    seen = [snapshot(opt) + [sched.get_last_lr()]]
    for _ in range(steps):
        opt.step()
        sched.step()
        seen.append(snapshot(opt) + [sched.get_last_lr()])
    return seen, opt, sched


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_follows_torch_for_60_steps(name):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch's notes about SequentialLR internals
        want, _, _ = drive(torch, name)
    got, _, _ = drive(mt, name)
    assert len(got) == len(want) == STEPS + 1
    for k, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(np.array(g[:2], float), np.array(w[:2], float), rtol=1e-12, atol=1e-15,
                                   err_msg=f"step {k}")
        np.testing.assert_allclose(g[2], w[2], rtol=1e-12, atol=1e-15, err_msg=f"get_last_lr at step {k}")
    assert len({tuple(g[2]) for g in got}) >= 4   # the schedule moves (CyclicLR-down-0: a 4-step sawtooth)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_state_dict_resumes_exactly(tmp_path, name):
    """23 steps, the scheduler's and optimizer's states saved with minitf.save (plain data, no pickle), loaded
    into fresh ones: the next 37 steps give the same lrs and momenta as the uninterrupted run."""
    want, _, _ = drive(mt, name)
    _, opt, sched = drive(mt, name, 23)
    mt.save({"sched": sched.state_dict(), "opt": opt.state_dict()}, tmp_path / "s.npz")
    saved = mt.load(tmp_path / "s.npz")
    kind, build = SCHEDULES[name]
    opt2 = make_opt(mt, kind)
    sched2 = build(optim.lr_scheduler, opt2)
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    got = [snapshot(opt2) + [sched2.get_last_lr()]]
    for _ in range(STEPS - 23):
        opt2.step()
        sched2.step()
        got.append(snapshot(opt2) + [sched2.get_last_lr()])
    assert got == want[23:]


def test_cyclic_state_dict_holds_scale_fn_as_torchs():
    torch = pytest.importorskip("torch")
    for lib in (mt, torch):
        fn = Halving()
        opt = make_opt(lib, "sgd")
        sched = sched_mod(lib).CyclicLR(opt, 0.01, 0.1, 5, scale_fn=fn, scale_mode="iterations")
        fn.base = 0.25
        state = sched.state_dict()
        assert state["_scale_fn_custom"] == {"base": 0.25}
        fresh = Halving()
        sched_mod(lib).CyclicLR(make_opt(lib, "sgd"), 0.01, 0.1, 5, scale_fn=fresh,
                                scale_mode="iterations").load_state_dict(state)
        assert fresh.base == 0.25
        lam = sched_mod(lib).CyclicLR(make_opt(lib, "sgd"), 0.01, 0.1, 5, scale_fn=lambda x: 1.0)
        assert lam.state_dict()["_scale_fn_custom"] is None


def test_every_torch_scheduler_is_in_minitf():
    torch = pytest.importorskip("torch")
    L = torch.optim.lr_scheduler
    theirs = {n for n in dir(L) if isinstance(getattr(L, n), type) and issubclass(getattr(L, n), L.LRScheduler)
              and not n.startswith("_")}   # (_LRScheduler: torch's deprecated alias of LRScheduler)
    assert "CyclicLR" in theirs and "ReduceLROnPlateau" in theirs
    missing = sorted(n for n in theirs if not hasattr(optim.lr_scheduler, n))
    assert missing == []
    assert theirs <= set(optim.lr_scheduler.__all__)


@pytest.mark.parametrize("make,error,match", [
    (lambda o: optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, mode="triangle"), ValueError, "mode"),
    (lambda o: optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=0), ValueError, "step_size_up"),
    (lambda o: optim.lr_scheduler.CyclicLR(o, [0.01], 0.1), ValueError, "base_lr"),
    (lambda o: optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, scale_mode="epochs"), ValueError, "scale_mode"),
    (lambda o: optim.lr_scheduler.CyclicLR(optim.Adagrad(o.param_groups[0]["params"]), 0.01, 0.1), ValueError,
     "cycle_momentum"),
    (lambda o: optim.lr_scheduler.PolynomialLR(o, total_iters=2.5), ValueError, "total_iters"),
    (lambda o: optim.lr_scheduler.ChainedScheduler([]), ValueError, "at least one"),
    (lambda o: optim.lr_scheduler.ChainedScheduler([optim.lr_scheduler.ReduceLROnPlateau(o)]), ValueError,
     "ReduceLROnPlateau"),
    (lambda o: optim.lr_scheduler.ChainedScheduler([optim.lr_scheduler.StepLR(o, 2), optim.lr_scheduler.StepLR(
        make_opt(mt), 3)]), ValueError, "another optimizer"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make(make_opt(mt))


def test_cyclic_lr_without_momentum_works_with_adagrad():
    opt = make_opt(mt)
    ada = optim.Adagrad(opt.param_groups[0]["params"], lr=0.1)
    sched = optim.lr_scheduler.CyclicLR(ada, 0.01, 0.1, step_size_up=2, cycle_momentum=False)
    lrs = []
    for _ in range(4):
        ada.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    np.testing.assert_allclose(lrs, [0.055, 0.1, 0.055, 0.01], rtol=1e-12)
