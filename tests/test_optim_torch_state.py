"""Optimizer state as torch keeps it: opt.state is a defaultdict keyed by the parameter, its values
Tensors ('step' a 0-d float32 tensor); step(closure) for every optimizer; (name, param) pairs as
params (torch 2.13); a custom Optimizer written as torch's docs show; states saved by earlier
minitf (NumPy arrays, int steps) and by torch still load and resume exactly."""
import collections

import numpy as np
import pytest

import minitf as mt
from minitf import nn, optim

OPTIMIZERS = {
    "SGD": dict(lr=0.1, momentum=0.9), "Adam": dict(lr=0.01), "AdamW": dict(lr=0.01, amsgrad=True),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True), "Adagrad": dict(lr=0.1),
}


def problem(lib, seed=0):
    """A tiny least-squares model and a closure that computes its loss and gradients."""
    lib.manual_seed(seed)
    model = lib.nn.Linear(3, 2)
    rng = np.random.default_rng(seed)
    x = lib.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    y = lib.tensor(rng.standard_normal((5, 2)).astype(np.float32))
    return model, x, y


def make_closure(model, opt, x, y):
    def closure():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss
    return closure


def test_tensor_hashes_by_identity():
    a, b = mt.ones(2), mt.ones(2)
    assert hash(a) == object.__hash__(a) and hash(a) != hash(b)
    d = {a: 1, b: 2}
    assert d[a] == 1 and d[b] == 2 and len(d) == 2


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_is_keyed_by_the_parameter_and_holds_tensors(name, device):
    p = nn.Parameter(mt.tensor([1.0, -2.0], device=device))
    opt = getattr(optim, name)([p], **OPTIMIZERS[name])
    assert isinstance(opt.state, collections.defaultdict)
    p.grad = mt.tensor([0.5, 0.25], device=device)
    opt.step()
    st = opt.state[p]
    assert st and all(isinstance(v, mt.Tensor) for v in st.values())
    for k, v in st.items():
        if k == "step":
            assert v.shape == () and v.dtype == mt.float32 and v.device == "cpu" and v.item() == 1.0
        else:
            assert v.shape == p.shape and v.dtype == p.dtype and v.device == device, k


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_layout_matches_torch(name):
    torch = pytest.importorskip("torch")
    layouts = []
    for lib in (mt, torch):
        p = lib.nn.Parameter(lib.tensor([1.0, -2.0]))
        opt = getattr(lib.optim, name)([p], **OPTIMIZERS[name])
        for _ in range(2):
            p.grad = lib.tensor([0.5, 0.25])
            opt.step()
        layouts.append({k: (type(v).__name__, tuple(v.shape), str(v.dtype).replace("torch.", ""), float(v.sum()))
                        for k, v in opt.state[p].items()})
    assert layouts[0].keys() == layouts[1].keys()
    for k in layouts[0]:
        assert layouts[0][k][:3] == layouts[1][k][:3], k
        assert layouts[0][k][3] == pytest.approx(layouts[1][k][3], rel=1e-5), k


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_with_a_closure_returns_its_loss(name):
    model, x, y = problem(mt)
    opt = getattr(optim, name)(model.parameters(), **OPTIMIZERS[name])
    closure = make_closure(model, opt, x, y)
    with mt.no_grad():       # the closure runs with gradients enabled, as torch's
        first = opt.step(closure)
    losses = [first.item()] + [opt.step(closure).item() for _ in range(20)]
    assert isinstance(first, mt.Tensor) and losses[-1] < losses[0]
    assert opt.step() is None


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_closure_steps_match_torch(name):
    torch = pytest.importorskip("torch")
    traces = []
    for lib in (mt, torch):
        model, x, y = problem(lib)
        with lib.no_grad():
            model.weight.copy_(lib.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)))
            model.bias.copy_(lib.tensor([0.1, -0.2]))
        opt = getattr(lib.optim, name)(model.parameters(), **OPTIMIZERS[name])
        closure = make_closure(model, opt, x, y)
        traces.append([opt.step(closure).item() for _ in range(5)])
    np.testing.assert_allclose(traces[0], traces[1], rtol=1e-5)


