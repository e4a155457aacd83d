"""F.transformer_block_step, the fused decoding step of a pre-norm block: against the block's
layers (with and without a cache), a prompt of several tokens then single tokens, every
combination of biases and GELUs, both float dtypes, both devices; and its refusals."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn

# The fused step runs the layers' formulas on arrays, in their order; it is bit-identical
# today, but nothing promises that a rewritten kernel (a fused residual, another summation
# order) rounds each operation as the layers do: a few ulps of the activations after
# several layers, ~1e-7 relative in float32 and ~1e-16 in float64, well inside these.
TOL = {"float16": dict(rtol=3e-3, atol=3e-3), "float32": dict(rtol=1e-6, atol=1e-6),
       "float64": dict(rtol=1e-12, atol=1e-12)}   # float16: the uncached path rounds its attention otherwise


def make_block(device, dtype, bias=True, gelu="tanh", d_ff=None, seed=0, C=8, H=2):
    mt.manual_seed(seed)
    block = nn.TransformerBlock(C, H, d_ff=d_ff, bias=bias, gelu_approximate=gelu).to(device=device, dtype=dtype)
    for p in block.parameters():   # away from the init's LayerNorm 1 and 0, so that every weight counts
        with mt.no_grad():
            p.copy_(p + mt.tensor(np.random.default_rng(seed).normal(0, 0.3, p.shape), dtype=dtype, device=device))
    return block.eval()


def params(block):
    a, m = block.attn, block.mlp
    return (block.ln_1.weight, block.ln_1.bias, a.c_attn.weight, a.c_attn.bias, a.c_proj.weight, a.c_proj.bias,
            block.ln_2.weight, block.ln_2.bias, m.c_fc.weight, m.c_fc.bias, m.c_proj.weight, m.c_proj.bias)


def buffers(device, dtype, B=2, H=2, L=8, hd=4):
    return [mt.zeros(B, H, L, hd, dtype=dtype, device=device) for _ in range(2)]


STEPS = [3, 1, 1, 2, 1]   # a prompt, single tokens, a two-token step: positions 0..7


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("bias,gelu,d_ff", [(True, "tanh", None), (False, "tanh", 12), (True, "none", None),
                                            (False, "none", 12)])
def test_block_step_equals_the_blocks_layers(device, dtype, bias, gelu, d_ff):
    block = make_block(device, dtype, bias, gelu, d_ff)
    x = mt.tensor(np.random.default_rng(1).normal(size=(2, sum(STEPS), 8)), dtype=dtype, device=device)
    k, v = buffers(device, dtype)
    cache = block.new_cache(8)
    fused, layered, start = [], [], 0
    with mt.no_grad(), block.ln_1.register_forward_hook(lambda *a: None):   # the hook: the layers' path
        for n in STEPS:
            xs = x[:, start:start + n]
            fused.append(F.transformer_block_step(xs, k, v, start, 2, params(block),
                                                  (block.ln_1.eps, block.ln_2.eps), gelu).numpy())
            layered.append(block(xs, cache=cache).numpy())
            start += n
        whole = block(x).numpy()                                    # no cache at all
    fused = np.concatenate(fused, axis=1)
    assert fused.dtype == dtype
    if dtype == "float16":   # the same operations, GELU in float32 as the layer's (ops/half_math.py)
        np.testing.assert_array_equal(fused, np.concatenate(layered, axis=1))
    np.testing.assert_allclose(fused, np.concatenate(layered, axis=1), **TOL[dtype])
    np.testing.assert_allclose(fused, whole, **TOL[dtype])
    # the buffers hold what the layers' cache holds: the keys and values of every position
    np.testing.assert_allclose(k.numpy(), cache.k.numpy(), **TOL[dtype])
    np.testing.assert_allclose(v.numpy(), cache.v.numpy(), **TOL[dtype])


def test_layer_norms_without_weight_or_bias_and_their_eps(device):
    """None for a LayerNorm's weight or bias (elementwise_affine=False), each LayerNorm its own eps."""
    block = make_block(device, "float64")
    block.ln_1 = nn.LayerNorm(8, eps=1e-2, elementwise_affine=False).to(device=device, dtype="float64")
    block.ln_2 = nn.LayerNorm(8, eps=0.3, bias=False).to(device=device, dtype="float64")
    x = mt.tensor(np.random.default_rng(2).normal(size=(2, 4, 8)), device=device)
    k, v = buffers(device, "float64")
    p = params(block)
    assert p[0] is None and p[1] is None and p[7] is None
    with mt.no_grad():
        got = np.concatenate([F.transformer_block_step(x[:, t:t + 1], k, v, t, 2, p, (1e-2, 0.3)).numpy()
                              for t in range(4)], axis=1)
        want = block(x).numpy()
    np.testing.assert_allclose(got, want, **TOL["float64"])
    with mt.no_grad():   # and the eps are used: the default ones give another result
        other = F.transformer_block_step(x[:, :1], *buffers(device, "float64"), 0, 2, p).numpy()
    assert np.abs(other - got[:, :1]).max() > 1e-3


