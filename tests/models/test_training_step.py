"""A few optimiser steps on GPT and the LSTM language model, on both devices: the loss on a
fixed batch goes down, parameters stay on their device, and the fake device follows the CPU."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import optim
from minitf.models import GPT, GPTConfig, CharRNN, CharRNNConfig


def build(kind, device):
    mt.manual_seed(0)
    if kind == "gpt":
        model = GPT(GPTConfig(vocab_size=9, block_size=8, n_layer=2, n_head=2, n_embd=16))
    else:
        model = CharRNN(CharRNNConfig(vocab_size=9, n_embd=16, n_layer=2, cell="lstm"))
    return model.to(device=device, dtype="float64")


def train(kind, device, steps=5):
    model = build(kind, device)
    groups = optim.param_groups_for_weight_decay(model.named_parameters(), 0.1)
    opt = optim.AdamW(groups, lr=1e-2)
    rng = np.random.default_rng(0)
    data = rng.integers(0, 9, (4, 9))
    x, y = mt.tensor(data[:, :-1], device=device), mt.tensor(data[:, 1:], device=device)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.item()))
    return model, losses


@pytest.mark.parametrize("kind", ["gpt", "lstm"])
def test_optimiser_steps_on_both_devices(kind, restore_rng):
    cpu, cpu_losses = train(kind, "cpu")
    fake, fake_losses = train(kind, "fake")
    assert cpu_losses[-1] < cpu_losses[0]
    np.testing.assert_allclose(fake_losses, cpu_losses, rtol=1e-12)
    assert all(p.device == "fake" for p in fake.parameters())
    if kind == "gpt":
        assert fake.lm_head.weight is fake.transformer.wte.weight       # still tied after the updates
    for (name, a), (_, b) in zip(cpu.state_dict().items(), fake.state_dict().items()):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-10, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("kind", ["gpt", "lstm"])
def test_a_training_step_on_a_device_never_waits_for_it(kind):
    """On a GPU every host transfer waits for the queued work. One step (forward, loss, backward,
    clipping, AdamW) on the strict fake device makes none: the token indices were made from host
    data, so their range checks (embedding, cross_entropy) read bounds known on the host, and
    clipping scales by min(1, max_norm / norm) on the device. (The training loop reads the loss
    and the norm of its steps together at log points: tests/test_train_sync.py.)"""
    from minitf import fakedevice
    model = build(kind, "fake")
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    data = np.random.default_rng(0).integers(0, 9, (4, 9))
    x, y = mt.tensor(data[:, :-1], device="fake"), mt.tensor(data[:, 1:], device="fake")
    for _ in range(2):  # the second step, with the optimizer's state made, counts the same
        with fakedevice.count_host_transfers() as n:
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
            loss.backward()
            norm = optim.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
        assert n == {"to_host": 0, "to_device": 0}, n
        assert norm.device == "fake" and norm.ndim == 0


def test_indices_made_on_the_device_are_range_checked_there_with_one_read_each():
    """Indices computed on the device carry no host bounds: embedding and cross_entropy each read
    their minimum and maximum (one transfer each), and an out-of-range index is still refused."""
    from minitf import fakedevice
    model = build("gpt", "fake")
    data = mt.tensor(np.random.default_rng(0).integers(0, 9, (4, 9)), device="fake")
    x, y = data[:, :-1] * 1, data[:, 1:] * 1   # device arithmetic: bounds unknown
    with fakedevice.count_host_transfers() as n:
        F.cross_entropy(model(x).flatten(0, 1), y.flatten())
    assert n == {"to_host": 2, "to_device": 0}, n
    with pytest.raises(IndexError, match="out of range"):
        model(x + 9)


def test_known_bounds_are_voided_by_an_in_place_change():
    """The bounds recorded at creation hold the tensor's version: after an in-place write the
    check reads the device again, and catches the bad index."""
    model = build("gpt", "fake")
    x = mt.tensor(np.zeros((2, 4), np.int64), device="fake")
    model(x)
    x[0, 0] = 50
    with pytest.raises(IndexError, match="max 50"):
        model(x)


def test_bounds_inherited_by_a_view_are_voided_by_a_write_through_it():
    model = build("gpt", "fake")
    x = mt.tensor(np.zeros((2, 5), np.int64), device="fake")
    v = x[:, 1:]
    assert v._bounds[1:3] == (0, 0)
    v[0, 0] = 50                      # through the view: x changes too, and neither range holds
    for t in (v, x[:, 1:], x.reshape(-1)[None, :8]):
        with pytest.raises(IndexError, match="max 50"):
            model(t)


def test_known_bounds_are_voided_by_a_new_data_array():
    """``t.data = other`` (a PyTorch habit) replaces the array without a version bump: the bounds
    hold the array they describe, so the check reads the new one."""
    model = build("gpt", "fake")
    x = mt.tensor(np.zeros((2, 4), np.int64), device="fake")
    x.data = mt.tensor(np.full((2, 4), 50), device="fake").data * 1
    with pytest.raises(IndexError, match="max 50"):
        model(x)


def test_the_batch_inputs_and_targets_do_not_share_memory():
    """The sampler cuts x and y from one upload of (B, T + 1) ids; y is its own copy, so masking
    the targets in place (``y[y == pad] = -100``) leaves x alone, and the embedding's check still
    sees x's true bounds."""
    from minitf import data
    ids = np.arange(40) % 9
    s = data.BatchSampler(ids[:30], ids[30:], block_size=4, batch_size=3, device="fake")
    x, y = s.get_batch()
    before = x.numpy().copy()
    y[y == int(y.numpy()[0, 0])] = -100
    np.testing.assert_array_equal(x.numpy(), before)
    lo, hi = x._bounds[1:3]   # the rows' bounds: x's values lie within them
    assert 0 <= lo <= before.min() and before.max() <= hi < 9


