"""PyTorch's everyday layer API: Sequential, Identity, LayerNorm(normalized_shape tuple,
elementwise_affine), Embedding(padding_idx), Dropout(p=1); against torch in float64 with the same
weights, float64 gradchecks on both devices, and the errors for bad constructor values."""
from collections import OrderedDict

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn

from ..conftest import randt
from .conftest import gradcheck_module


def grad_array(t):
    """A gradient as a host array, whether ``.grad`` is a backend array or a Tensor."""
    g = t.grad
    return g.numpy() if isinstance(g, mt.Tensor) else mt.backend.to_numpy(g)


def torch_state(torch, module):
    return {k: torch.tensor(v.numpy()) for k, v in module.state_dict().items()}


# --------------------------------------------------------------------------- Sequential, Identity
def test_sequential_chains_indexes_and_names_as_pytorch(device, rng, restore_rng):
    mt.manual_seed(0)
    seq = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Identity(), nn.Linear(5, 2)).to(device=device,
                                                                                        dtype="float64")
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert len(seq) == 4 and isinstance(seq[1], nn.Tanh) and seq[-1] is seq[3] and list(seq)[0] is seq[0]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and head[0] is seq[0] and list(head.state_dict()) == ["0.weight",
                                                                                                 "0.bias"]
    x = randt(rng, 4, 3, device=device)
    p = {k: v.numpy() for k, v in seq.state_dict().items()}
    ref = np.tanh(x.numpy() @ p["0.weight"].T + p["0.bias"]) @ p["3.weight"].T + p["3.bias"]
    np.testing.assert_allclose(seq(x).numpy(), ref, rtol=1e-12)
    assert gradcheck_module(seq, [x])
    with pytest.raises(IndexError, match="index 4 out of range for length 4"):
        seq[4]
    with pytest.raises(TypeError, match="Sequential holds Modules, got function"):
        nn.Sequential(nn.Linear(1, 1), F.relu)
    torch = pytest.importorskip("torch")
    tseq = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Identity(),
                               torch.nn.Linear(5, 2)).double()
    tseq.load_state_dict(torch_state(torch, seq))
    np.testing.assert_allclose(seq(x).numpy(), tseq(torch.tensor(x.numpy())).detach().numpy(), rtol=1e-12)


def test_sequential_from_an_ordered_dict_and_append():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias"] and seq[0] is seq.fc
    seq.append(nn.Linear(3, 1))
    assert list(seq.state_dict())[-2:] == ["2.weight", "2.bias"] and len(seq) == 3
    assert seq[np.int64(2)] is seq[-1]
    with pytest.raises(TypeError, match="indices must be integers or slices, got str"):
        seq["fc"]
    tail = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.ReLU())[1:]          # keys "1", "2", as PyTorch's slice
    with pytest.raises(KeyError, match="duplicate entry name '2'"):  # PyTorch would replace "2" silently
        tail.append(nn.Tanh())
    assert len(nn.Sequential().extend([nn.ReLU(), nn.Tanh()])) == 2
    assert seq(mt.ones(4, 2)).shape == (4, 1)


def test_identity_returns_its_input_and_takes_any_arguments():
    x = mt.ones(2, 3, requires_grad=True)
    ident = nn.Identity(54, unused="argument")
    assert ident(x) is x and list(ident.parameters()) == []


# --------------------------------------------------------------------------- LayerNorm
@pytest.mark.parametrize("normalized_shape", [4, (4,), (3, 4)])
@pytest.mark.parametrize("affine", ["affine", "no_bias", "none"])
def test_layer_norm_matches_pytorch_and_gradchecks(device, rng, normalized_shape, affine):
    ln = nn.LayerNorm(normalized_shape, eps=1e-4, elementwise_affine=affine != "none",
                      bias=affine == "affine").to(device=device, dtype="float64")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    assert ln.normalized_shape == shape                    # a tuple, as PyTorch stores it
    assert (ln.weight is None) == (affine == "none") and (ln.bias is None) == (affine != "affine")
    for p in ln.parameters():                  # non-trivial affine parameters, so their gradients count
        assert p.shape == shape
        p.data[...] = mt.tensor(rng.standard_normal(shape), device=device).data
    x = randt(rng, 2, 3, 4, device=device)
    mu_axes = tuple(range(3 - len(shape), 3))
    xn = x.numpy()
    ref = (xn - xn.mean(mu_axes, keepdims=True)) / np.sqrt(xn.var(mu_axes, keepdims=True) + 1e-4)
    ref = ref * (1 if ln.weight is None else ln.weight.numpy()) + (0 if ln.bias is None else ln.bias.numpy())
    np.testing.assert_allclose(ln(x).numpy(), ref, rtol=1e-10, atol=1e-12)
    assert gradcheck_module(ln, [x])
    torch = pytest.importorskip("torch")
    tln = torch.nn.LayerNorm(normalized_shape, eps=1e-4, elementwise_affine=affine != "none",
                             bias=affine == "affine").double()
    tln.load_state_dict(torch_state(torch, ln))
    np.testing.assert_allclose(ln(x).numpy(), tln(torch.tensor(xn)).detach().numpy(), rtol=1e-10, atol=1e-12)
    assert list(tln.state_dict()) == list(ln.state_dict())


