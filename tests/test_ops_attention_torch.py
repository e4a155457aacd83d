"""scaled_dot_product_attention with PyTorch's keywords (attn_mask boolean or float,
is_causal top-left aligned, dropout_p, scale): float64 gradchecks on both devices and
torch.nn.functional.scaled_dot_product_attention in float64, forward and gradients."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

from .conftest import ATOL, RTOL, device_tensor
from .test_functional_fixes import grad_of


def _qkv(rng, B=2, H=3, T_q=4, T_k=6, D=5):
    return (rng.standard_normal((B, H, T_q, D)), rng.standard_normal((B, H, T_k, D)),
            rng.standard_normal((B, H, T_k, D)))


def _masks(rng, T_q, T_k):
    allowed = rng.random((2, 1, T_q, T_k)) < 0.7
    allowed[0, 0, 1] = False   # a query row with every key masked: output 0 in both libraries
    additive = rng.standard_normal((T_q, T_k))
    additive[0, 2] = -np.inf
    return {"none": None, "bool": allowed, "float": additive}


@pytest.mark.parametrize("T_q, T_k", [(4, 4), (3, 6), (6, 3)])
@pytest.mark.parametrize("kind", ["none", "bool", "float", "is_causal", "scale"])
def test_matches_torch_forward_and_gradients(T_q, T_k, kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(T_q * 10 + T_k)
    arrays = _qkv(rng, T_q=T_q, T_k=T_k)
    mask = _masks(rng, T_q, T_k).get(kind)
    kw = {"is_causal": True} if kind == "is_causal" else {"scale": 0.37} if kind == "scale" else {}
    ours = [mt.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    m_ours = None if mask is None else mt.tensor(mask, requires_grad=mask.dtype.kind == "f")
    m_theirs = None if mask is None else torch.tensor(mask, requires_grad=mask.dtype.kind == "f")
    y = F.scaled_dot_product_attention(*ours, attn_mask=m_ours, **kw)
    yt = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=m_theirs, **kw)
    u = rng.standard_normal(yt.shape)
    y.backward(mt.tensor(u))
    yt.backward(torch.tensor(u))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-13)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(grad_of(a), b.grad.numpy(), rtol=1e-11, atol=1e-12)
    if kind == "float":  # the additive mask is differentiable, summed over what it broadcast along
        np.testing.assert_allclose(grad_of(m_ours), m_theirs.grad.numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("kind", ["is_causal", "float", "bool"])
def test_gradcheck_new_keywords(device, kind):
    rng = np.random.default_rng(7)
    q, k, v = (device_tensor(a, device) for a in _qkv(rng, B=1, H=2, T_q=3, T_k=5, D=2))
    if kind == "is_causal":
        fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)  # noqa: E731
        assert mt.gradcheck(fn, [q, k, v], rtol=RTOL, atol=ATOL)
    elif kind == "float":
        bias = device_tensor(rng.standard_normal((2, 3, 5)), device)
        fn = lambda q, k, v, b: F.scaled_dot_product_attention(q, k, v, b, scale=0.8)  # noqa: E731
        assert mt.gradcheck(fn, [q, k, v, bias], rtol=RTOL, atol=ATOL)
    else:
        allowed = mt.tensor(rng.random((3, 5)) < 0.6, device=device)
        fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)  # noqa: E731
        assert mt.gradcheck(fn, [q, k, v], rtol=RTOL, atol=ATOL)


def test_boolean_and_float_masks_agree(device):
    rng = np.random.default_rng(8)
    q, k, v = (device_tensor(a, device, requires_grad=False) for a in _qkv(rng))
    allowed = rng.random((4, 6)) < 0.6
    allowed[:, 0] = True
    as_bool = F.scaled_dot_product_attention(q, k, v, mt.tensor(allowed, device=device))
    as_float = F.scaled_dot_product_attention(q, k, v, device_tensor(np.where(allowed, 0.0, -np.inf), device))
    old_name = F.scaled_dot_product_attention(q, k, v, mask=mt.tensor(allowed, device=device))
    np.testing.assert_allclose(as_float.numpy(), as_bool.numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(old_name.numpy(), as_bool.numpy())


def test_is_causal_is_top_left_and_causal_bottom_right(device):
    rng = np.random.default_rng(9)
    T_q, T_k = 2, 5
    q, k, v = (device_tensor(a, device, requires_grad=False) for a in _qkv(rng, T_q=T_q, T_k=T_k))
    top_left = np.tril(np.ones((T_q, T_k), bool))                # query i sees keys 0..i
    bottom_right = np.tril(np.ones((T_q, T_k), bool), k=T_k - T_q)  # query i sees keys 0..T_k - T_q + i
    np.testing.assert_array_equal(
        F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy(),
        F.scaled_dot_product_attention(q, k, v, attn_mask=mt.tensor(top_left, device=device)).numpy())
    np.testing.assert_allclose(
        F.scaled_dot_product_attention(q, k, v, causal=True).numpy(),
        F.scaled_dot_product_attention(q, k, v, attn_mask=mt.tensor(bottom_right, device=device)).numpy(),
        rtol=1e-14, atol=1e-15)
    assert not np.allclose(F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy(),
                           F.scaled_dot_product_attention(q, k, v, causal=True).numpy())
    square = [device_tensor(a, device, requires_grad=False) for a in _qkv(rng, T_q=4, T_k=4)]
    np.testing.assert_array_equal(F.scaled_dot_product_attention(*square, is_causal=True).numpy(),
                                  F.scaled_dot_product_attention(*square, causal=True).numpy())


def test_positional_order_is_pytorchs(device, restore_rng):
    rng = np.random.default_rng(10)
    q, k, v = (device_tensor(a, device, requires_grad=False) for a in _qkv(rng))
    mt.manual_seed(3)
    positional = F.scaled_dot_product_attention(q, k, v, None, 0.5, True, 0.2)
    mt.manual_seed(3)
    keywords = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.5, is_causal=True, scale=0.2)
    np.testing.assert_array_equal(positional.numpy(), keywords.numpy())


def test_bad_combinations(device):
    rng = np.random.default_rng(11)
    q, k, v = (device_tensor(a, device, requires_grad=False) for a in _qkv(rng))
    m = mt.tensor(np.ones((4, 6), bool), device=device)
    with pytest.raises(ValueError, match="attn_mask and is_causal=True both set"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=True)
    with pytest.raises(ValueError, match="is_causal .top-left aligned. and causal .bottom-right"):
        F.scaled_dot_product_attention(q, k, v, is_causal=True, causal=True)
    with pytest.raises(TypeError, match="got both attn_mask and mask"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=m, mask=m)
