"""nn.MultiheadAttention against torch.nn.MultiheadAttention: a torch state dict loads (strict) and
outputs, attention weights and every gradient equal torch's in float64 for each layout, option and
mask kind; torch's is_causal hint rule; dropout; fully masked rows (0 here, where torch gives NaN on
its need_weights path); float64 gradchecks on both devices; errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn
from minitf.backend import to_numpy

from .conftest import gradcheck_module

E, H = 4, 2
L, S, N = 3, 5, 2

CONFIGS = {
    "plain": dict(),
    "batch_first": dict(batch_first=True),
    "kdim_vdim": dict(kdim=3, vdim=5),
    "bias_kv_zero_attn": dict(add_bias_kv=True, add_zero_attn=True),
    "no_bias": dict(bias=False),
    "zero_attn_kdim": dict(add_zero_attn=True, kdim=3, vdim=3, batch_first=True),
}


def _grad(t):
    g = t.grad
    return g.numpy() if isinstance(g, mt.Tensor) else to_numpy(g)


def twins(torch, cfg, seed=0):
    """A float64 torch layer and a minitf layer loaded from its state dict (strict)."""
    torch.manual_seed(seed)
    ref = torch.nn.MultiheadAttention(E, H, **cfg).double()
    layer = nn.MultiheadAttention(E, H, **cfg).double()
    layer.load_state_dict(ref.state_dict())
    return ref, layer


def inputs(rng, cfg, self_attn=False, unbatched=False):
    """query, key, value arrays in the layer's layout."""
    kd, vd = cfg.get("kdim", E), cfg.get("vdim", E)
    if self_attn:
        q = rng.standard_normal((L, E) if unbatched else (L, N, E))
        return q, q, q
    shp = (lambda t, d: (t, d)) if unbatched else (lambda t, d: (t, N, d))
    q, k, v = rng.standard_normal(shp(L, E)), rng.standard_normal(shp(S, kd)), rng.standard_normal(shp(S, vd))
    if cfg.get("batch_first") and not unbatched:
        q, k, v = (a.transpose(1, 0, 2).copy() for a in (q, k, v))
    return q, k, v


def masks(rng, kind, t_k, unbatched=False):
    """(key_padding_mask, attn_mask) as arrays, PyTorch's convention; no query row fully masked
    (every row keeps key 0 allowed)."""
    n = 1 if unbatched else N
    kpm = am = None
    if "kpm" in kind:
        kpm = rng.random((n, t_k)) < 0.4
        kpm[:, 0] = False
        if "kpm_float" in kind:
            kpm = np.where(kpm, -np.inf, rng.standard_normal(kpm.shape))
        if unbatched:
            kpm = kpm[0]
    if "am2" in kind or "am3" in kind:
        shape = (L, t_k) if "am2" in kind else (n * H, L, t_k)
        am = rng.random(shape) < 0.4
        am[..., 0] = False
        if "float" in kind.split("+")[-1]:
            am = np.where(am, -np.inf, rng.standard_normal(shape))
    return kpm, am


MASKS = ["none", "kpm", "am2", "am3", "am2_float", "am3_float", "kpm+am2", "kpm_float+am3_float", "kpm+am3_float"]


