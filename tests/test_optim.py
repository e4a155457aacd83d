"""Optimizers, clipping and the schedule, against the formulas written out in NumPy."""
import math
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import backend, optim
from minitf.tensor import Tensor


def param(values, device):
    return mt.tensor(np.array(values, dtype=np.float64), device=device, requires_grad=True)


def set_grad(p, g):
    p.grad = mt.tensor(np.array(g, dtype=p.data.dtype), device=p.device)


def host(p):
    return backend.to_numpy(p.data)


def run(opt_factory, device, steps=5, seed=0, shapes=((3, 4), (4,))):
    """Parameters and a fixed sequence of gradients; returns (params, grads per step)."""
    rng = np.random.default_rng(seed)
    params = [param(rng.standard_normal(s), device) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(steps)]
    opt = opt_factory(params)
    for gs in grads:
        for p, g in zip(params, gs):
            set_grad(p, g)
        opt.step()
    return params, grads, opt


def adam_reference(p0, grads, lr, b1, b2, eps, wd, decoupled):
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p - lr * wd * p
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


@pytest.mark.parametrize("cls,decoupled", [(optim.AdamW, True), (optim.Adam, False)])
def test_adam_family_matches_formula(device, cls, decoupled):
    rng = np.random.default_rng(1)
    p0 = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    hp = dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.3)
    params, grads, _ = run(lambda ps: cls(ps, **hp), device, steps=6, seed=1)
    for i, p in enumerate(params):
        ref = adam_reference(p0[i], [gs[i] for gs in grads], 0.01, 0.8, 0.95, 1e-6, 0.3, decoupled)
        np.testing.assert_allclose(host(p), ref, rtol=1e-12, atol=1e-14)
    assert params[0].device == device


def test_adam_bias_correction_makes_first_step_lr_sized(device):
    # after one step m_hat / sqrt(v_hat) = g / |g| = sign(g): every coordinate moves by lr
    p = param([1.0, -2.0, 3.0], device)
    set_grad(p, [1e-3, -50.0, 7.0])
    opt = optim.Adam([p], lr=0.1, eps=0.0)
    opt.step()
    np.testing.assert_allclose(host(p), [0.9, -1.9, 2.9], rtol=1e-12)


def test_adamw_decay_is_decoupled_from_the_moments(device):
    # a zero gradient leaves the moments at zero: AdamW only shrinks p by (1 - lr wd) ...
    p = param([2.0, -4.0], device)
    set_grad(p, [0.0, 0.0])
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    opt.step()
    np.testing.assert_array_equal(host(p), np.array([2.0, -4.0]) * (1 - 0.1 * 0.5))
    np.testing.assert_array_equal(opt.state[p]["exp_avg"].numpy(), [0.0, 0.0])
    # ... while Adam's L2 term goes through the moments and moves p by lr * sign(p)
    q = param([2.0, -4.0], device)
    set_grad(q, [0.0, 0.0])
    optim.Adam([q], lr=0.1, weight_decay=0.5, eps=0.0).step()
    np.testing.assert_allclose(host(q), [1.9, -3.9], rtol=1e-12)


@pytest.mark.parametrize("momentum,nesterov,dampening,wd", [(0.0, False, 0.0, 0.0), (0.9, False, 0.0, 0.1),
                                                             (0.9, True, 0.0, 0.0), (0.5, False, 0.3, 0.0)])
def test_sgd_matches_formula(device, momentum, nesterov, dampening, wd):
    rng = np.random.default_rng(2)
    p0 = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    params, grads, _ = run(lambda ps: optim.SGD(ps, lr=0.05, momentum=momentum, nesterov=nesterov,
                                                dampening=dampening, weight_decay=wd), device, seed=2)
    for i, p in enumerate(params):
        ref, buf = p0[i].copy(), None
        for gs in grads:
            g = gs[i] + wd * ref
            if momentum:
                buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
                g = g + momentum * buf if nesterov else buf
            ref = ref - 0.05 * g
        np.testing.assert_allclose(host(p), ref, rtol=1e-12, atol=1e-14)


