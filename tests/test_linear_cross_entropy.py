"""F.linear_cross_entropy / nn.LinearCrossEntropyLoss / nn.LinearCrossEntropyOptions (torch 2.13):
the chunked op against the unchunked composition (float64, 1e-12) and torch's function, every
argument combination, gradchecks on both devices, the chunk-size rule and the errors."""
import itertools

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn
from minitf.backend import to_numpy

from .conftest import ATOL, RTOL

Opt = nn.LinearCrossEntropyOptions
H, C = 5, 6


def _case(seed, N, out, soft, ii, unbatched=False):
    """Host arrays x, W, b, target, class weight, for N rows (or one unbatched) and out_features."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(H if unbatched else (N, H))
    W, b = rng.standard_normal((C, *out, H)), rng.standard_normal((C, *out))
    batch = () if unbatched else (N,)
    if soft:
        t = rng.random((*batch, C, *out))
        t /= t.sum(axis=len(batch), keepdims=True)
    else:
        t = rng.integers(0, C, (*batch, *out))
        if ii is not None and t.ndim:
            t.reshape(-1)[::3] = ii
    return x, W, b, t, rng.random(C) + 0.5


def _run(device, arrays, options, g, *, bias, weight, soft, **kw):
    """Loss and the gradients of <g, loss> for x, W, b (and a soft target), on ``device``."""
    x, W, b, t, w = arrays
    xs = [mt.tensor(a, device=device, requires_grad=True) for a in (x, W, b)]
    tt = mt.tensor(t, device=device, requires_grad=soft)
    loss = F.linear_cross_entropy(xs[0], xs[1], tt, linear_bias=xs[2] if bias else None,
                                  weight=mt.tensor(w, device=device) if weight else None, options=options, **kw)
    loss.backward(mt.tensor(g, device=device))
    grads = [to_numpy(v.grad.data) for v in xs[:2 + bias]] + ([to_numpy(tt.grad.data)] if soft else [])
    return to_numpy(loss.data), grads


ALL = [c for c in itertools.product([(), (2, 3)], [False, True], ["index", "probs"], [False, True],
                                    ["mean", "sum", "none"], [0.0, 0.2], [False, True])
       if not (c[0] and c[6])]   # K-dimensional needs batched input


@pytest.mark.parametrize("out, bias, kind, weight, reduction, eps, unbatched", ALL)
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_chunked_equals_composition_and_torch(out, bias, kind, weight, reduction, eps, unbatched):
    torch = pytest.importorskip("torch")
    soft = kind == "probs"
    ii = None if soft else (2 if weight else -1)
    arrays = _case(len(out) + 2 * bias + 4 * weight, 7, out, soft, ii, unbatched)
    kw = dict(reduction=reduction, ignore_index=ii, label_smoothing=eps)
    lead = () if unbatched else (7, *out)
    g = np.random.default_rng(1).standard_normal(lead if reduction == "none" else ())
    ref = _run("cpu", arrays, None, g, bias=bias, weight=weight, soft=soft, **kw)
    got = _run("cpu", arrays, Opt(batch_chunk_size=3, chunking_method=None), g, bias=bias, weight=weight, soft=soft,
               **kw)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-12, atol=1e-12)
    for a, r in zip(got[1], ref[1]):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)
    x, W, b = (torch.tensor(a, requires_grad=True) for a in arrays[:3])
    t, w = torch.tensor(arrays[3], requires_grad=soft), torch.tensor(arrays[4])
    lt = torch.nn.functional.linear_cross_entropy(x, W, t, linear_bias=b if bias else None,
                                                  weight=w if weight else None, **kw)
    lt.backward(torch.tensor(g))
    np.testing.assert_allclose(got[0], lt.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, r in zip(got[1], [x.grad, W.grad] + ([b.grad] if bias else []) + ([t.grad] if soft else [])):
        np.testing.assert_allclose(a, r.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind, reduction", [("index", "mean"), ("index", "none"), ("probs", "sum")])
def test_gradcheck_chunked(device, kind, reduction):
    soft = kind == "probs"
    x, W, b, t, w = _case(3, 5, (2,), soft, None if soft else 1)
    ts = [mt.tensor(a, device=device, requires_grad=True) for a in (x, W, b)]
    tt = mt.tensor(t, device=device, requires_grad=soft)
    cw = mt.tensor(w, device=device)
    opt = Opt(batch_chunk_size=2, chunking_method=None)

    def f(x, W, b, *soft_t):
        return F.linear_cross_entropy(x, W, soft_t[0] if soft else tt, linear_bias=b, weight=cw,
                                      reduction=reduction, label_smoothing=0.1, options=opt,
                                      ignore_index=None if soft else 1)
    out = f(*ts, *([tt] if soft else []))
    assert out.device == device
    assert mt.gradcheck(f, ts + ([tt] if soft else []), rtol=RTOL, atol=ATOL)


def test_all_targets_ignored_mean_is_nan_with_zero_gradient(device):
    x, W, _, _, _ = _case(0, 4, (), False, None)
    xs, Ws = (mt.tensor(a, device=device, requires_grad=True) for a in (x, W))
    loss = F.linear_cross_entropy(xs, Ws, mt.tensor([-100] * 4, device=device), options=Opt(batch_chunk_size=3))
    assert np.isnan(float(loss.item()))
    loss.backward()
    assert not to_numpy(xs.grad.data).any() and not to_numpy(Ws.grad.data).any()


def test_double_backward_through_the_composition():
    x, W, b, t, _ = _case(5, 4, (), False, None)
    xs, Ws = (mt.tensor(a, requires_grad=True) for a in (x, W))
    res = []
    for opt in (None, Opt(batch_chunk_size=3)):
        loss = F.linear_cross_entropy(xs, Ws, mt.tensor(t), options=opt, reduction="sum")
        (gx,) = mt.autograd.grad(loss, [xs], create_graph=True)
        res.append([to_numpy(v.data) for v in mt.autograd.grad((gx * gx).sum(), [xs, Ws])])
    for a, r in zip(*res):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


def test_second_backward_needs_allow_retain_graph_as_torchs():
    """mean/sum scale the forward's gradients in place: a second backward raises, as torch's chunked
    op, unless allow_retain_graph=True; 'none' recomputes them, so it always may."""
    x, W, _, t, _ = _case(6, 9, (), False, None)
    xs, Ws = (mt.tensor(a, requires_grad=True) for a in (x, W))
    loss = F.linear_cross_entropy(xs, Ws, mt.tensor(t), options=Opt(batch_chunk_size=4))
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="allow_retain_graph=True"):
        loss.backward()


def test_retain_graph_backward_twice_and_float32():
    x, W, _, t, _ = _case(6, 9, (), False, None)
    for reduction, retain in (("mean", True), ("none", False)):
        xs, Ws = (mt.tensor(a.astype(np.float32), requires_grad=True) for a in (x, W))
        loss = F.linear_cross_entropy(xs, Ws, mt.tensor(t), options=Opt(batch_chunk_size=4, allow_retain_graph=retain),
                                      reduction=reduction)
        assert loss.dtype == mt.float32
        loss.sum().backward(retain_graph=True)
        first = to_numpy(Ws.grad.data).copy()
        loss.sum().backward()
        np.testing.assert_allclose(to_numpy(Ws.grad.data), 2 * first, rtol=1e-6)
        ref = F.cross_entropy(F.linear(xs.detach(), Ws.detach()), mt.tensor(t), reduction=reduction)
        np.testing.assert_allclose(to_numpy(loss.data), to_numpy(ref.data), rtol=2e-6, atol=1e-6)


def test_acc_dtype_computes_the_chunks_in_float64():
    x, W, _, t, _ = _case(7, 8, (), False, None)
    xs, Ws = (mt.tensor(a.astype(np.float32), requires_grad=True) for a in (x, W))
    loss = F.linear_cross_entropy(xs, Ws, mt.tensor(t), options=Opt(batch_chunk_size=3, acc_dtype=mt.float64))
    loss.backward()
    assert loss.dtype == xs.grad.dtype == Ws.grad.dtype == mt.float32
    x64, W64 = (mt.tensor(a.astype(np.float32).astype(np.float64), requires_grad=True) for a in (x, W))
    F.cross_entropy(F.linear(x64, W64), mt.tensor(t)).backward()
    np.testing.assert_allclose(to_numpy(Ws.grad.data), to_numpy(W64.grad.data).astype(np.float32), rtol=1e-6)


@pytest.mark.parametrize("N, H_, V, method", [(768, 128, 65, "auto"), (1024, 384, 50257, "auto"),
                                              (1000, 64, 65, "aspect_ratio"), (16384, 384, 65, "aspect_ratio:4"),
                                              (1, 8, 100, "auto"), (5, 64, 16, "aspect_ratio")])
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_chunk_rows_follow_torch(N, H_, V, method):
    torch = pytest.importorskip("torch")
    want = torch.nn.LinearCrossEntropyOptions(chunking_method=method)._adjust(
        num_batches=N, in_features=H_, num_classes=V, dtype=torch.float32, device=None).batch_chunk_size
    floor = min(N, 64) if method == "auto" else 1   # minitf's "auto": at least 64 rows; torch's can reach 0
    assert Opt(chunking_method=method).chunk_rows(N, H_, V) == max(want, floor)
    assert Opt(batch_chunk_size=7, chunking_method=None).chunk_rows(N, H_, V) == min(7, N)
    assert Opt(batch_chunk_size=7).chunk_rows(N, H_, V) == min(7, N)   # "auto" yields to an explicit size


def test_options_errors():
    for kw in (dict(acc_policy="fast"), dict(chunking_method="aspect_ratio:0"), dict(chunking_method="rows"),
               dict(batch_chunk_size=0), dict(batch_chunk_size=2.5), dict(acc_dtype=mt.int64)):
        with pytest.raises(ValueError):
            Opt(**kw)
    with pytest.raises(ValueError, match="different chunk sizes"):
        Opt(batch_chunk_size=3, chunking_method="aspect_ratio").chunk_rows(100, 10, 20)
    with pytest.raises(Exception):   # frozen, as torch's dataclass
        Opt().batch_chunk_size = 4


def test_argument_errors():
    x, W = mt.randn(4, H), mt.randn(C, H)
    t = mt.tensor([0, 1, 2, 3])
    with pytest.raises(RuntimeError, match="dimensionality 1 or 2"):
        F.linear_cross_entropy(mt.randn(2, 2, H), W, t)
    with pytest.raises(RuntimeError, match="in_features"):
        F.linear_cross_entropy(x, mt.randn(C, H + 1), t)
    with pytest.raises(RuntimeError, match="linear_bias shape"):
        F.linear_cross_entropy(x, W, t, linear_bias=mt.randn(C + 1))
    with pytest.raises(RuntimeError, match="batched input"):
        F.linear_cross_entropy(mt.randn(H), mt.randn(C, 2, H), mt.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="ignore_index cannot be specified"):
        F.linear_cross_entropy(x, W, mt.rand(4, C), ignore_index=0)
    with pytest.raises(ValueError, match="reduction"):
        F.linear_cross_entropy(x, W, t, reduction="avg")
    with pytest.raises(TypeError, match="options"):
        F.linear_cross_entropy(x, W, t, options={"batch_chunk_size": 2})
    with pytest.raises(IndexError):
        F.linear_cross_entropy(x, W, mt.tensor([0, 1, 2, C]), options=Opt())
    with pytest.raises(ValueError, match="shape"):
        F.linear_cross_entropy(x, W, mt.tensor([0, 1]), options=Opt())


@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_module_matches_torchs_layout_and_values():
    torch = pytest.importorskip("torch")
    tm = torch.nn.LinearCrossEntropyLoss(H, C, out_features=(3,), bias=True, dtype=torch.float64,
                                         weight=torch.rand(C, dtype=torch.float64), label_smoothing=0.1)
    m = nn.LinearCrossEntropyLoss(H, C, out_features=(3,), bias=True, dtype=mt.float64,
                                  weight=mt.ones(C, dtype=mt.float64), label_smoothing=0.1, options=Opt(batch_chunk_size=2))
    assert sorted(m.state_dict()) == sorted(tm.state_dict())
    m.load_state_dict({k: mt.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, H))
    t = np.random.default_rng(1).integers(0, C, (4, 3))
    got = m(mt.tensor(x), mt.tensor(t))
    got.backward()
    want = tm(torch.tensor(x), torch.tensor(t))
    want.backward()
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(m.linear.weight.grad.data), tm.linear.weight.grad.numpy(), rtol=1e-10,
                               atol=1e-12)
    assert repr(m).splitlines()[1].split("options=")[0] == repr(tm).splitlines()[1].split("options=")[0]


@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_module_builds_its_head_as_a_linear_and_checks_as_torchs():
    torch = pytest.importorskip("torch")
    # the head is drawn in its own dtype (a Linear's weights under the same seed), not in the default
    # dtype and cast; the class weight buffer keeps its dtype, as torch's
    mt.manual_seed(0)
    m = nn.LinearCrossEntropyLoss(H, C, bias=True, dtype=mt.float64, weight=mt.ones(C))
    mt.manual_seed(0)
    lin = nn.Linear(H, C, dtype=mt.float64)
    np.testing.assert_array_equal(m.linear.weight.numpy(), lin.weight.numpy())
    tm = torch.nn.LinearCrossEntropyLoss(H, C, dtype=torch.float64, weight=torch.ones(C))
    assert m.weight.dtype == np.float32 and tm.weight.dtype == torch.float32
    for kw in ({"weight": (C + 1,)}, {"label_smoothing": 1.5}):
        args = {k: torch.ones(v) if k == "weight" else v for k, v in kw.items()}
        with pytest.raises(RuntimeError):
            torch.nn.LinearCrossEntropyLoss(H, C, **args)
        with pytest.raises(RuntimeError):
            nn.LinearCrossEntropyLoss(H, C, **{k: mt.ones(v) if k == "weight" else v for k, v in kw.items()})
