"""RMSprop and Adagrad against torch.optim's, step by step on the same weights and gradients."""
import numpy as np
import pytest

import minitf as mt
from minitf import backend, checkpoint, optim
from minitf.fakedevice import count_host_transfers

SHAPES = ((3, 4), (4,))

RMSPROP = {  # every option, alone and together; the same keywords for minitf and torch
    "defaults": dict(),
    "weight_decay": dict(lr=0.02, alpha=0.9, eps=1e-6, weight_decay=0.1),
    "momentum": dict(lr=0.01, momentum=0.9),
    "centered": dict(lr=0.01, alpha=0.8, centered=True),
    "all": dict(lr=0.005, alpha=0.95, eps=1e-4, weight_decay=0.05, momentum=0.5, centered=True),
}
ADAGRAD = {
    "defaults": dict(),
    "lr_decay": dict(lr=0.1, lr_decay=0.3),
    "weight_decay": dict(lr=0.05, weight_decay=0.2, eps=1e-6),
    "initial_accumulator_value": dict(lr=0.1, initial_accumulator_value=0.5),
    "all": dict(lr=0.2, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.25, eps=1e-3),
}
CASES = [("RMSprop", k) for k in RMSPROP] + [("Adagrad", k) for k in ADAGRAD]


def kwargs(name, case):
    return (RMSPROP if name == "RMSprop" else ADAGRAD)[case]


def data(seed=0, steps=7):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    return init, grads


def run_minitf(name, hp, device, init, grads, groups=None):
    ps = [mt.tensor(x.copy(), device=device, requires_grad=True) for x in init]
    opt = getattr(optim, name)(ps if groups is None else groups(ps), **hp)
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = mt.tensor(g, device=device)
        opt.step()
    return ps, opt


@pytest.mark.parametrize("name,case", CASES)
def test_matches_torch_step_by_step(device, name, case):
    """Seven steps in float64: every parameter and every state buffer equals torch's to 1e-12."""
    torch = pytest.importorskip("torch")
    hp = kwargs(name, case)
    init, grads = data()
    tps = [torch.tensor(x, requires_grad=True) for x in init]
    topt = getattr(torch.optim, name)(tps, **hp)
    ps = [mt.tensor(x.copy(), device=device, requires_grad=True) for x in init]
    opt = getattr(optim, name)(ps, **hp)
    for gs in grads:
        for p, tp, g in zip(ps, tps, gs):
            p.grad = mt.tensor(g, device=device)
            tp.grad = torch.tensor(g)
        opt.step()
        topt.step()
        for p, tp in zip(ps, tps):
            assert p.dtype == np.float64 and p.device == device
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-12, atol=1e-14)
    mine, theirs = opt.state_dict(), topt.state_dict()
    assert sorted(mine["state"]) == sorted(theirs["state"])
    for i, s in theirs["state"].items():
        assert set(mine["state"][i]) == set(s), (i, set(mine["state"][i]), set(s))
        for k, v in s.items():
            if k == "step":
                assert mine["state"][i][k] == int(v.item())
            else:
                np.testing.assert_allclose(mine["state"][i][k], v.numpy(), rtol=1e-12, atol=1e-14)
    for k, v in mine["param_groups"][0].items():   # the hyper-parameters: torch's names and values
        assert theirs["param_groups"][0][k] == v, k


def test_per_group_hyper_parameters_and_skipped_parameters_as_torch():
    torch = pytest.importorskip("torch")
    init, grads = data(seed=3)
    for name, group_hp in (("RMSprop", dict(momentum=0.7, centered=True)), ("Adagrad", dict(lr_decay=0.5))):
        ps = [mt.tensor(x.copy(), requires_grad=True) for x in init]
        tps = [torch.tensor(x, requires_grad=True) for x in init]
        opt = getattr(optim, name)([{"params": [ps[0]], **group_hp}, {"params": [ps[1]], "lr": 0.003}])
        topt = getattr(torch.optim, name)([{"params": [tps[0]], **group_hp}, {"params": [tps[1]], "lr": 0.003}])
        for k, gs in enumerate(grads):
            for i, (p, tp, g) in enumerate(zip(ps, tps, gs)):
                skip = i == 1 and k % 3 == 0           # no gradient: the parameter is left alone
                p.grad = None if skip else mt.tensor(g)
                tp.grad = None if skip else torch.tensor(g)
            opt.step()
            topt.step()
        for p, tp in zip(ps, tps):
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-12, atol=1e-14)
        assert opt.state_dict()["state"][1]["step"] == int(topt.state_dict()["state"][1]["step"].item())


