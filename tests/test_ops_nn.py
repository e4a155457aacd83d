"""softmax, log_softmax, cross_entropy, layer_norm, embedding, dropout: naive NumPy
references (loops where that is the plain way), float64 gradchecks, both devices."""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minitf as mt
from minitf import backend
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import ATOL, RTOL, assert_forward, check_op, device_tensor, floats, shapes


def naive_softmax(x, axis):
    e = np.exp(x)  # inputs are small here: no overflow, no max subtraction needed
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@settings(max_examples=20)
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3, max_side=5))
def test_softmax_and_log_softmax(device, name, data, shape):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = data.draw(floats(shape, -3.0, 3.0))
    if name == "softmax":
        reference = lambda a: naive_softmax(a, axis)  # noqa: E731
    else:
        reference = lambda a: np.log(naive_softmax(a, axis))  # noqa: E731
    check_op(lambda t: getattr(F, name)(t, axis=axis), reference, [a], device)
    check_op(lambda t: getattr(t, name)(axis), reference, [a], device)


def naive_cross_entropy(logits, targets, ignore_index):
    """Mean over non-ignored positions of -log softmax(logits)[target], one row at a time."""
    rows = logits.reshape(-1, logits.shape[-1])
    total, count = 0.0, 0
    for row, t in zip(rows, targets.reshape(-1)):
        if t == ignore_index:
            continue
        total += -math.log(math.exp(row[t]) / sum(math.exp(v) for v in row))
        count += 1
    return np.float64(total / count)


@settings(max_examples=25)
@given(data=st.data(), lead=shapes(min_dims=0, max_dims=2, max_side=4), V=st.integers(1, 5),
       ignore_index=st.sampled_from([-100, -1, 0]))
def test_cross_entropy(device, data, lead, V, ignore_index):
    logits = data.draw(floats(lead + (V,), -3.0, 3.0))   # (), (N,) or (N, d1) positions, classes last here
    targets = data.draw(hnp.arrays(np.int64, lead, elements=st.integers(0, V - 1)))
    drop = data.draw(hnp.arrays(np.bool_, lead))
    targets = np.where(drop, ignore_index, targets) if ignore_index < 0 else targets
    assume((targets != ignore_index).any())  # every target ignored is 0/0, tested on its own
    t = mt.tensor(targets, device=device)
    if logits.ndim == 3:   # torch's layout (N, V, d1), the class dim 1; the naive rows want it last
        logits = np.moveaxis(logits, -1, 1)
    check_op(lambda x: F.cross_entropy(x, t, ignore_index=ignore_index),
             lambda x: naive_cross_entropy(np.moveaxis(x, 1, -1) if x.ndim == 3 else x, targets, ignore_index),
             [logits], device)


def test_cross_entropy_ignore_index_drops_positions(device):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((2, 4, 3))   # (N, C, d1): torch's layout
    targets = np.array([[1, -100, 3], [-100, 0, 2]])
    x = device_tensor(logits, device)
    loss = F.cross_entropy(x, mt.tensor(targets, device=device))
    rows = np.moveaxis(logits, 1, -1)   # (N, d1, C): one row of classes per position
    kept = F.cross_entropy(device_tensor(rows[targets != -100], device),
                           mt.tensor(targets[targets != -100], device=device))
    np.testing.assert_allclose(loss.item(), kept.item(), rtol=1e-13)
    loss.backward()
    grad = np.moveaxis(to_numpy(x.grad.data), 1, -1)
    assert np.all(grad[targets == -100] == 0.0)  # ignored rows receive exactly nothing
    assert np.all(grad[targets != -100] != 0.0)
    np.testing.assert_allclose(grad.sum(-1), 0.0, atol=1e-15)  # softmax - onehot sums to 0 per row


def test_cross_entropy_all_ignored_is_nan(device):
    # documented: the mean over zero targets is 0/0, as in PyTorch
    x = device_tensor(np.zeros((2, 3)), device)
    assert math.isnan(F.cross_entropy(x, mt.tensor([-100, -100], device=device)).item())


def test_cross_entropy_backward_twice_with_retain_graph(device):
    rng = np.random.default_rng(4)
    x = device_tensor(rng.standard_normal((3, 4)), device)
    loss = F.cross_entropy(x, mt.tensor([0, 3, 1], device=device))
    loss.backward(retain_graph=True)
    once = to_numpy(x.grad.data).copy()
    loss.backward()
    np.testing.assert_allclose(to_numpy(x.grad.data), 2 * once, rtol=1e-14)


