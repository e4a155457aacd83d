"""Gradient checkpointing (minitf.recompute, GPTConfig.checkpoint_blocks): same values, same gradients,
fewer saved activations."""
import numpy as np
import pytest

import minitf as mt
from minitf import autograd, models, nn
from minitf import functional as F
from minitf import random as mt_random

from .conftest import ATOL, RTOL, randt


def test_gradcheck_inputs_and_params(device, rng):
    w = randt(rng, 4, 3, device=device)

    def f(x, w):
        return mt.recompute(lambda a: F.tanh(a @ w) * a[:, :3], x, params=[w])

    x = randt(rng, 5, 4, device=device)
    assert mt.gradcheck(f, [x, w], rtol=RTOL, atol=ATOL)


def _gpt(device, checkpoint_blocks, dropout=0.1):
    mt.manual_seed(3)
    cfg = models.GPTConfig(vocab_size=13, block_size=8, n_layer=3, n_head=2, n_embd=8, dropout=dropout,
                           checkpoint_blocks=checkpoint_blocks)
    return models.GPT(cfg).to(device=device, dtype="float64")


def _step(device, checkpoint_blocks, idx, tgt, steps=1):
    model = _gpt(device, checkpoint_blocks)
    losses = []
    for _ in range(steps):      # gradients accumulate over the steps, as in the plain run
        logits = model(mt.tensor(idx, device=device))
        loss = F.cross_entropy(logits.flatten(0, 1), mt.tensor(tgt, device=device).flatten())
        loss.backward()
        losses.append(loss.item())
    grads = {n: p.grad.numpy() for n, p in model.named_parameters()}
    after = mt_random.default_generator(device).random(4, dtype=np.float64)
    return losses, grads, mt.backend.to_numpy(after)


def test_checkpointed_gpt_gradients_equal_plain(device, restore_rng):
    r = np.random.default_rng(0)
    idx, tgt = r.integers(0, 13, (4, 8)), r.integers(0, 13, (4, 8))
    plain = _step(device, False, idx, tgt, steps=2)
    ckpt = _step(device, True, idx, tgt, steps=2)
    assert plain[0] == ckpt[0]                       # dropout masks replayed: same losses
    assert plain[1].keys() == ckpt[1].keys()
    for name in plain[1]:                            # same ops in the same order: bit for bit
        np.testing.assert_array_equal(ckpt[1][name], plain[1][name], err_msg=name)
    # the recomputation replays the generator without advancing it: later draws are unchanged
    np.testing.assert_array_equal(ckpt[2], plain[2])


def _graph_size(t):
    return len(autograd._topological_order(t))


def test_checkpointed_blocks_leave_one_node_each(restore_rng):
    idx = mt.tensor(np.zeros((2, 8), dtype=np.int64))
    plain = _graph_size(_gpt("cpu", False)(idx).sum())
    ckpt = _graph_size(_gpt("cpu", True)(idx).sum())
    # a block records about twenty ops; checkpointed, one Recompute node stands for it
    assert ckpt < plain - 3 * 10


def test_recompute_off_without_grad(rng):
    block = nn.TransformerBlock(8, 2).double()  # randt gives float64 inputs
    x = randt(rng, 2, 3, 8)
    with mt.no_grad():
        y = mt.recompute(block, x)
    assert not y.requires_grad
    y2 = mt.recompute(block, randt(rng, 2, 3, 8, requires_grad=False), params=[])
    assert type(y2._fn).__name__ == "Add"     # nothing declared needs grad: a plain call, recorded as usual


def test_retain_graph_backward_twice(rng):
    block = nn.TransformerBlock(8, 2).to(dtype="float64")
    x = randt(rng, 2, 3, 8)
    y = (mt.recompute(block, x) ** 2).sum()
    y.backward(retain_graph=True)
    once = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * once, rtol=1e-12)


def test_params_grads_accumulate_with_earlier_ones(rng):
    lin = nn.Linear(3, 2).to(dtype="float64")
    x = randt(rng, 4, 3)
    lin(x).sum().backward()
    first = lin.weight.grad.numpy().copy()
    mt.recompute(lin, x).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), 2 * first, rtol=1e-12)


def test_fn_must_return_a_tensor(rng):
    with pytest.raises(TypeError, match="one Tensor"):
        mt.recompute(lambda a: (a, a), randt(rng, 2))


def test_enable_grad_inside_no_grad():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    with mt.no_grad():
        with mt.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad


def test_uncopyable_generator_replays_from_a_seed(device, restore_rng, monkeypatch):
    """CuPy's generator cannot be copied: both passes then draw from one seeded generator."""
    def refuse(gen):
        raise TypeError("cannot copy")
    monkeypatch.setattr(mt.backend, "copy_rng", refuse)
    mt.manual_seed(0)
    drop = nn.Dropout(0.5)
    x = mt.tensor(np.linspace(1, 2, 40), dtype="float64", device=device, requires_grad=True)
    y = mt.recompute(lambda a: drop(a) * a, x)
    y.backward(mt.backend.to_device(np.ones(40), device))
    keep = mt.backend.to_numpy(y.data) != 0
    xs = np.linspace(1, 2, 40)
    assert 5 < keep.sum() < 35
    # d(mask * x^2 / (1-p))/dx = 2 x mask / (1-p): the replay used the forward's mask
    np.testing.assert_allclose(x.grad.numpy(), np.where(keep, 4 * xs, 0.0), rtol=1e-12)