def test_a_narrowing_cast_at_creation_does_not_carry_the_host_bounds():
    """tensor(ndarray, dtype=) casts on the device, where a narrowing cast may wrap: no bounds kept."""
    t = mt.tensor(np.array([300]), dtype=mt.uint8, device="fake")   # 300 wraps to 44
    assert getattr(t, "_bounds", None) is None
    assert mt.tensor(np.array([3, 7]), device="fake")._bounds[1:3] == (3, 7)
    assert mt.tensor([3, 7], device="fake")._bounds[1:3] == (3, 7)
    assert mt.tensor(np.array([3, 7])).to("fake")._bounds[1:3] == (3, 7)
    assert getattr(mt.tensor(np.array([3, 7])), "_bounds", None) is None   # the CPU checks for free


# (not the exact GELU: on a GPU its erf is CuPy's own kernel; the fake device runs the host's Cody
# evaluation, whose steps depend on which ranges the values fall in)
@pytest.mark.parametrize("kind, gelu", [("gpt", "tanh"), ("lstm", None)])
def test_a_step_makes_as_many_device_operations_for_a_large_batch_as_for_a_small_one(kind, gelu):
    """On a GPU every array operation is a kernel launch costing host time: a step whose count
    grew with the batch or the block (a Python loop over rows, heads or chunks, as the CPU
    kernels use to stay in cache) would be slow there. The fake device counts them: a GPT step
    on (32, 32) tokens, whose GELU input has 4 of the CPU's chunks, makes exactly as many as
    one on (2, 8); the LSTM (sequential in time by nature) as many for batch 32 as for 2."""
    from minitf import fakedevice
    mt.manual_seed(0)
    if kind == "gpt":
        model = GPT(GPTConfig(vocab_size=9, block_size=32, n_layer=1, n_head=2, n_embd=64, gelu_approximate=gelu))
        shapes = [(2, 8), (32, 32)]
    else:
        model = CharRNN(CharRNNConfig(vocab_size=9, n_embd=64, n_layer=1, cell="lstm"))
        shapes = [(2, 8), (32, 8)]
    model = model.to(device="fake")
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    counts = []
    for B, T in shapes:
        data = np.random.default_rng(0).integers(0, 9, (B, T + 1))
        x, y = mt.tensor(data[:, :-1], device="fake"), mt.tensor(data[:, 1:], device="fake")
        for _ in range(2):  # the second step, with the optimizer's state made, is the one counted
            with fakedevice.count_device_ops() as n:
                loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
                loss.backward()
                optim.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                opt.zero_grad()
        counts.append(n["ops"])
    assert counts[0] == counts[1], counts
