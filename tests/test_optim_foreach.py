"""Multi-tensor ("foreach") updates (minitf/optim/multi_tensor.py): the same numbers, bit for
bit, as the per-tensor loop, in a few array operations a group instead of ~14 a tensor."""
import inspect

import numpy as np
import pytest

import minitf as mt
from minitf import fakedevice, optim
from minitf.optim import clip

# shapes that exercise the flat layout: a matrix, a vector, a 0-d scalar, an empty tensor, and a
# transposed (non-contiguous) parameter, whose slice of the flat arrays is written back strided
SHAPES = [(5, 3), (7,), (), (0, 4), (4, 6)]

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, maximize=True)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("Adam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=1e-2, betas=(0.8, 0.95), weight_decay=0.1)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
]


def make_params(device, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for i, s in enumerate(SHAPES):
        a = rng.standard_normal(s).astype(dtype)
        t = mt.tensor(a.T.copy() if i == 4 else a, device=device)
        t = t.t().detach() if i == 4 else t       # (4, 6) as the transpose of a (6, 4) array
        params.append(t.requires_grad_())
    assert not params[4].is_contiguous()
    return params


def train(name, kw, device, foreach, steps=6, dtype=np.float32, groups=False):
    params = make_params(device, dtype)
    arg = [{"params": params[:2]}, {"params": params[2:], "lr": kw["lr"] / 2}] if groups else params
    opt = getattr(optim, name)(arg, foreach=foreach, **kw)
    rng = np.random.default_rng(1)
    for step in range(steps):
        for i, p in enumerate(params):
            # parameter 1 has no gradient on steps 2 and 3: the buckets change and change back
            p.grad = None if (i == 1 and step in (2, 3)) else \
                mt.tensor(rng.standard_normal(p.shape).astype(dtype), device=device)
        opt.step()
    return params, opt


def snapshot(params, opt):
    out = [p.numpy() for p in params]
    for p in params:
        for k, v in sorted(opt.state.get(p, {}).items()):
            out.append(v.numpy())
    return out


@pytest.mark.parametrize("device", ["cpu", "fake"])
@pytest.mark.parametrize("name, kw", CASES)
@pytest.mark.parametrize("groups", [False, True])
def test_foreach_gives_the_per_tensor_numbers_bit_for_bit(name, kw, device, groups):
    per_tensor = snapshot(*train(name, kw, device, foreach=False, groups=groups))
    flat = snapshot(*train(name, kw, device, foreach=True, groups=groups))
    assert len(per_tensor) == len(flat)
    for a, b in zip(per_tensor, flat):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name, kw", [CASES[1], CASES[8]])
def test_float64_and_float32_parameters_in_one_group_each_keep_their_dtype(name, kw):
    a, b = make_params("cpu", np.float32), make_params("cpu", np.float64, seed=2)
    results = {}
    for foreach in (False, True):
        params = [p.detach().clone().requires_grad_() for p in a + b]
        opt = getattr(optim, name)(params, foreach=foreach, **kw)
        for step in range(3):
            for p in params:
                p.grad = mt.ones(p.shape, dtype=p.dtype) * (step + 1)
            opt.step()
        results[foreach] = params
    for p, q in zip(*results.values()):
        assert p.dtype == q.dtype
        assert p.numpy().tobytes() == q.numpy().tobytes()


def test_the_default_is_flat_on_a_device_and_per_tensor_on_the_cpu():
    for device, flat in (("cpu", False), ("fake", True)):
        params, opt = train("AdamW", dict(lr=1e-2), device, foreach=None, steps=2)
        assert bool(getattr(opt, "_flat_states", None)) == flat, device
    _, opt = train("AdamW", dict(lr=1e-2), "cpu", foreach=True, steps=2)
    assert opt._flat_states


def test_state_entries_are_views_of_the_flat_buffers_and_a_replaced_one_is_taken():
    params, opt = train("AdamW", dict(lr=1e-2), "cpu", foreach=True, steps=2)
    entry = next(iter(opt._flat_states.values()))
    p0 = params[0]
    assert np.shares_memory(opt.state[p0]["exp_avg"].data, entry.flats["exp_avg"])
    # a user (or load_state_dict) puts another array in an entry: the next step uses it
    twin_params, twin = train("AdamW", dict(lr=1e-2), "cpu", foreach=False, steps=2)
    for o in (opt, twin):
        ps = params if o is opt else twin_params
        o.state[ps[0]]["exp_avg"].data = np.full(ps[0].shape, 0.25, np.float32)
        for p in ps:
            p.grad = mt.ones(p.shape)
        o.step()
    for a, b in zip(snapshot(params, opt), snapshot(twin_params, twin)):
        assert a.tobytes() == b.tobytes()


def gradients(params, steps=6):
    """train()'s gradients, step by step (lists of arrays, None where it gives none)."""
    rng = np.random.default_rng(1)
    return [[None if (i == 1 and step in (2, 3)) else rng.standard_normal(p.shape).astype(np.float32)
             for i, p in enumerate(params)] for step in range(steps)]


def feed(params, opt, grads, device="fake"):
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = None if g is None else mt.tensor(g, device=device)
        opt.step()


def test_a_loaded_state_dict_resumes_exactly_under_foreach():
    kw = dict(lr=1e-2, weight_decay=0.1, foreach=True)
    params, opt = train("AdamW", dict(lr=1e-2, weight_decay=0.1), "fake", foreach=True, steps=6)
    whole = snapshot(params, opt)
    params, opt = train("AdamW", dict(lr=1e-2, weight_decay=0.1), "fake", foreach=True, steps=3)
    sd, values = opt.state_dict(), [p.numpy() for p in params]
    grads = gradients(params)
    # into a new optimizer
    fresh = [p.detach().clone().requires_grad_() for p in params]
    opt2 = optim.AdamW(fresh, **kw)
    opt2.load_state_dict(sd)
    feed(fresh, opt2, grads[3:])
    # into the same one, whose flat buffers moved on a step meanwhile: they give way to the loaded state
    feed(params, opt, grads[3:4])
    for p, v in zip(params, values):
        p.data[...] = mt.tensor(v, device="fake").data
    opt.load_state_dict(sd)
    feed(params, opt, grads[3:])
    for a, b, c in zip(whole, snapshot(fresh, opt2), snapshot(params, opt)):
        assert a.tobytes() == b.tobytes() == c.tobytes()


def test_each_parameter_version_goes_up_once_a_step():
    for foreach in (False, True):
        params, opt = train("Adam", dict(lr=1e-2), "cpu", foreach=foreach, steps=1)
        before = [p._version for p in params]
        for p in params:
            p.grad = mt.ones(p.shape)
        opt.step()
        assert [p._version for p in params] == [v + 1 for v in before]


def step_ops(name, n_params, foreach, **kw):
    params = [mt.randn(8, 8, device="fake").requires_grad_() for _ in range(n_params)]
    opt = getattr(optim, name)(params, lr=1e-2, foreach=foreach, **kw)
    for _ in range(2):   # the second step, the state made, is the one counted
        for p in params:
            p.grad = mt.ones(8, 8, device="fake")
        with fakedevice.count_device_ops() as n:
            opt.step()
    return n["ops"]


@pytest.mark.parametrize("name, kw", [("AdamW", {}), ("SGD", dict(momentum=0.9))])
def test_foreach_costs_a_few_device_operations_a_tensor_not_a_dozen(name, kw):
    """On a GPU each device operation is a kernel launch: flat, a tensor adds its two reshapes into
    the concatenations and its write-back (slice, reshape, copy); per tensor, its whole update."""
    per_tensor = step_ops(name, 20, False, **kw) - step_ops(name, 10, False, **kw)
    flat = step_ops(name, 20, True, **kw) - step_ops(name, 10, True, **kw)
    assert flat <= 10 * 5, flat
    if name == "AdamW":
        assert per_tensor >= 10 * 13, per_tensor


def test_clip_grad_norm_costs_a_few_device_operations_a_tensor_and_sums_in_order():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) * 10 for s in [(30, 7), (5,), (), (0,), (64, 3)]]
    # the norm: each tensor's float32 dot, widened and added in float64 in the tensors' order
    want = np.float64(0)
    for g in grads:
        want = want + np.float64(np.dot(g.reshape(-1), g.reshape(-1)))
    for device in ("cpu", "fake"):
        ps = [mt.zeros(g.shape, device=device).requires_grad_() for g in grads]
        for p, g in zip(ps, grads):
            p.grad = mt.tensor(g, device=device)
        with fakedevice.count_device_ops() as n:
            total = optim.clip_grad_norm_(ps, 1.0)
        assert total.numpy().tobytes() == np.sqrt(want).tobytes()
        coef = np.float32(min(1.0, 1.0 / (np.sqrt(want) + 1e-6)))
        for p, g in zip(ps, grads):
            assert p.grad.numpy().tobytes() == (g * coef).tobytes()
        if device == "fake":
            assert n["ops"] <= 3 * len(grads) + 12, n["ops"]


