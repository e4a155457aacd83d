"""CausalSelfAttention.keep_attention: the stored probabilities are the ones the output used."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn

from ..conftest import randt
from .test_attention import PAD, make_attn


def rebuild_output(attn, x, P):
    """c_proj(merge_heads(P V)), V from the layer's own projection: what forward must have computed."""
    B, T, C = x.shape
    H = attn.n_head
    qkv = x.numpy() @ attn.c_attn.weight.numpy().T + attn.c_attn.bias.numpy()
    v = qkv[..., 2 * C:].reshape(B, -1, H, C // H).transpose(0, 2, 1, 3)     # (B, H, T_k, hd)
    y = (P @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
    return y @ attn.c_proj.weight.numpy().T + attn.c_proj.bias.numpy()


@pytest.mark.parametrize("window,pad", [(None, None), (2, None), (None, PAD)])
def test_kept_weights_rebuild_the_output(device, rng, window, pad):
    attn = make_attn(device, C=8, H=2, window=window)
    attn.keep_attention = True
    x = randt(rng, 2, 5, 8, device=device, requires_grad=False)
    out = attn(x, None if pad is None else mt.tensor(pad, device=device))
    P = attn.attention.numpy()
    assert P.shape == (2, 2, 5, 5) and attn.attention.device == device
    assert not attn.attention.requires_grad
    allowed = np.tril(np.ones((5, 5), bool))
    if window is not None:
        allowed &= ~np.tril(np.ones((5, 5), bool), -window)
    allowed = allowed[None, None] & (True if pad is None else pad[:, None, None, :])
    assert np.all(P[~np.broadcast_to(allowed, P.shape)] == 0)          # the causal triangle (and window, padding)
    rows = allowed.any(-1)                                              # rows with at least one key
    np.testing.assert_allclose(P.sum(-1)[np.broadcast_to(rows, P.shape[:3])], 1.0, rtol=1e-12)
    np.testing.assert_allclose(out.numpy(), rebuild_output(attn, x, P), rtol=1e-10, atol=1e-12)


def test_kept_weights_with_a_cache(device, rng):
    attn = make_attn(device, C=8, H=2)
    x = randt(rng, 1, 6, 8, device=device, requires_grad=False)
    attn.keep_attention = True
    attn(x)
    full = attn.attention.numpy()
    cache = attn.new_cache()
    attn(x[:, :4], cache=cache)
    step = attn(x[:, 4:], cache=cache)                                   # 2 new queries, 6 keys
    np.testing.assert_allclose(attn.attention.numpy(), full[:, :, 4:], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(step.numpy(), rebuild_output(attn, x, full)[:, 4:], rtol=1e-10, atol=1e-12)


def test_off_by_default_and_gpt_blocks(rng):
    attn = make_attn("cpu")
    attn(randt(rng, 1, 3, 8, requires_grad=False))
    assert attn.keep_attention is False and attn.attention is None
    mt.manual_seed(0)
    model = mt.models.GPT(mt.models.GPTConfig(vocab_size=7, block_size=8, n_layer=2, n_head=2, n_embd=8))
    for block in model.transformer.h:
        block.attn.keep_attention = True
    model.eval()
    with mt.no_grad():
        model(mt.tensor(np.array([[1, 2, 3, 4]])))
    assert [b.attn.attention.shape for b in model.transformer.h] == [(1, 2, 4, 4)] * 2
    assert "attention" not in " ".join(model.state_dict())               # not a buffer or parameter
