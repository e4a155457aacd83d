"""PyTorch's RNN/LSTM options: nonlinearity="relu", bidirectional=True, unbatched (T, C) input.
Against torch.nn.RNN/LSTM in float64 with the same weights (outputs, final states and every
gradient), float64 gradchecks on both devices, and the reversed recurrence op on its own."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn

from ..conftest import randt
from .conftest import gradcheck_module

KINDS = ["tanh", "relu", "lstm"]


def make(kind, device="cpu", input_size=3, hidden=4, num_layers=2, **kw):
    mt.manual_seed(0)
    if kind == "lstm":
        layer = nn.LSTM(input_size, hidden, num_layers=num_layers, **kw)
    else:
        layer = nn.RNN(input_size, hidden, num_layers=num_layers, nonlinearity=kind, **kw)
    return layer.to(device=device, dtype="float64")


def torch_twin(torch, kind, layer, **kw):
    """The same layer in PyTorch, float64, loaded with minitf's weights through the state dict."""
    if kind == "lstm":
        ref = torch.nn.LSTM(3, 4, num_layers=layer.num_layers, **kw)
    else:
        ref = torch.nn.RNN(3, 4, num_layers=layer.num_layers, nonlinearity=kind, **kw)
    ref = ref.double()
    ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})
    return ref


def grad_array(t):
    """A gradient as a host array, whether ``.grad`` is a backend array or a Tensor."""
    g = t.grad
    return g.numpy() if isinstance(g, mt.Tensor) else mt.backend.to_numpy(g)


def state_of(kind, rng, shape, device):
    h = randt(rng, *shape, device=device, scale=0.5)
    return (h, randt(rng, *shape, device=device, scale=0.5)) if kind == "lstm" else h


def finals(kind, fin):
    return list(fin) if kind == "lstm" else [fin]


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_parameter_names_and_shapes_follow_pytorch(kind):
    layer = make(kind, bidirectional=True)
    G = 4 if kind == "lstm" else 1
    got = {k: v.shape for k, v in layer.state_dict().items()}
    want = {}
    for k in range(2):
        for sfx in ("", "_reverse"):
            want.update({f"weight_ih_l{k}{sfx}": (G * 4, 3 if k == 0 else 8), f"weight_hh_l{k}{sfx}": (G * 4, 4),
                         f"bias_ih_l{k}{sfx}": (G * 4,), f"bias_hh_l{k}{sfx}": (G * 4,)})
    assert got == want and list(got) == list(want)        # PyTorch's order: layer, direction, ih, hh
    torch = pytest.importorskip("torch")
    ref = torch_twin(torch, kind, layer, bidirectional=True)
    assert list(ref.state_dict()) == list(got)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layout", ["time_major", "batch_first", "unbatched"])
