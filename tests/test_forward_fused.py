"""The written forward rules of the fused ops (minitf/forward_fused.py) against the double-vjp
fallback they replace (the op's node differentiated twice) and against torch's forward AD, in
float64 with random tangents; func.jvp / jacfwd / hessian on forward AD against torch.func."""
import numpy as np
import pytest

import minitf as mt
import minitf.autograd.forward_ad as fwAD
from minitf import forward_rules
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import device_tensor


class _OnDevice:
    """minitf, with its tensor constructors on one device (the cases' constants)."""

    def __init__(self, device):
        self.device = device

    def __getattr__(self, name):
        return getattr(mt, name)

    def tensor(self, data, **kw):
        return mt.tensor(data, device=self.device, **kw)

    def ones(self, *shape, **kw):
        return mt.ones(*shape, device=self.device, **kw)


def _nnF(lib):
    return F if isinstance(lib, _OnDevice) else lib.nn.functional


def _attn(lib, q, k, v, **kw):
    return _nnF(lib).scaled_dot_product_attention(q, k, v, **kw)


# name -> (shapes of the duals, f(lib, *duals)); the same code runs on minitf and on torch
CASES = {
    "layer_norm": ([(2, 3, 5), (5,), (5,)], lambda L, x, w, b: _nnF(L).layer_norm(x, (5,), w, b)),
    "layer_norm_plain": ([(4, 5)], lambda L, x: _nnF(L).layer_norm(x, (5,))),
    "rms_norm": ([(3, 5), (5,)], lambda L, x, w: _nnF(L).rms_norm(x, (5,), w, eps=1e-5)),
    "group_norm": ([(2, 4, 3), (4,), (4,)], lambda L, x, w, b: _nnF(L).group_norm(x, 2, w, b)),
    "batch_norm": ([(5, 3, 2), (3,), (3,)], lambda L, x, w, b: _nnF(L).batch_norm(x, None, None, w, b, training=True)),
    "instance_norm": ([(2, 3, 4)], lambda L, x: _nnF(L).instance_norm(x)),
    "gelu_tanh": ([(3, 4)], lambda L, x: _nnF(L).gelu(x, approximate="tanh")),
    "gelu_erf": ([(3, 4)], lambda L, x: _nnF(L).gelu(x)),
    "silu": ([(3, 4)], lambda L, x: _nnF(L).silu(x)),
    "relu_leaky_elu": ([(3, 4)], lambda L, x: _nnF(L).relu(x) + _nnF(L).leaky_relu(x, 0.1) + _nnF(L).elu(x)),
    "softplus_hardswish": ([(3, 4)], lambda L, x: _nnF(L).softplus(x) + _nnF(L).hardswish(x) + _nnF(L).relu6(x * 4)),
    "abs_clamp_sin_rsqrt": ([(3, 4)], lambda L, x: x.abs() + x.clamp(-0.5, 0.5) + x.sin() + (x * x + 1).rsqrt()),
    "softmax_log_softmax": ([(3, 4)], lambda L, x: _nnF(L).softmax(x, dim=-1) + _nnF(L).log_softmax(x, dim=0)),
    "cross_entropy": ([(4, 5)], lambda L, x: _nnF(L).cross_entropy(x, L.tensor([0, 3, 1, 4]))),
    "cross_entropy_ignore": ([(4, 5)], lambda L, x: _nnF(L).cross_entropy(x, L.tensor([0, -100, 1, 4]))),
    "cross_entropy_smooth_weight": ([(4, 5)], lambda L, x: _nnF(L).cross_entropy(
        x, L.tensor([0, 3, 1, 4]), weight=L.tensor([1.0, 2.0, 0.5, 1.5, 3.0], dtype=L.float64), label_smoothing=0.2)),
    "cross_entropy_none": ([(4, 5)], lambda L, x: _nnF(L).cross_entropy(x, L.tensor([0, 3, 1, 4]), reduction="none",
                                                                        label_smoothing=0.1)),
    "cross_entropy_soft_none": ([(4, 5), (4, 5)], lambda L, x, p: _nnF(L).cross_entropy(
        x, _nnF(L).softmax(p, dim=-1), reduction="none")),
    "nll_loss": ([(4, 5)], lambda L, x: _nnF(L).nll_loss(x, L.tensor([0, 3, 1, 4]))),
    "sdpa_causal": ([(2, 4, 3), (2, 4, 3), (2, 4, 3)], lambda L, q, k, v: _attn(L, q, k, v, is_causal=True)),
    "sdpa_float_mask": ([(2, 3, 4), (2, 5, 4), (2, 5, 3), (3, 5)],
                        lambda L, q, k, v, m: _attn(L, q, k, v, attn_mask=m)),
    "sdpa_bool_mask": ([(2, 3, 4), (2, 5, 4), (2, 5, 3)], lambda L, q, k, v: _attn(
        L, q, k, v, attn_mask=L.tensor([[True, False, True, True, False]] * 3))),
    "embedding": ([(5, 3)], lambda L, w: _nnF(L).embedding(L.tensor([[0, 2], [4, 2]]), w)),
    "embedding_padding": ([(5, 3)], lambda L, w: _nnF(L).embedding(L.tensor([[0, 2], [1, 2]]), w, padding_idx=1)),
    "conv1d": ([(2, 2, 6), (3, 2, 3), (3,)], lambda L, x, w, b: _nnF(L).conv1d(x, w, b, padding=1)),
    "conv2d_bias_only": ([(3,)], lambda L, b: _nnF(L).conv2d(L.ones(1, 2, 4, 4, dtype=L.float64),
                                                             L.ones(3, 2, 2, 2, dtype=L.float64), b, stride=2)),
    "conv2d_groups": ([(1, 4, 5, 5), (4, 2, 3, 3)], lambda L, x, w: _nnF(L).conv2d(x, w, groups=2, dilation=2)),
    "conv_transpose2d": ([(1, 2, 3, 3), (2, 3, 2, 2), (3,)], lambda L, x, w, b: _nnF(L).conv_transpose2d(x, w, b, stride=2)),
    "linear_bias_only": ([(3,)], lambda L, b: _nnF(L).linear(L.ones(2, 4, dtype=L.float64),
                                                             L.ones(3, 4, dtype=L.float64), b)),
    "erf_log2_sinh": ([(3, 4)], lambda L, x: L.erf(x) + L.log2(x * x + 1) + L.sinh(x) + L.floor(x)),
    "avg_pool_cumsum": ([(1, 2, 6)], lambda L, x: _nnF(L).avg_pool1d(x, 2).sum(-1, keepdim=True) + L.cumsum(x, -1)),
    "pad_constant_reflect": ([(1, 2, 4)], lambda L, x: _nnF(L).pad(x, (1, 2), value=3.0).sum(-1, keepdim=True)
                             + _nnF(L).pad(x, (2, 1), mode="reflect")[..., :4] + _nnF(L).pad(x, (1, 0), mode="replicate")[..., 1:]),
    "bce_with_logits": ([(3, 4), (3, 4)], lambda L, x, t: _nnF(L).binary_cross_entropy_with_logits(
        x, _nnF(L).sigmoid(t), pos_weight=L.tensor([1.0, 2.0, 0.5, 3.0], dtype=L.float64))),
    "bce_with_logits_none": ([(3, 4)], lambda L, x: _nnF(L).binary_cross_entropy_with_logits(
        x, L.ones(3, 4, dtype=L.float64) * 0.3, reduction="none")),
    # ties (the rounded values): the tangent is shared equally between the tied elements, as torch's
    "amax_amin_ties": ([(3, 4)], lambda L, x: L.amax(x.round(), 1) + L.amin(x.round(), (0, 1)) + x.round().max()
                       + x.min()),
    "max_min_dim": ([(3, 4)], lambda L, x: x.max(1).values + x.min(0, keepdim=True).values.sum()),
    "var_std": ([(3, 4)], lambda L, x: x.var(1) + x.std(0, correction=0).sum() + L.var(x, (0, 1))),
    "std_norm_zero": ([(3, 4)], lambda L, x: (x * L.tensor([0.0, 1.0, 1.0, 1.0], dtype=L.float64)).std(0)   # (a slice of zeros)
                      + L.linalg.vector_norm(x * L.tensor([0.0, 1.0, 1.0, 1.0], dtype=L.float64), dim=0)),
    "norm": ([(3, 4)], lambda L, x: L.linalg.vector_norm(x, dim=1) + L.linalg.vector_norm(x)),
    "cosine_similarity": ([(3, 4), (4,)], lambda L, x, y: _nnF(L).cosine_similarity(x, y[None], dim=1)),
    # the recurrent cells: through their composition in primitive ops (weights (4 H, 3) etc. as duals)
    "lstm_cell": ([(2, 3), (2, 4), (2, 4), (16, 3), (16, 4), (16,)], lambda L, x, h, c, wi, wh, b: _cell(
        L, "lstm", x, (h, c), wi, wh, b)),
    "gru_cell": ([(2, 3), (2, 4), (12, 3), (12, 4), (12,)], lambda L, x, h, wi, wh, b: _cell(L, "gru", x, h, wi, wh, b)),
    "rnn_tanh_relu_cells": ([(2, 3), (2, 4), (4, 3), (4, 4), (4,)], lambda L, x, h, wi, wh, b: _cell(
        L, "rnn_tanh", x, h, wi, wh, b) + _cell(L, "rnn_relu", x, h, wi, wh, b)),
}


