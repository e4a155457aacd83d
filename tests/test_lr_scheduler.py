"""optim.lr_scheduler: PyTorch's module path and names; LambdaLR against torch's, step by step."""
import pytest

import minitf as mt
from minitf import optim


def two_groups(lrs=(0.1, 0.02)):
    return optim.SGD([{"params": [mt.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs], lr=1.0)


def test_module_path_and_aliases():
    import minitf.optim.lr_scheduler as by_import
    from minitf.optim.lr_scheduler import LambdaLR
    assert by_import is optim.lr_scheduler and LambdaLR is optim.lr_scheduler.LambdaLR
    assert optim.lr_scheduler.CosineWarmupLR is optim.CosineWarmupLR
    assert optim.lr_scheduler.cosine_with_warmup is optim.cosine_with_warmup


def test_lambda_lr_follows_pytorch():
    lambdas = [lambda e: 0.9 ** e, lambda e: 1.0 / (1 + e)]
    opt = two_groups()
    sched = optim.lr_scheduler.LambdaLR(opt, lambdas)
    seen = [sched.get_last_lr()]
    for _ in range(6):
        opt.step()
        sched.step()
        seen.append(sched.get_last_lr())
    assert seen[0] == [0.1, 0.02] and [g["lr"] for g in opt.param_groups] == seen[-1]
    assert seen[3] == pytest.approx([0.1 * 0.9 ** 3, 0.02 / 4], rel=1e-15)
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in (0.1, 0.02)])
    tsched = torch.optim.lr_scheduler.LambdaLR(topt, lambdas)
    want = [tsched.get_last_lr()]
    for _ in range(6):
        topt.step()
        tsched.step()
        want.append(tsched.get_last_lr())
    assert seen == want


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning")  # a schedule alone, no training: torch's order warning is meant
def test_lambda_lr_resumes_from_its_state_dict():
    opt = two_groups()
    sched = optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5 ** e)
    for _ in range(3):
        sched.step()
    state = sched.state_dict()
    # functions are code, not data: None in their place, as PyTorch's state_dict has
    assert state["last_epoch"] == 3 and "optimizer" not in state and state["lr_lambdas"] == [None, None]
    opt2 = two_groups()
    sched2 = optim.lr_scheduler.LambdaLR(opt2, lambda e: 0.5 ** e)
    sched2.load_state_dict(state)
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr() == pytest.approx([0.1 / 16, 0.02 / 16])
    # resuming by last_epoch needs the groups' initial_lr, as in PyTorch
    opt3 = two_groups()
    with pytest.raises(KeyError, match="initial_lr"):
        optim.lr_scheduler.LambdaLR(opt3, lambda e: 1.0, last_epoch=4)


def test_lambda_lr_errors():
    with pytest.raises(ValueError, match="expected 2 lr_lambdas"):
        optim.lr_scheduler.LambdaLR(two_groups(), [lambda e: 1.0])
    with pytest.raises(TypeError, match="lr_lambda must be callable"):
        optim.lr_scheduler.LambdaLR(two_groups(), 0.5)
    with pytest.raises(TypeError, match="expected a minitf optimizer"):
        optim.lr_scheduler.LambdaLR([mt.zeros(1)], lambda e: 1.0)


SCHEDULES = {  # name -> keyword arguments (the same for minitf and torch)
    "StepLR": dict(step_size=3, gamma=0.5),
    "MultiStepLR": dict(milestones=[7, 2, 11], gamma=0.3),
    "ExponentialLR": dict(gamma=0.9),
    "CosineAnnealingLR": dict(T_max=8, eta_min=0.001),
    "LinearLR": dict(start_factor=0.25, end_factor=0.9, total_iters=6),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_follow_pytorch_step_by_step(name):
    """30 steps (past T_max and the milestones) of two groups: the lrs match torch's to rounding
    (torch updates step by step, minitf uses the closed form)."""
    torch = pytest.importorskip("torch")
    opt = two_groups()
    sched = getattr(optim.lr_scheduler, name)(opt, **SCHEDULES[name])
    topt = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in (0.1, 0.02)])
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **SCHEDULES[name])
    for _ in range(30):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
        opt.step()
        sched.step()
        topt.step()
        tsched.step()


