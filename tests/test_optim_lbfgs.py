"""optim.LBFGS against torch 2.13's in float64: the iterates on Rosenbrock's function and on a
small logistic regression, with and without the strong-Wolfe line search; history limits,
tolerances, the closure requirement, errors, and the state dict round trip. Also the
optimizers' repr in torch's layout."""
import numpy as np
import pytest

import minitf as mt
from minitf import optim

torch = pytest.importorskip("torch")


def _rosenbrock(L, xy):
    x, y = xy[0], xy[1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def _logistic_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = (X @ np.array([1.5, -2.0, 0.5]) + 0.3 * rng.standard_normal(40) > 0).astype(np.float64)
    return X, y


def _run(L, problem, steps, device="cpu", **kw):
    """The parameters after each step, and each step's returned loss."""
    if problem == "rosenbrock":
        params = [L.tensor([-1.5, 2.0], dtype=L.float64, requires_grad=True)]
        if L is mt:
            params = [p.to(device).detach().requires_grad_() for p in params]
        f = lambda: _rosenbrock(L, params[0])  # noqa: E731
    else:
        X, y = _logistic_data()
        Xt, yt = L.tensor(X, dtype=L.float64), L.tensor(y, dtype=L.float64)
        params = [L.zeros(3, dtype=L.float64, requires_grad=True), L.zeros(1, dtype=L.float64, requires_grad=True)]
        if L is mt:
            Xt, yt = Xt.to(device), yt.to(device)
            params = [p.to(device).detach().requires_grad_() for p in params]
        F = mt.nn.functional if L is mt else torch.nn.functional

        def f():
            logits = Xt @ params[0] + params[1]
            return F.binary_cross_entropy_with_logits(logits, yt) + 0.01 * (params[0] ** 2).sum()
    opt = (optim.LBFGS if L is mt else torch.optim.LBFGS)(params, **kw)

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss

    trace = []
    for _ in range(steps):
        loss = opt.step(closure)
        trace.append((loss.item(), [p.detach().cpu().numpy().copy() if L is torch else p.numpy().copy()
                                    for p in params]))
    return trace, opt


CASES = [("rosenbrock", dict(lr=1, max_iter=10)),
         ("rosenbrock", dict(lr=1, max_iter=20, line_search_fn="strong_wolfe")),
         ("rosenbrock", dict(lr=0.5, max_iter=5, history_size=3)),
         ("rosenbrock", dict(lr=1, max_iter=10, max_eval=12, history_size=2, line_search_fn="strong_wolfe")),
         ("logistic", dict(lr=1, max_iter=15)),
         ("logistic", dict(lr=1, max_iter=15, line_search_fn="strong_wolfe")),
         ("logistic", dict(lr=0.8, max_iter=4, tolerance_change=1e-5, tolerance_grad=1e-4))]


@pytest.mark.parametrize("problem,kw", CASES, ids=[f"{p}-{kw}" for p, kw in CASES])
def test_iterates_match_torch(problem, kw):
    ours, opt = _run(mt, problem, 4, **kw)
    theirs, topt = _run(torch, problem, 4, **kw)
    for k, ((lo, po), (lt, pt)) in enumerate(zip(ours, theirs)):
        # float64 throughout; only the order of the dot products' sums differs (BLAS vs NumPy):
        # 1e-13 after a step. (Fixed steps of lr=1 on Rosenbrock amplify it ~1000-fold per 20
        # iterations, hence max_iter=10 in that case.)
        np.testing.assert_allclose(lo, lt, rtol=1e-8, atol=1e-15, err_msg=f"step {k} loss")
        for a, b in zip(po, pt):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=f"step {k} params")
    s, ts = opt.state[opt.param_groups[0]["params"][0]], topt.state[topt.param_groups[0]["params"][0]]
    assert s["func_evals"] == ts["func_evals"] and s["n_iter"] == ts["n_iter"]
    assert len(s["old_dirs"]) == len(ts["old_dirs"]) <= kw.get("history_size", 100)