def _cell(L, kind, x, h, wi, wh, b):
    """One step of torch's cell ``kind`` (torch.lstm_cell's arguments), as a module with these weights."""
    if not isinstance(L, _OnDevice):
        out = getattr(L, kind + "_cell")(x, h, wi, wh, b, b * 0.5)
        return L.cat(out, -1) if kind == "lstm" else out
    cls = {"lstm": mt.nn.LSTMCell, "gru": mt.nn.GRUCell, "rnn_tanh": mt.nn.RNNCell, "rnn_relu": mt.nn.RNNCell}[kind]
    extra = {"nonlinearity": "relu"} if kind == "rnn_relu" else {}
    cell = cls(3, 4, dtype=mt.float64, device=L.device, **extra)
    params = {"weight_ih": wi, "weight_hh": wh, "bias_ih": b, "bias_hh": b * 0.5}
    out = mt.func.functional_call(cell, params, (x, h))
    return mt.cat(out, -1) if kind == "lstm" else out
# the double-vjp fallback differs from torch here on purpose (torch's tangent passes the padding row)
NOT_FALLBACK = {"embedding_padding"}


def _arrays(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes], [rng.standard_normal(s) for s in shapes]


def _minitf_tangent(name, arrays, tarrays, device, mode):
    primals = [device_tensor(a, device, requires_grad=mode == "recorded") for a in arrays]
    tangents = [device_tensor(t, device, requires_grad=False) for t in tarrays]
    f = CASES[name][1]
    with fwAD.dual_level():
        with mt.set_grad_enabled(mode != "no_grad"):
            out = f(_OnDevice(device), *[fwAD.make_dual(p, t) for p, t in zip(primals, tangents)])
        tangent = fwAD.unpack_dual(out).tangent
    return primals, out, tangent