def test_the_step_writes_the_buffers_and_bumps_their_versions(device):
    block = make_block(device, "float64")
    k, v = buffers(device, "float64")
    v0 = (k._version, v._version)
    x = mt.tensor(np.random.default_rng(3).normal(size=(2, 1, 8)), device=device)
    with mt.no_grad():
        F.transformer_block_step(x, k, v, 5, 2, params(block))
        qkv = block.attn.c_attn(block.ln_1(x)).numpy()                # (2, 1, 24)
    np.testing.assert_allclose(k.numpy()[:, :, 5], qkv[:, 0, 8:16].reshape(2, 2, 4), **TOL["float64"])
    np.testing.assert_allclose(v.numpy()[:, :, 5], qkv[:, 0, 16:].reshape(2, 2, 4), **TOL["float64"])
    assert not k.numpy()[:, :, 6:].any() and not k.numpy()[:, :, :5].any()
    assert (k._version, v._version) > v0


def test_block_step_refuses_what_it_cannot_do():
    block = make_block("cpu", "float64")
    p = params(block)
    x = mt.tensor(np.zeros((2, 1, 8)))
    k, v = buffers("cpu", "float64")
    with pytest.raises(RuntimeError, match="no_grad"):
        F.transformer_block_step(x, k, v, 0, 2, p)                  # the weights require grad
    with mt.no_grad():
        with pytest.raises(ValueError, match="12 weights"):
            F.transformer_block_step(x, k, v, 0, 2, p[:-1])
        with pytest.raises(ValueError, match="gelu_approximate"):
            F.transformer_block_step(x, k, v, 0, 2, p, gelu_approximate="erf")
        with pytest.raises(ValueError, match="n_head must be an int >= 1"):
            F.transformer_block_step(x, k, v, 0, 0, p)
        with pytest.raises(ValueError, match="start must be an int >= 0"):
            F.transformer_block_step(x, k, v, -1, 2, p)
        with pytest.raises(ValueError, match="C divisible by n_head=3"):
            F.transformer_block_step(x, k, v, 0, 3, p)
        with pytest.raises(ValueError, match=r"attn.c_proj.weight must be float64 \(8, 8\)"):
            F.transformer_block_step(x, k, v, 0, 2, p[:4] + (mt.zeros(8, 9, dtype="float64"),) + p[5:])
        with pytest.raises(ValueError, match="ln_2.weight must be float64"):
            F.transformer_block_step(x, k, v, 0, 2, p[:6] + (p[6].float(),) + p[7:])
        with pytest.raises(ValueError, match="attn.c_attn.weight is required"):
            F.transformer_block_step(x, k, v, 0, 2, p[:2] + (None,) + p[3:])
        with pytest.raises(ValueError, match="too few for 1 new tokens after 8"):
            F.transformer_block_step(x, k, v, 8, 2, p)
        with pytest.raises(ValueError, match="the same one twice"):
            F.transformer_block_step(x, k, k, 0, 2, p)
        with pytest.raises(ValueError, match=r"k_cache must be float64 \(B, n_head, L, hd\)"):
            F.transformer_block_step(x, mt.zeros(1, 2, 8, 4, dtype="float64"), v, 0, 2, p)
        with pytest.raises(mt.backend.DeviceError, match="v_cache on fake"):
            F.transformer_block_step(x, k, v.to("fake"), 0, 2, p)
        with pytest.raises(mt.backend.DeviceError, match="ln_1.weight on fake"):
            F.transformer_block_step(x, k, v, 0, 2, (p[0].to("fake"),) + p[1:])