def test_converges_on_rosenbrock_and_runs_on_the_device(device):
    trace, _ = _run(mt, "rosenbrock", 8, device=device, line_search_fn="strong_wolfe")
    np.testing.assert_allclose(trace[-1][1][0], [1.0, 1.0], atol=1e-5)  # from (-1.5, 2), f = 12.5


def test_state_dict_round_trip_continues_exactly():
    full, _ = _run(mt, "logistic", 4, max_iter=3, line_search_fn="strong_wolfe")
    X, y = _logistic_data()
    Xt, yt = mt.tensor(X, dtype=mt.float64), mt.tensor(y, dtype=mt.float64)
    F = mt.nn.functional

    def make(params):
        o = optim.LBFGS(params, max_iter=3, line_search_fn="strong_wolfe")

        def closure():
            o.zero_grad()
            loss = F.binary_cross_entropy_with_logits(Xt @ params[0] + params[1], yt) + 0.01 * (params[0] ** 2).sum()
            loss.backward()
            return loss
        return o, closure

    params = [mt.zeros(3, dtype=mt.float64, requires_grad=True), mt.zeros(1, dtype=mt.float64, requires_grad=True)]
    o, closure = make(params)
    o.step(closure)
    o.step(closure)
    sd = o.state_dict()
    n, dirs = sd["state"][0]["n_iter"], [a.numpy().copy() for a in sd["state"][0]["old_dirs"]]
    assert n >= 3 and len(dirs) >= 1 and sd["state"][0]["old_dirs"][0] is not o.state[params[0]]["old_dirs"][0]
    o.step(closure)  # the snapshot is a copy: later steps leave it alone
    assert o.state[params[0]]["n_iter"] > n == sd["state"][0]["n_iter"]
    assert all(np.array_equal(a.numpy(), b) for a, b in zip(sd["state"][0]["old_dirs"], dirs))
    assert sd["param_groups"][0]["line_search_fn"] == "strong_wolfe"
    resumed = [mt.tensor(full[1][1][0], requires_grad=True), mt.tensor(full[1][1][1], requires_grad=True)]
    o2, closure2 = make(resumed)
    o2.load_state_dict(sd)
    o2.step(closure2)
    o2.step(closure2)
    np.testing.assert_array_equal(resumed[0].numpy(), full[3][1][0])   # bit for bit
    np.testing.assert_array_equal(resumed[1].numpy(), full[3][1][1])


def test_loads_torchs_state_dict():
    theirs, topt = _run(torch, "rosenbrock", 2, max_iter=4)
    ours_params = [mt.tensor(theirs[-1][1][0], requires_grad=True)]
    o = optim.LBFGS(ours_params, max_iter=4)
    o.load_state_dict(topt.state_dict())
    tp = topt.param_groups[0]["params"]

    def tclosure():
        topt.zero_grad()
        loss = _rosenbrock(torch, tp[0])
        loss.backward()
        return loss

    def closure():
        o.zero_grad()
        loss = _rosenbrock(mt, ours_params[0])
        loss.backward()
        return loss
    o.step(closure)
    topt.step(tclosure)
    np.testing.assert_allclose(ours_params[0].numpy(), tp[0].detach().numpy(), rtol=1e-9)


def test_arguments_and_errors():
    p = mt.tensor([1.0, 2.0], dtype=mt.float64, requires_grad=True)
    o = optim.LBFGS([p])
    g = o.param_groups[0]
    assert (g["lr"], g["max_iter"], g["max_eval"], g["tolerance_grad"], g["tolerance_change"], g["history_size"],
            g["line_search_fn"]) == (1, 20, 25, 1e-7, 1e-9, 100, None)
    assert optim.LBFGS([p], max_iter=8).param_groups[0]["max_eval"] == 10   # max_iter * 5 // 4, as torch
    with pytest.raises(TypeError):
        o.step()   # the closure is required, as torch's step(closure)
    with pytest.raises(ValueError, match="line_search_fn must be None or 'strong_wolfe'"):
        optim.LBFGS([p], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.LBFGS([p], lr=-1)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [p]}, {"params": [mt.tensor([1.0], requires_grad=True)]}])
    with pytest.raises(ValueError, match="has 3 elements, the parameters have 2"):
        o.load_state_dict({"state": {0: {"d": mt.zeros(3), "n_iter": 1}}, "param_groups": [{"params": [0]}]})