def run_both(torch, ref, layer, arrays, kpm, am, self_attn=False, **kw):
    """Forward both layers, then backward one random cotangent; compare everything."""
    xs = [mt.tensor(a, requires_grad=True) for a in arrays[:1 if self_attn else 3]]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays[:1 if self_attn else 3]]
    if self_attn:
        xs, ts = xs * 3, ts * 3
    mk = lambda a, lib: None if a is None else lib.tensor(a)  # noqa: E731
    out, w = layer(*xs, key_padding_mask=mk(kpm, mt), attn_mask=mk(am, mt), **kw)
    out_t, w_t = ref(*ts, key_padding_mask=mk(kpm, torch), attn_mask=mk(am, torch), **kw)
    assert out.shape == tuple(out_t.shape)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    assert (w is None) == (w_t is None)
    rng = np.random.default_rng(7)
    u = rng.standard_normal(out.shape)
    loss, loss_t = (out * mt.tensor(u)).sum(), (out_t * torch.tensor(u)).sum()
    if w is not None:
        assert w.shape == tuple(w_t.shape)
        np.testing.assert_allclose(w.numpy(), w_t.detach().numpy(), rtol=1e-12, atol=1e-13)
        c = rng.standard_normal(w.shape)
        loss, loss_t = loss + (w * mt.tensor(c)).sum(), loss_t + (w_t * torch.tensor(c)).sum()
    loss.backward()
    loss_t.backward()
    for i, (x, t) in enumerate(zip(xs[:1] if self_attn else xs, ts[:1] if self_attn else ts)):
        np.testing.assert_allclose(_grad(x), t.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"input {i}")
    tparams = dict(ref.named_parameters())
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(_grad(p), tparams[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    return out, w


@pytest.mark.parametrize("cfg", CONFIGS.values(), ids=CONFIGS.keys())
def test_state_dict_names_shapes_and_order_are_torchs(cfg):
    torch = pytest.importorskip("torch")
    ref = torch.nn.MultiheadAttention(E, H, **cfg)
    layer = nn.MultiheadAttention(E, H, **cfg)
    assert [(k, tuple(v.shape)) for k, v in layer.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    layer.load_state_dict(ref.state_dict())          # float32 torch tensors, strict
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), ref.state_dict()[k].numpy())
        assert v.dtype == np.float32
    assert repr(layer) == repr(ref)
    for attr in ("embed_dim", "num_heads", "kdim", "vdim", "head_dim", "dropout", "batch_first",
                 "add_zero_attn", "_qkv_same_embed_dim"):
        assert getattr(layer, attr) == getattr(ref, attr), attr
    # and back: a minitf state dict loads into torch
    ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})


# torch warns when one mask is bool and the other float (deprecated there; supported by both)
@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("cfg", CONFIGS.values(), ids=CONFIGS.keys())
def test_cross_attention_matches_torch(cfg, mask):
    torch = pytest.importorskip("torch")
    ref, layer = twins(torch, cfg)
    rng = np.random.default_rng(1)
    kpm, am = masks(rng, mask, S)
    for need_weights, average in ((True, True), (True, False), (False, True)):
        ref.zero_grad()
        layer.zero_grad()
        run_both(torch, ref, layer, inputs(rng, cfg), kpm, am, need_weights=need_weights,
                 average_attn_weights=average)


@pytest.mark.parametrize("mask", ["none", "kpm", "am2", "am3_float", "kpm+am2"])
@pytest.mark.parametrize("cfg", ["plain", "batch_first", "bias_kv_zero_attn"])
def test_self_attention_matches_torch(cfg, mask):
    # query is key is value: the packed projection (one GEMM), as torch's
    torch = pytest.importorskip("torch")
    cfg = CONFIGS[cfg]
    ref, layer = twins(torch, cfg)
    rng = np.random.default_rng(2)
    kpm, am = masks(rng, mask, L)
    x = inputs(rng, cfg, self_attn=True)
    if cfg.get("batch_first"):
        x = tuple(a.transpose(1, 0, 2).copy() for a in x)
    for need_weights in (True, False):
        ref.zero_grad()
        layer.zero_grad()
        run_both(torch, ref, layer, x, kpm, am, self_attn=True, need_weights=need_weights)


