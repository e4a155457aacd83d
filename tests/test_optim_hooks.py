"""Optimizer hooks (step, state_dict, load_state_dict; per optimizer and global) and the global
module hooks, against torch 2.13's call order and arguments."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn, optim
from minitf.nn import module as mt_module
from minitf.optim import optimizer as mt_optimizer


def _log_hooks(opt, lib_optimizer, log):
    """Every optimizer hook kind, logging what it was called with (args as (is-the-optimizer, rest))."""
    handles = [
        lib_optimizer.register_optimizer_step_pre_hook(lambda o, a, k: log.append(("gpre", a[0] is o, len(a), k))),
        lib_optimizer.register_optimizer_step_post_hook(lambda o, a, k: log.append(("gpost", len(a), k))),
    ]
    opt.register_step_pre_hook(lambda o, a, k: log.append(("pre", a[0] is o, len(a), k)))
    opt.register_step_post_hook(lambda o, a, k: log.append(("post", len(a), k)))
    opt.register_state_dict_pre_hook(lambda o: log.append("sd_pre"))
    opt.register_state_dict_post_hook(lambda o, sd: log.append(("sd_post", sorted(sd))))
    opt.register_state_dict_pre_hook(lambda o: log.append("sd_pre_first"), prepend=True)
    opt.register_load_state_dict_pre_hook(lambda o, sd: log.append(("ld_pre", sorted(sd))))
    opt.register_load_state_dict_post_hook(lambda o: log.append("ld_post"))
    return handles


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Rprop"])
def test_optimizer_hooks_order_and_arguments_match_torch(name):
    torch = pytest.importorskip("torch")
    import torch.optim.optimizer as t_optimizer
    logs = []
    for lib, lib_opt in ((mt, mt_optimizer), (torch, t_optimizer)):
        p = lib.nn.Parameter(lib.ones(3))
        p.grad = lib.ones(3)
        opt = getattr(lib.optim, name)([p], lr=0.1)
        log = []
        handles = _log_hooks(opt, lib_opt, log)
        try:
            opt.step()
            opt.step(closure=None)
            opt.load_state_dict(opt.state_dict())
        finally:
            for h in handles:
                h.remove()
        logs.append(log)
    assert logs[0] == logs[1]
    assert logs[0][:4] == [("gpre", True, 1, {}), ("pre", True, 1, {}), ("post", 1, {}), ("gpost", 1, {})]


def test_hooks_run_once_through_an_override_that_calls_super():
    p = nn.Parameter(mt.ones(2))
    p.grad = mt.ones(2)
    opt = optim.LBFGS([p], lr=0.1)          # its state_dict calls Optimizer.state_dict
    calls = []
    opt.register_state_dict_post_hook(lambda o, sd: calls.append("sd"))
    opt.register_step_pre_hook(lambda o, a, k: calls.append("step"))
    opt.step(lambda: (p * p).sum())
    opt.state_dict()
    assert calls == ["step", "sd"]

    class MySGD(optim.SGD):
        def step(self, closure=None):
            calls.append("inner")
            return super().step(closure)
    opt2 = MySGD([p], lr=0.1)
    opt2.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt2.step()
    assert calls[-2:] == ["inner", "post"]


def test_hooks_may_change_what_is_loaded_and_returned():
    p = nn.Parameter(mt.ones(2))
    opt = optim.SGD([p], lr=0.1)
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    sd = opt.state_dict()
    assert sd["extra"] == 1
    opt.register_load_state_dict_pre_hook(lambda o, sd: {"state": {}, "param_groups": [{**sd["param_groups"][0],
                                                                                         "lr": 0.5}]})
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == 0.5 and sd["param_groups"][0]["lr"] == 0.1
    opt.register_step_pre_hook(lambda o, a, k: ((o,), {"closure": lambda: mt.tensor(3.0)}))
    p.grad = mt.ones(2)
    assert opt.step().item() == 3.0
    opt.register_step_pre_hook(lambda o, a, k: 5)
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        opt.step()
    with pytest.raises(TypeError, match="callable"):
        opt.register_step_post_hook(None)


def test_removed_step_hooks_do_not_run():
    p = nn.Parameter(mt.ones(2))
    p.grad = mt.ones(2)
    opt, calls = optim.SGD([p], lr=0.1), []
    h1 = opt.register_step_pre_hook(lambda *a: calls.append(1))
    h2 = mt_optimizer.register_optimizer_step_post_hook(lambda *a: calls.append(2))
    h1.remove()
    h2.remove()
    opt.step()
    assert calls == [] and np.allclose(p.numpy(), 0.9)


# ------------------------------------------------------------ global module hooks


def test_global_module_hooks_run_before_the_modules_own_as_torch():
    torch = pytest.importorskip("torch")
    import torch.nn.modules.module as t_module
    logs = []
    for lib, lib_module in ((mt, mt_module), (torch, t_module)):
        net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Tanh())
        log = []
        net[0].register_forward_pre_hook(lambda m, a: log.append(("own_pre", type(m).__name__)))
        net[0].register_forward_hook(lambda m, a, o: log.append(("own_post", type(m).__name__)))
        handles = [
            lib_module.register_module_forward_pre_hook(lambda m, a: log.append(("pre", type(m).__name__, len(a)))),
            lib_module.register_module_forward_hook(lambda m, a, o: log.append(("post", type(m).__name__,
                                                                                tuple(o.shape)))),
            lib_module.register_module_full_backward_pre_hook(lambda m, go: log.append(("bpre", type(m).__name__))),
            lib_module.register_module_full_backward_hook(
                lambda m, gi, go: log.append(("bw", type(m).__name__, tuple(go[0].shape)))),
        ]
        try:
            x = lib.ones(4, 2, requires_grad=True)
            net(x).sum().backward()
        finally:
            for h in handles:
                h.remove()
        net(x)
        logs.append(log)
    assert logs[0] == logs[1]


def test_global_forward_hook_with_kwargs_and_replacing_the_output():
    m = nn.Linear(2, 2)
    h = mt_module.register_module_forward_hook(lambda mod, a, k, out: out * 0, with_kwargs=True)
    try:
        assert np.all(m(mt.ones(1, 2)).numpy() == 0)
    finally:
        h.remove()
    assert not mt_module._GLOBAL_HOOKS and np.any(m(mt.ones(1, 2)).numpy() != 0)