def test_layer_norm_bad_values():
    for eps in (-1, -1e-12, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="LayerNorm: eps must be a non-negative number"):
            nn.LayerNorm(4, eps=eps)
    assert nn.LayerNorm(4, eps=0.0).eps == 0.0   # PyTorch accepts 0
    with pytest.raises(ValueError, match="normalized_shape must be a non-empty shape of sizes >= 1"):
        nn.LayerNorm(0)
    with pytest.raises(ValueError, match="normalized_shape must be a non-empty shape"):
        nn.LayerNorm(())
    with pytest.raises(TypeError, match="normalized_shape must be an int or a tuple of ints"):
        nn.LayerNorm("4")
    with pytest.raises(ValueError, match=r"expected input \(\.\.\., 3, 4\), got \(2, 4, 3\)"):
        nn.LayerNorm((3, 4))(mt.zeros(2, 4, 3))
    with pytest.raises(ValueError, match=r"expected input \(\.\.\., 4\), got \(2, 3\)"):
        nn.LayerNorm(4, elementwise_affine=False)(mt.zeros(2, 3))


# --------------------------------------------------------------------------- Embedding
@pytest.mark.parametrize("padding_idx", [2, -1])
def test_embedding_padding_row_starts_at_zero_and_learns_nothing(device, rng, restore_rng, padding_idx):
    mt.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=padding_idx).to(device=device, dtype="float64")
    row = padding_idx % 5
    assert emb.padding_idx == row                          # stored non-negative, as PyTorch does
    np.testing.assert_array_equal(emb.weight.numpy()[row], 0)
    assert np.all(np.delete(emb.weight.numpy(), row, axis=0) != 0)
    emb.weight.data[row] = 7.0                             # a padding vector set by hand stays put
    idx = mt.tensor([[0, row, 1], [row, row, 4]], device=device)
    u = rng.standard_normal((2, 3, 3))
    (emb(idx) * mt.tensor(u, device=device)).sum().backward()
    g = grad_array(emb.weight)
    np.testing.assert_array_equal(g[row], 0)
    np.testing.assert_allclose(g[0], u[0, 0], rtol=1e-15)
    np.testing.assert_array_equal(emb(idx).numpy()[0, 1], 7.0)
    # away from the padding row the lookup is the plain, exactly differentiable one (the padding row's
    # zero gradient is a convention, not the derivative: finite differences would see the lookup)
    others = [i for i in range(5) if i != row]
    assert gradcheck_module(emb, [mt.tensor([others[:3], others[1:]], device=device)])
    torch = pytest.importorskip("torch")
    tw = torch.tensor(emb.weight.numpy(), requires_grad=True)
    (torch.nn.functional.embedding(torch.tensor(idx.numpy()), tw, padding_idx=padding_idx)
     * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(g, tw.grad.numpy(), rtol=1e-15)


def test_embedding_bad_values():
    for args in ((0, 3), (4, -1), (-2, 3)):
        with pytest.raises(ValueError, match="must be an int >= 1"):
            nn.Embedding(*args)
    with pytest.raises(ValueError, match="num_embeddings must be an int >= 1, got 2.5"):
        nn.Embedding(2.5, 3)
    for bad in (5, -6):
        with pytest.raises(ValueError, match=rf"padding_idx {bad} is out of range for 5 embeddings"):
            nn.Embedding(5, 3, padding_idx=bad)
    with pytest.raises(TypeError, match="padding_idx must be an int or None"):
        nn.Embedding(5, 3, padding_idx=1.0)
    with pytest.raises(ValueError, match="padding_idx 9 is out of range"):
        F.embedding(mt.tensor([0]), mt.zeros(3, 2), padding_idx=9)


# --------------------------------------------------------------------------- Dropout
def test_dropout_p_one_gives_zeros_and_zero_gradients(device, rng):
    x = randt(rng, 6, 7, device=device)
    for y in (nn.Dropout(1.0)(x), F.dropout(x, 1.0), F.dropout(x, p=1)):
        assert y.device == device and y.shape == x.shape
        np.testing.assert_array_equal(y.numpy(), 0.0)       # no 0 * inf = NaN from 1 / (1 - p)
        x.grad = None
        (y * 2.0).sum().backward()
        np.testing.assert_array_equal(grad_array(x), 0.0)
    drop = nn.Dropout(1.0).eval()
    assert drop(x) is x


def test_dropout_bad_p():
    for p in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\]"):
            nn.Dropout(p)
        with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\]"):
            F.dropout(mt.ones(2), p)


