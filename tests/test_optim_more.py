"""Adadelta, Adamax, NAdam, RAdam, Rprop and ASGD against torch.optim's: 20 steps of training a small
model in float64 from the same weights, a state saved mid-run resuming exactly, torch's argument errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import optim

GRID = {  # name -> {case: keywords}, the same for minitf and torch
    "Adadelta": {"defaults": {}, "all": dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1, maximize=True)},
    "Adamax": {"defaults": {}, "all": dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)},
    "NAdam": {"defaults": {}, "l2": dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01),
              "decoupled": dict(lr=0.01, betas=(0.7, 0.95), weight_decay=0.1, decoupled_weight_decay=True,
                                maximize=True)},
    "RAdam": {"defaults": {}, "l2": dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.05),   # rho_t > 5 from step 6
              "decoupled": dict(lr=0.02, betas=(0.8, 0.8), eps=1e-5, weight_decay=0.1, decoupled_weight_decay=True,
                                maximize=True)},
    "Rprop": {"defaults": {}, "all": dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)},
    "ASGD": {"defaults": {}, "averaging": dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1),
             "maximize": dict(lr=0.01, t0=0, maximize=True)},
}
CASES = [(name, case) for name, cases in GRID.items() for case in cases]


def weights(seed=0):
    rng = np.random.default_rng(seed)
    return {"W": rng.standard_normal((3, 4)) * 0.5, "b": rng.standard_normal(4) * 0.1,
            "V": rng.standard_normal((4, 2)) * 0.5}, rng.standard_normal((6, 3)), rng.standard_normal((6, 2))


def loss_of(lib, ps, x, y):
    """A two-layer network's squared error: sum((tanh(x W + b) V - y)^2)."""
    h = lib.tanh(x @ ps["W"] + ps["b"])
    return ((h @ ps["V"] - y) ** 2).sum()


def train(lib, name, hp, steps, init=None, state=None, groups=False):
    """``steps`` steps from ``init`` (or the seed's weights); returns the weights and the optimizer."""
    w0, x, y = weights()
    make = (lambda a: mt.tensor(a, requires_grad=True)) if lib is mt else (lambda a: lib.tensor(a, requires_grad=True))
    ps = {k: make(np.array(v, copy=True)) for k, v in (init or w0).items()}
    x, y = (mt.tensor(x), mt.tensor(y)) if lib is mt else (lib.tensor(x), lib.tensor(y))
    params = ([{"params": [ps["W"], ps["V"]]}, {"params": [ps["b"]], "lr": hp.get("lr", 0.01) * 0.5}]
              if groups else list(ps.values()))
    opt = getattr(optim, name)(params, **hp) if lib is mt else getattr(lib.optim, name)(params, **hp)
    if state is not None:
        opt.load_state_dict(state)
    for _ in range(steps):
        opt.zero_grad()
        loss_of(lib, ps, x, y).backward()
        opt.step()
    return {k: (v.numpy() if lib is mt else v.detach().numpy()) for k, v in ps.items()}, opt


@pytest.mark.parametrize("name,case", CASES)
def test_trajectory_matches_torch(name, case):
    """20 steps (two parameter groups): every parameter and every state entry as torch's, to 1e-12."""
    torch = pytest.importorskip("torch")
    hp = GRID[name][case]
    mine, opt = train(mt, name, hp, 20, groups=True)
    theirs, topt = train(torch, name, hp, 20, groups=True)
    moved = 0.0
    for k in mine:
        np.testing.assert_allclose(mine[k], theirs[k], rtol=1e-12, atol=1e-13, err_msg=k)
        moved = max(moved, np.abs(mine[k] - weights()[0][k]).max())
    assert moved > 1e-3   # the comparison sees a trajectory, not the initial weights
    ms, ts = opt.state_dict(), topt.state_dict()
    assert sorted(ms["state"]) == sorted(ts["state"])
    for i, s in ts["state"].items():
        assert set(ms["state"][i]) == set(s)
        for k, v in s.items():
            np.testing.assert_allclose(np.asarray(ms["state"][i][k].numpy()), v.numpy(), rtol=1e-12, atol=1e-13,
                                       err_msg=f"{i} {k}")
    for mg, tg in zip(ms["param_groups"], ts["param_groups"]):
        for k, v in mg.items():   # the hyper-parameters: torch's names and values
            assert tg[k] == (tuple(v) if isinstance(tg[k], tuple) else v), k


