"""GPT: nanoGPT's names and shapes, GPT-2 initialisation, the closed-form parameter count,
an end-to-end gradcheck, the seed's claim that one masked pass gives every conditional,
causality, KV-cache generation, the fake device, and (if installed) PyTorch."""
import math

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn
from minitf.models import GPT, GPTConfig, gpt_param_count

TINY = dict(vocab_size=7, block_size=6, n_layer=2, n_head=2, n_embd=8)


def tiny_gpt(device="cpu", dtype="float64", seed=0, **kw):
    mt.manual_seed(seed)
    return GPT(GPTConfig(**{**TINY, **kw})).to(device=device, dtype=dtype)


def nanogpt_shapes(V, B, L, C, bias=True):
    """The state dict of nanoGPT's GPT, written out from its model.py."""
    out = [("transformer.wte.weight", (V, C)), ("transformer.wpe.weight", (B, C))]
    for i in range(L):
        h = f"transformer.h.{i}."
        out += [(h + "ln_1.weight", (C,)), (h + "ln_1.bias", (C,)),
                (h + "attn.c_attn.weight", (3 * C, C)), (h + "attn.c_attn.bias", (3 * C,)),
                (h + "attn.c_proj.weight", (C, C)), (h + "attn.c_proj.bias", (C,)),
                (h + "ln_2.weight", (C,)), (h + "ln_2.bias", (C,)),
                (h + "mlp.c_fc.weight", (4 * C, C)), (h + "mlp.c_fc.bias", (4 * C,)),
                (h + "mlp.c_proj.weight", (C, 4 * C)), (h + "mlp.c_proj.bias", (C,))]
    out += [("transformer.ln_f.weight", (C,)), ("transformer.ln_f.bias", (C,)), ("lm_head.weight", (V, C))]
    return [(k, s) for k, s in out if bias or not k.endswith(".bias")]


@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_names_and_shapes_are_nanogpts(bias):
    model = GPT(GPTConfig(11, 16, 3, 4, 12, bias=bias))
    assert [(k, v.shape) for k, v in model.state_dict().items()] == nanogpt_shapes(11, 16, 3, 12, bias)
    assert model.lm_head.weight is model.transformer.wte.weight
    names = [k for k, _ in model.named_parameters()]
    assert "lm_head.weight" not in names and len(names) == len(set(names))


def test_initialisation_is_gpt2s_and_reproducible(restore_rng):
    mt.manual_seed(123)
    cfg = GPTConfig(vocab_size=50, block_size=64, n_layer=3, n_head=4, n_embd=64)
    model = GPT(cfg)
    sd = {k: v.numpy().astype(np.float64) for k, v in model.state_dict().items()}
    resid = 0.02 / math.sqrt(2 * cfg.n_layer)
    for k, v in sd.items():
        if k.endswith(".bias"):
            assert np.all(v == 0), k
        elif "ln_" in k:
            assert np.all(v == 1), k
        else:
            want = resid if k.endswith("c_proj.weight") else 0.02
            # the sample std of n >= 3200 normal draws is within 5% of sigma (over 3.5 standard errors)
            assert abs(v.std() / want - 1) < 0.05, (k, v.std(), want)
            assert abs(v.mean()) < 4 * want / math.sqrt(v.size), k
    mt.manual_seed(123)
    again = GPT(cfg).state_dict()
    assert all(np.array_equal(again[k].numpy(), v) for k, v in sd.items())
    mt.manual_seed(124)
    assert not np.array_equal(GPT(cfg).state_dict()["transformer.wte.weight"].numpy(), sd["transformer.wte.weight"])


@pytest.mark.parametrize("cfg", [GPTConfig(65, 64, 4, 4, 128), GPTConfig(11, 7, 1, 1, 8, bias=False),
                                 GPTConfig(100, 32, 3, 2, 30, bias=False), GPTConfig(300, 16, 2, 6, 96)])
def test_parameter_count_closed_form(cfg):
    model = GPT(cfg)
    assert model.num_parameters(exclude_embeddings=True) == gpt_param_count(cfg, exclude_embeddings=True)
    assert model.num_parameters() == gpt_param_count(cfg, exclude_embeddings=False)
    embeddings = (cfg.vocab_size + cfg.block_size) * cfg.n_embd
    assert model.num_parameters() - model.num_parameters(exclude_embeddings=True) == embeddings


