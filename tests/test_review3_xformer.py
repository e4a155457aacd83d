"""Round-4 review of round 3's xformer group (transformer layers, CTC, adaptive softmax, Bilinear):
the edge cases its tests did not cover, against torch 2.13."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf.errors import DtypeError

torch = pytest.importorskip("torch")


def _load(tm, mm):
    mm.load_state_dict({k: mt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


@pytest.mark.parametrize("qs, ks", [((2, 2, 3, 4), (2, 2, 0, 4)), ((3, 4), (0, 4))])
def test_attention_over_no_keys_is_zero_as_torch(qs, ks, device):
    # (the softmax's max over zero keys raised "zero-size array to reduction operation maximum")
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal(qs), rng.standard_normal(ks), rng.standard_normal(ks[:-1] + (5,))
    Q, K, V = (mt.tensor(a, requires_grad=True, device=device) for a in (q, k, v))
    out = mt.nn.functional.scaled_dot_product_attention(Q, K, V)
    (out * 2).sum().backward()
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv)
    (tout * 2).sum().backward()
    np.testing.assert_array_equal(mt.backend.to_numpy(out.data), tout.detach().numpy())
    np.testing.assert_array_equal(mt.backend.to_numpy(Q.grad.data), tq.grad.numpy())
    assert K.grad.shape == K.shape and V.grad.shape == V.shape


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("src_shape, tgt_shape", [((0, 2, 8), (3, 2, 8)), ((3, 2, 8), (0, 2, 8)), ((1, 1, 8), (1, 1, 8))])
def test_transformer_with_empty_or_size_one_sequences_as_torch(batch_first, src_shape, tgt_shape):
    if batch_first:
        src_shape, tgt_shape = (src_shape[1], src_shape[0], 8), (tgt_shape[1], tgt_shape[0], 8)
    torch.manual_seed(0)
    tm = torch.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=batch_first).eval()
    mm = mt.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=batch_first).eval()
    _load(tm, mm)
    rng = np.random.default_rng(1)
    s, t = rng.standard_normal(src_shape).astype(np.float32), rng.standard_normal(tgt_shape).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (torch's nested-tensor notice)
        want = tm(torch.tensor(s), torch.tensor(t)).detach().numpy()
    got = mm(mt.tensor(s), mt.tensor(t)).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _ctc(lib, x, targets, il, tl, **kw):
    X = lib.tensor(x, requires_grad=True)
    loss = (mt.nn.functional if lib is mt else torch.nn.functional).ctc_loss(
        X.log_softmax(-1), lib.tensor(targets), lib.tensor(il), lib.tensor(tl), **kw)
    loss.backward()
    return loss.detach().numpy() if lib is torch else loss.numpy(), X.grad.numpy()


@pytest.mark.parametrize("targets", [np.zeros(0, dtype=np.int64), np.zeros((3, 0), dtype=np.int64)])
def test_ctc_with_every_target_empty_as_torch(targets):
    # (the extended target has length 1: the shift by 2 made a (N, 2) array, a broadcast error)
    x = np.random.default_rng(0).standard_normal((6, 3, 5))
    for red in ("mean", "sum"):
        got, want = _ctc(mt, x, targets, [6, 5, 4], [0, 0, 0], reduction=red), \
            _ctc(torch, x, targets, [6, 5, 4], [0, 0, 0], reduction=red)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-10, atol=1e-12)


def test_ctc_gradient_with_labels_equal_to_blank_is_the_losss_derivative():
    # a kept difference (docs/api.md): torch's gradient there is not the derivative of its own loss
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 5))
    args = (np.array([[0, 2], [3, 0], [0, 0]]), [6, 5, 6], [2, 2, 2])
    loss, g = _ctc(mt, x, *args, reduction="sum")
    tloss, _ = _ctc(torch, x, *args, reduction="sum")
    np.testing.assert_allclose(loss, tloss, rtol=1e-12)
    f = lambda a: _ctc(mt, a, *args, reduction="sum")[0]   # noqa: E731
    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = 1e-6
        num[i] = (f(x + e) - f(x - e)) / 2e-6
    np.testing.assert_allclose(g, num, atol=1e-7)


@pytest.mark.parametrize("target", [np.array([0.0, 4, 9]), np.array([True, False, True])])
def test_adaptive_softmax_refuses_non_integer_targets_as_torch(target):
    # (they were truncated to int64 silently; torch's gather refuses them)
    m = mt.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])
    with pytest.raises(RuntimeError, match="int"):
        torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])(torch.zeros(3, 8), torch.tensor(target))
    with pytest.raises(DtypeError, match="integer class indices"):
        m(mt.zeros(3, 8), mt.tensor(target))


def test_bilinear_refuses_in1_features_0_as_torch():
    with pytest.raises(ValueError) as te:
        torch.nn.Bilinear(0, 3, 2)
    with pytest.raises(ValueError) as me:
        mt.nn.Bilinear(0, 3, 2)
    assert str(me.value) == str(te.value)
    assert mt.nn.Bilinear(3, 0, 2).weight.shape == tuple(torch.nn.Bilinear(3, 0, 2).weight.shape)