def _grads(y, wrt, c):
    if not y.requires_grad:
        return [np.zeros(x.shape) for x in wrt]
    gs = mt.grad((y * c).sum(), wrt, retain_graph=True, allow_unused=True)
    return [np.zeros(x.shape) if g is None else to_numpy(g.data) for g, x in zip(gs, wrt)]


@pytest.mark.parametrize("mode", ["grad", "no_grad", "recorded"])
@pytest.mark.parametrize("name", sorted(set(CASES) - NOT_FALLBACK))
def test_written_rules_equal_the_double_vjp_fallback(device, name, mode, monkeypatch):
    # "recorded": the primals require grad, and the tangent's gradients in them are compared too
    arrays, tarrays = _arrays(CASES[name][0], 0)
    got = _minitf_tangent(name, arrays, tarrays, device, mode)
    seen = []
    real = forward_rules._by_double_vjp

    def spy(cls, *a):
        seen.append(cls.__name__)
        return real(cls, *a)
    monkeypatch.setattr(forward_rules, "_by_double_vjp", spy)
    _minitf_tangent(name, arrays, tarrays, device, mode)
    # (cross_entropy with probability targets that carry a tangent and reduction='none' keeps the fallback)
    assert seen == ([] if name != "cross_entropy_soft_none" else ["WeightedCrossEntropy"])
    monkeypatch.setattr(forward_rules, "_fused_rule", lambda cls: None)
    monkeypatch.setattr(forward_rules, "_rule_table", lambda: {})   # every op by the double vjp
    monkeypatch.setattr(forward_rules, "_composed_of", lambda cls: None)
    want = _minitf_tangent(name, arrays, tarrays, device, mode)
    np.testing.assert_allclose(to_numpy(got[1].data), to_numpy(want[1].data), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(to_numpy(got[2].data), to_numpy(want[2].data), rtol=1e-11, atol=1e-12)
    # (a tangent linear in the duals, as a lone bias's, does not depend on the primals: not recorded)
    assert mode == "recorded" or not got[2].requires_grad
    if mode == "recorded":
        c = device_tensor(np.random.default_rng(1).standard_normal(got[1].shape), device, requires_grad=False)
        for a, b in zip(_grads(got[2], got[0], c), _grads(want[2], want[0], c)):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("name", sorted(CASES))
def test_written_rules_equal_torch_forward_ad(name):
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    arrays, tarrays = _arrays(CASES[name][0], 2)
    _, out, got = _minitf_tangent(name, arrays, tarrays, "cpu", "grad")
    with tfw.dual_level():
        tout = CASES[name][1](torch, *[tfw.make_dual(torch.tensor(a), torch.tensor(t)) for a, t in zip(arrays, tarrays)])
        want = tfw.unpack_dual(tout).tangent
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


def test_gpt_forward_needs_no_fallback_and_matches_func_jvp_by_double_vjp(monkeypatch):
    # a GPT (dropout on, both GELUs) with every parameter a dual: no op reaches the double vjp
    from minitf.func.reverse_jvp import jvp_by_double_vjp
    from minitf.models.gpt import GPT, GPTConfig
    seen = []
    real = forward_rules._by_double_vjp
    monkeypatch.setattr(forward_rules, "_by_double_vjp", lambda cls, *a: seen.append(cls.__name__) or real(cls, *a))
    idx = mt.tensor(np.random.default_rng(0).integers(0, 11, (2, 6)))
    rng = np.random.default_rng(1)
    for approx in ("tanh", "none"):
        mt.manual_seed(0)
        m = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, gelu_approximate=approx),
                dtype="float64")
        names = [k for k, _ in m.named_parameters()]
        params = tuple(p.detach() for _, p in m.named_parameters())
        tangents = tuple(mt.tensor(rng.standard_normal(p.shape)) for p in params)

        def loss(*ps):
            logits = mt.func.functional_call(m, dict(zip(names, ps)), (idx,))
            return F.cross_entropy(logits.reshape(-1, 11), idx.reshape(-1))
        value, got = mt.func.jvp(loss, params, tangents)
        assert seen == []
        ref_value, ref = jvp_by_double_vjp(loss, params, tangents)
        np.testing.assert_allclose(value.item(), ref_value.item(), rtol=1e-13)
        np.testing.assert_allclose(got.item(), ref.item(), rtol=1e-10)


