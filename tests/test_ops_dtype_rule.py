"""The mixed-dtype rule: ops that combine an input with parameters need one dtype
(a TypeError naming both, as PyTorch raises); elementwise arithmetic promotes. (The matrix
products raise torch's own messages: tests/test_product_dtypes.py.)"""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn


def _t(shape, dtype, device="cpu"):
    return mt.tensor(np.random.default_rng(0).standard_normal(shape), dtype=dtype, device=device,
                     requires_grad=True)


CASES = {
    "linear": lambda d32, d64: F.linear(d64((2, 3)), d32((4, 3))),
    "linear bias": lambda d32, d64: F.linear(d64((2, 3)), d64((4, 3)), d32((4,))),
    "layer_norm": lambda d32, d64: F.layer_norm(d64((2, 3)), 3, d32((3,))),
    "scaled_dot_product_attention": lambda d32, d64: F.scaled_dot_product_attention(
        d64((1, 2, 4)), d32((1, 2, 4)), d32((1, 2, 4))),
    "rnn_cell": lambda d32, d64: F.rnn_cell(d32((2, 3)), d64((2, 3)), d32((3, 3))),
    "lstm_cell": lambda d32, d64: F.lstm_cell(d32((2, 8)), d64((2, 2, 2)), d32((8, 2))),
    "recurrent sequence": lambda d32, d64: F.lstm_sequence(d32((2, 3, 8)), d64((2, 2, 2)), d32((8, 2))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_mixing_float32_and_float64_is_refused(device, name):
    d32 = lambda s: _t(s, "float32", device)  # noqa: E731
    d64 = lambda s: _t(s, "float64", device)  # noqa: E731
    op = name.split()[0] if name != "recurrent sequence" else name
    with pytest.raises(TypeError, match=rf"{op}: .* is float\d\d but .* is float\d\d; they must have the same "
                                        r"dtype \(convert the input"):
        CASES[name](d32, d64)


def test_a_float32_layer_refuses_float64_input_and_says_how_to_fix_it(device):
    layer = nn.Linear(3, 2).to(device=device)
    with pytest.raises(TypeError, match=r"linear: input is float64 but weight is float32.*model.to\(dtype=...\)"):
        layer(_t((5, 3), "float64", device))
    assert layer(_t((5, 3), "float32", device)).dtype == np.float32
    assert layer.to(dtype="float64")(_t((5, 3), "float64", device)).dtype == np.float64


def test_torch_refuses_the_same_mix():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.nn.Linear(3, 2)(torch.zeros(5, 3, dtype=torch.float64))


def test_elementwise_arithmetic_promotes(device):
    a, b = _t((3,), "float32", device), _t((3,), "float64", device)
    c = a + b
    assert c.dtype == np.float64
    c.sum().backward()
    g = a.grad.data if isinstance(a.grad, mt.Tensor) else a.grad
    assert g.dtype == np.float32  # each leaf's gradient keeps the leaf's dtype
