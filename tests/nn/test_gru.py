"""nn.GRU / nn.GRUCell and the gru_cell / gru_sequence ops: torch's gate layout and parameter
names (a torch GRU's state dict loads; outputs, final states and every gradient equal torch's in
float64), float64 gradchecks and gradgradchecks on both devices, the fused backward against the
composed one, errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn
from minitf.backend import to_numpy

from ..conftest import ATOL, RTOL, device_tensor, randt
from .conftest import gradcheck_module

CONFIGS = [dict(), dict(num_layers=2), dict(bidirectional=True), dict(batch_first=True, bias=False),
           dict(num_layers=2, bidirectional=True, batch_first=True)]


def _grad(t):
    g = t.grad
    return g.numpy() if isinstance(g, mt.Tensor) else to_numpy(g)


@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("unbatched", [False, True])
def test_gru_matches_torch_with_a_torch_state_dict(cfg, unbatched):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = torch.nn.GRU(3, 4, **cfg).double()
    layer = nn.GRU(3, 4, **cfg).double()
    assert list(layer.state_dict()) == list(ref.state_dict())
    layer.load_state_dict(ref.state_dict())               # torch tensors, strict
    rng = np.random.default_rng(1)
    D, L = 2 if cfg.get("bidirectional") else 1, cfg.get("num_layers", 1)
    shape = (5, 3) if unbatched else ((2, 5, 3) if cfg.get("batch_first") else (5, 2, 3))
    x, h0 = rng.standard_normal(shape), rng.standard_normal((L * D, 4) if unbatched else (L * D, 2, 4))
    xm, hm = mt.tensor(x, requires_grad=True), mt.tensor(h0, requires_grad=True)
    xt, ht = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    out, hn = layer(xm, hm)
    out_t, hn_t = ref(xt, ht)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hn.numpy(), hn_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    u, v = rng.standard_normal(out.shape), rng.standard_normal(hn.shape)
    ((out * mt.tensor(u)).sum() + (hn * mt.tensor(v)).sum()).backward()
    ((out_t * torch.tensor(u)).sum() + (hn_t * torch.tensor(v)).sum()).backward()
    np.testing.assert_allclose(_grad(xm), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_grad(hm), ht.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(_grad(p), dict(ref.named_parameters())[name].grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)


@pytest.mark.parametrize("bias", [True, False])
def test_gru_cell_matches_torch(bias):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    ref = torch.nn.GRUCell(3, 4, bias=bias).double()
    cell = nn.GRUCell(3, 4, bias=bias).double()
    cell.load_state_dict(ref.state_dict())
    rng = np.random.default_rng(2)
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    xm, hm = mt.tensor(x, requires_grad=True), mt.tensor(h, requires_grad=True)
    xt, ht = torch.tensor(x, requires_grad=True), torch.tensor(h, requires_grad=True)
    y, yt = cell(xm, hm), ref(xt, ht)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
    u = rng.standard_normal(y.shape)
    (y * mt.tensor(u)).sum().backward()
    (yt * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(_grad(xm), xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(_grad(hm), ht.grad.numpy(), rtol=1e-10)
    for name, p in cell.named_parameters():
        np.testing.assert_allclose(_grad(p), dict(ref.named_parameters())[name].grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(cell(mt.tensor(x)).numpy(), ref(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_gru_layers_gradcheck(device):
    rng = np.random.default_rng(3)
    mt.manual_seed(0)
    layer = nn.GRU(3, 2, num_layers=2, bidirectional=True).to(device=device, dtype="float64")
    x, h0 = randt(rng, 4, 2, 3, device=device), randt(rng, 4, 2, 2, device=device, scale=0.5)
    assert gradcheck_module(layer, [x, h0], call=lambda x, h: F.cat([layer(x, h)[0].reshape(-1),
                                                                     layer(x, h)[1].reshape(-1)]))
    cell = nn.GRUCell(3, 2).to(device=device, dtype="float64")
    assert gradcheck_module(cell, [randt(rng, 2, 3, device=device), randt(rng, 2, 2, device=device)])


@pytest.mark.parametrize("reverse", [False, True])
def test_gru_sequence_gradcheck_and_gradgradcheck(device, reverse):
    rng = np.random.default_rng(4)
    xw, h0 = device_tensor(rng.standard_normal((2, 4, 6)), device), device_tensor(rng.standard_normal((2, 2)), device)
    w, b = device_tensor(rng.standard_normal((6, 2)) * 0.5, device), device_tensor(rng.standard_normal(6), device)

    def run(*a):
        out, h = F.gru_sequence(*a, reverse=reverse)
        return out * 1.0, h
    assert mt.gradcheck(run, [xw, h0, w, b], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(run, [xw, h0, w, b], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(lambda x, h, w, b: F.gru_cell(x[:, 0], h, w, b), [xw, h0, w, b], rtol=RTOL, atol=ATOL)


def test_fused_backward_agrees_with_the_composed_one(device):
    """Two derivations of one gradient: the fused array backward and create_graph=True's
    composition in primitive ops."""
    rng = np.random.default_rng(5)
    xw, h0 = device_tensor(rng.standard_normal((3, 5, 9)), device), device_tensor(rng.standard_normal((3, 3)), device)
    w, b = device_tensor(rng.standard_normal((9, 3)), device), device_tensor(rng.standard_normal(9), device)
    out, h = F.gru_sequence(xw, h0, w, b)
    u = device_tensor(rng.standard_normal(out.shape), device, requires_grad=False)
    fused = mt.grad(out, [xw, h0, w, b], u, retain_graph=True)
    comp = mt.grad(out, [xw, h0, w, b], u, create_graph=True)
    for f, c in zip(fused, comp):
        np.testing.assert_allclose(to_numpy(c.data), to_numpy(f.data), rtol=1e-11, atol=1e-13)


def test_only_the_used_steps_get_gradient():
    rng = np.random.default_rng(6)
    xw = mt.tensor(rng.standard_normal((1, 4, 6)), requires_grad=True)
    out, _ = F.gru_sequence(xw, None, mt.tensor(rng.standard_normal((6, 2))))
    out[:, 1].sum().backward()
    g = _grad(xw)
    assert np.all(g[:, 2:] == 0) and np.any(g[:, :2] != 0)


def test_errors():
    x = mt.zeros(2, 4, 6)
    with pytest.raises(ValueError, match="gru_sequence: xw must be \\(B, T, 3H\\)"):
        F.gru_sequence(mt.zeros(2, 4, 5), None, mt.zeros(6, 2))
    with pytest.raises(ValueError, match="gru_sequence: w_hh has shape \\(6, 3\\), expected \\(6, 2\\)"):
        F.gru_sequence(x, None, mt.zeros(6, 3))
    with pytest.raises(ValueError, match="gru_sequence: b_hh has shape \\(3,\\), expected \\(6,\\)"):
        F.gru_sequence(x, None, mt.zeros(6, 2), mt.zeros(3))
    with pytest.raises(ValueError, match="gru_cell: need xw \\(B, 3H\\) and h \\(B, H\\)"):
        F.gru_cell(mt.zeros(2, 5), mt.zeros(2, 2), mt.zeros(6, 2))
    with pytest.raises(ValueError, match="GRU: expected input \\(T, B, C\\) with C=3"):
        nn.GRU(3, 2)(mt.zeros(4, 2, 5))
    with pytest.raises(ValueError, match="GRU: h0 must have shape"):
        nn.GRU(3, 2)(mt.zeros(4, 2, 3), mt.zeros(2, 2, 2))


def test_float32_gru_stays_float32(device):
    layer = nn.GRU(3, 4, bidirectional=True).to(device)
    x = mt.tensor(np.random.default_rng(7).standard_normal((5, 2, 3)), dtype="float32", device=device,
                  requires_grad=True)
    out, h = layer(x)
    (out.sum() + h.sum()).backward()
    assert out.dtype == h.dtype == x.grad.dtype == layer.weight_hh_l0.grad.dtype == np.float32