def test_linear_bad_sizes():
    with pytest.raises(ValueError, match="Linear: in_features must be an int >= 0, got -1"):
        nn.Linear(-1, 3)
    with pytest.raises(ValueError, match="Linear: out_features must be an int >= 0, got -3"):
        nn.Linear(2, -3)
    with pytest.raises(ValueError, match="Linear: in_features must be an int >= 0, got 2.5"):
        nn.Linear(2.5, 3)
    empty = nn.Linear(0, 2)                                  # an empty layer is allowed, as PyTorch's
    assert empty.weight.shape == (2, 0) and np.array_equal(empty.bias.numpy(), [0, 0])


def test_attention_and_feedforward_bad_sizes():
    for args, name in (((4, 0), "n_head"), ((0, 2), "n_embd"), ((4, -2), "n_head"), ((4.0, 2), "n_embd")):
        with pytest.raises(ValueError, match=f"CausalSelfAttention: {name} must be an int >= 1"):
            nn.CausalSelfAttention(*args)
    with pytest.raises(ValueError, match="n_embd=6 is not divisible by n_head=4"):
        nn.CausalSelfAttention(6, 4)
    with pytest.raises(ValueError, match="FeedForward: d_ff must be an int >= 1, got 0"):
        nn.FeedForward(4, d_ff=0)
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\], got 2"):
        nn.TransformerBlock(4, 2, dropout=2)


@pytest.mark.parametrize("name, args", [("Sigmoid", ()), ("SiLU", ()), ("Softmax", (0,)), ("LogSoftmax", (1,)),
                                        ("ReLU", ()), ("Tanh", ()), ("GELU", ())])
def test_activation_modules_match_torch(device, name, args):
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).standard_normal((3, 4))
    x = mt.tensor(data, device=device, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    y, ty = getattr(nn, name)(*args)(x), getattr(torch.nn, name)(*args)(tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-13, atol=1e-15)
    u = np.random.default_rng(1).standard_normal((3, 4))
    y.backward(mt.tensor(u, device=device))
    ty.backward(torch.tensor(u))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


@pytest.mark.parametrize("name, args", [("Sigmoid", ()), ("SiLU", ()), ("Softmax", (0,)), ("LogSoftmax", (1,))])
def test_new_activation_modules_gradcheck(device, name, args):
    """float64 central differences with a random cotangent, on the CPU and the fake device."""
    x = mt.tensor(np.random.default_rng(2).standard_normal((3, 4)), device=device, requires_grad=True)
    assert gradcheck_module(getattr(nn, name)(*args), [x])


@pytest.mark.parametrize("n_in,n_out", [(0, 3), (8, 0), (0, 0)])
def test_linear_with_an_empty_side_runs_forward_and_backward_as_torch(n_in, n_out, device):
    # a 0-wide input or output (an adaptive softmax's empty tail cluster): torch gives a (B, n_out)
    # output, and gradients of zeros (the weight's, the bias's = the sum of the output gradient)
    layer = nn.Linear(n_in, n_out, dtype=mt.float64, device=device)
    x = mt.randn(2, 3, n_in, dtype=mt.float64, device=device, requires_grad=True)
    y = layer(x)
    assert y.shape == (2, 3, n_out)
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(layer.bias.numpy(), (2, 3, n_out)))
    (y * 2).sum().backward()
    assert x.grad.shape == x.shape and not x.grad.numpy().any()
    assert layer.weight.grad.shape == (n_out, n_in)
    np.testing.assert_array_equal(layer.bias.grad.numpy(), np.full(n_out, 12.0))