def test_uncopyable_generator_reads_the_device_once_not_per_block(restore_rng, monkeypatch):
    """Each recomputed block needs a seed; drawing it from the device generator would be a host
    read (a GPU synchronisation) per block per step. A host stream seeded once serves them: 8
    blocks, one read; after manual_seed the stream starts again, so the draws repeat."""
    from minitf import fakedevice

    def refuse(gen):
        raise TypeError("cannot copy")
    monkeypatch.setattr(mt.backend, "copy_rng", refuse)
    drop = nn.Dropout(0.5)
    x = mt.tensor(np.linspace(1, 2, 40), dtype="float64", device="fake", requires_grad=True)
    runs = []
    for _ in range(2):
        mt.manual_seed(3)
        with fakedevice.count_host_transfers() as n:
            ys = [mt.recompute(lambda a: drop(a) * a, x) for _ in range(8)]
        assert n["to_host"] == 1
        runs.append([y.numpy() for y in ys])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    assert len({y.tobytes() for y in runs[0]}) == 8   # a different mask per block


def test_replay_seeds_restart_with_a_saved_and_restored_rng_state(restore_rng, monkeypatch):
    """A checkpoint saves the device generator's state; a run restoring it must draw the same
    replay seeds as the run that saved it, and so must rewinding with set_rng_state."""
    def refuse(gen):
        raise TypeError("cannot copy")
    monkeypatch.setattr(mt.backend, "copy_rng", refuse)
    drop = nn.Dropout(0.5)
    x = mt.tensor(np.linspace(1, 2, 40), dtype="float64", device="fake", requires_grad=True)
    mt.manual_seed(5)
    mt.recompute(lambda a: drop(a) * a, x)              # the stream is in use
    state = mt.random.get_rng_state("fake")
    after_save = [mt.recompute(lambda a: drop(a) * a, x).numpy() for _ in range(3)]
    mt.random.set_rng_state(state, "fake")
    after_restore = [mt.recompute(lambda a: drop(a) * a, x).numpy() for _ in range(3)]
    for a, b in zip(after_save, after_restore):
        np.testing.assert_array_equal(a, b)


def test_cupy_generator_states_are_refused_not_mistaken():
    """CuPy's bit_generator.state is a method: saving it must fail loudly (the training loop then
    records no state), not return a bound method."""
    fake_cupy_gen = type("Generator", (), {"__module__": "cupy.random._generator_api"})()
    with pytest.raises(TypeError, match="CuPy generator cannot be saved"):
        mt.backend.rng_state(fake_cupy_gen)
    with pytest.raises(TypeError, match="cannot be restored"):
        mt.backend.set_rng_state(fake_cupy_gen, {})


def test_cupy_generators_are_never_copied():
    fake_cupy_gen = type("Generator", (), {"__module__": "cupy.random._generator_api"})()
    with pytest.raises(TypeError, match="not copied"):
        mt.backend.copy_rng(fake_cupy_gen)


def test_recompute_supports_higher_order_gradients(rng):
    """create_graph through a recomputed call: the second derivative equals the plain one's, and
    gradgradcheck (finite differences of the first gradient) passes."""
    mt.manual_seed(0)
    lin = nn.Linear(3, 3).double()
    x = randt(rng, 2, 3)

    def f(x):
        return mt.tanh(lin(x))

    second = []
    for y in (f(x), mt.recompute(f, x)):
        (g,) = mt.grad((y * y).sum(), [x], create_graph=True)
        second.append(mt.grad(g.sum(), [x])[0].numpy())
    np.testing.assert_allclose(second[1], second[0], rtol=1e-12, atol=1e-14)
    assert mt.gradgradcheck(lambda x: mt.recompute(f, x), [x])


def _grad_through_closure(lib):
    """autograd.grad through a recomputed function that reads a leaf W from its closure."""
    W = lib.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=lib.float64, requires_grad=True)
    x = lib.tensor([[1.0, -2.0]], dtype=lib.float64, requires_grad=True)
    f = lambda a: (a @ W).tanh()
    if lib is mt:
        y = mt.recompute(f, x)
    else:
        import torch.utils.checkpoint as cp
        y = cp.checkpoint(f, x, use_reentrant=False)
    gx, gw = lib.autograd.grad((y * y).sum(), [x, W], allow_unused=True)
    return gx.numpy(), None if gw is None else gw.numpy(), W.grad


