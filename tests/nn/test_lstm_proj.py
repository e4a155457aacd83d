"""nn.LSTM(proj_size=P), PyTorch's LSTM with projections: h = (o * tanh(c)) W_hr^T is (B, P).
Against torch.nn.LSTM in float64 with the same weights (outputs, final states, every gradient),
a float64 gradcheck on both devices, and torch's parameter names, shapes, repr and errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn

from ..conftest import randt
from .conftest import gradcheck_module
from .test_recurrent_options import grad_array


def make(device="cpu", **kw):
    mt.manual_seed(0)
    kw = {"num_layers": 2, "proj_size": 2, **kw}
    return nn.LSTM(3, 5, **kw).to(device=device, dtype="float64")


def test_parameter_names_shapes_and_repr_follow_pytorch():
    layer = make(bidirectional=True)
    want = {}
    for k in range(2):
        for sfx in ("", "_reverse"):
            want.update({f"weight_ih_l{k}{sfx}": (20, 3 if k == 0 else 4), f"weight_hh_l{k}{sfx}": (20, 2),
                         f"bias_ih_l{k}{sfx}": (20,), f"bias_hh_l{k}{sfx}": (20,), f"weight_hr_l{k}{sfx}": (2, 5)})
    got = {k: v.shape for k, v in layer.state_dict().items()}
    assert list(got) == list(want) and got == want   # torch's order too: weight_hr after the biases
    assert repr(layer) == "LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True)"
    assert repr(nn.LSTM(3, 5)) == "LSTM(3, 5)"


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layout", ["time_major", "batch_first", "unbatched"])
@pytest.mark.parametrize("with_state", [False, True])
def test_matches_pytorch_forward_and_gradients(rng, restore_rng, bidirectional, layout, with_state):
    torch = pytest.importorskip("torch")
    batch_first = layout == "batch_first"
    layer = make(bidirectional=bidirectional, batch_first=batch_first)
    ref = torch.nn.LSTM(3, 5, num_layers=2, proj_size=2, bidirectional=bidirectional, batch_first=batch_first)
    ref = ref.double()
    ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})
    T, B, D = 4, 2, 2 if bidirectional else 1
    x = randt(rng, *{"time_major": (T, B, 3), "batch_first": (B, T, 3), "unbatched": (T, 3)}[layout])
    lead = (2 * D,) if layout == "unbatched" else (2 * D, B)
    state = (randt(rng, *lead, 2, scale=0.5), randt(rng, *lead, 5, scale=0.5)) if with_state else None

    out, (h, c) = layer(x, state)
    tx = torch.tensor(x.numpy(), requires_grad=True)
    tstate = None if state is None else tuple(torch.tensor(s.numpy(), requires_grad=True) for s in state)
    want, (th, tc) = ref(tx, tstate)
    assert out.shape == tuple(want.shape) and out.shape[-1] == 2 * D
    assert h.shape == tuple(th.shape) == (*lead, 2) and c.shape == tuple(tc.shape) == (*lead, 5)
    for a, b in ((out, want), (h, th), (c, tc)):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)

    us = [rng.standard_normal(t.shape) for t in (out, h, c)]
    sum(((t * mt.tensor(u)).sum() for t, u in zip((out, h, c), us)), mt.tensor(0.0)).backward()
    sum((t * torch.tensor(u)).sum() for t, u in zip((want, th, tc), us)).backward()
    np.testing.assert_allclose(grad_array(x), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    if with_state:
        for s, ts in zip(state, tstate):
            np.testing.assert_allclose(grad_array(s), ts.grad.numpy(), rtol=1e-10, atol=1e-12)
    tparams = dict(ref.named_parameters())
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(grad_array(p), tparams[name].grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


def test_gradcheck(device, rng, restore_rng):
    layer = make(device, num_layers=1, bidirectional=True)   # (two layers: the torch comparison above)
    x = randt(rng, 3, 2, 3, device=device)
    h0, c0 = randt(rng, 2, 2, 2, device=device, scale=0.5), randt(rng, 2, 2, 5, device=device, scale=0.5)

    def call(x, h0, c0):
        out, (h, c) = layer(x, (h0, c0))
        return out, h, c
    # element by element on the CPU, along random directions on the fake device (same kernels)
    assert gradcheck_module(layer, [x, h0, c0], call=call, max_elements=256 if device == "cpu" else 16)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="proj_size must be smaller than hidden_size, got 5 >= 5"):
        nn.LSTM(3, 5, proj_size=5)
    with pytest.raises(ValueError, match="proj_size must be >= 0"):
        nn.LSTM(3, 5, proj_size=-1)
    with pytest.raises(TypeError, match="proj_size must be an int, got float 2.0"):
        nn.LSTM(3, 5, proj_size=2.0)
    layer = make()
    with pytest.raises(mt.errors.ShapeError, match=r"h0 must have shape \(num_layers, B, proj_size\) = \(2, 2, 2\)"):
        layer(mt.zeros(4, 2, 3, dtype="float64"), (mt.zeros(2, 2, 5, dtype="float64"),
                                                   mt.zeros(2, 2, 5, dtype="float64")))
    packed = nn.utils.rnn.pack_padded_sequence(mt.zeros(4, 2, 3, dtype="float64"), [4, 3])
    with pytest.raises(NotImplementedError, match="does not take a PackedSequence"):
        layer(packed)