def test_param_groups_with_different_lr(device):
    a, b = param([1.0, 1.0], device), param([1.0], device)
    opt = optim.SGD([{"params": [a], "lr": 0.5}, {"params": [b]}], lr=0.1)
    set_grad(a, [1.0, 2.0])
    set_grad(b, [1.0])
    opt.step()
    np.testing.assert_allclose(host(a), [0.5, 0.0])
    np.testing.assert_allclose(host(b), [0.9])
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]


def test_step_updates_in_place_without_recording(device):
    p = param([[1.0, 2.0]], device)
    buf = p.data
    set_grad(p, [[0.5, 0.5]])
    opt = optim.AdamW([p])
    opt.step()
    assert p.data is buf and p.is_leaf and p.requires_grad
    opt.zero_grad()
    assert p.grad is None
    set_grad(p, [[0.5, 0.5]])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(backend.to_numpy(p.grad.data), [[0.0, 0.0]])


def test_params_without_grad_are_skipped(device):
    a, b = param([1.0], device), param([2.0], device)
    set_grad(a, [1.0])
    opt = optim.AdamW([a, b])
    opt.step()
    assert host(b).tolist() == [2.0] and b not in opt.state
    assert host(a)[0] != 1.0


@pytest.mark.parametrize("make", [lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.1),
                                  lambda ps: optim.Adam(ps, lr=0.01),
                                  lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9, nesterov=True)])
def test_state_dict_round_trip_resumes_bit_for_bit(device, make):
    rng = np.random.default_rng(3)
    shapes = [(5, 3), (3,)]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(8)]
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]

    def fresh():
        return [mt.tensor(x, device=device, requires_grad=True) for x in init]

    def steps(params, opt, gs):
        for step_grads in gs:
            for p, g in zip(params, step_grads):
                set_grad(p, g)
            opt.step()
            opt.zero_grad()

    ps = fresh()
    opt = make(ps)
    steps(ps, opt, grads[:4])
    snapshot = opt.state_dict()
    saved_params = [host(p).copy() for p in ps]
    steps(ps, opt, grads[4:])  # the uninterrupted run; must not change the snapshot

    ps2 = [mt.tensor(x, device=device, requires_grad=True) for x in saved_params]
    opt2 = make(ps2)
    opt2.load_state_dict(snapshot)
    steps(ps2, opt2, grads[4:])
    for p, q in zip(ps, ps2):
        assert q.dtype == np.float32
        np.testing.assert_array_equal(host(p), host(q))


def test_state_dict_is_a_host_copy_and_has_torch_layout(device):
    p = param([1.0, 2.0], device)
    opt = optim.AdamW([p], lr=0.1, betas=(0.9, 0.99))
    set_grad(p, [1.0, 1.0])
    opt.step()
    sd = opt.state_dict()
    # torch's keys, less capturable and differentiable (which minitf has not)
    assert sd["param_groups"] == [{"lr": 0.1, "betas": [0.9, 0.99], "eps": 1e-8, "weight_decay": 0.01,
                                   "amsgrad": False, "maximize": False, "foreach": None, "fused": None,
                                   "decoupled_weight_decay": True, "params": [0]}]
    step, exp_avg = sd["state"][0]["step"], sd["state"][0]["exp_avg"]
    # torch's types: Tensors, the step a 0-d float32 one; here host copies (torch's are the state's own)
    assert isinstance(step, mt.Tensor) and step.shape == () and step.dtype == mt.float32 and step.item() == 1.0
    assert isinstance(exp_avg, mt.Tensor) and exp_avg.device == "cpu" and exp_avg.shape == (2,)
    before = exp_avg.numpy().copy()
    opt.step()
    np.testing.assert_array_equal(exp_avg.numpy(), before)
    assert opt.state[p]["step"].item() == 2.0 and opt.state[p]["exp_avg"].device == device


