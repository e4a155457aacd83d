"""MultiplicativeLR, ConstantLR, SequentialLR, OneCycleLR, CosineAnnealingWarmRestarts and
ReduceLROnPlateau against torch's, step by step; every scheduler's state resumes exactly."""
import math
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import optim

LRS = (0.1, 0.02)


def make_opt(lib, kind="sgd"):
    """Two groups of lr 0.1 and 0.02: SGD with momentum, or Adam."""
    if lib is mt:
        groups = [{"params": [mt.zeros(2, requires_grad=True)], "lr": lr} for lr in LRS]
        return optim.SGD(groups, lr=1.0, momentum=0.9) if kind == "sgd" else optim.Adam(groups, lr=1.0)
    groups = [{"params": [lib.zeros(2, requires_grad=True)], "lr": lr} for lr in LRS]
    return lib.optim.SGD(groups, lr=1.0, momentum=0.9) if kind == "sgd" else lib.optim.Adam(groups, lr=1.0)


def snapshot(opt):
    """Each group's lr and momentum (SGD's momentum, Adam's first beta)."""
    return [(g["lr"], g["momentum"] if "momentum" in g else g["betas"][0]) for g in opt.param_groups]


def sched_mod(lib):
    return optim.lr_scheduler if lib is mt else lib.optim.lr_scheduler


SCHEDULES = {  # name -> (optimizer kind, scheduler builder, steps); the same arguments for both libraries
    "MultiplicativeLR": ("sgd", lambda m, o: m.MultiplicativeLR(o, [lambda e: 0.9, lambda e: 1 - 0.01 * e]), 15),
    "ConstantLR": ("sgd", lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=4), 10),
    "ConstantLR-0": ("sgd", lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=0), 5),
    "OneCycleLR-cos-sgd": ("sgd", lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.3], total_steps=20), 20),
    "OneCycleLR-linear-adam": ("adam", lambda m, o: m.OneCycleLR(o, max_lr=0.5, epochs=4, steps_per_epoch=5,
                                                                 anneal_strategy="linear", pct_start=0.25), 20),
    "OneCycleLR-three-phase": ("sgd", lambda m, o: m.OneCycleLR(
        o, max_lr=2.0, total_steps=30, three_phase=True, div_factor=10.0, final_div_factor=100.0,
        base_momentum=[0.8, 0.7], max_momentum=0.99), 30),
    "OneCycleLR-no-momentum": ("adam", lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=12,
                                                                 cycle_momentum=False), 12),
    "CosineAnnealingWarmRestarts": ("sgd", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4, eta_min=0.001), 20),
    "CosineAnnealingWarmRestarts-Tmult": ("sgd", lambda m, o: m.CosineAnnealingWarmRestarts(o, 3, T_mult=2), 40),
    "SequentialLR-warmup-cosine": ("sgd", lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.1, 1.0, 5), m.CosineAnnealingLR(o, 10, 0.001)], milestones=[5]), 25),
    "SequentialLR-three": ("adam", lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, 0.5, 3), m.ExponentialLR(o, 0.8), m.MultiStepLR(o, [2, 4], 0.5)], [4, 9]), 20),
    "SequentialLR-lambda-step": ("sgd", lambda m, o: m.SequentialLR(
        o, [m.LambdaLR(o, lambda e: (e + 1) / 3), m.StepLR(o, 2, 0.5)], [3]), 12),
    "SequentialLR-restarts": ("sgd", lambda m, o: m.SequentialLR(
        o, [m.ExponentialLR(o, 0.5), m.CosineAnnealingWarmRestarts(o, 3)], [2]), 12),
}


