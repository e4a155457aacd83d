"""Numerical stability: huge logits and fully masked attention rows give finite, correct
values and gradients, never NaN or inf."""
from decimal import Decimal, localcontext

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import ATOL, RTOL, device_tensor


def exact_softmax(x):
    """Softmax rows in 60-digit decimal arithmetic: no overflow at exp(1e4), no max trick."""
    out = np.empty_like(x)
    with localcontext() as ctx:
        ctx.prec = 60
        for i in np.ndindex(*x.shape[:-1]):
            e = [Decimal(float(v)).exp() for v in x[i]]
            z = sum(e)
            out[i] = [float(v / z) for v in e]
    return out


def exact_log_softmax(x):
    out = np.empty_like(x)
    with localcontext() as ctx:
        ctx.prec = 60
        for i in np.ndindex(*x.shape[:-1]):
            log_z = sum(Decimal(float(v)).exp() for v in x[i]).ln()
            out[i] = [float(Decimal(float(v)) - log_z) for v in x[i]]
    return out


def huge_logits(kind, rng):
    if kind == "spread":  # up to 1e4 apart: exp overflows without the max subtraction
        return rng.uniform(-1e4, 1e4, size=(3, 5))
    if kind == "close_high":  # all near +1e4, differences O(1): the softmax is far from one-hot
        return 1e4 + rng.standard_normal((3, 5))
    return -1e4 + rng.standard_normal((3, 5))  # all near -1e4: exp underflows without the shift


# Step for the finite differences on |x| ~ 1e4: x + 1e-6 is only representable to
# ulp(1e4) ~ 1.8e-12, a 2e-6 relative error in the step itself; eps = 1e-4 makes that
# 2e-8 while the O(eps^2) truncation error stays ~1e-9. Tolerances are unchanged.
EPS_HUGE = 1e-4

KINDS = ["spread", "close_high", "close_low"]