def test_func_jvp_jacfwd_hessian_on_forward_ad_equal_torch_func():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a, b, ta, tb = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((3, 4)), rng.standard_normal(4)

    def f(L, x, y):
        h = _nnF(L).layer_norm(x * y, (4,))
        return _nnF(L).gelu(h).sum(-1) + (y ** 2).sum(), {"aux": h}
    ours = mt.func.jvp(lambda x, y: f(mt, x, y), (mt.tensor(a), mt.tensor(b)), (mt.tensor(ta), mt.tensor(tb)),
                       has_aux=True)
    theirs = torch.func.jvp(lambda x, y: f(torch, x, y), (torch.tensor(a), torch.tensor(b)),
                            (torch.tensor(ta), torch.tensor(tb)), has_aux=True)
    for o, t in zip((ours[0], ours[1], ours[2]["aux"]), (theirs[0], theirs[1], theirs[2]["aux"])):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-13)
    assert fwAD.unpack_dual(ours[1]).tangent is None   # the level has gone
    jo = mt.func.jacfwd(lambda x, y: f(mt, x, y)[0], argnums=(0, 1))(mt.tensor(a), mt.tensor(b))
    jt = torch.func.jacfwd(lambda x, y: f(torch, x, y)[0], argnums=(0, 1))(torch.tensor(a), torch.tensor(b))
    for o, t in zip(jo, jt):
        assert tuple(o.shape) == tuple(t.shape)
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-13)
    ht = torch.func.hessian(lambda x: f(torch, x, torch.tensor(b))[0].sum())(torch.tensor(a))
    for hess in (mt.func.hessian, lambda g: mt.func.jacfwd(mt.func.jacrev(g))):   # reverse and forward over reverse
        ho = hess(lambda x: f(mt, x, mt.tensor(b))[0].sum())(mt.tensor(a))
        np.testing.assert_allclose(ho.numpy(), ht.numpy(), rtol=1e-10, atol=1e-12)
    # differentiable where the primal requires grad (forward AD records the tangents), as torch.func's
    x = mt.tensor(a, requires_grad=True)
    _, j = mt.func.jvp(lambda v: F.gelu(v).sum(), (x,), (mt.tensor(ta),))
    j.backward()
    xt = torch.tensor(a, requires_grad=True)
    torch.func.jvp(lambda v: torch.nn.functional.gelu(v).sum(), (xt,), (torch.tensor(ta),))[1].backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_func_jvp_and_linearize_with_complex_primals_as_torch_func():
    # reverse mode (forward AD carries no complex tangents), the pairing Re sum(conj(g) t): holomorphic,
    # non-holomorphic, real-valued and complex-to-real functions, a real and a complex primal together
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    z, tz = (rng.standard_normal(3) + 1j * rng.standard_normal(3) for _ in range(2))
    x, tx = rng.standard_normal(3), rng.standard_normal(3)
    fns = [lambda L, z, x: z * z.exp() + x, lambda L, z, x: z.abs() * x, lambda L, z, x: z.conj() * z * x,
           lambda L, z, x: (z.real * z + z.imag) * x.tanh(), lambda L, z, x: ((z * x).abs() ** 2).sum()]
    for f in fns:
        ours = mt.func.jvp(lambda a, b: f(mt, a, b), (mt.tensor(z), mt.tensor(x)), (mt.tensor(tz), mt.tensor(tx)))
        theirs = torch.func.jvp(lambda a, b: f(torch, a, b), (torch.tensor(z), torch.tensor(x)),
                                (torch.tensor(tz), torch.tensor(tx)))
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-13)
        _, lin = mt.func.linearize(lambda a, b: f(mt, a, b), mt.tensor(z), mt.tensor(x))
        np.testing.assert_allclose(lin(mt.tensor(tz), mt.tensor(tx)).numpy(), theirs[1].numpy(), rtol=1e-12, atol=1e-13)
    with pytest.raises(RuntimeError, match="both must be real or both complex"):
        mt.func.jvp(lambda a: a * 2, (mt.tensor(x),), (mt.tensor(tz),))