def drive(lib, name, steps=None, scheduler_state=None):
    kind, build, n = SCHEDULES[name]
    opt = make_opt(lib, kind)
    sched = build(sched_mod(lib), opt)
    seen = [snapshot(opt) + [sched.get_last_lr()]]
    for _ in range(steps or n):
        opt.step()
        sched.step()
        seen.append(snapshot(opt) + [sched.get_last_lr()])
    return seen, opt, sched


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_follows_torch_step_by_step(name):
    """The lr and momentum of every group, and get_last_lr(), at every step, to rounding."""
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch's deprecation notes about SequentialLR internals
        want, _, _ = drive(torch, name)
    got, _, _ = drive(mt, name)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert np.allclose(np.array(g[:2], float), np.array(w[:2], float), rtol=1e-12, atol=1e-15), (k, g, w)
        assert g[2] == pytest.approx(w[2], rel=1e-12, abs=1e-15), k


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_state_dict_resumes_exactly_through_minitf_save(tmp_path, name):
    """Stopped halfway, saved with minitf.save (no pickle) with the optimizer and reloaded into
    freshly built objects, the schedule goes on with the same bits as the uninterrupted one."""
    kind, build, n = SCHEDULES[name]
    full, _, _ = drive(mt, name)
    half = n // 2
    _, opt, sched = drive(mt, name, steps=half)
    mt.save({"optim": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ck.npz")
    loaded = mt.load(tmp_path / "ck.npz")
    opt2 = make_opt(mt, kind)
    sched2 = build(optim.lr_scheduler, opt2)          # built first, as PyTorch advises, then loaded
    opt2.load_state_dict(loaded["optim"])
    sched2.load_state_dict(loaded["sched"])
    rest = []
    for _ in range(n - half):
        opt2.step()
        sched2.step()
        rest.append(snapshot(opt2) + [sched2.get_last_lr()])
    assert rest == full[half + 1:]


def test_cosine_warm_restarts_fractional_epochs_follow_torch():
    """step(epoch) with epoch + batch / batches, as PyTorch's docs show, with T_mult 1 and 3."""
    torch = pytest.importorskip("torch")
    for t_mult in (1, 3):
        opt, topt = make_opt(mt), make_opt(torch)
        sched = optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=t_mult, eta_min=0.01)
        tsched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=2, T_mult=t_mult, eta_min=0.01)
        for epoch in range(12):
            for batch in range(5):
                e = epoch + batch / 5
                opt.step()
                topt.step()
                sched.step(e)
                tsched.step(e)
                assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15), e
                assert (sched.T_i, sched.last_epoch) == (tsched.T_i, tsched.last_epoch)
        sched.step()                                  # and on by one from there
        tsched.step()
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        sched.step(-1)


PLATEAUS = {
    "min-rel": dict(mode="min", factor=0.5, patience=2),
    "min-abs-cooldown": dict(mode="min", factor=0.3, patience=1, threshold=0.05, threshold_mode="abs", cooldown=2),
    "max-rel-min_lr": dict(mode="max", factor=0.1, patience=0, threshold=0.01, min_lr=[0.005, 0.0]),
    "max-abs-eps": dict(mode="max", patience=1, threshold_mode="abs", threshold=0.0, eps=0.05),
}


