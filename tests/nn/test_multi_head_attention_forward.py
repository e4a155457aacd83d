"""F.multi_head_attention_forward (the code nn.MultiheadAttention runs): outputs, weights and the
gradients to every input and weight against torch 2.13's function in float64 (packed and separate
projections, bias_k/bias_v, add_zero_attn, boolean and float masks, unbatched input, static keys and
values, the is_causal hint, dropout off when not training), the fake device, torch's errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F, nn
from minitf.errors import ArgumentError, ShapeError

from ..test_functional_fixes import grad_of

rng = np.random.default_rng(51)
E, H, L, S, N = 8, 2, 3, 4, 2


def _weights(kdim=E, vdim=E, bias_kv=False, separate=False):
    w = dict(in_proj_weight=None if separate else rng.standard_normal((3 * E, E)) * 0.4,
             in_proj_bias=rng.standard_normal(3 * E) * 0.1,
             bias_k=rng.standard_normal((1, 1, E)) if bias_kv else None,
             bias_v=rng.standard_normal((1, 1, E)) if bias_kv else None,
             out_proj_weight=rng.standard_normal((E, E)) * 0.4, out_proj_bias=rng.standard_normal(E) * 0.1)
    if separate:
        w.update(q_proj_weight=rng.standard_normal((E, E)) * 0.4, k_proj_weight=rng.standard_normal((E, kdim)) * 0.4,
                 v_proj_weight=rng.standard_normal((E, vdim)) * 0.4)
    return w


CASES = [
    dict(),
    dict(need_weights=False),
    dict(average_attn_weights=False),
    dict(kdim=5, vdim=3, separate=True),
    dict(bias_kv=True, add_zero_attn=True),
    dict(key_padding_mask="bool", attn_mask="float3d"),
    dict(key_padding_mask="bool", bias_kv=True, need_weights=False),
    dict(attn_mask="causal", is_causal=True, need_weights=False),
    dict(unbatched=True, key_padding_mask="bool"),
    dict(static=True),
    dict(dropout_p=0.5, training=False),
    dict(self_attention=True),
]


def _case(torch, case):
    kdim, vdim = case.get("kdim", E), case.get("vdim", E)
    w = _weights(kdim, vdim, case.get("bias_kv", False), case.get("separate", False))
    lead = () if case.get("unbatched") else (N,)
    q = rng.standard_normal((L,) + lead + (E,))
    k = rng.standard_normal((S,) + lead + (kdim,))
    v = rng.standard_normal((S,) + lead + (vdim,))
    arrays = dict(query=q, key=q if case.get("self_attention") else k, value=q if case.get("self_attention") else v)
    extra = dict(add_zero_attn=case.get("add_zero_attn", False), dropout_p=case.get("dropout_p", 0.0),
                 training=case.get("training", True), need_weights=case.get("need_weights", True),
                 average_attn_weights=case.get("average_attn_weights", True), is_causal=case.get("is_causal", False),
                 use_separate_proj_weight=case.get("separate", False))
    masks = {}
    if case.get("key_padding_mask") == "bool":
        kpm = np.zeros(lead + (S,), dtype=bool)
        kpm[..., -1] = True
        masks["key_padding_mask"] = kpm
    if case.get("attn_mask") == "float3d":
        masks["attn_mask"] = rng.standard_normal((N * H, L, S))
    if case.get("attn_mask") == "causal":
        masks["attn_mask"] = np.triu(np.ones((L, S), dtype=bool), 1)
    if case.get("static"):
        arrays["static_k"] = rng.standard_normal((N * H, S + 1, E // H))
        arrays["static_v"] = rng.standard_normal((N * H, S + 1, E // H))
    return w, arrays, masks, extra


def _run(lib, F_, w, arrays, masks, extra):
    """(outputs, the tensors that require grad) of F_.multi_head_attention_forward on copies."""
    def t(a, grad=True):
        if a is None:
            return None
        if lib is mt:
            return mt.tensor(a, requires_grad=grad and a.dtype.kind == "f")
        return lib.tensor(a, requires_grad=grad and a.dtype.kind == "f")
    ws = {k: t(a) for k, a in w.items()}
    xs = {k: t(a) for k, a in arrays.items()}
    if arrays["key"] is arrays["query"]:
        xs["key"] = xs["value"] = xs["query"]
    ms = {k: t(a, grad=False) for k, a in masks.items()}
    out = F_.multi_head_attention_forward(xs.pop("query"), xs.pop("key"), xs.pop("value"), E, H,
                                          ws["in_proj_weight"], ws["in_proj_bias"], ws["bias_k"], ws["bias_v"],
                                          extra["add_zero_attn"], extra["dropout_p"], ws["out_proj_weight"],
                                          ws["out_proj_bias"], training=extra["training"],
                                          need_weights=extra["need_weights"],
                                          use_separate_proj_weight=extra["use_separate_proj_weight"],
                                          q_proj_weight=ws.get("q_proj_weight"), k_proj_weight=ws.get("k_proj_weight"),
                                          v_proj_weight=ws.get("v_proj_weight"), static_k=xs.get("static_k"),
                                          static_v=xs.get("static_v"), average_attn_weights=extra["average_attn_weights"],
                                          is_causal=extra["is_causal"], **ms)
    return out, ws


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")   # (torch's deprecation)
@pytest.mark.parametrize("case", CASES, ids=[",".join(f"{k}={v}" for k, v in c.items()) or "plain" for c in CASES])
def test_multi_head_attention_forward_matches_torch(case):
    torch = pytest.importorskip("torch")
    w, arrays, masks, extra = _case(torch, case)
    (y, a), ws = _run(mt, F, w, arrays, masks, extra)
    (yt, at), wts = _run(torch, torch.nn.functional, w, arrays, masks, extra)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    if extra["need_weights"]:
        np.testing.assert_allclose(a.numpy(), at.detach().numpy(), rtol=1e-10, atol=1e-12)
    else:
        assert a is None and at is None
    cot = rng.standard_normal(y.shape)
    y.backward(mt.tensor(cot))
    yt.backward(torch.tensor(cot))
    for name, wt in wts.items():
        if wt is not None:
            np.testing.assert_allclose(grad_of(ws[name]), wt.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


def test_the_layer_is_the_function_on_its_parameters(device):
    layer = nn.MultiheadAttention(E, H, kdim=5, vdim=3, bias=True, add_bias_kv=True, device=device,
                                  dtype="float64")
    q = mt.tensor(rng.standard_normal((L, N, E)), device=device)
    k = mt.tensor(rng.standard_normal((S, N, 5)), device=device)
    v = mt.tensor(rng.standard_normal((S, N, 3)), device=device)
    y, a = layer(q, k, v)
    yf, af = F.multi_head_attention_forward(q, k, v, E, H, None, layer.in_proj_bias, layer.bias_k, layer.bias_v,
                                            False, 0.0, layer.out_proj.weight, layer.out_proj.bias,
                                            use_separate_proj_weight=True, q_proj_weight=layer.q_proj_weight,
                                            k_proj_weight=layer.k_proj_weight, v_proj_weight=layer.v_proj_weight)
    assert y.device == mt.device(device)
    np.testing.assert_array_equal(y.numpy(), yf.numpy())
    np.testing.assert_array_equal(a.numpy(), af.numpy())


def test_multi_head_attention_forward_gradcheck():
    w = _weights()
    q = mt.tensor(rng.standard_normal((L, N, E)), requires_grad=True)
    wi = mt.tensor(w["in_proj_weight"], requires_grad=True)
    wo = mt.tensor(w["out_proj_weight"], requires_grad=True)

    def fn(q, wi, wo):
        return F.multi_head_attention_forward(q, q, q, E, H, wi, None, None, None, True, 0.0, wo, None)[0]
    assert mt.gradcheck(fn, [q, wi, wo])
    assert mt.gradgradcheck(fn, [q, wi, wo])


def test_multi_head_attention_forward_errors():
    w = {k: mt.tensor(a) for k, a in _weights().items() if a is not None}
    q = mt.zeros(L, N, E, dtype="float64")
    args = (w["in_proj_weight"], w["in_proj_bias"], None, None, False, 0.0, w["out_proj_weight"], w["out_proj_bias"])
    with pytest.raises(ShapeError, match="was expecting embedding dimension of 6, but got 8"):
        F.multi_head_attention_forward(q, q, q, 6, H, *args)
    with pytest.raises(ArgumentError, match="not divisible by num_heads 3"):
        F.multi_head_attention_forward(q, q, q, E, 3, *args)
    with pytest.raises(ArgumentError, match="use_separate_proj_weight is True but q_proj_weight is None"):
        F.multi_head_attention_forward(q, q, q, E, H, *args, use_separate_proj_weight=True)
    with pytest.raises(ArgumentError, match="use_separate_proj_weight is False but in_proj_weight is None"):
        F.multi_head_attention_forward(q, q, q, E, H, None, *args[1:])
    with pytest.raises(ArgumentError, match="given together"):
        F.multi_head_attention_forward(q, q, q, E, H, args[0], args[1], mt.zeros(1, 1, E, dtype="float64"),
                                       *args[3:])
    with pytest.raises(ShapeError, match="static_k must be"):
        F.multi_head_attention_forward(q, q, q, E, H, *args, static_k=mt.zeros(N * H, S, 3, dtype="float64"))
    with pytest.raises(RuntimeError, match="needs attn_mask"):
        F.multi_head_attention_forward(q, q, q, E, H, *args, is_causal=True)
    with pytest.raises(ValueError, match="key_padding_mask must be"):
        F.multi_head_attention_forward(q, q, q, E, H, *args, key_padding_mask=mt.zeros(N, S + 2, dtype="bool"))