@pytest.mark.parametrize("name,case", [("RMSprop", "all"), ("RMSprop", "momentum"), ("Adagrad", "all")])
def test_state_dict_resumes_bit_for_bit_through_checkpoints(tmp_path, device, name, case):
    """A run stopped after 3 steps, saved (minitf.save and a training checkpoint, both pickle-free)
    and resumed in a fresh optimizer ends with the same bits as an uninterrupted one, in float32."""
    hp = kwargs(name, case)
    init, grads = data(seed=5, steps=8)
    init = [x.astype(np.float32) for x in init]
    grads = [[g.astype(np.float32) for g in gs] for gs in grads]
    ps, opt = run_minitf(name, hp, device, init, grads[:3])
    saved_params = [p.numpy().copy() for p in ps]
    snapshot = opt.state_dict()
    mt.save({"optim": snapshot}, tmp_path / "obj.npz")
    checkpoint.save_training(tmp_path / "ck.npz", {"p0": saved_params[0], "p1": saved_params[1]}, snapshot,
                             {"iter": 3})
    for gs in grads[3:]:                                 # the uninterrupted run
        for p, g in zip(ps, gs):
            p.grad = mt.tensor(g, device=device)
        opt.step()
    for state in (mt.load(tmp_path / "obj.npz")["optim"],
                  checkpoint.load_training(tmp_path / "ck.npz").optimizer_state):
        qs, opt2 = run_minitf(name, dict(hp, lr=7.0), device, saved_params, [])
        opt2.load_state_dict(state)
        assert opt2.param_groups[0]["lr"] == hp["lr"]
        for gs in grads[3:]:
            for q, g in zip(qs, gs):
                q.grad = mt.tensor(g, device=device)
            opt2.step()
        for p, q in zip(ps, qs):
            assert q.dtype == np.float32
            np.testing.assert_array_equal(p.numpy(), q.numpy())


@pytest.mark.parametrize("name,case", [("RMSprop", "all"), ("Adagrad", "all")])
def test_step_reads_nothing_back_from_the_device(name, case):
    init, grads = data()
    ps = [mt.tensor(x, device="fake", requires_grad=True) for x in init]
    opt = getattr(optim, name)(ps, **kwargs(name, case))
    for gs in grads[:3]:
        for p, g in zip(ps, gs):
            p.grad = mt.tensor(g, device="fake")
        with count_host_transfers() as n:
            opt.step()
        assert n == {"to_host": 0, "to_device": 0}
    assert all(v.device == "fake" for s in opt.state.values() for k, v in s.items() if k != "step")


def test_adagrad_state_exists_from_the_start_as_torch():
    torch = pytest.importorskip("torch")
    init, _ = data()
    opt = optim.Adagrad([mt.tensor(x, requires_grad=True) for x in init], initial_accumulator_value=0.3)
    topt = torch.optim.Adagrad([torch.tensor(x, requires_grad=True) for x in init], initial_accumulator_value=0.3)
    mine, theirs = opt.state_dict()["state"], topt.state_dict()["state"]
    assert sorted(mine) == sorted(theirs) == [0, 1]
    for i in mine:
        assert mine[i]["step"] == 0 and np.array_equal(mine[i]["sum"], theirs[i]["sum"].numpy())
    # a group added later starts with its own accumulator value
    extra = mt.tensor(np.zeros(2), requires_grad=True)
    opt.add_param_group({"params": [extra], "initial_accumulator_value": 2.0})
    assert opt.state[extra]["sum"].tolist() == [2.0, 2.0]


def test_rmsprop_state_entries_follow_the_options_and_load_checks_them():
    init, grads = data()
    _, plain = run_minitf("RMSprop", {}, "cpu", init, grads[:1])
    assert set(plain.state_dict()["state"][0]) == {"step", "square_avg"}
    _, full = run_minitf("RMSprop", RMSPROP["all"], "cpu", init, grads[:1])
    assert set(full.state_dict()["state"][0]) == {"step", "square_avg", "momentum_buffer", "grad_avg"}
    # a plain state loads into a momentum optimizer: the buffer starts at zero, as torch's would
    ps, opt = run_minitf("RMSprop", {}, "cpu", init, [])
    opt.load_state_dict(plain.state_dict())
    opt.param_groups[0]["momentum"] = 0.9
    for p, g in zip(ps, grads[1]):
        p.grad = mt.tensor(g)
    opt.step()
    assert "momentum_buffer" in opt.state[ps[0]]
    bad = plain.state_dict()
    del bad["state"][1]["square_avg"]
    with pytest.raises(ValueError, match="optimizer state of parameter 1 lacks 'square_avg'"):
        opt.load_state_dict(bad)
    bad = full.state_dict()
    bad["state"][0]["grad_avg"] = np.zeros(3)
    with pytest.raises(ValueError, match="'grad_avg' of parameter 0 has shape"):
        opt.load_state_dict(bad)


@pytest.mark.parametrize("name,bad,match", [
    ("RMSprop", dict(lr=-1.0), "learning rate"),
    ("RMSprop", dict(alpha=-0.1), "invalid alpha"),
    ("RMSprop", dict(eps=-1e-8), "invalid eps"),
    ("RMSprop", dict(momentum=-0.5), "invalid momentum"),
    ("RMSprop", dict(weight_decay=-1.0), "weight_decay"),
    ("Adagrad", dict(lr=-0.1), "learning rate"),
    ("Adagrad", dict(lr_decay=-0.1), "invalid lr_decay"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "invalid initial_accumulator_value"),
    ("Adagrad", dict(eps=float("nan")), "invalid eps"),
    ("Adagrad", dict(weight_decay=-1.0), "weight_decay"),
])
def test_bad_hyper_parameters_are_refused_as_torch(name, bad, match):
    """The values torch refuses, each with a message naming it (per group too)."""
    p = mt.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)([p], **bad)
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)([{"params": [p], **bad}])
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **bad)