@pytest.mark.parametrize("name", sorted(PLATEAUS))
def test_reduce_lr_on_plateau_follows_torch(tmp_path, name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 6), 0.5 + 0.02 * rng.standard_normal(30)])
    if PLATEAUS[name]["mode"] == "max":
        metrics = -metrics
    opt, topt = make_opt(mt), make_opt(torch)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, **PLATEAUS[name])
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **PLATEAUS[name])
    seen = []
    for k, m in enumerate(metrics):
        opt.step()
        topt.step()
        sched.step(mt.tensor(np.array(m)) if k % 2 else float(m))   # a float64 Tensor or a number
        tsched.step(float(m))
        seen.append(sched.get_last_lr())
        assert seen[-1] == tsched.get_last_lr(), k
        assert (sched.best, sched.num_bad_epochs, sched.cooldown_counter, sched.last_epoch) == \
            (tsched.best, tsched.num_bad_epochs, tsched.cooldown_counter, tsched.last_epoch)
        if k == 15:                                    # resume from here in fresh objects
            mt.save({"optim": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ck.npz")
    assert seen[-1] != seen[0]                         # the lr was cut at least once
    loaded = mt.load(tmp_path / "ck.npz")
    opt2 = make_opt(mt)
    sched2 = optim.lr_scheduler.ReduceLROnPlateau(opt2, **PLATEAUS[name])
    opt2.load_state_dict(loaded["optim"])
    sched2.load_state_dict(loaded["sched"])
    for k, m in enumerate(metrics[16:], start=16):
        sched2.step(float(m))
        assert sched2.get_last_lr() == seen[k], k


def test_reduce_lr_on_plateau_fresh_state_and_counters_saved():
    opt = make_opt(mt)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt)
    state = sched.state_dict()
    assert state["best"] == math.inf and state["num_bad_epochs"] == 0 and state["cooldown_counter"] == 0
    assert state["last_epoch"] == 0 and sched.get_last_lr() == list(LRS)


class Warmup:
    """A callable object: its attributes are saved by LambdaLR's state_dict, as PyTorch's."""

    def __init__(self, n):
        self.n = n

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.n)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning")  # a schedule alone, no training: torch's order warning is meant
def test_lambda_state_keeps_callable_objects_and_skips_functions(tmp_path):
    torch = pytest.importorskip("torch")
    opt = make_opt(mt)
    sched = optim.lr_scheduler.LambdaLR(opt, [Warmup(4), lambda e: 0.9 ** e])
    tsched = torch.optim.lr_scheduler.LambdaLR(make_opt(torch), [Warmup(4), lambda e: 0.9 ** e])
    assert sched.state_dict()["lr_lambdas"] == tsched.state_dict()["lr_lambdas"] == [{"n": 4}, None]
    mt.save(sched.state_dict(), tmp_path / "s.npz")
    other = Warmup(100)
    again = optim.lr_scheduler.LambdaLR(make_opt(mt), [other, lambda e: 0.9 ** e])
    again.load_state_dict(mt.load(tmp_path / "s.npz"))
    assert other.n == 4
    again.step()
    sched.step()
    assert again.get_last_lr() == sched.get_last_lr()
    mult = optim.lr_scheduler.MultiplicativeLR(make_opt(mt), Warmup(3))
    assert mult.state_dict()["lr_lambdas"] == [{"n": 3}, {"n": 3}]


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning")  # a schedule alone, no training: torch's order warning is meant
def test_bad_arguments_are_refused():
    ls = optim.lr_scheduler
    opt = make_opt(mt)
    cases = [
        (lambda: ls.ConstantLR(opt, factor=1.5), "factor must be in"),
        (lambda: ls.ConstantLR(opt, factor=0.0), "factor must be in"),
        (lambda: ls.MultiplicativeLR(opt, [lambda e: 1.0]), "expected 2 lr_lambdas"),
        (lambda: ls.MultiplicativeLR(opt, 0.9), "must be callable"),
        (lambda: ls.OneCycleLR(opt, 1.0), "either total_steps or both epochs"),
        (lambda: ls.OneCycleLR(opt, 1.0, total_steps=0), "total_steps must be a positive integer"),
        (lambda: ls.OneCycleLR(opt, 1.0, epochs=2, steps_per_epoch=1.5), "steps_per_epoch must be a positive"),
        (lambda: ls.OneCycleLR(opt, 1.0, 10, pct_start=1.5), "pct_start must be"),
        (lambda: ls.OneCycleLR(opt, 1.0, 10, anneal_strategy="exp"), "anneal_strategy"),
        (lambda: ls.OneCycleLR(opt, [1.0], 10), "max_lr must have one value per parameter group"),
        (lambda: ls.OneCycleLR(optim.Adagrad([mt.zeros(1, requires_grad=True)]), 1.0, 10), "cycle_momentum"),
        (lambda: ls.CosineAnnealingWarmRestarts(opt, 0), "T_0 must be a positive integer"),
        (lambda: ls.CosineAnnealingWarmRestarts(opt, 2, T_mult=1.5), "T_mult must be an integer"),
        (lambda: ls.ReduceLROnPlateau(opt, factor=1.0), "factor must be in"),
        (lambda: ls.ReduceLROnPlateau(opt, mode="lowest"), "mode must be 'min' or 'max'"),
        (lambda: ls.ReduceLROnPlateau(opt, threshold_mode="pct"), "threshold_mode"),
        (lambda: ls.ReduceLROnPlateau(opt, patience=-1), "patience must be an integer >= 0"),
        (lambda: ls.ReduceLROnPlateau(opt, min_lr=[0.1]), "expected 2 min_lrs"),
        (lambda: ls.SequentialLR(opt, [], []), "at least one scheduler"),
        (lambda: ls.SequentialLR(opt, [ls.StepLR(opt, 2), ls.StepLR(opt, 3)], []), "expected 1 milestones"),
        (lambda: ls.SequentialLR(opt, [ls.ReduceLROnPlateau(opt)], []), "ReduceLROnPlateau"),
        (lambda: ls.SequentialLR(opt, [ls.StepLR(make_opt(mt), 2)], []), "another optimizer"),
        (lambda: ls.SequentialLR(opt, [ls.StepLR(opt, 2)] * 3, [5, 2]), "increasing integers"),
    ]
    for make, match in cases:
        with pytest.raises((ValueError, TypeError), match=match):
            make()
    cycle = ls.OneCycleLR(make_opt(mt), 1.0, total_steps=3)
    for _ in range(3):
        cycle.step()
    with pytest.raises(ValueError, match="tried to step 4 times"):
        cycle.step()
    with pytest.raises(ValueError, match="phase 0 of the cycle has no length"):
        ls.OneCycleLR(make_opt(mt), 1.0, total_steps=10, pct_start=0.1)