@pytest.mark.parametrize("name,case", CASES)
def test_state_dict_round_trip_continues_identically(name, case):
    """8 steps, the state saved (through minitf.save), 12 more in a fresh optimizer: the same bits as 20
    uninterrupted steps; and torch's own state dict, loaded into minitf, continues as torch does."""
    hp = GRID[name][case]
    straight, _ = train(mt, name, hp, 20)
    half, opt = train(mt, name, hp, 8)
    state = opt.state_dict()
    resumed, _ = train(mt, name, dict(hp, lr=123.0), 12, init=half, state=state)
    for k in straight:
        np.testing.assert_array_equal(resumed[k], straight[k], err_msg=k)
    torch = pytest.importorskip("torch")
    t_half, topt = train(torch, name, hp, 8)
    t_straight, _ = train(torch, name, hp, 20)
    from_torch, _ = train(mt, name, dict(hp, lr=123.0), 12, init=t_half, state=topt.state_dict())
    for k in straight:
        np.testing.assert_allclose(from_torch[k], t_straight[k], rtol=1e-12, atol=1e-13, err_msg=k)


def test_a_state_missing_an_entry_or_of_the_wrong_shape_is_refused():
    _, opt = train(mt, "NAdam", {}, 2)
    state = opt.state_dict()
    del state["state"][0]["mu_product"]
    with pytest.raises(ValueError, match="lacks 'mu_product'"):
        train(mt, "NAdam", {}, 0, state=state)
    _, opt = train(mt, "ASGD", {}, 2)
    state = opt.state_dict()
    state["state"][1]["eta"] = mt.zeros(3)
    with pytest.raises(ValueError, match="'eta' of parameter 1 must be a number"):
        train(mt, "ASGD", {}, 0, state=state)


BAD = [  # (name, keywords) torch refuses with a ValueError; minitf must too, naming the argument
    ("Adadelta", dict(lr=-1.0), "learning rate"), ("Adadelta", dict(rho=1.5), "rho"),
    ("Adadelta", dict(eps=-1.0), "eps"), ("Adadelta", dict(weight_decay=-0.1), "weight_decay"),
    ("Adamax", dict(lr=-1.0), "learning rate"), ("Adamax", dict(betas=(1.0, 0.9)), "betas"),
    ("Adamax", dict(betas=(0.9, -0.1)), "betas"), ("Adamax", dict(eps=-1.0), "eps"),
    ("NAdam", dict(momentum_decay=-1.0), "momentum_decay"), ("NAdam", dict(weight_decay=-1.0), "weight_decay"),
    ("RAdam", dict(betas=(0.9, 1.0)), "betas"), ("RAdam", dict(lr=-0.1), "learning rate"),
    ("Rprop", dict(etas=(1.2, 0.5)), "etas"), ("Rprop", dict(etas=(0.0, 1.2)), "etas"),
    ("Rprop", dict(lr=-1.0), "learning rate"),
    ("ASGD", dict(lr=-1.0), "learning rate"), ("ASGD", dict(weight_decay=-1.0), "weight_decay"),
]


@pytest.mark.parametrize("name,hp,what", BAD, ids=[f"{n}-{w}-{i}" for i, (n, _, w) in enumerate(BAD)])
def test_bad_hyper_parameters_are_value_errors_as_in_torch(name, hp, what):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **hp)
    with pytest.raises(ValueError, match=what):
        getattr(optim, name)([mt.zeros(2, requires_grad=True)], **hp)
    with pytest.raises(ValueError, match=what):   # a group's own value is checked too
        getattr(optim, name)([{"params": [mt.zeros(2, requires_grad=True)], **hp}])


@pytest.mark.parametrize("name", list(GRID))
def test_defaults_are_torchs(name):
    import inspect
    torch = pytest.importorskip("torch")
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    mine = inspect.signature(getattr(optim, name)).parameters
    skip = {"capturable", "differentiable"}
    assert [k for k in mine] == [k for k in theirs if k not in skip]
    for k, p in mine.items():
        if k != "params":
            assert p.default == theirs[k].default, k


@pytest.mark.parametrize("name", list(GRID))
def test_steps_on_the_fake_device_match_the_cpu(name):
    hp = dict(next(iter(GRID[name].values()))) if name != "ASGD" else GRID["ASGD"]["averaging"]
    rng = np.random.default_rng(1)
    init, grads = rng.standard_normal((3, 4)), [rng.standard_normal((3, 4)) for _ in range(5)]
    out = {}
    for device in ("cpu", "fake"):
        p = mt.tensor(init, device=device, requires_grad=True)
        opt = getattr(optim, name)([p], **hp)
        for g in grads:
            p.grad = mt.tensor(g, device=device)
            opt.step()
        assert p.device == device
        out[device] = p.numpy()
    np.testing.assert_array_equal(out["cpu"], out["fake"])