def test_load_state_dict_restores_hyper_parameters_and_rejects_mismatches():
    p = param([1.0, 2.0], "cpu")
    opt = optim.AdamW([p], lr=0.1)
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = 0.5
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["betas"] == (0.9, 0.999)
    set_grad(p, [1.0, 1.0])
    opt.step()
    good = opt.state_dict()
    with pytest.raises(ValueError, match="shape"):
        optim.AdamW([param([1.0, 2.0, 3.0], "cpu")]).load_state_dict(good)
    with pytest.raises(ValueError, match="has 1 parameter group.*has 2"):
        optim.AdamW([{"params": [param([1.0], "cpu")]}, {"params": [param([1.0], "cpu")]}]).load_state_dict(good)
    with pytest.raises(ValueError, match="parameters"):
        optim.AdamW([param([1.0, 2.0], "cpu"), param([1.0], "cpu")]).load_state_dict(good)
    with pytest.raises(ValueError, match="not an optimizer state dict"):
        opt.load_state_dict({"model": 1})


def test_constructor_errors():
    p = param([1.0], "cpu")
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        optim.SGD([{"params": [p], "weight_decy": 0.1}], lr=0.1)
    with pytest.raises(ValueError, match="leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        optim.AdamW([p], lr=-1.0)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)


def test_tied_parameter_is_updated_once():
    p = param([1.0], "cpu")
    set_grad(p, [1.0])
    with pytest.warns(UserWarning, match="duplicate parameters") as said:   # torch's warning, at the caller
        opt = optim.SGD([p, p], lr=0.5)
    assert said[0].filename == __file__
    opt.step()
    assert host(p).tolist() == [0.5]


def test_param_groups_for_weight_decay():
    w, b, g, emb = param(np.ones((2, 3)), "cpu"), param([0.0, 0.0], "cpu"), param([1.0], "cpu"), param(np.ones((4, 2)), "cpu")
    frozen = mt.tensor(np.ones((2, 2)))
    named = [("w", w), ("b", b), ("ln.g", g), ("emb", emb), ("head", emb), ("frozen", frozen)]
    decay, no_decay = optim.param_groups_for_weight_decay(named, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert [id(p) for p in decay["params"]] == [id(w), id(emb)]
    assert [id(p) for p in no_decay["params"]] == [id(b), id(g)]
    opt = optim.AdamW([decay, no_decay], lr=0.1)
    for p in (w, b, g, emb):
        set_grad(p, np.zeros(p.shape))
    opt.step()
    np.testing.assert_array_equal(host(w), np.full((2, 3), 0.99))
    np.testing.assert_array_equal(host(b), [0.0, 0.0])  # zero grad, no decay: unchanged
    assert optim.param_groups_for_weight_decay(dict(named), 0.1)[0]["params"][0] is w
    with pytest.raises(TypeError, match="pairs"):
        optim.param_groups_for_weight_decay([w, b], 0.1)


def test_clip_grad_norm(device):
    rng = np.random.default_rng(4)
    gs = [rng.standard_normal((3, 3)), rng.standard_normal(5)]
    ps = [param(np.zeros(g.shape), device) for g in gs]
    for p, g in zip(ps, gs):
        set_grad(p, g)
    expected = math.sqrt(sum(float((g ** 2).sum()) for g in gs))
    total = optim.clip_grad_norm_(ps, 1.0)
    # a 0-d float64 tensor on the gradients' device, as PyTorch returns a tensor
    assert isinstance(total, Tensor) and total.ndim == 0 and total.device == device
    assert total.dtype == np.float64
    assert total.item() == pytest.approx(expected, rel=1e-12)
    clipped = math.sqrt(sum(float((backend.to_numpy(p.grad.data) ** 2).sum()) for p in ps))
    assert clipped == pytest.approx(1.0, rel=1e-5)
    for p, g in zip(ps, gs):  # direction kept
        np.testing.assert_allclose(backend.to_numpy(p.grad.data), g / (expected + 1e-6), rtol=1e-12)
    # under the limit: untouched
    before = [backend.to_numpy(p.grad.data).copy() for p in ps]
    assert optim.clip_grad_norm_(ps, 10.0).item() == pytest.approx(1.0, rel=1e-5)
    for p, b in zip(ps, before):
        np.testing.assert_array_equal(backend.to_numpy(p.grad.data), b)
    # max-norm
    set_grad(ps[0], np.full((3, 3), -3.0))
    assert optim.clip_grad_norm_(ps, 1.0, norm_type=float("inf")).item() == 3.0
    assert np.abs(backend.to_numpy(ps[0].grad.data)).max() == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_nonfinite_and_empty():
    p = param([1.0], "cpu")
    assert optim.clip_grad_norm_([p], 1.0).item() == 0.0
    set_grad(p, [np.inf])
    with pytest.raises(RuntimeError, match="total norm"):
        optim.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("device", ["cpu", "fake"])
def test_clip_grad_norm_nan_norm_poisons_the_gradients_as_pytorch(device):
    """A NaN norm (error_if_nonfinite off) gives NaN gradients on the host and on a device alike,
    as PyTorch's clamp(max_norm / (nan + eps), max=1) does; an inf norm zeroes finite entries."""
    p = mt.tensor(np.zeros(3), device=device)
    p.grad = mt.tensor(np.array([np.nan, 1.0, 2.0]), device=device)
    assert math.isnan(optim.clip_grad_norm_([p], 1.0).item())
    assert np.isnan(p.grad.numpy()).all()
    p.grad = mt.tensor(np.array([np.inf, 1.0, 2.0]), device=device)
    with warnings.catch_warnings():  # inf * 0 in the scaled gradient: NaN, silently as in PyTorch
        warnings.simplefilter("error")
        assert optim.clip_grad_norm_([p], 1.0).item() == math.inf
    np.testing.assert_array_equal(p.grad.numpy()[1:], [0.0, 0.0])


def test_clip_grad_norm_scales_identically_on_the_host_and_a_device():
    """The host skips the pass when nothing is clipped, a device multiplies by min(1, factor):
    both give the same bits."""
    rng = np.random.default_rng(1)
    g = rng.standard_normal((4, 5)).astype(np.float32)
    for max_norm in (0.5, 1e3):
        out = []
        for device in ("cpu", "fake"):
            p = mt.tensor(np.zeros_like(g), device=device)
            p.grad = mt.tensor(g.copy(), device=device)
            optim.clip_grad_norm_([p], max_norm)
            out.append(p.grad.numpy())
        np.testing.assert_array_equal(out[0], out[1])


def test_cosine_with_warmup_values():
    lr, min_lr, w, d = 1e-3, 1e-4, 100, 2000
    f = lambda it: optim.cosine_with_warmup(it, lr, min_lr, w, d)  # noqa: E731
    assert f(0) == pytest.approx(lr / (w + 1))
    assert f(49) == pytest.approx(lr * 50 / 101)
    assert f(w) == pytest.approx(lr)  # peak at the end of warmup
    assert f((w + d) // 2) == pytest.approx(min_lr + 0.5 * (lr - min_lr))
    assert f(d) == pytest.approx(min_lr)
    assert f(d + 1) == min_lr and f(10 * d) == min_lr
    values = [f(i) for i in range(w, d + 1)]
    assert all(a >= b for a, b in zip(values, values[1:]))  # decays monotonically
    warm = [f(i) for i in range(w + 1)]
    assert all(a < b for a, b in zip(warm, warm[1:]))
    assert optim.cosine_with_warmup(5, 1.0, 0.1, 0, 0) == 0.1
    with pytest.raises(ValueError):
        optim.cosine_with_warmup(0, 1.0, 0.1, -1, 10)


def test_cosine_scheduler_object_follows_the_function_and_resumes():
    p = param([1.0], "cpu")
    opt = optim.AdamW([{"params": [p], "lr": 2e-3}], lr=1e-3)
    sched = optim.CosineWarmupLR(opt, warmup_iters=10, lr_decay_iters=50, min_lr=1e-4)
    seen = []
    for it in range(60):
        seen.append(opt.param_groups[0]["lr"])
        sched.step()
    assert seen == [optim.cosine_with_warmup(i, 2e-3, 1e-4, 10, 50) for i in range(60)]
    state = sched.state_dict()
    opt2 = optim.AdamW([param([1.0], "cpu")], lr=5.0)
    sched2 = optim.CosineWarmupLR(opt2, 1, 2)
    sched2.load_state_dict(state)
    assert sched2.get_last_lr() == sched.get_last_lr() == [1e-4]


@pytest.mark.parametrize("make,key", [(lambda ps: optim.AdamW(ps, lr=0.1), "exp_avg"),
                                      (lambda ps: optim.Adam(ps, lr=0.1), "exp_avg_sq"),
                                      (lambda ps: optim.Adam(ps, lr=0.1), "step"),
                                      (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), "momentum_buffer"),
                                      (lambda ps: optim.RMSprop(ps, momentum=0.9, centered=True), "square_avg"),
                                      (lambda ps: optim.RMSprop(ps), "step"),
                                      (lambda ps: optim.Adagrad(ps), "sum")])
def test_load_state_dict_rejects_an_incomplete_per_parameter_state(make, key):
    """A state missing a buffer used to load and then fail at the first step with a bare KeyError."""
    ps = [param([1.0, 2.0], "cpu"), param([3.0], "cpu")]
    opt = make(ps)
    for p in ps:
        set_grad(p, np.ones(p.shape))
    opt.step()
    good = opt.state_dict()

    def broken(change):
        sd = opt.state_dict()
        change(sd["state"][1])
        return sd

    fresh = make([param([1.0, 2.0], "cpu"), param([3.0], "cpu")])
    before = fresh.state_dict()
    if len(opt.state_keys) > 1:
        with pytest.raises(ValueError, match=f"optimizer state of parameter 1 lacks '{key}'"):
            fresh.load_state_dict(broken(lambda s: s.pop(key)))
    # (an empty state is a parameter not stepped yet, and loads)
    with pytest.raises(ValueError, match="optimizer state of parameter 1 has unknown 'not_a_buffer'"):
        fresh.load_state_dict(broken(lambda s: s.update(not_a_buffer=np.zeros(1))))
    after = fresh.state_dict()        # nothing was changed (an Adagrad has a state from the start)
    assert after["param_groups"] == before["param_groups"] and after["state"].keys() == before["state"].keys()
    for i, s in before["state"].items():
        assert s.keys() == after["state"][i].keys()
        assert all(np.array_equal(v, after["state"][i][k]) for k, v in s.items())
    arrays = [k for k, kind in opt.state_keys.items() if kind == "array"]
    with pytest.raises(ValueError, match=f"optimizer state '{arrays[0]}' of parameter 1 has shape \\(2,\\)"):
        fresh.load_state_dict(broken(lambda s: s.update({arrays[0]: np.zeros(2)})))
    with pytest.raises(ValueError, match=f"'{arrays[0]}' of parameter 1 must be an array"):
        fresh.load_state_dict(broken(lambda s: s.update({arrays[0]: 0.0})))
    if "step" in opt.state_keys:
        for bad in (np.ones(1), -1, 1.5, True):
            with pytest.raises(ValueError, match="'step' of parameter 1 must be an int >= 0"):
                fresh.load_state_dict(broken(lambda s: s.update(step=bad)))
    fresh.load_state_dict(good)
    fresh.step()


@pytest.mark.parametrize("device", ["cpu", "fake"])
def test_clip_grad_norm_float16_does_not_overflow_and_norm_zero_counts(device):
    """float16 gradients whose squares sum past 65504 still give the right norm (summed in
    float32, as PyTorch does); norm_type=0 counts the non-zero entries; a negative one is refused."""
    rng = np.random.default_rng(0)
    gs = [(rng.standard_normal(s) * 30).astype(np.float16) for s in ((10, 7), (5,), (3, 4, 2))]
    ps = []
    for g in gs:
        p = mt.tensor(np.zeros_like(g), device=device)
        p.grad = mt.tensor(g.copy(), device=device)
        ps.append(p)
    ref = {k: float(np.linalg.norm(np.concatenate([g.astype(np.float64).ravel() for g in gs]), k))
           for k in (2, 3)}
    for k in (2, 3):
        assert optim.clip_grad_norm_(ps, float("inf"), norm_type=k).item() == pytest.approx(ref[k], rel=1e-3)
    nonzero = sum(int((g != 0).sum()) for g in gs)
    assert optim.clip_grad_norm_(ps, float("inf"), norm_type=0).item() == nonzero
    with pytest.raises(ValueError, match="norm_type must be >= 0"):
        optim.clip_grad_norm_(ps, 1.0, norm_type=-1)


# ----------------------------------------------------------------------------- amsgrad, maximize
def _adam_run(opt_cls, device, steps=6, **kw):
    p = param([0.5, -1.0, 2.0], device)
    opt = opt_cls([p], lr=0.1, betas=(0.9, 0.5), **kw)
    out = []
    for k in range(steps):  # gradients that shrink, so v falls (b2 = 0.5) and amsgrad's max differs from v
        set_grad(p, [(2.0 - 0.3 * k) * s for s in (1.0, -0.5, 0.25)])
        opt.step()
        out.append(host(p).copy())
    return out, opt


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW])
def test_amsgrad_divides_by_the_running_max_of_v(device, cls):
    plain, _ = _adam_run(cls, device, amsgrad=False)
    ams, opt = _adam_run(cls, device, amsgrad=True)
    np.testing.assert_array_equal(plain[0], ams[0])  # step 1: v_max = v
    assert not np.allclose(plain[-1], ams[-1])        # later v falls below its max
    st = opt.state[opt.param_groups[0]["params"][0]]
    assert (host_arr(st["max_exp_avg_sq"]) >= host_arr(st["exp_avg_sq"])).all()
    assert (host_arr(st["max_exp_avg_sq"]) > host_arr(st["exp_avg_sq"])).any()
    # a round trip through state_dict keeps the max: the next step matches the uninterrupted run's
    sd = opt.state_dict()
    assert "max_exp_avg_sq" in sd["state"][0] and sd["param_groups"][0]["amsgrad"] is True
    p = opt.param_groups[0]["params"][0]
    q = mt.tensor(host(p), device=device, requires_grad=True)
    opt2 = cls([q], lr=0.1, betas=(0.9, 0.5), amsgrad=True)
    opt2.load_state_dict(sd)
    for t, o in ((p, opt), (q, opt2)):
        set_grad(t, [0.1, 0.1, 0.1])
        o.step()
    np.testing.assert_array_equal(host(p), host(q))