@pytest.mark.parametrize("kind", KINDS)
def test_softmax_of_huge_logits(device, kind):
    logits = huge_logits(kind, np.random.default_rng(0))
    x = device_tensor(logits, device)
    y = F.softmax(x, dim=-1)
    assert np.isfinite(y.numpy()).all()
    np.testing.assert_allclose(y.numpy(), exact_softmax(logits), rtol=1e-12, atol=1e-300)
    u = np.random.default_rng(1).standard_normal(logits.shape)
    y.backward(device_tensor(u, device, requires_grad=False))
    p = exact_softmax(logits)
    np.testing.assert_allclose(to_numpy(x.grad.data), p * (u - (u * p).sum(-1, keepdims=True)), rtol=1e-9, atol=1e-12)
    assert mt.gradcheck(lambda t: F.softmax(t, dim=-1), [x], eps=EPS_HUGE, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", KINDS)
def test_log_softmax_of_huge_logits(device, kind):
    logits = huge_logits(kind, np.random.default_rng(2))
    x = device_tensor(logits, device)
    y = F.log_softmax(x, dim=-1)
    assert np.isfinite(y.numpy()).all()
    np.testing.assert_allclose(y.numpy(), exact_log_softmax(logits), rtol=1e-12, atol=1e-12)
    u = np.random.default_rng(3).standard_normal(logits.shape)
    y.backward(device_tensor(u, device, requires_grad=False))
    p = exact_softmax(logits)
    np.testing.assert_allclose(to_numpy(x.grad.data), u - p * u.sum(-1, keepdims=True), rtol=1e-9, atol=1e-12)
    assert mt.gradcheck(lambda t: F.log_softmax(t, dim=-1), [x], eps=EPS_HUGE, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", KINDS)
def test_cross_entropy_of_huge_logits(device, kind):
    logits = huge_logits(kind, np.random.default_rng(4))
    targets = np.array([0, 4, 2])
    x = device_tensor(logits, device)
    loss = F.cross_entropy(x, mt.tensor(targets, device=device))
    expected = -exact_log_softmax(logits)[np.arange(3), targets].mean()
    assert np.isfinite(loss.item())
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    loss.backward()
    onehot = np.eye(5)[targets]
    np.testing.assert_allclose(to_numpy(x.grad.data), (exact_softmax(logits) - onehot) / 3, rtol=1e-9, atol=1e-12)
    t = mt.tensor(targets, device=device)
    assert mt.gradcheck(lambda x: F.cross_entropy(x, t), [x], eps=EPS_HUGE, rtol=RTOL, atol=ATOL)


def test_sigmoid_and_tanh_saturate_without_overflow(device):
    x = device_tensor(np.array([-1e4, -800.0, 0.0, 800.0, 1e4]), device)
    with np.errstate(all="raise"):  # not even a warning from an overflowing exp
        s = F.sigmoid(x)
        s.backward(device_tensor(np.ones(5), device, requires_grad=False))
    np.testing.assert_allclose(s.numpy(), [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-300)
    np.testing.assert_allclose(to_numpy(x.grad.data), [0.0, 0.0, 0.25, 0.0, 0.0], atol=1e-300)


def _attention_inputs(device, rng):
    q = device_tensor(rng.standard_normal((2, 3, 4)), device)
    k = device_tensor(rng.standard_normal((2, 5, 4)), device)
    v = device_tensor(rng.standard_normal((2, 5, 3)), device)
    return q, k, v


@pytest.mark.parametrize("causal, dropout_p", [(False, 0.0), (True, 0.0), (False, 0.3)])
def test_fully_masked_attention_row_outputs_zero_and_passes_no_gradient(device, causal, dropout_p):
    rng = np.random.default_rng(5)
    q, k, v = _attention_inputs(device, rng)
    mask = np.ones((2, 3, 5), bool)
    mask[0, 1, :] = False  # query 1 of batch 0 may attend nothing
    mask[1, 0, :3] = False  # query 0 of batch 1 keeps keys 3, 4, which causal (keys <= 0 + 5 - 3) removes
    dead = [(0, 1)] + ([(1, 0)] if causal else [])
    m = mt.tensor(mask, device=device)
    gen = lambda: mt.backend.default_rng(device, 9)  # noqa: E731  (same dropout mask every call)

    def attend(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, mask=m, causal=causal, dropout_p=dropout_p,
                                              generator=gen())

    out = attend(q, k, v)
    o = out.numpy()
    assert np.isfinite(o).all()
    assert all((o[row] == 0).all() for row in dead)
    assert causal or (o[1, 0] != 0).any()
    u = rng.standard_normal(o.shape)
    out.backward(device_tensor(u, device, requires_grad=False))
    grads = [to_numpy(t.grad.data).copy() for t in (q, k, v)]
    assert all(np.isfinite(g).all() for g in grads)
    assert all((grads[0][row] == 0).all() for row in dead)
    # the masked rows pass nothing on: a different cotangent there changes no gradient
    for t in (q, k, v):
        t.grad = None
    u2 = u.copy()
    for row in dead:
        u2[row] = 1e3
    attend(q, k, v).backward(device_tensor(u2, device, requires_grad=False))
    for t, g in zip((q, k, v), grads):
        np.testing.assert_array_equal(to_numpy(t.grad.data), g)
    assert mt.gradcheck(attend, [q, k, v], rtol=RTOL, atol=ATOL)


def test_attention_with_huge_scores_is_finite(device):
    rng = np.random.default_rng(6)
    q = device_tensor(100.0 * rng.standard_normal((3, 4)), device)  # scores q.k / 2 of order 1e4
    k = device_tensor(100.0 * rng.standard_normal((5, 4)), device)
    v = device_tensor(rng.standard_normal((5, 2)), device)
    out = F.scaled_dot_product_attention(q, k, v, causal=True, dropout_p=0.0)
    out.sum().backward()
    for a in (out.numpy(), to_numpy(q.grad.data), to_numpy(k.grad.data), to_numpy(v.grad.data)):
        assert np.isfinite(a).all()
    # each output row is (numerically) the value row of the best allowed key
    s = q.numpy() @ k.numpy().T
    for i in range(3):
        best = np.argmax(np.where(np.arange(5) <= i + 2, s[i], -np.inf))
        np.testing.assert_allclose(out.numpy()[i], v.numpy()[best], rtol=1e-9, atol=1e-12)
