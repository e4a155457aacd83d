"""The fused decoding step in generation: GPT.generate and the cached forward take it with grad
disabled, and give the tokens (and, to rounding, the logits) of the layer-by-layer cached path
and of recomputing; hooks, grad, training-mode dropout and the debug tools keep the layers."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.models import GPT, GPTConfig

# see tests/test_ops_decode.py: the same formulas in the same order, so rounding at most
TOL = {"float32": dict(rtol=1e-6, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-12)}


def gpt(device="cpu", dtype="float64", **kw):
    mt.manual_seed(0)
    cfg = dict(vocab_size=11, block_size=12, n_layer=2, n_head=2, n_embd=8, **kw)
    return GPT(GPTConfig(**cfg)).to(device=device, dtype=dtype).eval()


@pytest.fixture
def fused_calls(monkeypatch):
    """How many times the blocks called F.transformer_block_step."""
    calls = []
    real = F.transformer_block_step

    def counted(*args, **kw):
        calls.append(args[0].shape[1])
        return real(*args, **kw)
    monkeypatch.setattr(F, "transformer_block_step", counted)
    return calls


def layer_path(model):
    """Hooks on every block's ln_1: the blocks run layer by layer (what they did before the fused step)."""
    return [b.ln_1.register_forward_hook(lambda *a: None) for b in model.transformer.h]