def test_gpt2_small_count_is_the_published_one():
    # GPT-2 small (Hugging Face's gpt2) has 124,439,808 parameters, head tied; Kaplan et al.'s
    # non-embedding count leaves out wte (50257 x 768) and wpe (1024 x 768): 85,056,000
    cfg = GPTConfig(50257, 1024, 12, 12, 768)
    assert gpt_param_count(cfg, exclude_embeddings=False) == 124_439_808
    assert gpt_param_count(cfg) == 85_056_000
    assert abs(gpt_param_count(cfg) / (12 * 12 * 768 ** 2) - 1) < 0.002


def test_forward_shapes_and_errors(device, restore_rng):
    model = tiny_gpt(device)
    idx = mt.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    logits = model(idx)
    assert logits.shape == (2, 3, 7) and logits.device == device
    assert model(np.array([[1, 2]])).shape == (1, 2, 7)            # host arrays are accepted
    with pytest.raises(ValueError, match="length 7: block_size is only 6"):
        model(np.zeros((1, 7), dtype=np.int64))
    with pytest.raises(ValueError, match=r"shape \(B, T\)"):
        model(mt.tensor([1.0, 2.0]))
    cache = model.new_cache()
    with mt.no_grad():
        model(np.zeros((1, 4), dtype=np.int64), cache=cache)
        with pytest.raises(ValueError, match="length 3 after 4 cached tokens: block_size is only 6"):
            model(np.zeros((1, 3), dtype=np.int64), cache=cache)
    with pytest.raises(ValueError, match="not divisible by n_head"):
        GPTConfig(7, 6, 2, 3, 8)
    with pytest.raises(ValueError, match="n_layer must be a positive int"):
        GPTConfig(7, 6, 0, 2, 8)
    with pytest.raises(TypeError, match="GPTConfig"):
        GPT(dict(TINY))


def test_whole_gpt_gradcheck(restore_rng):
    model = tiny_gpt()
    rng = np.random.default_rng(0)
    idx = mt.tensor(rng.integers(0, 7, (2, 6)))
    targets = mt.tensor(rng.integers(0, 7, (2, 6)))
    params = list(model.parameters())
    assert len(params) == len(model.state_dict()) - 1  # every parameter, the tied one once
    # tensors above 64 elements are checked along random directions (gradcheck's max_elements)
    assert mt.gradcheck(lambda *p: F.cross_entropy(model(idx).flatten(0, 1), targets.flatten()), params,
                        max_elements=64)


def test_loss_chunked_head_equals_logits_and_cross_entropy(device, restore_rng):
    """GPT.loss with LinearCrossEntropyOptions: the tied head and the loss as one chunked op,
    the same loss and parameter gradients (float64) as cross_entropy(model(idx), targets)."""
    model = tiny_gpt(device)
    rng = np.random.default_rng(1)
    idx = mt.tensor(rng.integers(0, 7, (3, 5)), device=device)
    targets = mt.tensor(rng.integers(0, 7, (3, 5)), device=device)
    res = []
    for options in (None, nn.LinearCrossEntropyOptions(batch_chunk_size=4)):
        model.zero_grad()
        loss = model.loss(idx, targets, options=options)
        loss.backward()
        res.append([loss.item()] + [p.grad.numpy().copy() for p in model.parameters()])
    direct = F.cross_entropy(model(idx).flatten(0, 1), targets.flatten())
    assert res[0][0] == direct.item()   # options=None is exactly the training loop's loss
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def log_probs(logits, tokens):
    """log p(tokens[t] | ...) read from logits (T, V) rows, in float64 NumPy."""
    lp = F.log_softmax(logits, dim=-1).numpy()
    return lp[np.arange(len(tokens)), tokens]


def test_one_masked_pass_gives_every_conditional(device, restore_rng):
    """The seed's central claim: log p(x) = sum_t log p(x_t | x_<t) from one parallel pass."""
    model = tiny_gpt(device, block_size=12).eval()
    rng = np.random.default_rng(1)
    x = rng.integers(0, 7, 13)                      # x_0 conditions; 12 conditionals follow
    with mt.no_grad():
        parallel = log_probs(model(x[None, :12])[0], x[1:])
        cache = model.new_cache()
        stepwise = np.array([log_probs(model(x[None, t:t + 1], cache=cache)[0], x[t + 1:t + 2])[0]
                             for t in range(12)])
        recompute = np.array([log_probs(model(x[None, :t + 1])[0, -1:], x[t + 1:t + 2])[0] for t in range(12)])
    assert abs(parallel.sum() - stepwise.sum()) <= 1e-10 * abs(parallel.sum())
    np.testing.assert_allclose(stepwise, parallel, rtol=1e-10)
    np.testing.assert_allclose(recompute, parallel, rtol=1e-10)


