"""optim.swa_utils (AveragedModel, SWALR, update_bn, the avg_fn makers) against torch.optim.swa_utils."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn, optim

swa_utils = optim.swa_utils


def build(lib):
    """Linear -> BatchNorm1d -> Linear in float64 (the same layout in both libraries)."""
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Linear(4, 2)).double() \
        if lib is not mt else nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).double()


def as_numpy(t):
    return t.numpy() if isinstance(t, mt.Tensor) else t.detach().numpy()


def load(lib, model, arrays):
    make = mt.tensor if lib is mt else lib.tensor
    model.load_state_dict({k: make(np.array(v, copy=True)) for k, v in arrays.items()})


def rounds(seed=0, n=5):
    """n sets of weights (and a batch each, which moves the BatchNorm statistics in training mode)."""
    rng = np.random.default_rng(seed)
    shapes = {"0.weight": (4, 3), "0.bias": (4,), "1.weight": (4,), "1.bias": (4,), "2.weight": (2, 4),
              "2.bias": (2,)}
    out = []
    for _ in range(n):
        w = {k: rng.standard_normal(s) for k, s in shapes.items()}
        w.update({"1.running_mean": np.zeros(4), "1.running_var": np.ones(4), "1.num_batches_tracked": np.array(0)})
        out.append((w, rng.standard_normal((8, 3))))
    return out


def averaged(lib, kind, use_buffers, device=None):
    su = swa_utils if lib is mt else lib.optim.swa_utils
    fns = {"swa": {}, "ema-avg": dict(avg_fn=su.get_ema_avg_fn(0.8)), "ema-multi": dict(multi_avg_fn=su.get_ema_multi_avg_fn(0.8)),
           "swa-avg": dict(avg_fn=su.get_swa_avg_fn()), "swa-multi": dict(multi_avg_fn=su.get_swa_multi_avg_fn())}[kind]
    model = build(lib)
    if device is not None:
        model = model.to(device)
    avg = su.AveragedModel(model, use_buffers=use_buffers, **fns)
    for k, (w, x) in enumerate(rounds()):
        load(lib, model, w)
        if k:   # a training-mode forward: the BatchNorm statistics move (and num_batches_tracked)
            model(mt.tensor(x, device=device or "cpu") if lib is mt else lib.tensor(x))
            model(mt.tensor(x * 2 + 1, device=device or "cpu") if lib is mt else lib.tensor(x * 2 + 1))
        avg.update_parameters(model)
    return avg


@pytest.mark.parametrize("use_buffers", [False, True], ids=["params", "buffers"])
@pytest.mark.parametrize("kind", ["swa", "ema-avg", "ema-multi", "swa-avg", "swa-multi"])
def test_averaged_model_matches_torch(kind, use_buffers):
    """Five models folded in: every entry of the state dict (the averages, the buffers, n_averaged) as torch's."""
    torch = pytest.importorskip("torch")
    if kind == "swa-multi" and use_buffers:   # the integer num_batches_tracked: torch refuses, and so does minitf
        with pytest.raises(RuntimeError, match="addcdiv"):
            averaged(torch, kind, use_buffers)
        with pytest.raises(mt.errors.DtypeError, match="cannot average a tensor of dtype int64"):
            averaged(mt, kind, use_buffers)
        return
    mine, theirs = averaged(mt, kind, use_buffers).state_dict(), averaged(torch, kind, use_buffers).state_dict()
    assert list(mine) == list(theirs)
    for k in theirs:
        np.testing.assert_allclose(as_numpy(mine[k]), as_numpy(theirs[k]), rtol=1e-12, atol=1e-14, err_msg=k)
        assert as_numpy(mine[k]).dtype == as_numpy(theirs[k]).dtype, k
    assert int(mine["n_averaged"].item()) == 5
    last = rounds()[-1][0]["0.weight"]
    assert not np.allclose(as_numpy(mine["module.0.weight"]), last)   # an average, not the last weights


def test_the_default_average_is_the_mean_and_forward_calls_the_module(device):
    avg = averaged(mt, "swa", False, device=device)
    want = np.mean([w["2.weight"] for w, _ in rounds()], axis=0)
    np.testing.assert_allclose(avg.module[2].weight.numpy(), want, rtol=1e-12)
    assert avg.module[2].weight.device == device
    x = mt.randn(5, 3, dtype="float64", device=device)
    avg.eval()
    np.testing.assert_array_equal(avg(x).numpy(), avg.module(x).numpy())


