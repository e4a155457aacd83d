"""Backward twice through one graph (retain_graph=True) gives exactly twice the gradient,
for every op: a backward must not overwrite what forward saved (cross_entropy once
reused its saved softmax as the gradient buffer and was wrong the second time)."""
import numpy as np
import pytest

import minitf as mt
from minitf import backend
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import device_tensor

# name -> f(x, w, b, device) with x: (3, 4), w: (4,), b: (4,) positive where it matters
OPS = {
    "add": lambda x, w, b, d: x + w,
    "sub": lambda x, w, b, d: w - x,
    "mul": lambda x, w, b, d: x * w,
    "div": lambda x, w, b, d: x / (b * b + 1.0),
    "neg": lambda x, w, b, d: -x,
    "pow": lambda x, w, b, d: (x * x + 1.0) ** 1.5,
    "matmul": lambda x, w, b, d: x @ w,
    "exp": lambda x, w, b, d: F.exp(x),
    "log": lambda x, w, b, d: F.log(x * x + 0.5),
    "sqrt": lambda x, w, b, d: F.sqrt(x * x + 0.5),
    "tanh": lambda x, w, b, d: F.tanh(x),
    "sigmoid": lambda x, w, b, d: F.sigmoid(x),
    "relu": lambda x, w, b, d: F.relu(x),
    "gelu": lambda x, w, b, d: F.gelu(x),
    "gelu_tanh": lambda x, w, b, d: F.gelu(x, approximate="tanh"),
    "silu": lambda x, w, b, d: F.silu(x),
    "sum": lambda x, w, b, d: F.sum(x, axis=0),
    "mean": lambda x, w, b, d: F.mean(x, axis=1, keepdims=True),
    "amax": lambda x, w, b, d: F.amax(x, axis=1),
    "amin": lambda x, w, b, d: F.amin(x, dim=0, keepdim=True),
    "max_dim": lambda x, w, b, d: F.max(x, 1).values,
    "var": lambda x, w, b, d: F.var(x, axis=0),
    "reshape": lambda x, w, b, d: x.reshape(2, 6),
    "permute": lambda x, w, b, d: x.T,
    "getitem": lambda x, w, b, d: x[mt.tensor([0, 2, 0], device=d), 1:],
    "concatenate": lambda x, w, b, d: F.concatenate([x, x * 2.0], axis=1),
    "stack": lambda x, w, b, d: F.stack([w, b], axis=1),
    "split": lambda x, w, b, d: F.split(x, [1, 3], axis=1)[1],
    "where": lambda x, w, b, d: F.where(x > 0, x, w),
    "masked_fill": lambda x, w, b, d: F.masked_fill(x, x < 0, 0.5),
    "softmax": lambda x, w, b, d: F.softmax(x, dim=-1),
    "log_softmax": lambda x, w, b, d: F.log_softmax(x, axis=0),
    "cross_entropy": lambda x, w, b, d: F.cross_entropy(x, mt.tensor([3, 0, 1], device=d)),
    "layer_norm": lambda x, w, b, d: F.layer_norm(x, w, b),
    "embedding": lambda x, w, b, d: F.embedding(mt.tensor([[2, 2], [0, 1]], device=d), x),
    "dropout": lambda x, w, b, d: F.dropout(x, 0.5, generator=backend.default_rng(d, 0)),
    "attention": lambda x, w, b, d: F.scaled_dot_product_attention(
        x, x * w, x + b, causal=True, dropout_p=0.25, generator=backend.default_rng(d, 0)),
    "linear": lambda x, w, b, d: F.linear(x, F.stack([w, b, w * b]), b[:3]),
}

# the ops whose torch node saves no tensor (AddBackward0, SumBackward1, ViewBackward0, CatBackward0, ...;
# tests/test_backward_twice.py checks each against torch): not freed by a backward without retain_graph
SAVES_NO_TENSOR = {"add", "sub", "neg", "sum", "mean", "reshape", "permute", "stack", "split"}


@pytest.mark.parametrize("name", sorted(OPS))
def test_second_backward_with_retain_graph_doubles_the_gradient(device, name):
    rng = np.random.default_rng(0)
    x = device_tensor(rng.standard_normal((3, 4)), device)
    w = device_tensor(rng.standard_normal(4), device)
    b = device_tensor(rng.standard_normal(4), device)
    y = OPS[name](x, w, b, device)
    u = device_tensor(rng.standard_normal(y.shape), device, requires_grad=False)
    y.backward(u, retain_graph=True)
    leaves = [t for t in (x, w, b) if t.grad is not None]
    assert leaves, "the op passed no gradient at all"
    first = [to_numpy(t.grad.data).copy() for t in leaves]
    y.backward(u)
    for t, g in zip(leaves, first):
        np.testing.assert_allclose(to_numpy(t.grad.data), 2 * g, rtol=1e-13, atol=1e-15)
    if name in SAVES_NO_TENSOR:   # torch's node keeps only sizes: it runs again (tests/test_backward_twice.py)
        y.backward(u)
        for t, g in zip(leaves, first):
            np.testing.assert_allclose(to_numpy(t.grad.data), 3 * g, rtol=1e-13, atol=1e-15)
        return
    with pytest.raises(RuntimeError, match="second time"):
        y.backward(u)  # the graph was freed by the backward without retain_graph