def test_changing_token_t_never_changes_earlier_logits(device, restore_rng):
    model = tiny_gpt(device)
    rng = np.random.default_rng(2)
    x = rng.integers(0, 7, (1, 6))
    with mt.no_grad():
        base = model(x).numpy()
        for t in range(6):
            y = x.copy()
            y[0, t] = (y[0, t] + 1 + rng.integers(0, 6)) % 7
            out = model(y).numpy()
            np.testing.assert_array_equal(out[0, :t], base[0, :t])     # exactly: masked, not just small
            assert not np.allclose(out[0, t], base[0, t])


def test_generate_with_cache_equals_recompute(device, restore_rng):
    model = tiny_gpt(device).eval()
    prompt = np.array([[1, 2], [3, 3]])
    runs = []
    for use_cache in (True, False):
        mt.manual_seed(9)
        runs.append(model.generate(prompt, 15, temperature=0.8, top_k=4, use_cache=use_cache).numpy())
    assert runs[0].shape == (2, 17)                  # runs past block_size = 6 into the cropped regime
    assert model.generate(prompt, 1).device == device
    np.testing.assert_array_equal(runs[0][:, :2], prompt)
    np.testing.assert_array_equal(runs[0], runs[1])
    mt.manual_seed(9)
    np.testing.assert_array_equal(model.generate(prompt, 15, temperature=0.8, top_k=4).numpy(), runs[0])


def test_generate_greedy_and_top_k(restore_rng):
    model = tiny_gpt().eval()
    out = model.generate([[0]], 8, temperature=0).numpy()
    seq = [0]
    with mt.no_grad():
        for _ in range(8):
            seq.append(int(model(np.array([seq[-6:]])).numpy()[0, -1].argmax()))
    assert out.tolist() == [seq]
    mt.manual_seed(0)
    np.testing.assert_array_equal(model.generate([[0]], 8, top_k=1).numpy(), out)   # top_k=1 is greedy
    with pytest.raises(ValueError, match="at least one token"):
        model.generate(np.zeros((1, 0), dtype=np.int64), 3)


def test_top_k_samples_only_among_the_k_best(restore_rng):
    logits = mt.tensor(np.random.default_rng(0).standard_normal((500, 9)))
    best = np.argsort(logits.numpy(), axis=1)[:, -3:]
    mt.manual_seed(0)
    s = F.sample_logits(logits, temperature=2.0, top_k=3).numpy()
    assert all(s[i] in best[i] for i in range(500))
    assert len(set(s.tolist())) > 3                   # and it does sample, not only argmax
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        F.sample_logits(logits, temperature=-1)


def test_sampling_follows_the_distribution(restore_rng):
    p = np.array([0.5, 0.3, 0.2, 0.0])
    logits = mt.tensor(np.log(np.tile(p + 1e-300, (20000, 1))))
    mt.manual_seed(0)
    counts = np.bincount(F.sample_logits(logits).numpy(), minlength=4) / 20000
    # 20000 draws: each frequency within 4 standard errors (<= 0.0036) of its probability
    np.testing.assert_allclose(counts, p, atol=0.015)
    assert counts[3] == 0                              # a zero-probability token is never drawn


def test_state_dict_round_trip_gives_identical_logits(device, restore_rng):
    a, b = tiny_gpt(device, seed=0), tiny_gpt(device, seed=1)
    idx = np.array([[3, 1, 4, 1, 5]])
    assert not np.array_equal(a(idx).numpy(), b(idx).numpy())
    b.load_state_dict({k: v.numpy() for k, v in a.state_dict().items()})
    np.testing.assert_array_equal(a(idx).numpy(), b(idx).numpy())
    assert b.lm_head.weight is b.transformer.wte.weight
    sd = a.state_dict()
    del sd["lm_head.weight"]
    with pytest.raises(nn.StateDictError, match="missing key.*lm_head.weight"):
        b.load_state_dict(sd)