def test_mixed_dtype_gradients_widen_each_part_on_its_own():
    a = mt.tensor(np.arange(4, dtype=np.float32), device="fake")
    b = mt.tensor(np.arange(3, dtype=np.float64) + 0.5, device="fake")
    got = clip._partial_norm([a.data, b.data], 2.0)
    assert float(got.item()) == 14.0 + (0.25 + 2.25 + 6.25)


def test_fused_and_foreach_together_are_refused_as_in_torch():
    p = [mt.zeros(2, requires_grad=True)]
    for name in ("SGD", "Adam", "AdamW"):
        with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together"):
            getattr(optim, name)(p, lr=0.1, foreach=True, fused=True)


def test_fused_on_the_cpu_is_the_array_path():
    """No fused kernel on the CPU: fused=True there gives the array path's numbers (torch's CPU
    fused Adam also exists; a nanoGPT that asks for it must still run)."""
    plain = snapshot(*train("AdamW", dict(lr=1e-2), "cpu", foreach=False))
    params = make_params("cpu")
    opt = optim.AdamW(params, lr=1e-2, fused=True)
    rng = np.random.default_rng(1)
    for step in range(6):
        for i, p in enumerate(params):
            p.grad = None if (i == 1 and step in (2, 3)) else mt.tensor(rng.standard_normal(p.shape).astype(np.float32))
        opt.step()
    for a, b in zip(plain, snapshot(params, opt)):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
                                  "RAdam", "Rprop", "ASGD"])