def test_grad_through_a_closure_leaf_returns_it_and_leaves_grad_alone():
    """grad() through recompute gave None for a leaf fn closes over and put its gradient into .grad
    (the nested backward accumulated it there): now it is returned, as torch's, and .grad stays None."""
    gx, gw, wgrad = _grad_through_closure(mt)
    assert wgrad is None and gw is not None
    W = mt.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=mt.float64, requires_grad=True)
    x = mt.tensor([[1.0, -2.0]], dtype=mt.float64, requires_grad=True)
    ref = mt.autograd.grad(((x @ W).tanh() ** 2).sum(), [x, W])
    np.testing.assert_allclose(gx, ref[0].numpy(), rtol=1e-14)
    np.testing.assert_allclose(gw, ref[1].numpy(), rtol=1e-14)
    torch = pytest.importorskip("torch")
    tx, tw, twgrad = _grad_through_closure(torch)
    assert twgrad is None
    np.testing.assert_allclose(gx, tx, rtol=1e-12)
    np.testing.assert_allclose(gw, tw, rtol=1e-12)


# ---------------------------------------------------------------- tensors fn closes over
def _closure_case(lib, nonleaf, hooked, checkpointed):
    """fn reads W (a leaf) or X = 2 W (a non-leaf) from its closure; W or X is used outside fn too."""
    W = lib.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=lib.float64, requires_grad=True)
    x = lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64, requires_grad=True)
    calls = []
    if hooked:
        W.register_post_accumulate_grad_hook(lambda p: calls.append(p.grad.numpy().copy()))
    X = W * 2.0 if nonleaf else W
    f = lambda a: (a @ X).tanh()
    if not checkpointed:
        y = f(x)
    elif lib is mt:
        y = mt.recompute(f, x)
    else:
        import torch.utils.checkpoint as cp
        y = cp.checkpoint(f, x, use_reentrant=False)
    ((y * y).sum() + (X * X * X).sum()).backward()
    return x.grad.numpy(), W.grad.numpy(), calls


@pytest.mark.parametrize("nonleaf", [False, True])
@pytest.mark.parametrize("hooked", [False, True])
def test_a_closed_over_tensor_also_used_outside_gets_its_gradient_once(nonleaf, hooked):
    """Before: a closed-over leaf used outside fn too got its post-accumulate-grad hook twice (once per
    share), and a closed-over non-leaf made the nested backward walk into the outer graph (W's gradient
    through X counted twice). Now the tensor is an input of the node: one gradient, one hook call."""
    gx, gw, calls = _closure_case(mt, nonleaf, hooked, True)
    rx, rw, ref_calls = _closure_case(mt, nonleaf, hooked, False)
    np.testing.assert_allclose(gx, rx, rtol=1e-14)
    np.testing.assert_allclose(gw, rw, rtol=1e-14)
    assert len(calls) == len(ref_calls) == (1 if hooked else 0)
    if hooked:
        np.testing.assert_allclose(calls[0], rw, rtol=1e-14)    # the hook saw the whole gradient
    torch = pytest.importorskip("torch")
    tx, tw, tcalls = _closure_case(torch, nonleaf, hooked, True)
    np.testing.assert_allclose(gx, tx, rtol=1e-12)
    np.testing.assert_allclose(gw, tw, rtol=1e-12)
    assert len(tcalls) == len(calls)


def test_a_closed_over_non_leaf_through_grad_and_create_graph():
    W = mt.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=mt.float64, requires_grad=True)
    x = mt.tensor([[1.0, -2.0]], dtype=mt.float64, requires_grad=True)

    def loss(checkpointed):
        X = W * 2.0
        f = lambda a: (a @ X).tanh()
        y = mt.recompute(f, x) if checkpointed else f(x)
        return (y * y).sum() + X.sum()
    for create_graph in (False, True):
        got = mt.autograd.grad(loss(True), [x, W], create_graph=create_graph)
        ref = mt.autograd.grad(loss(False), [x, W], create_graph=create_graph)
        for a, b in zip(got, ref):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-14)
    (gw,) = mt.autograd.grad(loss(True), [W], create_graph=True)
    (hw,) = mt.autograd.grad(loss(False), [W], create_graph=True)
    np.testing.assert_allclose(mt.autograd.grad(gw.sum(), [W])[0].numpy(),
                               mt.autograd.grad(hw.sum(), [W])[0].numpy(), rtol=1e-12)
    assert mt.gradcheck(lambda w: mt.recompute(lambda a: (a @ (w * 2.0)).tanh(), x) + (w * 2.0).sum(), [W])


def test_nested_recompute_sees_the_closure_of_the_inner_function():
    W = mt.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=mt.float64, requires_grad=True)
    x = mt.tensor([[1.0, -2.0]], dtype=mt.float64, requires_grad=True)
    results = []
    for checkpointed in (True, False):
        X = W * 3.0
        inner = lambda a: (a @ X).sin()
        outer = lambda a: (mt.recompute(inner, a) if checkpointed else inner(a)).tanh()
        y = mt.recompute(outer, x) if checkpointed else outer(x)
        results.append(mt.autograd.grad((y ** 2).sum() + X.sum(), [x, W]))
    got, ref = results
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-14)