def test_fake_device_forward_and_backward_match_cpu(restore_rng):
    rng = np.random.default_rng(3)
    idx, targets = rng.integers(0, 7, (2, 6)), rng.integers(0, 7, (2, 6))
    grads = {}
    for device in ("cpu", "fake"):
        model = tiny_gpt(device, dropout=0.1)
        mt.manual_seed(4)  # dropout draws on each device's own generator: compare without it
        model.eval()
        x, y = mt.tensor(idx, device=device), mt.tensor(targets, device=device).flatten()
        loss = F.cross_entropy(model(x).flatten(0, 1), y)   # logits (B T, V): torch's layout
        loss.backward()
        assert all(p.grad is not None and type(p.grad.data) is type(p.data) for p in model.parameters())
        grads[device] = [mt.backend.to_numpy(p.grad.data).copy() for p in model.parameters()]
        model.train()
        F.cross_entropy(model(x).flatten(0, 1), y).backward()
    for g_cpu, g_fake in zip(grads["cpu"], grads["fake"]):
        np.testing.assert_allclose(g_fake, g_cpu, rtol=1e-12, atol=1e-15)


def torch_gpt(sd, cfg, idx, gelu="tanh"):
    """nanoGPT's forward, transcribed with torch.nn.functional (GELU with the tanh approximation,
    as minitf's; ``gelu="none"`` is nanoGPT's own ``nn.GELU()``, the exact erf form)."""
    import torch
    import torch.nn.functional as TF
    B, T = idx.shape
    C, H = cfg.n_embd, cfg.n_head
    x = sd["transformer.wte.weight"][idx] + sd["transformer.wpe.weight"][:T]
    for i in range(cfg.n_layer):
        p = {k[len(f"transformer.h.{i}."):]: v for k, v in sd.items() if k.startswith(f"transformer.h.{i}.")}
        a = TF.layer_norm(x, (C,), p["ln_1.weight"], p.get("ln_1.bias"), 1e-5)
        q, k, v = TF.linear(a, p["attn.c_attn.weight"], p.get("attn.c_attn.bias")).split(C, dim=2)
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
        y = TF.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + TF.linear(y, p["attn.c_proj.weight"], p.get("attn.c_proj.bias"))
        a = TF.layer_norm(x, (C,), p["ln_2.weight"], p.get("ln_2.bias"), 1e-5)
        hidden = TF.gelu(TF.linear(a, p["mlp.c_fc.weight"], p.get("mlp.c_fc.bias")), approximate=gelu)
        x = x + TF.linear(hidden, p["mlp.c_proj.weight"], p.get("mlp.c_proj.bias"))
    x = TF.layer_norm(x, (C,), sd["transformer.ln_f.weight"], sd.get("transformer.ln_f.bias"), 1e-5)
    return TF.linear(x, sd["lm_head.weight"]), torch


@pytest.mark.parametrize("bias, gelu", [(True, "tanh"), (False, "tanh"), (True, "none")])
def test_logits_and_gradients_match_pytorch(bias, gelu, restore_rng):
    torch = pytest.importorskip("torch")
    model = tiny_gpt(bias=bias, gelu_approximate=gelu)
    for p in model.parameters():  # move LayerNorms and biases off their initial values
        p.data += 0.05 * np.random.default_rng(len(p.shape)).standard_normal(p.shape)
    sd = {k: torch.tensor(v.numpy(), requires_grad=True) for k, v in model.state_dict().items()}
    sd["lm_head.weight"] = sd["transformer.wte.weight"]   # tied, as in nanoGPT
    rng = np.random.default_rng(5)
    idx, targets = rng.integers(0, 7, (2, 6)), rng.integers(0, 7, (2, 6))
    want, _ = torch_gpt(sd, model.config, torch.tensor(idx), gelu=gelu)
    got = model(idx)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    torch.nn.functional.cross_entropy(want.reshape(-1, 7), torch.tensor(targets).reshape(-1)).backward()
    F.cross_entropy(got.flatten(0, 1), mt.tensor(targets).flatten()).backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, sd[name].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("bias", [True, False])