@pytest.mark.parametrize("mask", ["none", "kpm", "am2", "am3", "kpm_float+am3_float"])
@pytest.mark.parametrize("cfg", ["plain", "kdim_vdim", "bias_kv_zero_attn"])
def test_unbatched_matches_torch(cfg, mask):
    torch = pytest.importorskip("torch")
    cfg = CONFIGS[cfg]
    ref, layer = twins(torch, cfg)
    rng = np.random.default_rng(3)
    kpm, am = masks(rng, mask, S, unbatched=True)
    for need_weights, average in ((True, True), (True, False), (False, True)):
        ref.zero_grad()
        layer.zero_grad()
        out, w = run_both(torch, ref, layer, inputs(rng, cfg, unbatched=True), kpm, am,
                          need_weights=need_weights, average_attn_weights=average)
        assert out.shape == (L, E)


def test_float_mask_gradient_matches_torch():
    # a float attn_mask that requires grad gets d loss / d mask, as torch's
    torch = pytest.importorskip("torch")
    ref, layer = twins(torch, {})
    rng = np.random.default_rng(4)
    q, k, v = inputs(rng, {})
    am = rng.standard_normal((N * H, L, S))
    for need_weights in (True, False):
        a, at = mt.tensor(am, requires_grad=True), torch.tensor(am, requires_grad=True)
        out, _ = layer(mt.tensor(q), mt.tensor(k), mt.tensor(v), attn_mask=a, need_weights=need_weights)
        out_t, _ = ref(torch.tensor(q), torch.tensor(k), torch.tensor(v), attn_mask=at, need_weights=need_weights)
        u = rng.standard_normal(out.shape)
        (out * mt.tensor(u)).sum().backward()
        (out_t * torch.tensor(u)).sum().backward()
        np.testing.assert_allclose(_grad(a), at.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_eval_fast_path_matches_torch():
    # torch takes its native fast path here (eval, no grad, batch_first self-attention)
    torch = pytest.importorskip("torch")
    ref, layer = twins(torch, dict(batch_first=True))
    ref.eval()
    layer.eval()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((N, L, E))
    kpm = np.array([[False, True, False], [False, False, True]])
    with torch.no_grad(), mt.no_grad():
        for need_weights in (True, False):
            out, w = layer(*[mt.tensor(x)] * 3, key_padding_mask=mt.tensor(kpm), need_weights=need_weights)
            xt = torch.tensor(x)
            out_t, w_t = ref(xt, xt, xt, key_padding_mask=torch.tensor(kpm), need_weights=need_weights)
            np.testing.assert_allclose(out.numpy(), out_t.numpy(), rtol=1e-12, atol=1e-13)
            if need_weights:
                np.testing.assert_allclose(w.numpy(), w_t.numpy(), rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------------------- is_causal

def test_is_causal_needs_attn_mask_as_torch():
    torch = pytest.importorskip("torch")
    ref, layer = twins(torch, {})
    x = np.random.default_rng(6).standard_normal((L, N, E))
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        ref(*[torch.tensor(x)] * 3, is_causal=True)
    with pytest.raises(RuntimeError, match="is_causal=True .* needs attn_mask"):
        layer(*[mt.tensor(x)] * 3, is_causal=True)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("with_kpm", [False, True])
@pytest.mark.parametrize("cfg", ["plain", "bias_kv_zero_attn"])
def test_is_causal_hint_follows_torch(cfg, with_kpm, need_weights):
    # torch uses the hint (and ignores attn_mask) only without key_padding_mask and need_weights;
    # otherwise it uses attn_mask as given. A non-causal mask shows which one was used.
    torch = pytest.importorskip("torch")
    cfg = CONFIGS[cfg]
    ref, layer = twins(torch, cfg)
    rng = np.random.default_rng(8)
    x = inputs(rng, cfg, self_attn=True)
    kpm = np.array([[False, False, True], [False, True, False]]) if with_kpm else None
    causal = np.triu(np.ones((L, L), dtype=bool), 1)
    not_causal = np.zeros((L, L), dtype=bool)
    for am in (causal, not_causal):
        ref.zero_grad()
        layer.zero_grad()
        run_both(torch, ref, layer, x, kpm, am, self_attn=True, need_weights=need_weights, is_causal=True)


# ---------------------------------------------------------------------------- fully masked rows

@pytest.mark.parametrize("need_weights", [True, False])
def test_fully_masked_rows_attend_to_nothing(need_weights):
    # minitf: attention output 0 (layer output = out_proj.bias), weights 0, finite gradients.
    # torch: the same output with need_weights=False; NaN output and weights with need_weights=True.
    torch = pytest.importorskip("torch")
    ref, layer = twins(torch, {})
    rng = np.random.default_rng(9)
    b = rng.standard_normal(E)
    with torch.no_grad():
        ref.out_proj.bias.copy_(torch.tensor(b))
    layer.out_proj.bias.data[...] = b
    q, k, v = inputs(rng, {})
    kpm = np.zeros((N, S), dtype=bool)
    kpm[1] = True                                           # batch 1: every key padded
    am = np.zeros((L, S), dtype=bool)
    am[0] = True                                            # query 0: every key masked
    xs = [mt.tensor(a, requires_grad=True) for a in (q, k, v)]
    out, w = layer(*xs, key_padding_mask=mt.tensor(kpm), attn_mask=mt.tensor(am), need_weights=need_weights)
    out_t, w_t = ref(*[torch.tensor(a) for a in (q, k, v)], key_padding_mask=torch.tensor(kpm),
                     attn_mask=torch.tensor(am), need_weights=need_weights)
    o = out.numpy()
    np.testing.assert_array_equal(o[:, 1], np.broadcast_to(b, (L, E)))
    np.testing.assert_array_equal(o[0, 0], b)
    np.testing.assert_allclose(o[1:, 0], out_t.detach().numpy()[1:, 0], rtol=1e-12)
    if need_weights:
        assert np.isnan(out_t.detach().numpy()[:, 1]).all()        # torch's NaN
        wn = w.numpy()
        assert (wn[1] == 0).all() and (wn[0, 0] == 0).all()
        np.testing.assert_allclose(wn[0, 1:], w_t.detach().numpy()[0, 1:], rtol=1e-12)
    else:
        np.testing.assert_allclose(o, out_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    out.sum().backward()
    for x in xs:
        assert np.isfinite(_grad(x)).all()
    assert (_grad(xs[1])[:, 1] == 0).all() and (_grad(xs[2])[:, 1] == 0).all()  # batch 1 sees no key


def test_float_mask_with_a_fully_masked_row_passes_finite_gradients():
    # need_weights: a row of -inf in a learned float mask gives weights 0 and gradient 0 there
    layer = nn.MultiheadAttention(E, H).double()
    rng = np.random.default_rng(15)
    q, k, v = (mt.tensor(a) for a in inputs(rng, {}))
    am = rng.standard_normal((L, S))
    am[1] = -np.inf
    a = mt.tensor(am, requires_grad=True)
    out, w = layer(q, k, v, attn_mask=a)
    assert (w.numpy()[:, 1] == 0).all() and np.isfinite(out.numpy()).all()
    (out.sum() + w.sum()).backward()
    g = _grad(a)
    assert np.isfinite(g).all() and (g[1] == 0).all() and (g[0] != 0).any()


def test_float32_matches_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(3)
    ref = torch.nn.MultiheadAttention(E, H, kdim=3, vdim=5)
    layer = nn.MultiheadAttention(E, H, kdim=3, vdim=5)
    layer.load_state_dict(ref.state_dict())
    rng = np.random.default_rng(16)
    arrays = [a.astype(np.float32) for a in inputs(rng, CONFIGS["kdim_vdim"])]
    out, w = layer(*[mt.tensor(a) for a in arrays])
    out_t, w_t = ref(*[torch.tensor(a) for a in arrays])
    assert out.dtype == np.float32 and w.dtype == np.float32
    # float32 rounding in a different order of operations: a few ulps of values of order 1
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w.numpy(), w_t.detach().numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- dropout

def test_dropout_only_in_training_and_the_weights_are_the_dropped_ones(restore_rng):
    layer = nn.MultiheadAttention(E, H, dropout=0.5, add_bias_kv=True).double()
    plain = nn.MultiheadAttention(E, H, add_bias_kv=True).double()
    plain.load_state_dict(layer.state_dict())
    rng = np.random.default_rng(10)
    q, k, v = (mt.tensor(a) for a in inputs(rng, {}))
    layer.eval()
    for nw in (True, False):
        a, b = layer(q, k, v, need_weights=nw), plain(q, k, v, need_weights=nw)
        np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    layer.train()
    mt.manual_seed(0)
    out, w = layer(q, k, v, average_attn_weights=False)               # w: (N, H, L, S + 1)
    _, p = plain(q, k, v, average_attn_weights=False)
    wn, pn = w.numpy(), p.numpy()
    dropped = wn == 0
    assert dropped.any() and (~dropped).any()
    np.testing.assert_allclose(wn[~dropped], pn[~dropped] / 0.5, rtol=1e-13)
    # the output is the dropped weights times the values, as torch's need_weights path
    Wv, bv = layer.in_proj_weight.numpy()[2 * E:], layer.in_proj_bias.numpy()[2 * E:]
    vals = np.concatenate([v.numpy() @ Wv.T + bv, np.broadcast_to(layer.bias_v.numpy(), (1, N, E))])
    heads = vals.transpose(1, 0, 2).reshape(N, S + 1, H, E // H).transpose(0, 2, 1, 3)
    merged = (wn @ heads).transpose(2, 0, 1, 3).reshape(L, N, E)
    np.testing.assert_allclose(out.numpy(), merged @ layer.out_proj.weight.numpy().T + layer.out_proj.bias.numpy(),
                               rtol=1e-12, atol=1e-13)
    # need_weights=False drops inside the attention op; the same seed draws the same
    mt.manual_seed(1)
    a, none = layer(q, k, v, need_weights=False)
    mt.manual_seed(1)
    b, _ = layer(q, k, v, need_weights=False)
    assert none is None
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), plain(q, k, v, need_weights=False)[0].numpy())


# ---------------------------------------------------------------------------- init

def test_initialisation_is_torchs():
    torch = pytest.importorskip("torch")
    mt.manual_seed(0)
    e = 64
    layer = nn.MultiheadAttention(e, 4, add_bias_kv=True)
    w = layer.in_proj_weight.numpy()
    bound = np.sqrt(6.0 / (e + 3 * e))                       # xavier_uniform_ on (3E, E)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    np.testing.assert_allclose(w.std(), bound / np.sqrt(3), rtol=0.03)
    assert (layer.in_proj_bias.numpy() == 0).all() and (layer.out_proj.bias.numpy() == 0).all()
    ob = 1 / np.sqrt(e)                                     # out_proj.weight as a Linear's
    assert np.abs(layer.out_proj.weight.numpy()).max() <= ob
    ref = torch.nn.MultiheadAttention(e, 4, add_bias_kv=True, kdim=8)
    sep = nn.MultiheadAttention(e, 4, add_bias_kv=True, kdim=8)
    for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
        t = getattr(ref, name).detach().numpy()
        m = getattr(sep, name).numpy()
        assert np.abs(m).max() <= np.sqrt(6.0 / sum(m.shape)) and np.abs(t).max() <= np.sqrt(6.0 / sum(t.shape))
    # bias_k, bias_v: xavier_normal_ on (1, 1, E): std sqrt(2 / (E + E)); over both, 128 draws
    bk = np.concatenate([layer.bias_k.numpy().ravel(), layer.bias_v.numpy().ravel()])
    assert 0.6 * np.sqrt(1 / e) < bk.std() < 1.4 * np.sqrt(1 / e)


# ---------------------------------------------------------------------------- gradcheck

@pytest.mark.parametrize("cfg", ["kdim_vdim", "bias_kv_zero_attn", "batch_first"])
def test_gradcheck(device, cfg):
    cfg = CONFIGS[cfg]
    mt.manual_seed(0)
    layer = nn.MultiheadAttention(E, H, **cfg).to(device=device, dtype="float64")
    rng = np.random.default_rng(11)
    xs = [mt.tensor(a, dtype="float64", device=device, requires_grad=True) for a in inputs(rng, cfg)]
    kpm, am = masks(rng, "kpm+am3_float", S)
    kpm, am = mt.tensor(kpm, device=device), mt.tensor(am, device=device)
    for nw in (True, False):
        def call(q, k, v):   # (output, weights (N, H, L, S')) or the output alone
            out, w = layer(q, k, v, key_padding_mask=kpm, attn_mask=am, need_weights=nw, average_attn_weights=False)
            return out if w is None else (out, w)
        assert gradcheck_module(layer, xs, call=call)


def test_gradcheck_unbatched_self_attention_with_float_mask(device):
    mt.manual_seed(1)
    layer = nn.MultiheadAttention(E, H, add_zero_attn=True).to(device=device, dtype="float64")
    rng = np.random.default_rng(12)
    x = mt.tensor(rng.standard_normal((L, E)), device=device, requires_grad=True)
    am = mt.tensor(rng.standard_normal((H, L, L)), device=device, requires_grad=True)
    assert mt.gradcheck(lambda x, am, *ps: layer(x, x, x, attn_mask=am), [x, am] + list(layer.parameters()),
                        rtol=1e-6, atol=1e-8)


def test_fake_device_forward_equals_cpu():
    rng = np.random.default_rng(13)
    cfg = CONFIGS["bias_kv_zero_attn"]
    arrays = inputs(rng, cfg)
    kpm, am = masks(rng, "kpm+am2", S)
    results = []
    for device in ("cpu", "fake"):
        mt.manual_seed(2)
        layer = nn.MultiheadAttention(E, H, **cfg).to(device=device, dtype="float64")
        out, w = layer(*[mt.tensor(a, device=device) for a in arrays], key_padding_mask=mt.tensor(kpm, device=device),
                       attn_mask=mt.tensor(am, device=device))
        assert out.device == device and w.device == device
        results.append((out.numpy(), w.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-13)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-13)


# ---------------------------------------------------------------------------- errors

def test_constructor_errors():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(5, 2)
    with pytest.raises(ValueError, match="embed_dim must be greater than 0"):
        nn.MultiheadAttention(0, 2)
    with pytest.raises(ValueError, match="num_heads must be greater than 0"):
        nn.MultiheadAttention(4, 0)
    with pytest.raises(TypeError, match="kdim must be an int"):
        nn.MultiheadAttention(4, 2, kdim=2.5)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\]"):
        nn.MultiheadAttention(4, 2, dropout=1.5)


def test_forward_shape_errors():
    layer = nn.MultiheadAttention(E, H, kdim=3, vdim=5).double()
    rng = np.random.default_rng(14)
    q, k, v = (mt.tensor(a) for a in inputs(rng, CONFIGS["kdim_vdim"]))
    t = lambda *s, dtype=None: mt.tensor(np.zeros(s, dtype=dtype or np.float64))  # noqa: E731
    cases = [
        ((t(2, L, N, E), k, v), {}, "query must be 3-D .* or 2-D"),
        ((q, t(S, 3), v), {}, "key and value must be 3-D"),
        ((t(L, N, 3), k, v), {}, "query must have embed_dim=4"),
        ((q, t(S, N, 4), v), {}, "key must have kdim=3"),
        ((q, k, t(S, N, 4)), {}, "value must have vdim=5"),
        ((q, k, t(S + 1, N, 5)), {}, "key .* and value .* differ"),
        ((q, t(S, N + 1, 3), t(S, N + 1, 5)), {}, "differ in batch size"),
        ((q, k, v), dict(key_padding_mask=t(N, S + 1, dtype=bool)), r"key_padding_mask must be \(N, S\)"),
        ((q, k, v), dict(attn_mask=t(L, S + 1, dtype=bool)), r"attn_mask must be \(L, S\)"),
        ((q, k, v), dict(attn_mask=t(N, L, S, dtype=bool)), r"\(N \* num_heads, L, S\) = \(4, 3, 5\)"),
        ((q, k, v), dict(attn_mask=t(L, S, dtype=np.int64)), "attn_mask must be boolean .* or float"),
        ((q, k, v), dict(key_padding_mask=t(N, S, dtype=np.int64)), "key_padding_mask must be boolean"),
    ]
    for args, kw, msg in cases:
        with pytest.raises((ValueError, TypeError), match=msg):
            layer(*args, **kw)
    with pytest.raises(TypeError, match="query must be a Tensor"):
        layer(np.zeros((L, N, E)), k, v)
    with pytest.raises(ValueError, match=r"key_padding_mask must be \(S,\)"):
        layer(t(L, E), t(S, 3), t(S, 5), key_padding_mask=t(1, S, dtype=bool))
    x = t(L, N, E)
    for name in ("attn_mask", "key_padding_mask"):
        shape = (L, L) if name == "attn_mask" else (N, L)
        with pytest.raises(mt.DeviceError, match=f"{name} on fake, query on cpu"):
            nn.MultiheadAttention(E, H).double()(x, x, x, **{name: mt.zeros(*shape, dtype="bool", device="fake")})


def test_dropout_one_drops_everything_as_torch(device):
    torch = pytest.importorskip("torch")
    torch.manual_seed(4)
    ref = torch.nn.MultiheadAttention(E, H, dropout=1.0, bias=True)
    layer = nn.MultiheadAttention(E, H, dropout=1.0)
    layer.load_state_dict(ref.state_dict())
    with torch.no_grad():
        ref.out_proj.bias.uniform_(-1, 1)
    layer.out_proj.bias.data[...] = ref.out_proj.bias.detach().numpy()
    layer = layer.double().to(device)
    x = np.random.default_rng(5).standard_normal((3, 2, E))
    for nw in (True, False):
        xt = mt.tensor(x, device=device, requires_grad=True)
        out, w = layer(xt, xt, xt, need_weights=nw)
        out_t, _ = ref.double()(*[torch.tensor(x)] * 3, need_weights=nw)
        # every attention probability dropped: the output is out_proj's bias, as torch's
        np.testing.assert_allclose(to_numpy(out.data), out_t.detach().numpy(), atol=1e-12)
        np.testing.assert_array_equal(to_numpy(out.data), np.broadcast_to(to_numpy(layer.out_proj.bias.data), x.shape))
        assert w is None or not to_numpy(w.data).any()
        out.sum().backward()
        assert np.isfinite(to_numpy(xt.grad.data)).all() and not to_numpy(xt.grad.data).any()
    # the functional ops, fused and not, also give zeros (no 1/(1-p) = inf)
    q = mt.tensor(np.random.default_rng(6).standard_normal((1, 2, 3, 4)), device=device, requires_grad=True)
    o = mt.functional.scaled_dot_product_attention(q, q, q, dropout_p=1.0)
    o.sum().backward()
    assert not to_numpy(o.data).any() and not to_numpy(q.grad.data).any()
    qkv = mt.tensor(np.random.default_rng(7).standard_normal((2, 3, 12)), device=device, requires_grad=True)
    o = mt.functional.multi_head_self_attention(qkv, 2, dropout_p=1.0)
    o.sum().backward()
    assert not to_numpy(o.data).any() and not to_numpy(qkv.grad.data).any()
    with pytest.raises(ValueError, match=r"multi_head_self_attention: dropout_p must be in \[0, 1\], got 1.5"):
        mt.functional.multi_head_self_attention(qkv, 2, dropout_p=1.5)