def naive_layer_norm(x, w, b, eps=1e-5):
    out = np.empty_like(x)
    for idx in np.ndindex(*x.shape[:-1]):
        row = x[idx]
        mu = row.sum() / row.size
        var = ((row - mu) ** 2).sum() / row.size
        out[idx] = (row - mu) / math.sqrt(var + eps)
        if w is not None:
            out[idx] = out[idx] * w
        if b is not None:
            out[idx] = out[idx] + b
    return out


@settings(max_examples=25)
@given(data=st.data(), lead=shapes(min_dims=0, max_dims=2, max_side=3), C=st.integers(1, 5),
       has_weight=st.booleans(), has_bias=st.booleans())
def test_layer_norm(device, data, lead, C, has_weight, has_bias):
    arrays = [data.draw(floats(lead + (C,)))]
    if has_weight:
        arrays.append(data.draw(floats((C,))))
    if has_bias:
        arrays.append(data.draw(floats((C,))))

    def op(x, *wb):
        w = wb[0] if has_weight else None
        b = wb[-1] if has_bias else None
        return F.layer_norm(x, w, b)

    def reference(x, *wb):
        return naive_layer_norm(x, wb[0] if has_weight else None, wb[-1] if has_bias else None)

    check_op(op, reference, arrays, device)


@settings(max_examples=20)
@given(data=st.data(), V=st.integers(1, 5), C=st.integers(1, 3), idx_shape=shapes(min_dims=0, max_dims=2))
def test_embedding(device, data, V, C, idx_shape):
    idx = data.draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(0, V - 1)))
    w = data.draw(floats((V, C)))
    i = mt.tensor(idx, device=device)

    def reference(w):
        out = np.empty(idx.shape + (C,))
        for pos in np.ndindex(*idx.shape):
            out[pos] = w[idx[pos]]
        return out

    check_op(lambda w: F.embedding(i, w), reference, [w], device)


def test_embedding_repeated_indices_accumulate(device):
    w = device_tensor(np.arange(8.0).reshape(4, 2), device)
    idx = mt.tensor([[2, 0, 2], [2, 3, 0]], device=device)
    g = np.arange(12.0).reshape(2, 3, 2)
    F.embedding(idx, w).backward(device_tensor(g, device, requires_grad=False))
    expected = np.zeros((4, 2))
    for pos in np.ndindex(2, 3):
        expected[idx.numpy()[pos]] += g[pos]
    np.testing.assert_array_equal(to_numpy(w.grad.data), expected)
    assert to_numpy(w.grad.data)[1].tolist() == [0.0, 0.0]  # an unused row gets nothing


@settings(max_examples=15)
@given(data=st.data(), shape=shapes(min_dims=1), p=st.sampled_from([0.1, 0.5, 0.9]),
       seed=st.integers(0, 2 ** 16))
def test_dropout_matches_its_mask_and_gradchecks(device, data, shape, p, seed):
    a = data.draw(floats(shape))
    # the reference draws the same uniforms from an identically seeded generator of the device
    u = to_numpy(backend.default_rng(device, seed).random(shape, dtype=np.float64))
    expected = np.where(u >= p, a / (1 - p), 0.0)
    x = device_tensor(a, device)
    assert_forward(F.dropout(x, p, generator=backend.default_rng(device, seed)), expected, device)
    # gradcheck needs a deterministic function: the same mask on every evaluation
    assert mt.gradcheck(lambda t: F.dropout(t, p, generator=backend.default_rng(device, seed)), [x],
                        rtol=RTOL, atol=ATOL)


def test_dropout_is_reproducible_under_manual_seed(device, restore_rng):
    x = device_tensor(np.ones((50, 40)), device, requires_grad=False)
    mt.manual_seed(123)
    first = F.dropout(x, 0.3).numpy()
    second = F.dropout(x, 0.3).numpy()
    mt.manual_seed(123)
    again = F.dropout(x, 0.3).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)  # the generator moves on between calls
    assert set(np.unique(first)) <= {0.0, 1 / 0.7}
    assert abs((first == 0).mean() - 0.3) < 0.05  # 2000 draws: 5 standard deviations is ~0.051


@pytest.mark.parametrize("p, training", [(0.5, False), (0.0, True), (0.0, False)])
def test_dropout_identity_in_eval_and_at_p0(device, p, training):
    a = np.random.default_rng(5).standard_normal((3, 4))
    check_op(lambda t: F.dropout(t, p, training=training), lambda a: a, [a], device)
    x = device_tensor(a, device)
    F.dropout(x, p, training=training).backward(device_tensor(np.full((3, 4), 2.0), device, requires_grad=False))
    np.testing.assert_array_equal(to_numpy(x.grad.data), np.full((3, 4), 2.0))