def test_one_cycle_drives_rmsprop_momentum_as_torch():
    """OneCycleLR cycles RMSprop's momentum (from 0 at construction): the parameters follow torch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    init, grads = rng.standard_normal((3, 2)), rng.standard_normal((10, 3, 2))
    p, tp = mt.tensor(init.copy(), requires_grad=True), torch.tensor(init, requires_grad=True)
    opt, topt = optim.RMSprop([p], lr=0.01), torch.optim.RMSprop([tp], lr=0.01)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=10)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.05, total_steps=10)
    for g in grads:
        p.grad, tp.grad = mt.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-12, atol=1e-14)
        assert opt.param_groups[0]["momentum"] == pytest.approx(topt.param_groups[0]["momentum"], rel=1e-12)


@pytest.mark.parametrize("build", [
    lambda m, o, e: m.OneCycleLR(o, max_lr=1.0, total_steps=20, last_epoch=e),
    lambda m, o, e: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, last_epoch=e),
    lambda m, o, e: m.ConstantLR(o, factor=0.5, total_iters=8, last_epoch=e),
])
def test_resuming_by_last_epoch_follows_torch(build):
    """Rebuilt with last_epoch=k over the optimizer's restored groups (PyTorch's other way to resume)."""
    torch = pytest.importorskip("torch")

    def run(lib):
        opt = make_opt(lib)
        sched = build(sched_mod(lib), opt, -1)
        for _ in range(6):
            opt.step()
            sched.step()
        opt2 = make_opt(lib)
        opt2.load_state_dict(opt.state_dict())
        sched2 = build(sched_mod(lib), opt2, 5)
        seen = [snapshot(opt2)]
        for _ in range(8):
            opt2.step()
            sched2.step()
            seen.append(snapshot(opt2))
        return seen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = run(torch)
    got = run(mt)
    for k, (g, w) in enumerate(zip(got, want)):
        assert np.allclose(np.array(g, float), np.array(w, float), rtol=1e-12, atol=1e-15), (k, g, w)
