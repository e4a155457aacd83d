"""Linear, Embedding, LayerNorm, Dropout, GELU and FeedForward: NumPy references and float64
gradchecks with respect to inputs and every parameter, on both devices."""
import math

import numpy as np
import pytest

import minitf as mt
from minitf import nn

from ..conftest import randt
from .conftest import gradcheck_module


def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    return y * w + (0.0 if b is None else b)


def np_gelu(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def test_linear_layout_forward_and_gradcheck(device, rng):
    layer = nn.Linear(5, 3).to(device=device, dtype="float64")
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    bound = 1 / math.sqrt(5)
    assert np.all(np.abs(layer.weight.numpy()) <= bound)
    x = randt(rng, 2, 4, 5, device=device)
    np.testing.assert_allclose(layer(x).numpy(), x.numpy() @ layer.weight.numpy().T + layer.bias.numpy(),
                               rtol=1e-12)
    assert gradcheck_module(layer, [x])
    no_bias = nn.Linear(5, 3, bias=False).to(device=device, dtype="float64")
    assert no_bias.bias is None and len(list(no_bias.parameters())) == 1
    assert gradcheck_module(no_bias, [x])
    with pytest.raises(ValueError, match="does not fit weight"):
        layer(randt(rng, 2, 4, device=device))


def test_embedding_forward_and_gradcheck(device, rng):
    emb = nn.Embedding(7, 4).to(device=device, dtype="float64")
    idx = mt.tensor([[0, 3, 3], [6, 0, 1]], device=device)
    np.testing.assert_array_equal(emb(idx).numpy(), emb.weight.numpy()[idx.numpy()])
    assert gradcheck_module(emb, [idx])  # repeated indices accumulate
    with pytest.raises(IndexError, match="out of range"):
        emb(mt.tensor([[7]], device=device))


@pytest.mark.parametrize("bias", [True, False])
def test_layer_norm_forward_and_gradcheck(device, rng, bias):
    ln = nn.LayerNorm(6, bias=bias).to(device=device, dtype="float64")
    assert (ln.bias is not None) == bias and ln.eps == 1e-5
    # non-trivial affine parameters, so their gradients are really exercised
    ln.weight.data[...] = mt.tensor(rng.standard_normal(6), device=device).data
    if bias:
        ln.bias.data[...] = mt.tensor(rng.standard_normal(6), device=device).data
    x = randt(rng, 3, 2, 6, device=device)
    ref = np_layer_norm(x.numpy(), ln.weight.numpy(), None if not bias else ln.bias.numpy())
    np.testing.assert_allclose(ln(x).numpy(), ref, rtol=1e-10, atol=1e-12)
    assert gradcheck_module(ln, [x])


def test_dropout_train_and_eval(device, rng, restore_rng):
    drop = nn.Dropout(0.25)
    x = mt.ones(200, 50, dtype="float64", device=device, requires_grad=True)
    mt.manual_seed(0)
    y = drop(x).numpy()
    kept = y != 0
    assert 0.7 < kept.mean() < 0.8                              # about 1 - p survive
    np.testing.assert_allclose(y[kept], 1 / 0.75)               # inverted scaling
    mt.manual_seed(0)
    np.testing.assert_array_equal(drop(x).numpy(), y)           # reproducible from the seed
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.Dropout(1.5)
    # the gradient flows through the kept elements only, scaled the same way
    drop.train()
    xs = randt(rng, 4, 5, device=device)
    assert mt.gradcheck(lambda x: (mt.manual_seed(1), drop(x))[1], [xs])


def test_gelu_forward_and_gradcheck(device, rng):
    x = randt(rng, 3, 7, device=device, scale=2.0)
    np.testing.assert_allclose(nn.GELU(approximate="tanh")(x).numpy(), np_gelu(x.numpy()), rtol=1e-12)
    exact = 0.5 * x.numpy() * np.vectorize(math.erfc)(x.numpy() * -math.sqrt(0.5))  # x Phi(x), no cancellation
    np.testing.assert_allclose(nn.GELU()(x).numpy(), exact, rtol=1e-14)  # PyTorch's default: exact
    assert mt.gradcheck(nn.GELU(), [x])
    assert mt.gradcheck(nn.GELU(approximate="tanh"), [x])
    assert repr(nn.GELU(approximate="tanh")) == "GELU(approximate='tanh')"
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'erf'"):
        nn.GELU(approximate="erf")


def test_feedforward_forward_and_gradcheck(device, rng):
    ff = nn.FeedForward(4, d_ff=6).to(device=device, dtype="float64")
    assert ff.c_fc.weight.shape == (6, 4) and ff.c_proj.weight.shape == (4, 6)
    assert nn.FeedForward(8).d_ff == 32                          # d -> 4d -> d by default
    x = randt(rng, 2, 3, 4, device=device)
    p = {k: v.numpy() for k, v in ff.state_dict().items()}
    ref = np_gelu(x.numpy() @ p["c_fc.weight"].T + p["c_fc.bias"]) @ p["c_proj.weight"].T + p["c_proj.bias"]
    np.testing.assert_allclose(ff(x).numpy(), ref, rtol=1e-10)   # GPT-2's tanh GELU by default
    assert gradcheck_module(ff, [x])
    exact = nn.FeedForward(4, d_ff=6, gelu_approximate="none").to(device=device, dtype="float64")
    exact.load_state_dict(ff.state_dict())
    assert exact.gelu.approximate == "none" and not np.allclose(exact(x).numpy(), ff(x).numpy(), rtol=1e-7)


@pytest.fixture
def float64_default():
    mt.set_default_dtype("float64")
    try:
        yield
    finally:
        mt.set_default_dtype("float32")


def test_layers_take_the_default_dtype_when_built(float64_default, device):
    from minitf.models import GPT, CharRNN, GPTConfig
    from minitf.models.charrnn import CharRNNConfig
    x3 = mt.randn(2, 4, 3, dtype="float64", device=device)
    x4 = mt.randn(2, 4, 4, dtype="float64", device=device)
    ids = mt.tensor([[1, 2, 3, 0]], device=device)
    cases = [(nn.Linear(3, 2), (x3,)), (nn.Embedding(5, 3), (ids,)), (nn.LayerNorm(4), (x4,)),
             (nn.RMSNorm(4), (x4,)), (nn.FeedForward(4), (x4,)), (nn.CausalSelfAttention(4, 2), (x4,)),
             (nn.TransformerBlock(4, 2), (x4,)), (nn.MultiheadAttention(4, 2), (x4, x4, x4)),
             (nn.MultiheadAttention(4, 2, kdim=3, vdim=3, add_bias_kv=True), (x4, x3, x3)),
             (nn.RNNCell(3, 4), (x3[0],)), (nn.LSTMCell(3, 4), (x3[0],)), (nn.GRUCell(3, 4), (x3[0],)),
             (nn.RNN(3, 4, num_layers=2), (x3,)), (nn.LSTM(3, 4, bidirectional=True), (x3,)),
             (nn.GRU(3, 4), (x3,)),
             (GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=2, n_embd=4)), (ids,)),
             (CharRNN(CharRNNConfig(vocab_size=5, n_embd=4)), (ids,))]
    assert nn.Parameter([1.0]).dtype == mt.float64  # Python data: the default dtype, as a tensor's
    for layer, args in cases:
        name = type(layer).__name__
        params = list(layer.parameters())
        assert params and all(p.dtype == mt.float64 for p in params), name
        out = layer.to(device)(*args)
        out = out[0] if isinstance(out, tuple) else out
        assert out.dtype == mt.float64, name
    mt.set_default_dtype("float32")  # read at construction time: a new layer is float32 again
    assert nn.Linear(3, 2).weight.dtype == mt.float32
