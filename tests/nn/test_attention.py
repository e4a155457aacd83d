"""CausalSelfAttention and TransformerBlock against NumPy transcriptions: causal, sliding
window, padding, key/value cache, post-norm and pre-norm; float64 gradchecks; both devices."""
import math

import numpy as np
import pytest

import minitf as mt
from minitf import nn

from ..conftest import randt
from .conftest import gradcheck_module
from .test_layers import np_gelu, np_layer_norm


def np_attention(x, p, n_head, window=None, pad=None):
    """One query, one head at a time: scores against the allowed keys (j <= i, within the
    window, not padding), softmax, weighted sum of values; no allowed key -> zeros."""
    B, T, C = x.shape
    hd = C // n_head
    qkv = x @ p["c_attn.weight"].T + p["c_attn.bias"]
    q, k, v = qkv[..., :C], qkv[..., C:2 * C], qkv[..., 2 * C:]
    y = np.zeros((B, T, C))
    for b in range(B):
        for h in range(n_head):
            ch = slice(h * hd, (h + 1) * hd)
            for i in range(T):
                keys = [j for j in range(T) if j <= i and (window is None or j > i - window)
                        and (pad is None or pad[b, j])]
                if not keys:
                    continue
                s = np.array([q[b, i, ch] @ k[b, j, ch] for j in keys]) / math.sqrt(hd)
                w = np.exp(s - s.max())
                w /= w.sum()
                y[b, i, ch] = sum(wj * v[b, j, ch] for wj, j in zip(w, keys))
    return y @ p["c_proj.weight"].T + p["c_proj.bias"]


def np_ffn(x, p):
    return np_gelu(x @ p["c_fc.weight"].T + p["c_fc.bias"]) @ p["c_proj.weight"].T + p["c_proj.bias"]


def sub(p, prefix):
    return {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}


def params_of(module):
    return {k: v.numpy() for k, v in module.state_dict().items()}


def make_attn(device, C=8, H=2, window=None, seed=0):
    mt.manual_seed(seed)
    return nn.CausalSelfAttention(C, H, window=window).to(device=device, dtype="float64")


PAD = np.array([[False, False, True, True, True],   # left padding
                [True, True, True, True, False]])   # right padding


@pytest.mark.parametrize("window,pad", [(None, None), (2, None), (None, PAD), (3, PAD), (1, None), (9, None)])
def test_attention_matches_numpy(device, rng, restore_rng, window, pad):
    attn = make_attn(device, window=window)
    x = randt(rng, 2, 5, 8, device=device)
    padding = None if pad is None else mt.tensor(pad, device=device)
    y = attn(x, padding_mask=padding)
    ref = np_attention(x.numpy(), params_of(attn), 2, window, pad)
    assert y.shape == (2, 5, 8) and y.device == device
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-10, atol=1e-12)


def test_window_one_sees_only_itself(rng, restore_rng):
    attn = make_attn("cpu", window=1)
    x = randt(rng, 1, 4, 8)
    p = params_of(attn)
    v = (x.numpy() @ p["c_attn.weight"].T + p["c_attn.bias"])[..., 16:]
    np.testing.assert_allclose(attn(x).numpy(), v @ p["c_proj.weight"].T + p["c_proj.bias"], rtol=1e-12)


@pytest.mark.parametrize("window,pad", [(None, None), (2, PAD)])
def test_attention_gradcheck(device, rng, restore_rng, window, pad):
    attn = make_attn(device, window=window)
    x = randt(rng, 2, 5, 8, device=device)
    padding = None if pad is None else mt.tensor(pad, device=device)
    assert gradcheck_module(attn, [x], call=lambda x: attn(x, padding_mask=padding))


def test_attention_dropout_is_seeded_and_off_in_eval(rng, restore_rng):
    mt.manual_seed(0)
    attn = nn.CausalSelfAttention(8, 2, dropout=0.3).to(dtype="float64")
    x = randt(rng, 2, 6, 8)
    mt.manual_seed(5)
    a = attn(x).numpy()
    mt.manual_seed(5)
    np.testing.assert_array_equal(attn(x).numpy(), a)
    attn.eval()
    e = attn(x).numpy()
    assert not np.allclose(a, e)
    np.testing.assert_allclose(e, np_attention(x.numpy(), params_of(attn), 2), rtol=1e-10)
    attn.train()
    assert gradcheck_module(attn, [x], call=lambda x: (mt.manual_seed(7), attn(x))[1])


def test_changing_a_token_never_changes_earlier_outputs(device, rng, restore_rng):
    attn = make_attn(device)
    x = rng.standard_normal((1, 6, 8))
    y0 = attn(mt.tensor(x, device=device)).numpy()
    for t in range(6):
        x2 = x.copy()
        x2[0, t] += rng.standard_normal(8)
        y = attn(mt.tensor(x2, device=device)).numpy()
        np.testing.assert_array_equal(y[0, :t], y0[0, :t])
        assert not np.allclose(y[0, t], y0[0, t])