def host_arr(a):
    return a.numpy() if isinstance(a, mt.Tensor) else backend.to_numpy(a)


def test_maximize_ascends(device):
    up, _ = _adam_run(optim.Adam, device, steps=1, maximize=True)
    down, _ = _adam_run(optim.Adam, device, steps=1)
    np.testing.assert_allclose(up[0] - [0.5, -1.0, 2.0], -(down[0] - [0.5, -1.0, 2.0]), rtol=1e-6)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("kw", [dict(amsgrad=True), dict(amsgrad=True, weight_decay=0.1),
                                dict(amsgrad=True, maximize=True), dict(maximize=True, weight_decay=0.05)])
def test_amsgrad_and_maximize_match_torch(name, kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    w0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) * (3.0 - 0.5 * k) for k in range(5)]
    p, pt = mt.tensor(w0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    opt = getattr(optim, name)([p], lr=0.05, betas=(0.8, 0.9), **kw)
    opt_t = getattr(torch.optim, name)([pt], lr=0.05, betas=(0.8, 0.9), **kw)
    for g in grads:
        p.grad, pt.grad = mt.tensor(g), torch.tensor(g)
        opt.step()
        opt_t.step()
        np.testing.assert_allclose(p.numpy(), pt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(opt.state_dict()["state"][0]["max_exp_avg_sq"] if kw.get("amsgrad") else 0,
                               opt_t.state_dict()["state"][0]["max_exp_avg_sq"].numpy() if kw.get("amsgrad") else 0,
                               rtol=1e-12)


def test_a_state_dict_from_before_amsgrad_loads():
    p = param([1.0, 2.0], "cpu")
    opt = optim.Adam([p], lr=0.1, amsgrad=True)
    sd = opt.state_dict()
    for k in ("amsgrad", "maximize"):  # what a checkpoint written before these options holds
        del sd["param_groups"][0][k]
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["amsgrad"] is True and opt.param_groups[0]["maximize"] is False