def test_named_parameters_as_params_as_torch():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.param_groups[0]["params"] == [model.weight, model.bias] or \
        all(a is b for a, b in zip(opt.param_groups[0]["params"], [model.weight, model.bias]))
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    groups = optim.AdamW([{"params": model.named_parameters(), "lr": 0.2}], lr=0.1)
    assert groups.param_groups[0]["lr"] == 0.2 and groups.param_groups[0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="with/without names"):
        optim.SGD([{"params": [("w", model.weight)]}, {"params": [model.bias]}], lr=0.1)
    opt2 = optim.SGD(model.named_parameters(), lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.param_groups[0]["param_names"] == ["weight", "bias"]


def test_named_parameters_state_dict_matches_torch():
    torch = pytest.importorskip("torch")
    sds = []
    for lib in (mt, torch):
        opt = lib.optim.SGD(lib.nn.Linear(2, 1).named_parameters(), lr=0.1)
        g = opt.state_dict()["param_groups"][0]
        sds.append((g["param_names"], g["params"]))
    assert sds[0] == sds[1]


def custom_optimizer(lib):
    """The custom optimizer of torch's documentation, written against ``lib`` (minitf or torch)."""
    class MomentumSGD(lib.optim.Optimizer):
        def __init__(self, params, lr=1e-3, momentum=0.9):
            defaults = dict(lr=lr, momentum=momentum)
            super().__init__(params, defaults)

        @lib.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with lib.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = 0
                        state["momentum_buffer"] = lib.zeros_like(p)
                    buf = state["momentum_buffer"]
                    buf.mul_(group["momentum"]).add_(p.grad)
                    p.add_(buf, alpha=-group["lr"])
                    state["step"] += 1
            return loss
    return MomentumSGD


def run_custom(lib):
    model, x, y = problem(lib)
    with lib.no_grad():
        model.weight.copy_(lib.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)))
        model.bias.copy_(lib.tensor([0.1, -0.2]))
    opt = custom_optimizer(lib)(model.parameters(), lr=0.05)
    closure = make_closure(model, opt, x, y)
    losses = [opt.step(closure).item() for _ in range(6)]
    return losses, opt


def test_a_custom_optimizer_written_as_torch_docs_show():
    losses, opt = run_custom(mt)
    assert losses[-1] < losses[0]
    sd = opt.state_dict()
    assert sd["state"][0]["step"] == 6 and sd["state"][0]["momentum_buffer"].shape == (2, 3)
    _, other = run_custom(mt)
    other.load_state_dict(sd)
    st = other.state[other.param_groups[0]["params"][0]]
    assert st["step"] == 6 and isinstance(st["momentum_buffer"], mt.Tensor)


def test_a_custom_optimizer_matches_torch():
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(run_custom(mt)[0], run_custom(torch)[0], rtol=1e-5)


def adam_run(sd=None, steps=3):
    model, x, y = problem(mt, seed=1)
    opt = optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1)
    if sd is not None:
        model.load_state_dict(sd[0])
        opt.load_state_dict(sd[1])
    closure = make_closure(model, opt, x, y)
    for _ in range(steps):
        opt.step(closure)
    return model, opt


def test_states_of_earlier_minitf_and_of_torch_load_and_resume_exactly():
    whole, _ = adam_run(steps=5)
    model, opt = adam_run(steps=2)
    new = opt.state_dict()
    # earlier minitf's state_dict (what its checkpoints hold): NumPy arrays and an int step
    old = {"state": {i: {k: (int(v.item()) if k == "step" else v.numpy()) for k, v in s.items()}
                     for i, s in new["state"].items()},
           "param_groups": new["param_groups"]}
    for sd in (new, old):
        resumed, _ = adam_run((model.state_dict(), sd), steps=3)
        for a, b in zip(whole.parameters(), resumed.parameters()):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="'step' of parameter 0 must be an int >= 0"):
        bad = {**old, "state": {0: {**old["state"][0], "step": 2.5}, 1: old["state"][1]}}
        adam_run((model.state_dict(), bad))


def test_a_torch_optimizer_state_loads():
    torch = pytest.importorskip("torch")
    tmodel, x, y = problem(torch, seed=1)
    topt = torch.optim.AdamW(tmodel.parameters(), lr=0.01, weight_decay=0.1)
    make_closure(tmodel, topt, x, y)()
    topt.step()
    sd = topt.state_dict()
    model, opt = adam_run(steps=0)
    opt.load_state_dict({"state": sd["state"], "param_groups": [
        {k: v for k, v in sd["param_groups"][0].items() if k in opt.param_groups[0] or k == "params"}]})
    st = opt.state[model.weight]
    assert st["step"].item() == 1.0 and st["step"].dtype == mt.float32
    np.testing.assert_array_equal(st["exp_avg"].numpy(), sd["state"][0]["exp_avg"].numpy())