@pytest.mark.parametrize("window,chunks", [(None, [1, 1, 1, 1, 1, 1, 1]), (None, [3, 1, 2, 1]),
                                           (2, [1] * 7), (3, [2, 4, 1]), (1, [1, 3, 3])])
def test_kv_cache_decoding_equals_full_recompute(device, rng, restore_rng, window, chunks):
    attn = make_attn(device, window=window)
    x = randt(rng, 2, 7, 8, device=device, requires_grad=False)
    full = attn(x).numpy()
    cache = attn.new_cache()
    outs, t = [], 0
    with mt.no_grad():
        for n in chunks:
            outs.append(attn(x[:, t:t + n], cache=cache).numpy())
            t += n
    assert cache.pos == 7
    if window is not None:
        assert len(cache) == min(7, window - 1)           # only what later queries can see
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("capacity", [None, 2, 16])
def test_kv_cache_in_place_buffers(device, rng, restore_rng, capacity):
    """Under no_grad the cache writes into (growing) buffers: same outputs, no concatenation."""
    attn = make_attn(device)
    x = randt(rng, 2, 7, 8, device=device, requires_grad=False)
    full = attn(x).numpy()
    cache = attn.new_cache(capacity)
    outs = []
    with mt.no_grad():
        for lo, hi in ((0, 3), (3, 4), (4, 5), (5, 7)):
            outs.append(attn(x[:, lo:hi], cache=cache).numpy())
            assert len(cache) == cache.pos == hi and not cache.k.requires_grad
    kbuf = cache._buf[0]
    assert kbuf.shape[2] >= 7 and (capacity != 16 or kbuf.shape[2] == 16)   # preallocated: never regrown
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full, rtol=1e-10, atol=1e-12)


def test_kv_cache_records_the_graph_when_grad_is_on(device, rng, restore_rng):
    """With grad on, the cached keys stay differentiable (the concatenating path)."""
    attn = make_attn(device)
    x = randt(rng, 1, 3, 8, device=device, requires_grad=False)
    cache = attn.new_cache(8)
    with mt.no_grad():
        attn(x[:, :2], cache=cache)                 # buffered prefix
    y = attn(x[:, 2:], cache=cache)                 # grad on: parameters require grad
    assert cache._buf is None and cache.k.requires_grad and len(cache) == 3
    y.sum().backward()
    assert attn.c_attn.weight.grad is not None
    np.testing.assert_allclose(y.numpy()[:, 0], attn(x).numpy()[:, 2], rtol=1e-10, atol=1e-12)


def test_kv_cache_with_padding(device, rng, restore_rng):
    attn = make_attn(device, window=3)
    x = randt(rng, 2, 5, 8, device=device, requires_grad=False)
    pad = mt.tensor(PAD, device=device)
    full = attn(x, padding_mask=pad).numpy()
    cache = attn.new_cache()
    with mt.no_grad():
        a = attn(x[:, :2], padding_mask=pad[:, :2], cache=cache).numpy()
        b = attn(x[:, 2:4], cache=cache).numpy()                 # no mask given: all real tokens
        c = attn(x[:, 4:], padding_mask=pad[:, 4:], cache=cache).numpy()
    np.testing.assert_allclose(np.concatenate([a, b, c], axis=1), full, rtol=1e-10, atol=1e-12)


def test_attention_errors():
    with pytest.raises(ValueError, match="not divisible by n_head"):
        nn.CausalSelfAttention(10, 3)
    with pytest.raises(ValueError, match="window must be a positive int"):
        nn.CausalSelfAttention(8, 2, window=0)
    attn = nn.CausalSelfAttention(8, 2)
    with pytest.raises(ValueError, match=r"expected input \(B, T, 8\)"):
        attn(mt.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"padding_mask must be \(B, T\)"):
        attn(mt.zeros(2, 3, 8), padding_mask=np.ones((2, 4), bool))


# --------------------------------------------------------------------------- blocks
def np_post_norm_block(x, p, n_head):
    """The seed's formulas: O = LayerNorm(X + SelfAttention(X)); H = LayerNorm(O + FFN(O))."""
    o = np_layer_norm(x + np_attention(x, sub(p, "attn."), n_head), p["ln_1.weight"], p["ln_1.bias"])
    return np_layer_norm(o + np_ffn(o, sub(p, "mlp.")), p["ln_2.weight"], p["ln_2.bias"])


def np_pre_norm_block(x, p, n_head):
    """GPT-2: X' = X + SelfAttention(LayerNorm(X)); H = X' + FFN(LayerNorm(X'))."""
    x = x + np_attention(np_layer_norm(x, p["ln_1.weight"], p["ln_1.bias"]), sub(p, "attn."), n_head)
    return x + np_ffn(np_layer_norm(x, p["ln_2.weight"], p["ln_2.bias"]), sub(p, "mlp."))