@pytest.mark.parametrize("kind", ["ignored", "smoothed", "weighted", "zero_weight", "empty"])
def test_cross_entropy_mean_over_no_target_has_torchs_nan_tangent(kind):
    # a mean over no target is 0/0: the loss NaN and, as torch's forward AD, its tangent too (the
    # reverse-mode gradient is 0 there, as torch's), where the written rule gave 0
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    rng = np.random.default_rng(5)
    n = 0 if kind == "empty" else 2
    x, t = rng.standard_normal((n, 5)), rng.standard_normal((n, 5))
    target = [] if kind == "empty" else [1, 1] if kind == "zero_weight" else [-100, -100]
    kw = {"smoothed": dict(label_smoothing=0.2), "weighted": dict(weight=[1.0, 2, 3, 4, 5]),
          "zero_weight": dict(weight=[1.0, 0, 3, 4, 5])}.get(kind, {})
    tangents = []
    for lib, fw in ((mt, fwAD), (torch, tfw)):
        args = {k: lib.tensor(v, dtype=lib.float64) if k == "weight" else v for k, v in kw.items()}
        with fw.dual_level():
            out = _nnF(lib).cross_entropy(fw.make_dual(lib.tensor(x), lib.tensor(t)),
                                          lib.tensor(target, dtype=lib.int64), **args)
            tangents.append(np.asarray(fw.unpack_dual(out).tangent.detach().numpy()))
    assert np.isnan(tangents[1]) and np.isnan(tangents[0])
    # a mean over some targets keeps its finite tangent (the NaN term is 0 there)
    with fwAD.dual_level():
        out = F.cross_entropy(fwAD.make_dual(mt.tensor(x[:1] if n else rng.standard_normal((1, 5))), mt.tensor(
            t[:1] if n else rng.standard_normal((1, 5)))), mt.tensor([2]), **{k: mt.tensor(v, dtype=mt.float64)
                                                                          for k, v in kw.items() if k == "weight"})
        assert np.isfinite(fwAD.unpack_dual(out).tangent.numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("logits_dual", [False, True])
def test_cross_entropy_smoothing_tangent_in_a_dual_weight_as_torchs(reduction, logits_dual):
    # class indices with label smoothing: torch's loss is (1 - eps) nll + eps / C smooth, whose smoothing
    # term is differentiable in the weight (nll is not): its tangent was dropped (None, or the logits' only)
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    rng = np.random.default_rng(11)
    x, tx, w, tw = rng.standard_normal((4, 5)), rng.standard_normal((4, 5)), rng.random(5) + 0.5, rng.standard_normal(5)
    target = [0, -100, 1, 4]
    results = []
    for lib, fw in ((mt, fwAD), (torch, tfw)):
        with fw.dual_level():
            logits = fw.make_dual(lib.tensor(x), lib.tensor(tx)) if logits_dual else lib.tensor(x)
            out = _nnF(lib).cross_entropy(logits, lib.tensor(target), weight=fw.make_dual(lib.tensor(w), lib.tensor(tw)),
                                          label_smoothing=0.3, reduction=reduction)
            results.append((out.detach().numpy(), fw.unpack_dual(out).tangent.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13)
    with pytest.raises(RuntimeError, match="not differentiable in the weight"):   # reverse mode: refused, as torch's
        F.cross_entropy(mt.tensor(x), mt.tensor(target), weight=mt.tensor(w, requires_grad=True), label_smoothing=0.3)