def test_update_bn_matches_torch():
    torch = pytest.importorskip("torch")
    w, _ = rounds()[0]
    batches = [np.random.default_rng(k).standard_normal((6, 3)) * (k + 1) for k in range(4)]
    out = {}
    for lib in (mt, torch):
        model = build(lib)
        load(lib, model, w)
        model.eval()
        make = mt.tensor if lib is mt else lib.tensor
        loader = [(make(b), make(np.zeros(6))) for b in batches]   # (inputs, targets) pairs: the inputs are used
        (swa_utils if lib is mt else lib.optim.swa_utils).update_bn(loader, model)
        assert not model.training and model[1].momentum == 0.1   # both put back
        out[lib] = {k: as_numpy(v) for k, v in model.state_dict().items()}
    for k in out[torch]:
        np.testing.assert_allclose(out[mt][k], out[torch][k], rtol=1e-12, atol=1e-14, err_msg=k)
    assert out[mt]["1.num_batches_tracked"] == 4


def test_update_bn_leaves_a_model_without_batchnorm_alone():
    model = nn.Linear(3, 2)
    before = model.weight.numpy().copy()
    swa_utils.update_bn([mt.randn(2, 3)], model)
    np.testing.assert_array_equal(model.weight.numpy(), before)


SWALR_CASES = {"cos": dict(swa_lr=0.05, anneal_epochs=5), "linear": dict(swa_lr=[0.01, 0.2], anneal_epochs=3,
                                                                          anneal_strategy="linear"),
               "no-anneal": dict(swa_lr=0.03, anneal_epochs=0), "defaults": dict(swa_lr=0.02)}


def drive_swalr(lib, case, steps=30, state=None):
    w = [mt.zeros(2, requires_grad=True), mt.zeros(2, requires_grad=True)] if lib is mt else \
        [lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)]
    groups = [{"params": [w[0]], "lr": 0.5}, {"params": [w[1]], "lr": 0.1}]
    opt = optim.SGD(groups, lr=1.0) if lib is mt else lib.optim.SGD(groups, lr=1.0)
    sched = (swa_utils if lib is mt else lib.optim.swa_utils).SWALR(opt, **SWALR_CASES[case])
    seen = [sched.get_last_lr()]
    for k in range(steps):
        if k == 7 and state is not None:   # a fresh scheduler (and optimizer groups) from the state at step 7
            sched.load_state_dict(state[0])
            for g, lr in zip(opt.param_groups, state[1]):
                g["lr"] = lr
        opt.step()
        sched.step()
        seen.append(sched.get_last_lr())
        if k == 6:
            saved = (sched.state_dict(), [g["lr"] for g in opt.param_groups])
    return seen, saved


@pytest.mark.parametrize("case", sorted(SWALR_CASES))
def test_swalr_matches_torch_and_resumes(case):
    torch = pytest.importorskip("torch")
    got, saved = drive_swalr(mt, case)
    want, _ = drive_swalr(torch, case)
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-12, atol=1e-15)
    assert np.allclose(got[-1], np.broadcast_to(SWALR_CASES[case]["swa_lr"], 2))   # annealed to swa_lr
    assert "anneal_func" not in saved[0]
    resumed, _ = drive_swalr(mt, case, state=saved)
    assert resumed[8:] == got[8:]


@pytest.mark.parametrize("make,match", [
    (lambda: swa_utils.get_ema_multi_avg_fn(1.5), "decay"),
    (lambda: swa_utils.get_ema_avg_fn(-0.1), "decay"),
    (lambda: swa_utils.AveragedModel(nn.Linear(2, 2), avg_fn=swa_utils.get_swa_avg_fn(),
                                     multi_avg_fn=swa_utils.get_swa_multi_avg_fn()), "only one"),
    (lambda: swa_utils.SWALR(optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1), 0.01, anneal_strategy="step"),
     "anneal_strategy"),
    (lambda: swa_utils.SWALR(optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1), 0.01, anneal_epochs=-1),
     "anneal_epochs"),
    (lambda: swa_utils.SWALR(optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1), [0.01, 0.02]), "swa_lr"),
])
def test_bad_arguments_are_value_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