def _run(lib, make, steps=12, set_lr_at=None, last_epoch=None):
    """The lrs of the first group over ``steps`` steps of the schedulers ``make(lib, opt)`` builds."""
    if lib is optim:
        opt = two_groups()
    else:
        opt = lib.optim.SGD([{"params": [lib.zeros(2, requires_grad=True)], "lr": lr} for lr in (0.1, 0.02)])
    if last_epoch is not None:   # resuming: the groups' initial_lr and lr as a checkpoint would restore them
        for g in opt.param_groups:
            g["initial_lr"], g["lr"] = g["lr"], g["lr"] * 0.3
    scheds = make(lib, opt)
    seen = []
    for k in range(steps):
        opt.step()
        for sc in scheds:
            sc.step()
        if k == set_lr_at:
            opt.param_groups[0]["lr"] = 0.05                    # set by hand: the schedules go on from it
        seen.append(opt.param_groups[0]["lr"])
    return seen


CHAINS = {
    "StepLR + ExponentialLR": lambda m, o: [m.optim.lr_scheduler.StepLR(o, 3, 0.5),
                                            m.optim.lr_scheduler.ExponentialLR(o, 0.9)],
    "LinearLR + CosineAnnealingLR": lambda m, o: [m.optim.lr_scheduler.LinearLR(o, 0.2, 1.0, 4),
                                                  m.optim.lr_scheduler.CosineAnnealingLR(o, 6, 0.001)],
    "MultiStepLR (repeated milestone)": lambda m, o: [m.optim.lr_scheduler.MultiStepLR(o, [2, 5, 5], 0.5)],
}
RESUMED = {
    "StepLR": lambda m, o: [m.optim.lr_scheduler.StepLR(o, 3, 0.5, last_epoch=4)],
    "ExponentialLR": lambda m, o: [m.optim.lr_scheduler.ExponentialLR(o, 0.9, last_epoch=4)],
    "LinearLR": lambda m, o: [m.optim.lr_scheduler.LinearLR(o, 0.25, 1.0, 8, last_epoch=2)],
    "CosineAnnealingLR": lambda m, o: [m.optim.lr_scheduler.CosineAnnealingLR(o, 5, 0.0, last_epoch=3)],
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_schedules_chain_and_keep_a_hand_set_lr_as_pytorch(name):
    """PyTorch's schedules scale the lr a group has now: two on one optimizer compose, and an lr
    set by hand carries on."""
    torch = pytest.importorskip("torch")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch's warning about the order of step() calls
        want = _run(torch, CHAINS[name], set_lr_at=6)
    assert _run(mt, CHAINS[name], set_lr_at=6) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("name", sorted(RESUMED))
def test_schedules_resume_from_last_epoch_as_pytorch(name):
    torch = pytest.importorskip("torch")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _run(torch, RESUMED[name], last_epoch=True)
    assert _run(mt, RESUMED[name], last_epoch=True) == pytest.approx(want, rel=1e-12)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning")  # a schedule alone, no training: torch's order warning is meant
def test_scheduler_state_round_trips_and_bad_values_are_refused():
    opt = two_groups()
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(5):
        sched.step()
    state = sched.state_dict()
    again = optim.lr_scheduler.StepLR(two_groups(), step_size=2, gamma=0.5)
    again.load_state_dict(state)
    assert again.last_epoch == sched.last_epoch == 5 and again.get_last_lr() == sched.get_last_lr()
    with pytest.raises(ValueError, match="StepLR: step_size must be a whole number >= 1"):
        optim.lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="LinearLR: start_factor must be in"):
        optim.lr_scheduler.LinearLR(opt, start_factor=0)


@pytest.mark.parametrize("make", [
    lambda o: optim.lr_scheduler.StepLR(o, step_size=2.5), lambda o: optim.lr_scheduler.MultiStepLR(o, milestones=[1, 2.5]),
    lambda o: optim.lr_scheduler.ConstantLR(o, total_iters=2.5), lambda o: optim.lr_scheduler.LinearLR(o, total_iters=1.5),
    lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=0.5), lambda o: optim.lr_scheduler.StepLR(o, step_size=True)])
def test_a_fractional_epoch_count_is_refused_not_truncated(make):
    # int(2.5) would silently schedule at 2, where PyTorch uses 2.5 as it is
    opt = optim.SGD([mt.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="must be a whole number"):
        make(opt)