def test_signatures_are_torchs_less_capturable_and_differentiable(name):
    torch = pytest.importorskip("torch")
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    mine = inspect.signature(getattr(optim, name)).parameters
    skip = {"capturable", "differentiable"}
    assert list(mine) == [k for k in theirs if k not in skip]
    for k, p in mine.items():
        if k != "params":
            assert p.default == theirs[k].default, k
            assert p.kind == theirs[k].kind, k


def against_torch(name, kw, foreach, seed):
    """Four steps of optimizer ``name`` in float64, minitf's and torch's from the same start and
    gradients: the parameters agree to a rounding or two."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    inits = [rng.standard_normal(s) for s in [(4, 3), (5,)]]
    grads = [[rng.standard_normal(a.shape) for a in inits] for _ in range(4)]
    ours = [mt.tensor(a, requires_grad=True) for a in inits]
    theirs = [torch.tensor(a, requires_grad=True) for a in inits]
    o = getattr(optim, name)(ours, foreach=foreach, **kw)
    t = getattr(torch.optim, name)(theirs, foreach=foreach, **kw)
    for gs in grads:
        for p, q, g in zip(ours, theirs, gs):
            p.grad, q.grad = mt.tensor(g), torch.tensor(g)
        o.step()
        t.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-13, atol=1e-15)
    return o


@pytest.mark.parametrize("name, kw", [("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.05, maximize=True)),
                                      ("SGD", dict(lr=0.1, maximize=True)),
                                      ("Adam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
                                      ("Adam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True, amsgrad=True))])
@pytest.mark.parametrize("foreach", [False, True])
def test_the_new_options_follow_torch(name, kw, foreach):
    """SGD's maximize and Adam's decoupled_weight_decay (torch 2.13's), in float64, against torch's."""
    against_torch(name, kw, foreach, seed=3)


def held_bytes(opt):
    """Bytes of the arrays opt.state's entries keep alive (a view keeps its whole base), plus the
    flat buffers cached for the next flat step."""
    held = {}
    for state in opt.state.values():
        for k, v in state.items():
            if k == "step":   # a 0-d host count
                continue
            a = v.data
            base = a if a.base is None else a.base
            held[id(base)] = base.nbytes
    for entry in getattr(opt, "_flat_states", {}).values():
        for flat in entry.flats.values():
            held[id(flat)] = flat.nbytes
    return sum(held.values())


def test_a_frozen_parameter_leaves_no_old_flat_buffers_behind():
    """Freezing part of the model (its gradients None from then on) rebuilds the buckets; the frozen
    parameters' entries, views of the old buffers, get arrays of their own, so the old buffers go."""
    params = [mt.zeros(n, requires_grad=True) for n in (100_000, 10, 20, 30)]
    opt = optim.AdamW(params, lr=1e-3, foreach=True)
    needed = 2 * 4 * sum(p.numel() for p in params)   # exp_avg and exp_avg_sq, float32
    for frozen in range(4):   # one more parameter frozen each time, the big one last
        for _ in range(2):
            for i, p in enumerate(params):
                p.grad = None if i >= len(params) - frozen else mt.ones(p.shape)
            opt.step()
        assert held_bytes(opt) == needed, frozen


def test_a_loaded_state_dict_and_a_switch_to_the_loop_free_the_flat_buffers():
    params = [mt.zeros(50_000, requires_grad=True), mt.zeros(7, requires_grad=True)]
    opt = optim.AdamW(params, lr=1e-3, foreach=True)
    for p in params:
        p.grad = mt.ones(p.shape)
    opt.step()
    needed = 2 * 4 * sum(p.numel() for p in params)
    sd = opt.state_dict()
    opt.load_state_dict(sd)
    assert not getattr(opt, "_flat_states", None) and held_bytes(opt) == needed
    opt.step()
    assert opt._flat_states
    opt.param_groups[0]["foreach"] = False   # the loop from now on: the buffers are given back
    opt.step()
    assert not opt._flat_states and held_bytes(opt) == needed


def test_pickle_and_deepcopy_leave_the_flat_buffers_out():
    import copy
    import pickle
    params, opt = train("AdamW", dict(lr=1e-2), "cpu", foreach=True, steps=2)
    assert opt._flat_states
    for clone in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        assert not getattr(clone, "_flat_states", None)
        for a, b in zip(opt.state.values(), clone.state.values()):
            for k in a:
                assert a[k].numpy().tobytes() == b[k].numpy().tobytes()


def test_a_group_with_a_parameter_on_the_cpu_loops_by_default():
    """torch's default takes foreach only when every parameter is on a device: so does minitf's."""
    params = [mt.zeros(3, requires_grad=True), mt.zeros(4, device="fake", requires_grad=True)]
    opt = optim.AdamW(params, lr=1e-2)
    for p in params:
        p.grad = mt.ones(3 if p.device == "cpu" else 4, device=p.device)
    opt.step()
    assert not getattr(opt, "_flat_states", None)


@pytest.mark.parametrize("name, kw", [("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1, maximize=True)),
                                      ("RMSprop", dict(lr=0.01, maximize=True)),
                                      ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, maximize=True))])
@pytest.mark.parametrize("foreach", [None, False, True])
def test_rmsprops_and_adagrads_maximize_and_foreach_follow_torch(name, kw, foreach):
    """maximize (new in minitf's RMSprop and Adagrad) against torch's, in float64; foreach is accepted
    by every optimizer, as torch's (these update tensor by tensor whatever it says: the same numbers)."""
    assert against_torch(name, kw, foreach, seed=4).param_groups[0]["foreach"] == foreach


def test_adagrads_fused_and_foreach_together_are_refused_as_in_torch():
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together"):
        optim.Adagrad([mt.zeros(2, requires_grad=True)], foreach=True, fused=True)