def test_a_zero_gradient_returns_at_once():
    p = mt.tensor([1.0, 1.0], dtype=mt.float64, requires_grad=True)
    o = optim.LBFGS([p])
    calls = []

    def closure():
        calls.append(1)
        o.zero_grad()
        loss = _rosenbrock(mt, p)   # the minimum: gradient 0
        loss.backward()
        return loss
    assert o.step(closure).item() == 0.0 and len(calls) == 1 and p.tolist() == [1.0, 1.0]


def test_step_is_warning_free():
    import warnings
    p = mt.tensor([-1.0, 1.0], dtype=mt.float64, requires_grad=True)
    o = optim.LBFGS([p], line_search_fn="strong_wolfe")

    def closure():
        o.zero_grad()
        loss = _rosenbrock(mt, p)
        loss.backward()
        return loss
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o.step(closure)


def _torch_repr_of_our_keys(topt, ours):
    """torch's repr with only the lines of hyper-parameters minitf's optimizer has."""
    keys = {k for g in ours.param_groups for k in g}
    lines = [ln for ln in repr(topt).split("\n") if not ln.startswith("    ") or ln.split(":")[0].strip() in keys]
    return "\n".join(lines)


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                     ("Adam", {}), ("AdamW", dict(betas=(0.8, 0.9))), ("RMSprop", {}),
                                     ("Adagrad", {}), ("LBFGS", {}), ("LBFGS", dict(line_search_fn="strong_wolfe"))])
def test_optimizer_repr_is_torchs(name, kw):
    ours = getattr(optim, name)([mt.tensor([1.0], requires_grad=True)], **kw)
    theirs = getattr(torch.optim, name)([torch.tensor([1.0], requires_grad=True)], **kw)
    assert repr(ours) == _torch_repr_of_our_keys(theirs, ours)


def test_optimizer_repr_of_several_groups_is_torchs():
    a, b = mt.tensor([1.0], requires_grad=True), mt.tensor([2.0], requires_grad=True)
    ta, tb = torch.tensor([1.0], requires_grad=True), torch.tensor([2.0], requires_grad=True)
    ours = optim.AdamW([{"params": [a]}, {"params": [b], "lr": 0.5, "weight_decay": 0.0}])
    theirs = torch.optim.AdamW([{"params": [ta]}, {"params": [tb], "lr": 0.5, "weight_decay": 0.0}])
    assert repr(ours) == _torch_repr_of_our_keys(theirs, ours)
    assert repr(ours).startswith("AdamW (\nParameter Group 0\n    amsgrad: False\n")


@pytest.mark.parametrize("name,args", [("StepLR", (2,)), ("ExponentialLR", (0.9,)), ("ReduceLROnPlateau", ()),
                                       ("CosineAnnealingLR", (5,))])
def test_lr_scheduler_repr_is_torchs(name, args):
    ours = getattr(optim.lr_scheduler, name)(optim.SGD([mt.tensor([1.0], requires_grad=True)], lr=0.1), *args)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch.optim.SGD([torch.tensor([1.0], requires_grad=True)],
                                                                     lr=0.1), *args)
    strip = lambda r: r.rsplit(" at 0x", 1)[0]  # noqa: E731  (the address differs)
    assert strip(repr(ours)) == strip(repr(theirs)).replace("torch.", "minitf.")
    assert repr(ours).endswith(f" at {id(ours):#x}>")
