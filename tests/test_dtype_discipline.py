"""A float32 model stays float32: forward, saved activations, backward, optimizer state.

NumPy promotes silently (a float64 scalar array, ``np.mean`` of an int, a
Python-float constant made into a 0-d float64 array): one such array in a
kernel doubles its memory traffic and ends in float64 parameters. This test
walks one training step and fails on any floating array that is not float32.
"""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import optim
from minitf.autograd import Function
from minitf.models import GPT, CharRNN, CharRNNConfig, GPTConfig


def arrays_in(obj, seen, path):
    """(path, array) for every array reachable from obj through Functions, containers, attributes."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray) or type(obj).__name__ == "FakeDeviceArray":
        yield path, obj
    elif isinstance(obj, np.generic):
        yield path, np.asarray(obj)
    elif isinstance(obj, mt.Tensor):
        yield from arrays_in(obj.data, seen, path + ".data")
        if obj.grad is not None:
            yield from arrays_in(obj.grad, seen, path + ".grad")
    elif isinstance(obj, (list, tuple)):
        for i, o in enumerate(obj):
            yield from arrays_in(o, seen, f"{path}[{i}]")
    elif isinstance(obj, dict):
        for k, o in obj.items():
            yield from arrays_in(o, seen, f"{path}[{k!r}]")
    elif isinstance(obj, Function):
        for k, o in vars(obj).items():             # what forward saved for backward
            yield from arrays_in(o, seen, f"{path}.{k}")


def graph_functions(root):
    """Every Function recorded behind ``root``."""
    fns, stack, seen = [], [root], set()
    while stack:
        t = stack.pop()
        fn = t._fn
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        fns.append(fn)
        stack.extend(fn.inputs)
    return fns


def assert_float32(items, where):
    bad = [(p, a.dtype) for p, a in items if a.dtype.kind in "fc" and a.dtype != np.float32]
    assert not bad, f"{where}: arrays that are not float32: {bad[:10]}"


def check_step(model, x, y, device):
    model.train()
    opt = optim.AdamW(optim.param_groups_for_weight_decay(model.named_parameters(), 0.1), lr=1e-3)
    for _ in range(2):                              # the second step sees the optimizer's state
        logits = model(x)
        if isinstance(logits, tuple):
            logits = logits[0]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        assert loss.dtype == np.float32 and logits.dtype == np.float32
        fns = graph_functions(loss)
        assert len(fns) > 10
        seen = set()
        saved = [item for i, fn in enumerate(fns) for item in arrays_in(fn, seen, f"{type(fn).__name__}#{i}")]
        assert saved, "the walk found no saved arrays"
        assert_float32(saved, "saved activations")
        opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        params = list(model.named_parameters())
        assert all(p.grad is not None for _, p in params)
        # .grad: a backend array, or a Tensor once it becomes one (arrays_in takes both)
        assert_float32([item for n, p in params for item in arrays_in(p.grad, set(), n + ".grad")], "gradients")
        opt.step()
        assert_float32([(n, p.data) for n, p in params], "parameters")
        assert_float32(list(arrays_in(opt.state, set(), "state")), "optimizer state")
        assert len(opt.state) == len(params)


def test_gpt_step_stays_float32(device, restore_rng):
    mt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16, dropout=0.1, bias=True))
    model.to(device=device)
    rng = np.random.default_rng(0)
    x = mt.tensor(rng.integers(0, 11, (3, 8)), device=device)
    y = mt.tensor(rng.integers(0, 11, (3, 8)), device=device)
    check_step(model, x, y, device)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_charrnn_step_stays_float32(device, restore_rng, cell):
    mt.manual_seed(0)
    model = CharRNN(CharRNNConfig(vocab_size=11, n_embd=16, n_layer=2, cell=cell, dropout=0.1)).to(device=device)
    rng = np.random.default_rng(0)
    x = mt.tensor(rng.integers(0, 11, (3, 8)), device=device)
    y = mt.tensor(rng.integers(0, 11, (3, 8)), device=device)
    check_step(model, x, y, device)


def test_the_walk_catches_a_float64_activation():
    """The detector itself: a float64 array saved by an op is reported."""
    a = mt.tensor(np.ones(3, np.float32), requires_grad=True)
    b = a * mt.tensor(np.ones(3, np.float64))
    seen = set()
    found = [item for fn in graph_functions(b.sum()) for item in arrays_in(fn, seen, "fn")]
    with pytest.raises(AssertionError, match="not float32"):
        assert_float32(found + [("b", b.data)], "saved")