@pytest.mark.parametrize("with_state", [False, True])
def test_matches_pytorch_forward_and_gradients(rng, restore_rng, kind, bidirectional, layout, with_state):
    torch = pytest.importorskip("torch")
    batch_first = layout == "batch_first"
    layer = make(kind, bidirectional=bidirectional, batch_first=batch_first)
    ref = torch_twin(torch, kind, layer, bidirectional=bidirectional, batch_first=batch_first)
    T, B, D = 5, 2, 2 if bidirectional else 1
    shape = {"time_major": (T, B, 3), "batch_first": (B, T, 3), "unbatched": (T, 3)}[layout]
    x = randt(rng, *shape)
    state_shape = (2 * D, 4) if layout == "unbatched" else (2 * D, B, 4)
    state = state_of(kind, rng, state_shape, "cpu") if with_state else None

    out, fin = layer(x, state)
    tx = torch.tensor(x.numpy(), requires_grad=True)
    tstate = None if state is None else (tuple(torch.tensor(s.numpy(), requires_grad=True) for s in state)
                                         if kind == "lstm" else torch.tensor(state.numpy(), requires_grad=True))
    want, tfin = ref(tx, tstate)
    assert out.shape == tuple(want.shape)
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-14)
    for a, b in zip(finals(kind, fin), finals(kind, tfin)):
        assert a.shape == tuple(b.shape) == state_shape
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)

    # the gradients of <u, out> + <v, h_n> with respect to the input, the state and every weight
    us = [rng.standard_normal(out.shape)] + [rng.standard_normal(state_shape) for _ in finals(kind, fin)]
    loss = sum(((o * mt.tensor(u)).sum() for o, u in zip([out] + finals(kind, fin), us)), mt.tensor(0.0))
    loss.backward()
    tloss = sum((o * torch.tensor(u)).sum() for o, u in zip([want] + finals(kind, tfin), us))
    tloss.backward()
    np.testing.assert_allclose(grad_array(x), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    if with_state:
        for s, ts in zip(finals(kind, state), finals(kind, tstate)):
            np.testing.assert_allclose(grad_array(s), ts.grad.numpy(), rtol=1e-10, atol=1e-12)
    tparams = dict(ref.named_parameters())
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(grad_array(p), tparams[name].grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_gradcheck(device, rng, restore_rng, kind):
    layer = make(kind, device, bidirectional=True)
    x = randt(rng, 3, 2, 3, device=device)
    state = state_of(kind, rng, (4, 2, 4), device)
    inputs = [x, *state] if kind == "lstm" else [x, state]

    def call(x, *s):
        out, fin = layer(x, tuple(s) if kind == "lstm" else s[0])
        return (out, *finals(kind, fin))
    # element by element on the CPU, along random directions on the fake device (same kernels)
    assert gradcheck_module(layer, inputs, call=call, max_elements=256 if device == "cpu" else 16)


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_gradcheck_and_equals_a_batch_of_one(device, rng, restore_rng, kind):
    layer = make(kind, device, num_layers=1, bidirectional=True)
    x = randt(rng, 4, 3, device=device)
    state = state_of(kind, rng, (2, 4), device)
    out, fin = layer(x, state)
    assert out.shape == (4, 8)
    batched_state = tuple(s.reshape(2, 1, 4) for s in finals(kind, state))
    out1, fin1 = layer(x.reshape(4, 1, 3), batched_state if kind == "lstm" else batched_state[0])
    np.testing.assert_allclose(out.numpy(), out1.numpy()[:, 0], rtol=1e-13, atol=1e-15)
    for a, b in zip(finals(kind, fin), finals(kind, fin1)):
        assert a.shape == (2, 4)
        np.testing.assert_allclose(a.numpy(), b.numpy()[:, 0], rtol=1e-13, atol=1e-15)
    inputs = [x, *state] if kind == "lstm" else [x, state]

    def call(x, *s):
        out, fin = layer(x, tuple(s) if kind == "lstm" else s[0])
        return (out, *finals(kind, fin))
    assert gradcheck_module(layer, inputs, call=call, max_elements=256 if device == "cpu" else 16)


def test_relu_cell_matches_pytorch_and_gradchecks(device, rng, restore_rng):
    mt.manual_seed(0)
    cell = nn.RNNCell(3, 4, nonlinearity="relu").to(device=device, dtype="float64")
    x, h = randt(rng, 5, 3, device=device), randt(rng, 5, 4, device=device)
    p = {k: v.numpy() for k, v in cell.state_dict().items()}
    ref = np.maximum(x.numpy() @ p["weight_ih"].T + p["bias_ih"] + h.numpy() @ p["weight_hh"].T + p["bias_hh"], 0)
    assert (ref == 0).any() and (ref > 0).any()            # both sides of the kink are exercised
    np.testing.assert_allclose(cell(x, h).numpy(), ref, rtol=1e-12, atol=1e-14)
    assert gradcheck_module(cell, [x, h])
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")
    # the fused relu ops on their own, standalone step and forward sequence
    w = randt(rng, 4, 4, device=device, scale=0.5)
    assert mt.gradcheck(lambda a, b, c: F.rnn_cell(a, b, c, "relu"),
                        [randt(rng, 5, 4, device=device), randt(rng, 5, 4, device=device), w])
    assert mt.gradcheck(lambda a, b, c: F.rnn_sequence(a, b, c, "relu"),
                        [randt(rng, 2, 6, 4, device=device), randt(rng, 2, 4, device=device), w])


@pytest.mark.parametrize("op", ["tanh", "relu", "lstm"])
def test_reverse_sequence_is_the_forward_one_on_the_flipped_input(device, rng, op):
    B, T, H = 2, 5, 3
    G = 4 * H if op == "lstm" else H
    xw = randt(rng, B, T, G, device=device)
    s0 = randt(rng, *((2, B, H) if op == "lstm" else (B, H)), device=device)
    w = randt(rng, G, H, device=device, scale=0.5)

    def seq(xw, s0, w, reverse):
        if op == "lstm":
            return F.lstm_sequence(xw, s0, w, reverse=reverse)
        return F.rnn_sequence(xw, s0, w, op, reverse=reverse)
    flip = xw.numpy()[:, ::-1].copy()
    fwd_out, fwd_s = seq(mt.tensor(flip, device=device), s0, w, False)
    rev_out, rev_s = seq(xw, s0, w, True)
    np.testing.assert_allclose(rev_out.numpy(), fwd_out.numpy()[:, ::-1], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(rev_s.numpy(), fwd_s.numpy(), rtol=1e-13, atol=1e-15)
    assert mt.gradcheck(lambda *a: seq(*a, True), [xw, s0, w])


def test_two_backwards_through_one_retained_reversed_graph(rng):
    """The reversed sequence completes its shared gradient buffer at its first step (t = T-1):
    a second loss that reaches fewer steps must not see the first loss's gradients."""
    B, T, H = 2, 5, 3
    xw, w = randt(rng, B, T, 4 * H), randt(rng, 4 * H, H, scale=0.5)
    u = mt.tensor(rng.standard_normal((B, T, H)))
    losses = [lambda o: (o * u).sum(), lambda o: o[:, 3].sum()]     # the second reaches steps 4, 3

    def grads():
        return [grad_array(xw).copy(), grad_array(w).copy()]

    fresh = []
    for loss in losses:
        xw.grad = w.grad = None
        loss(F.lstm_sequence(xw, None, w, reverse=True)[0]).backward()
        fresh.append(grads())
    xw.grad = w.grad = None
    out = F.lstm_sequence(xw, None, w, reverse=True)[0]
    for i, loss in enumerate(losses):
        loss(out).backward(retain_graph=True)
        for got, want in zip(grads(), fresh[i]):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
        xw.grad = w.grad = None


def test_dropout_between_bidirectional_layers(rng, restore_rng):
    layer = make("lstm", dropout=1.0, bidirectional=True)
    x = randt(rng, 5, 2, 3, requires_grad=False)
    out, _ = layer(x)
    # dropout p = 1 zeroes the first layer's output: the second layer sees only its biases
    zero_in, _ = make("lstm", dropout=1.0, bidirectional=True).eval()(x)
    assert out.shape == (5, 2, 8) and np.isfinite(out.numpy()).all()
    second = make("lstm", num_layers=1, bidirectional=True, input_size=8)
    second.load_state_dict({k.replace("_l1", "_l0"): v for k, v in layer.state_dict().items() if "_l1" in k})
    np.testing.assert_allclose(out.numpy(), second(mt.zeros(5, 2, 8, dtype="float64"))[0].numpy(), rtol=1e-13)
    assert not np.allclose(out.numpy(), zero_in.numpy())


def test_recurrent_option_errors():
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        F.rnn_sequence(mt.zeros(1, 2, 3), None, mt.zeros(3, 3), "sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be >= 1, got 0"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="input_size must be >= 1, got -2"):
        nn.RNN(-2, 4)
    with pytest.raises(TypeError, match="num_layers must be an int, got float"):
        nn.RNN(3, 4, num_layers=1.5)
    with pytest.raises(ValueError, match=r"dropout must be a probability in \[0, 1\], got 1.5"):
        nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be >= 1"):
        nn.RNNCell(3, 0)
    bi = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    with pytest.raises(ValueError, match=r"h0 must have shape \(num_layers \* 2, B, H\) = \(4, 2, 4\)"):
        bi(mt.zeros(5, 2, 3), (mt.zeros(2, 2, 4), mt.zeros(4, 2, 4)))
    rnn = nn.RNN(3, 4)
    with pytest.raises(ValueError, match=r"h0 must have shape \(num_layers, H\) = \(1, 4\) for unbatched input"):
        rnn(mt.zeros(5, 3), mt.zeros(1, 1, 4))
    with pytest.raises(ValueError, match=r"expected input \(T, B, C\) with C=3 \(or \(T, C\) unbatched\)"):
        rnn(mt.zeros(5, 4))
    with pytest.raises(TypeError):
        nn.LSTM(3, 4, nonlinearity="relu")                 # an LSTM has no nonlinearity, as in PyTorch
    assert "bidirectional=True" in repr(bi)


def test_rnn_repr_is_torchs():
    """torch's RNN repr leaves the nonlinearity out (its RNNCell's shows it): string for string."""
    torch = pytest.importorskip("torch")
    for kw in ({}, {"nonlinearity": "relu"}, {"nonlinearity": "relu", "num_layers": 2, "bias": False},
               {"batch_first": True, "bidirectional": True, "dropout": 0.5, "num_layers": 2}):
        assert repr(nn.RNN(3, 4, **kw)) == repr(torch.nn.RNN(3, 4, **kw)), kw
    for kw in ({}, {"nonlinearity": "relu", "bias": False}):
        assert repr(nn.RNNCell(3, 4, **kw)) == repr(torch.nn.RNNCell(3, 4, **kw)), kw