def test_a_nanogpt_checkpoint_loads(bias, restore_rng):
    """nanoGPT's train.py saves the compiled model's state dict: torch tensors, keys prefixed with
    _orig_mod., lm_head.weight and transformer.wte.weight both present (one tensor)."""
    torch = pytest.importorskip("torch")
    src = tiny_gpt(bias=bias)
    for p in src.parameters():  # move LayerNorms and biases off their initial values
        p.data += 0.05 * np.random.default_rng(len(p.shape)).standard_normal(p.shape)
    sd = {k: torch.from_numpy(v.numpy().copy()) for k, v in src.state_dict().items()}
    sd["lm_head.weight"] = sd["transformer.wte.weight"]
    sd["transformer.h.0.attn.bias"] = torch.tril(torch.ones(TINY["block_size"], TINY["block_size"]))[None, None]
    ckpt = {"model": {"_orig_mod." + k: v for k, v in sd.items()},
            "model_args": dict(n_layer=2, n_head=2, n_embd=8, block_size=6, bias=bias, vocab_size=7,
                               dropout=0.0),
            "iter_num": 100, "config": {"compile": True}}
    idx = np.random.default_rng(5).integers(0, 7, (2, 6))
    want = src(idx).numpy()

    model = GPT.from_nanogpt(ckpt, dtype="float64")
    # nanoGPT's MLP is nn.GELU(), the exact form: the loaded model uses it, the rest of the config is equal
    assert model.config.gelu_approximate == "none" and src.config.gelu_approximate == "tanh"
    assert model.config == GPTConfig(**{**vars(src.config), "gelu_approximate": "none"})
    assert model.lm_head.weight is model.transformer.wte.weight
    tanh_model = GPT(src.config).to(dtype="float64")
    tanh_model.load_nanogpt_state_dict(ckpt["model"])
    np.testing.assert_array_equal(tanh_model(idx).numpy(), want)
    other = tiny_gpt(bias=bias, seed=9)
    other.load_nanogpt_state_dict({k: v for k, v in ckpt["model"].items() if "lm_head" not in k})
    np.testing.assert_array_equal(other(idx).numpy(), want)
    # the plain load_state_dict takes the tensors, but not the prefixed keys
    with pytest.raises(nn.StateDictError, match="(?s)missing key.*unexpected key.*_orig_mod.transformer.wte.weight.*"
                                            "GPT.load_nanogpt_state_dict"):
        other.load_state_dict(ckpt["model"])
    with pytest.raises(ValueError, match="model_args"):
        GPT.from_nanogpt(ckpt["model"])
    # against nanoGPT's forward pass itself: the loaded model is nanoGPT's (exact GELU), to rounding;
    # the tanh-GELU model is the tanh reference, and the two GELUs do differ
    got = model(idx).numpy()
    erf_ref, _ = torch_gpt(sd, model.config, torch.tensor(idx), gelu="none")
    np.testing.assert_allclose(got, erf_ref.numpy(), rtol=1e-10, atol=1e-12)
    tanh_ref, _ = torch_gpt(sd, model.config, torch.tensor(idx), gelu="tanh")
    np.testing.assert_allclose(tanh_model(idx).numpy(), tanh_ref.numpy(), rtol=1e-10, atol=1e-12)
    assert 1e-6 < np.abs(got - tanh_ref.numpy()).max() < 1e-3


@pytest.mark.parametrize("use_cache", [True, False])
def test_generation_on_a_device_never_waits_for_it(use_cache):
    """Each new token comes back into the embedding, whose range check would read the device
    once per token on a GPU. sample_logits' ids are in [0, V) by construction and say so, and
    slices, reshapes and concatenations of known-range ids keep it: generating 20 tokens past
    the block (both paths, with top-k) crosses to the host not once."""
    import minitf as mt
    from minitf import fakedevice
    from minitf.models import CharRNN, CharRNNConfig
    mt.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=9, block_size=16, n_layer=1, n_head=2, n_embd=16)).to(device="fake").eval()
    lstm = CharRNN(CharRNNConfig(vocab_size=9, n_embd=16, n_layer=1, cell="lstm")).to(device="fake").eval()
    idx = mt.tensor([[1, 2]], device="fake")
    with mt.no_grad(), fakedevice.count_host_transfers() as n:
        out = gpt.generate(idx, 20, use_cache=use_cache, top_k=3)
        out2 = lstm.generate(idx, 20)
    assert n == {"to_host": 0, "to_device": 0} and out.shape == out2.shape == (1, 22)
    # and a token that is out of range is still caught: a known range is only ever a true one
    bad = F.cat([out, mt.tensor([[9]], device="fake")], axis=1)
    with pytest.raises(IndexError, match="out of range"):
        gpt(bad[:, -4:])
