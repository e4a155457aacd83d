"""The recurrent baseline: RNN/LSTM cells and layers against a NumPy step-by-step reference,
float64 gradchecks (BPTT through every step), carried state, truncated BPTT; both devices."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn

from ..conftest import randt
from .conftest import gradcheck_module


def np_sigmoid(a):
    return 1 / (1 + np.exp(-a))


def np_recurrent(x, p, num_layers, cell, state=None):
    """Layer by layer, step by step, straight from the equations (PyTorch gate order i, f, g, o)."""
    B, T, _ = x.shape
    finals_h, finals_c = [], []
    for k in range(num_layers):
        Wih, Whh = p[f"weight_ih_l{k}"], p[f"weight_hh_l{k}"]
        b = p.get(f"bias_ih_l{k}", 0) + p.get(f"bias_hh_l{k}", 0)
        H = Whh.shape[1]
        h = np.zeros((B, H)) if state is None else state[0][k]
        c = np.zeros((B, H)) if state is None or cell == "rnn" else state[1][k]
        outs = []
        for t in range(T):
            z = x[:, t] @ Wih.T + h @ Whh.T + b
            if cell == "rnn":
                h = np.tanh(z)
            else:
                i, f, g, o = np.split(z, 4, axis=1)
                c = np_sigmoid(f) * c + np_sigmoid(i) * np.tanh(g)
                h = np_sigmoid(o) * np.tanh(c)
            outs.append(h)
        x = np.stack(outs, axis=1)
        finals_h.append(h)
        finals_c.append(c)
    return x, np.stack(finals_h), np.stack(finals_c)


def params_of(module):
    return {k: v.numpy() for k, v in module.state_dict().items()}


def make(kind, device, input_size=3, hidden=4, num_layers=2, batch_first=True, **kw):
    mt.manual_seed(0)
    cls = nn.LSTM if kind == "lstm" else nn.RNN
    return cls(input_size, hidden, num_layers=num_layers, batch_first=batch_first, **kw).to(device=device,
                                                                                          dtype="float64")


def run(layer, kind, x, state):
    """Both kinds as (output, h_n, c_n or None)."""
    out, fin = layer(x, state)
    return (out, *fin) if kind == "lstm" else (out, fin, None)


def initial(kind, rng, L, B, H, device):
    h0 = randt(rng, L, B, H, device=device, scale=0.5)
    return (h0, randt(rng, L, B, H, device=device, scale=0.5)) if kind == "lstm" else h0


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_parameter_names_and_shapes_follow_pytorch(kind):
    layer = make(kind, "cpu")
    G = 4 if kind == "lstm" else 1
    shapes = {k: v.shape for k, v in layer.state_dict().items()}
    assert shapes == {"weight_ih_l0": (G * 4, 3), "weight_hh_l0": (G * 4, 4), "bias_ih_l0": (G * 4,),
                      "bias_hh_l0": (G * 4,), "weight_ih_l1": (G * 4, 4), "weight_hh_l1": (G * 4, 4),
                      "bias_ih_l1": (G * 4,), "bias_hh_l1": (G * 4,)}
    assert all(np.abs(v).max() <= 0.5 for v in params_of(layer).values())  # U(-1/sqrt(H), 1/sqrt(H))
    assert all(not k.startswith("bias") for k in make(kind, "cpu", bias=False).state_dict())


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
@pytest.mark.parametrize("with_state", [False, True])
def test_layers_match_numpy_step_by_step(device, rng, restore_rng, kind, with_state):
    layer = make(kind, device)
    x = randt(rng, 2, 5, 3, device=device)
    state = initial(kind, rng, 2, 2, 4, device) if with_state else None
    out, h, c = run(layer, kind, x, state)
    np_state = None if state is None else ([s.numpy() for s in state] if kind == "lstm" else [state.numpy()])
    ref_out, ref_h, ref_c = np_recurrent(x.numpy(), params_of(layer), 2, kind, np_state)
    assert out.shape == (2, 5, 4) and h.shape == (2, 2, 4) and out.device == device
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h.numpy(), ref_h, rtol=1e-12, atol=1e-14)
    if kind == "lstm":
        np.testing.assert_allclose(c.numpy(), ref_c, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_batch_first_false(rng, restore_rng, kind):
    a, b = make(kind, "cpu"), make(kind, "cpu", batch_first=False)
    x = randt(rng, 2, 5, 3)
    out_a, h_a, _ = run(a, kind, x, None)
    out_b, h_b, _ = run(b, kind, x.permute(1, 0, 2), None)
    np.testing.assert_allclose(out_b.numpy().transpose(1, 0, 2), out_a.numpy(), rtol=1e-12)
    np.testing.assert_allclose(h_b.numpy(), h_a.numpy(), rtol=1e-12)   # the state is (L, B, H) either way


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_default_layout_is_time_major_as_pytorch(rng, restore_rng, kind):
    cls = nn.LSTM if kind == "lstm" else nn.RNN
    layer = cls(3, 4, num_layers=2).to(dtype="float64")
    assert layer.batch_first is False
    x = randt(rng, 5, 2, 3)                                   # (T, B, C)
    out, h, _ = run(layer, kind, x, None)
    assert out.shape == (5, 2, 4) and h.shape == (2, 2, 4)
    ref_out, ref_h, _ = np_recurrent(x.numpy().transpose(1, 0, 2), params_of(layer), 2, kind)
    np.testing.assert_allclose(out.numpy(), ref_out.transpose(1, 0, 2), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h.numpy(), ref_h, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match=r"expected input \(T, B, C\) with C=3"):
        layer(mt.zeros(5, 2, 4))
    torch = pytest.importorskip("torch")
    ref = (torch.nn.LSTM if kind == "lstm" else torch.nn.RNN)(3, 4, num_layers=2).double()   # its default
    ref.load_state_dict({k: torch.tensor(v) for k, v in params_of(layer).items()})
    want = ref(torch.tensor(x.numpy()))[0]
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_layers_gradcheck_through_time(device, rng, restore_rng, kind):
    layer = make(kind, device)
    x = randt(rng, 2, 3, 3, device=device)
    state = initial(kind, rng, 2, 2, 4, device)
    inputs = [x, *state] if kind == "lstm" else [x, state]

    def call(x, *s):
        out, h, c = run(layer, kind, x, tuple(s) if kind == "lstm" else s[0])
        return (out, h) if c is None else (out, h, c)
    # element by element on the CPU, bigger tensors along random directions on the fake device
    assert gradcheck_module(layer, inputs, call=call, max_elements=256 if device == "cpu" else 16)
    if device == "fake":
        return  # the variants below exercise the same kernels; once on the CPU is enough
    # the final state alone, and the outputs alone, reach every step too
    assert gradcheck_module(layer, inputs, call=lambda *a: call(*a)[-1])
    assert gradcheck_module(layer, inputs, call=lambda *a: call(*a)[0][:, 1])


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_cells_match_numpy_and_gradcheck(device, rng, restore_rng, kind):
    mt.manual_seed(0)
    cell = (nn.LSTMCell if kind == "lstm" else nn.RNNCell)(3, 4).to(device=device, dtype="float64")
    x = randt(rng, 2, 3, device=device)
    h = randt(rng, 2, 4, device=device)
    c = randt(rng, 2, 4, device=device)
    p = {k.replace("_ih", "_ih_l0").replace("_hh", "_hh_l0"): v for k, v in params_of(cell).items()}
    ref_out, ref_h, ref_c = np_recurrent(x.numpy()[:, None], p, 1, kind, (h.numpy()[None], c.numpy()[None]))
    if kind == "lstm":
        h1, c1 = cell(x, (h, c))
        np.testing.assert_allclose(c1.numpy(), ref_c[0], rtol=1e-12)
        assert gradcheck_module(cell, [x, h, c], call=lambda x, h, c: cell(x, (h, c)))
    else:
        h1 = cell(x, h)
        assert gradcheck_module(cell, [x, h])
    np.testing.assert_allclose(h1.numpy(), ref_h[0], rtol=1e-12)
    zero = cell(x)  # no state: zeros
    np.testing.assert_allclose((zero[0] if kind == "lstm" else zero).numpy(),
                               np_recurrent(x.numpy()[:, None], p, 1, kind)[1][0], rtol=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_carried_state_equals_the_concatenated_sequence(device, rng, restore_rng, kind):
    layer = make(kind, device)
    x = randt(rng, 2, 9, 3, device=device, requires_grad=False)
    whole = run(layer, kind, x, None)
    out1, fin1 = layer(x[:, :4])
    out2, fin2 = layer(x[:, 4:7], nn.detach_state(fin1))
    out3, fin3 = layer(x[:, 7:], nn.detach_state(fin2))
    chunks = np.concatenate([out1.numpy(), out2.numpy(), out3.numpy()], axis=1)
    np.testing.assert_allclose(chunks, whole[0].numpy(), rtol=1e-12, atol=1e-14)
    finals = fin3 if kind == "lstm" else (fin3,)
    for got, want in zip(finals, whole[1:]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-14)


def test_truncated_bptt_stops_at_the_detached_state(rng, restore_rng):
    layer = make("lstm", "cpu")
    x1, x2 = randt(rng, 2, 3, 3), randt(rng, 2, 3, 3)
    _, state = layer(x1)
    out, _ = layer(x2, nn.detach_state(state))
    out.sum().backward()
    assert x1.grad is None and x2.grad is not None
    out, _ = layer(x2, state)                    # not detached: the gradient reaches chunk 1
    out.sum().backward()
    assert x1.grad is not None and np.abs(x1.grad).max() > 0


def test_two_backwards_through_one_retained_graph(rng, restore_rng):
    """Each backward gets its own gradient buffer: a second loss that reaches fewer steps
    must not see stale gradients of the first."""
    layer = make("lstm", "cpu", num_layers=1)
    x = randt(rng, 2, 5, 3)
    u = mt.tensor(rng.standard_normal((2, 5, 4)))
    losses = [lambda o: (o * u).sum(), lambda o: o[:, 1].sum()]   # the second reaches steps 0, 1

    def grads():
        return [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in layer.parameters()]

    fresh = []
    for loss in losses:
        layer.zero_grad()
        x.grad = None
        loss(layer(x)[0]).backward()
        fresh.append(grads())
    layer.zero_grad()
    x.grad = None
    out = layer(x)[0]
    for i, loss in enumerate(losses):
        loss(out).backward(retain_graph=True)
        for got, want in zip(grads(), fresh[i]):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
        layer.zero_grad()
        x.grad = None


def test_recurrent_ops_gradcheck(device, rng):
    B, T, H = 2, 4, 3
    w = randt(rng, H, H, device=device, scale=0.5)
    assert mt.gradcheck(F.rnn_cell, [randt(rng, B, H, device=device), randt(rng, B, H, device=device), w])
    w4 = randt(rng, 4 * H, H, device=device, scale=0.5)
    assert mt.gradcheck(F.lstm_cell, [randt(rng, B, 4 * H, device=device), randt(rng, 2, B, H, device=device), w4])
    assert mt.gradcheck(lambda *a: F.lstm_sequence(*a), [randt(rng, B, T, 4 * H, device=device),
                                                         randt(rng, 2, B, H, device=device), w4])
    assert mt.gradcheck(lambda *a: F.rnn_sequence(*a), [randt(rng, B, T, H, device=device),
                                                        randt(rng, B, H, device=device), w])


def test_recurrent_errors():
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    with pytest.raises(ValueError, match=r"expected input \(B, T, C\) with C=3"):
        lstm(mt.zeros(2, 5, 4))
    with pytest.raises(ValueError, match=r"h0 must have shape \(num_layers, B, H\) = \(2, 2, 4\)"):
        lstm(mt.zeros(2, 5, 3), (mt.zeros(1, 2, 4), mt.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match="pair"):
        lstm(mt.zeros(2, 5, 3), mt.zeros(2, 2, 4))
    with pytest.raises(ValueError, match="length 0"):
        lstm(mt.zeros(2, 0, 3))
    with pytest.raises(ValueError, match="num_layers must be >= 1"):
        nn.RNN(3, 4, num_layers=0)
    with pytest.raises(ValueError, match=r"expected input \(B, 3\)"):
        nn.RNNCell(3, 4)(mt.zeros(2, 4))
    with pytest.raises(ValueError, match="w_hh has shape"):
        F.rnn_cell(mt.zeros(2, 3), mt.zeros(2, 3), mt.zeros(3, 4))


def test_dropout_between_layers_only_in_training(rng, restore_rng):
    layer = make("lstm", "cpu", dropout=0.5)
    x = randt(rng, 2, 5, 3, requires_grad=False)
    layer.eval()
    ref = np_recurrent(x.numpy(), params_of(layer), 2, "lstm")[0]
    np.testing.assert_allclose(layer(x)[0].numpy(), ref, rtol=1e-12)
    layer.train()
    assert not np.allclose(layer(x)[0].numpy(), ref)


def test_lstm_matches_pytorch():
    torch = pytest.importorskip("torch")
    layer = make("lstm", "cpu")
    x = np.random.default_rng(0).standard_normal((2, 5, 3))
    ref = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True).double()
    ref.load_state_dict({k: torch.tensor(v) for k, v in params_of(layer).items()})
    want, (h, c) = ref(torch.tensor(x))
    out, (h2, c2) = layer(mt.tensor(x, dtype="float64"))
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c2.numpy(), c.detach().numpy(), rtol=1e-12, atol=1e-14)