def make_block(device, norm_first, rng, **kw):
    mt.manual_seed(1)
    block = nn.TransformerBlock(8, 2, norm_first=norm_first, **kw).to(device=device, dtype="float64")
    for ln in (block.ln_1, block.ln_2):  # move the LayerNorms off 1 and 0 so that they matter
        ln.weight.data[...] = mt.tensor(1 + 0.3 * rng.standard_normal(8), device=device).data
        ln.bias.data[...] = mt.tensor(0.3 * rng.standard_normal(8), device=device).data
    return block


@pytest.mark.parametrize("norm_first,reference", [(False, np_post_norm_block), (True, np_pre_norm_block)])
def test_block_matches_numpy_and_gradchecks(device, rng, restore_rng, norm_first, reference):
    block = make_block(device, norm_first, rng)
    x = randt(rng, 2, 4, 8, device=device)
    np.testing.assert_allclose(block(x).numpy(), reference(x.numpy(), params_of(block), 2),
                               rtol=1e-10, atol=1e-12)
    # element by element on the CPU; on the (slow, numerically identical) fake device the
    # bigger tensors along random directions, which still exercises every device code path
    assert gradcheck_module(block, [x], max_elements=256 if device == "cpu" else 32)


def test_post_and_pre_norm_differ_and_post_norm_output_is_normalised(rng, restore_rng):
    x = randt(rng, 1, 4, 8, requires_grad=False)
    mt.manual_seed(1)
    post = nn.TransformerBlock(8, 2, norm_first=False).to(dtype="float64")
    mt.manual_seed(1)
    pre = nn.TransformerBlock(8, 2, norm_first=True).to(dtype="float64")
    h_post, h_pre = post(x).numpy(), pre(x).numpy()
    assert not np.allclose(h_post, h_pre)
    # post-norm ends in LayerNorm (weight 1, bias 0 at init): zero mean, unit variance per position
    np.testing.assert_allclose(h_post.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(h_post.var(-1), 1, rtol=1e-4)


def test_block_cache_and_bias_switch(device, rng, restore_rng):
    block = make_block(device, True, rng, window=2, d_ff=12)
    assert block.mlp.c_fc.weight.shape == (12, 8)
    x = randt(rng, 1, 5, 8, device=device, requires_grad=False)
    cache = block.new_cache()
    with mt.no_grad():
        steps = [block(x[:, t:t + 1], cache=cache).numpy() for t in range(5)]
    np.testing.assert_allclose(np.concatenate(steps, axis=1), block(x).numpy(), rtol=1e-10, atol=1e-12)
    nb = nn.TransformerBlock(8, 2, bias=False)
    assert all(not k.endswith("bias") for k in nb.state_dict())
    assert "ln_1.weight" in nb.state_dict()


# --------------------------------------------------------------------------- the fused op
def test_multi_head_op_gradcheck_and_errors(device, rng):
    qkv = randt(rng, 2, 4, 12, device=device)
    assert mt.gradcheck(lambda q: mt.functional.multi_head_self_attention(q, 2), [qkv])
    pad = mt.tensor(np.array([[False, True, True, True], [True, True, True, True]]), device=device)
    mask = mt.functional.attention_mask(4, key_padding_mask=pad, device=device)
    assert mask.shape == (2, 1, 4, 4)
    out = mt.functional.multi_head_self_attention(qkv, 2, mask=mask, causal=False)
    assert np.all(out.numpy()[0, 0] == 0)               # query 0 of row 0 sees only padding: zeros, no NaN
    assert mt.gradcheck(lambda q: mt.functional.multi_head_self_attention(q, 2, mask=mask, causal=False), [qkv])
    with pytest.raises(ValueError, match=r"\(B, T, 3C\) with C divisible by n_head=5"):
        mt.functional.multi_head_self_attention(qkv, 5)
    with pytest.raises(ValueError, match="does not broadcast"):
        mt.functional.multi_head_self_attention(qkv, 2, mask=mt.ones(3, 1, 4, 4, dtype="bool", device=device))
    with pytest.raises(TypeError, match="mask must be boolean"):
        mt.functional.multi_head_self_attention(qkv, 2, mask=mt.ones(4, 4, device=device))
    with pytest.raises(ValueError, match="window must be a positive int"):
        mt.functional.attention_mask(4, window=0)
    with pytest.raises(ValueError, match=r"key_padding_mask must be boolean \(B, t_k=4\)"):
        mt.functional.attention_mask(4, key_padding_mask=np.ones((2, 3), bool))
    assert mt.functional.attention_mask(4) is None      # plain causal: use causal=True instead


def test_a_kv_cache_reused_for_another_batch_says_to_reset(device, rng, restore_rng):
    attn = make_attn(device)
    cache = attn.new_cache(8)
    with mt.no_grad():
        attn(randt(rng, 2, 3, 8, device=device, requires_grad=False), cache=cache)
        with pytest.raises(ValueError, match="call reset"):
            attn(randt(rng, 3, 1, 8, device=device, requires_grad=False), cache=cache)
        cache.reset()
        assert attn(randt(rng, 3, 1, 8, device=device, requires_grad=False), cache=cache).shape == (3, 1, 8)
