"""The recurrent layers called as PyTorch's: ``hx=`` (torch's name) besides minitf's own
keywords, unbatched 1-D input to the cells, the cells' reprs, and the warning for dropout
with one layer. Each compared with torch 2.13 where it is importable."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import nn

CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu", "bias": False}), ("LSTMCell", {}),
         ("GRUCell", {}), ("GRUCell", {"bias": False})]


def _state(kind, rng, shape, make):
    if kind == "LSTMCell":
        return tuple(make(rng.standard_normal(shape)) for _ in range(2))
    return make(rng.standard_normal(shape))


def _flat(out):
    return [o.detach().numpy() if hasattr(o, "detach") else o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


@pytest.mark.parametrize("kind, kw", CELLS)
def test_cells_take_unbatched_input_and_hx_as_torch(kind, kw):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = getattr(torch.nn, kind)(3, 4, **kw).double()
    cell = getattr(nn, kind)(3, 4, **kw).double()
    cell.load_state_dict(ref.state_dict())
    assert repr(cell) == repr(ref)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3)
    s = _state(kind, rng, (4,), lambda a: a)
    mk_m, mk_t = (lambda a: mt.tensor(a, requires_grad=True)), (lambda a: torch.tensor(a, requires_grad=True))
    conv_m = (lambda v: tuple(map(mk_m, v))) if kind == "LSTMCell" else mk_m
    conv_t = (lambda v: tuple(map(mk_t, v))) if kind == "LSTMCell" else mk_t
    xm, xt, sm, st = mk_m(x), mk_t(x), conv_m(s), conv_t(s)
    for ours, theirs in [(cell(xm), ref(xt)), (cell(xm, hx=sm), ref(xt, hx=st)), (cell(xm, sm), ref(xt, st))]:
        got, want = _flat(ours), _flat(theirs)
        assert [g.shape for g in got] == [w.shape for w in want] == [(4,)] * len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12)
    ours, theirs = cell(xm, hx=sm), ref(xt, hx=st)
    cot = rng.standard_normal(4)
    sum((o * mt.tensor(cot)).sum() for o in (ours if isinstance(ours, tuple) else (ours,))).backward()
    sum((o * torch.tensor(cot)).sum() for o in (theirs if isinstance(theirs, tuple) else (theirs,))).backward()
    for a, b in zip([xm, *(sm if isinstance(sm, tuple) else (sm,))], [xt, *(st if isinstance(st, tuple) else (st,))]):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_unbatched_cell_equals_a_batch_of_one_and_gradchecks(device, kind):
    from .conftest import gradcheck_module
    mt.manual_seed(0)
    cell = getattr(nn, kind)(3, 4).double().to(device)
    rng = np.random.default_rng(1)
    x = mt.tensor(rng.standard_normal(3), device=device, requires_grad=True)
    s = _state(kind, rng, (4,), lambda a: mt.tensor(a, device=device, requires_grad=True))
    one = cell(x.reshape(1, 3), tuple(v.reshape(1, 4) for v in s) if kind == "LSTMCell" else s.reshape(1, 4))
    got = cell(x, hx=s)
    for g, w in zip(_flat(got), _flat(one)):
        assert g.shape == (4,)
        np.testing.assert_array_equal(g, w[0])
    inputs = [x, *s] if kind == "LSTMCell" else [x, s]
    call = (lambda a, h, c: cell(a, hx=(h, c))[1]) if kind == "LSTMCell" else (lambda a, h: cell(a, hx=h))
    assert gradcheck_module(cell, inputs, call=call)


def test_reprs_as_torch():
    torch = pytest.importorskip("torch")
    for kind, kw in CELLS + [("LSTMCell", {"bias": False})]:
        assert repr(getattr(nn, kind)(3, 4, **kw)) == repr(getattr(torch.nn, kind)(3, 4, **kw))
    assert repr(nn.GRUCell(3, 4)) == "GRUCell(3, 4)"
    for kind in ("GRU", "LSTM"):
        for kw in ({}, {"bias": False, "batch_first": True}, {"num_layers": 2, "dropout": 0.5, "bidirectional": True}):
            assert repr(getattr(nn, kind)(3, 4, **kw)) == repr(getattr(torch.nn, kind)(3, 4, **kw))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_layers_take_hx_and_warn_on_dropout_with_one_layer_as_torch(kind):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        layer = getattr(nn, kind)(3, 4, dropout=0.5).double()
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        ref = getattr(torch.nn, kind)(3, 4, dropout=0.5).double()
    assert [(w.category, str(w.message)) for w in ours] == [(w.category, str(w.message)) for w in theirs]
    assert len(ours) == 1 and ours[0].filename == __file__     # points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(nn, kind)(3, 4, num_layers=2, dropout=0.5)
        getattr(nn, kind)(3, 4)
    layer.load_state_dict(ref.state_dict())
    layer.eval(), ref.eval()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 2, 3))
    h = [rng.standard_normal((1, 2, 4)) for _ in range(2 if kind == "LSTM" else 1)]
    hm = tuple(map(mt.tensor, h)) if kind == "LSTM" else mt.tensor(h[0])
    ht = tuple(map(torch.tensor, h)) if kind == "LSTM" else torch.tensor(h[0])
    out, _ = layer(mt.tensor(x), hx=hm)
    tout, _ = ref(torch.tensor(x), hx=ht)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12)
    own = "state" if kind == "LSTM" else "h0"
    with pytest.raises(TypeError, match=f"{kind}.forward: got both {own} and hx"):
        layer(mt.tensor(x), hm, hx=hm)


def test_cell_errors():
    cell = nn.GRUCell(3, 4)
    with pytest.raises(ValueError, match=r"GRUCell: expected input \(B, 3\) or \(3,\) unbatched, got \(1, 2, 3\)"):
        cell(mt.zeros(1, 2, 3))
    with pytest.raises(ValueError, match=r"an unbatched input \(3,\) takes a state \(4,\), got \(1, 4\)"):
        cell(mt.zeros(3), mt.zeros(1, 4))
    with pytest.raises(TypeError, match="GRUCell.forward: got both h and hx"):
        cell(mt.zeros(3), mt.zeros(4), hx=mt.zeros(4))
    with pytest.raises(TypeError, match=r"LSTMCell: state must be a pair \(h, c\)"):
        nn.LSTMCell(3, 4)(mt.zeros(3), hx=mt.zeros(4))