def cached_logits(model, idx, steps=6):
    with mt.no_grad():
        cache = model.new_cache()
        out = [model(idx, cache=cache).numpy()]
        for t in range(steps):
            out.append(model(mt.tensor([[t % 11], [(3 * t) % 11]], device=idx.device), cache=cache).numpy())
    return np.concatenate(out, axis=1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("gelu", ["tanh", "none"])
def test_fused_generation_equals_the_layer_path_and_recomputing(device, dtype, gelu, fused_calls, restore_rng):
    model = gpt(device, dtype, gelu_approximate=gelu)
    prompt = mt.tensor([[1, 2, 3], [4, 4, 0]], device=device)
    fused = cached_logits(model, prompt)
    assert fused_calls == [3, 3] + [1, 1] * 6                      # the prompt, then one token per block
    handles = layer_path(model)
    layered = cached_logits(model, prompt)
    assert len(fused_calls) == 14                                  # the hooks kept the layers
    for h in handles:
        h.remove()
    np.testing.assert_allclose(fused, layered, **TOL[dtype])
    with mt.no_grad():
        full = model(mt.tensor(np.concatenate([prompt.numpy(), [[t % 11 for t in range(6)],
                                                                [(3 * t) % 11 for t in range(6)]]], axis=1),
                               device=device)).numpy()
    np.testing.assert_allclose(fused, full, **TOL[dtype])

    runs = {}
    for name in ("fused", "layers", "recompute"):
        hs = layer_path(model) if name == "layers" else []
        mt.manual_seed(9)
        runs[name] = model.generate(prompt, 20, temperature=0.8, top_k=5, use_cache=name != "recompute").numpy()
        for h in hs:
            h.remove()
    assert runs["fused"].shape == (2, 23)                          # past block_size = 12: the cropped regime too
    np.testing.assert_array_equal(runs["fused"], runs["layers"])
    np.testing.assert_array_equal(runs["fused"], runs["recompute"])


def test_hooks_on_a_sub_module_see_it_called_and_block_hooks_still_run(fused_calls, restore_rng):
    model = gpt()
    seen = {"c_fc": 0, "block": 0}
    h1 = model.transformer.h[1].mlp.c_fc.register_forward_hook(lambda m, a, o: seen.__setitem__("c_fc", seen["c_fc"] + 1))
    mt.manual_seed(3)
    with_hook = model.generate([[1]], 5).numpy()
    assert seen["c_fc"] == 5 and fused_calls == [1] * 5          # block 0 fused, block 1 by its layers
    h1.remove()

    def block_hook(m, args, out):
        seen["block"] += 1
        return out * 1.0                                            # a hook may replace the output: it still can
    h2 = model.transformer.h[0].register_forward_hook(block_hook)
    mt.manual_seed(3)
    np.testing.assert_array_equal(model.generate([[1]], 5).numpy(), with_hook)
    assert seen["block"] == 5 and len(fused_calls) == 15           # the block's own hook wraps the fused step
    h2.remove()


def test_with_grad_enabled_the_cached_forward_records_the_graph(fused_calls, restore_rng):
    model = gpt()
    cache = model.new_cache()
    logits = [model(mt.tensor([[1, 2]]), cache=cache), model(mt.tensor([[3]]), cache=cache)]
    assert fused_calls == [] and logits[1].requires_grad
    logits[1].sum().backward()
    assert model.transformer.h[0].attn.c_attn.weight.grad is not None
    with mt.no_grad():                                              # the same numbers as the fused step gives
        fused = cached_logits(model, mt.tensor([[1, 2], [1, 2]]), steps=0)
    np.testing.assert_allclose(fused[:1], logits[0].detach().numpy(), **TOL["float64"])


def test_training_mode_dropout_keeps_the_layers_and_draws_masks(fused_calls, restore_rng):
    model = gpt(dropout=0.3).train()
    with mt.no_grad():
        outs = []
        for seed in (1, 2):
            mt.manual_seed(seed)
            cache = model.new_cache()
            model(mt.tensor([[1, 2]]), cache=cache)
            outs.append(model(mt.tensor([[3]]), cache=cache).numpy())
    assert fused_calls == [] and np.abs(outs[0] - outs[1]).max() > 1e-6   # dropout drew different masks
    model.eval()                                                    # eval: no dropout, the fused step
    with mt.no_grad():
        model(mt.tensor([[1]]), cache=model.new_cache())
    assert fused_calls == [1, 1]
    zero = gpt(dropout=0.0).train()                                 # training mode without dropout: fused too
    mt.manual_seed(4)
    a = zero.generate([[1]], 6).numpy()
    assert len(fused_calls) == 2 + 12
    mt.manual_seed(4)
    np.testing.assert_array_equal(a, zero.eval().generate([[1]], 6, use_cache=False).numpy())


@pytest.mark.parametrize("tool", ["profile", "detect_anomaly"])
def test_debug_tools_see_every_op(tool, fused_calls, restore_rng):
    model = gpt()
    with getattr(mt, tool)():
        model.generate([[1]], 3)
    assert fused_calls == []
    model.generate([[1]], 3)
    assert fused_calls == [1, 1] * 3


def test_post_norm_and_windowed_blocks_keep_the_layers(fused_calls, restore_rng):
    from minitf import nn
    mt.manual_seed(0)
    post = nn.TransformerBlock(8, 2, norm_first=False).to(dtype="float64").eval()
    windowed = nn.TransformerBlock(8, 2, window=2).to(dtype="float64").eval()
    x = mt.tensor(np.random.default_rng(0).normal(size=(1, 4, 8)))
    for block in (post, windowed):
        cache = block.new_cache(4)
        with mt.no_grad():
            steps = np.concatenate([block(x[:, t:t + 1], cache=cache).numpy() for t in range(4)], axis=1)
            np.testing.assert_allclose(steps, block(x).numpy(), **TOL["float64"])
    assert fused_calls == []


def test_a_wrong_dtype_still_gets_the_layers_error(fused_calls, restore_rng):
    model = gpt(dtype="float32")
    x = mt.tensor(np.zeros((1, 1, 8)))                              # float64 into a float32 block
    with mt.no_grad(), pytest.raises(TypeError, match="layer_norm: input is float64 but weight is float32"):
        model.transformer.h[0](x, cache=model.transformer.h[0].new_cache(4))
    assert fused_calls == []


def test_the_complex_guard_leaves_generation_fused(fused_calls, restore_rng):
    # the complex guard is on for the rest of the process once a complex tensor exists; it routes only
    # complex inputs, so a real model's cached steps stay fused (they fell to the layers before: a test
    # that made a complex tensor earlier in the run turned the fused counts above to [])
    mt.tensor([1j])
    model = gpt()
    prompt = mt.tensor([[1, 2, 3], [4, 4, 0]])
    fused = cached_logits(model, prompt, steps=3)
    assert fused_calls == [3, 3] + [1, 1] * 3
    handles = layer_path(model)
    np.testing.assert_allclose(fused, cached_logits(model, prompt, steps=3), **TOL["float64"])
    for h in handles:
        h.remove()
    with mt.autograd.detect_anomaly():   # a hook that watches the ops: the layers, one by one
        cached_logits(model, prompt, steps=1)
    assert len(fused_calls) == 8
