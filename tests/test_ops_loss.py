"""cross_entropy (reduction, weight, label_smoothing, probability targets, ignore_index),
nll_loss and mse_loss: float64 gradchecks on both devices and PyTorch in float64."""
import itertools
import math
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import ATOL, RTOL, device_tensor
from .test_functional_fixes import grad_of

N, C = 6, 4
TARGETS = np.array([0, 3, -100, 1, 2, -100])


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    probs = rng.random((N, C))
    return rng.standard_normal((N, C)), probs / probs.sum(1, keepdims=True), rng.random(C) + 0.1


def _naive_cross_entropy(z, target, weight, eps, reduction):
    """From the definition, row by row: -sum_c q_c w_c log p_c with q the smoothed target."""
    w = np.ones(C) if weight is None else weight
    losses, denom = [], 0.0
    for i in range(z.shape[0]):
        logp = z[i] - math.log(sum(math.exp(v) for v in z[i]))
        if target.ndim == 1:
            if target[i] == -100:
                losses.append(0.0)
                continue
            q = np.eye(C)[target[i]]
            denom += w[target[i]]
        else:
            q = target[i]
            denom += 1.0
        q = (1 - eps) * q + eps / C
        losses.append(-sum(q[c] * w[c] * logp[c] for c in range(C)))
    losses = np.array(losses)
    return {"none": losses, "sum": losses.sum(), "mean": losses.sum() / denom}[reduction]


CASES = list(itertools.product(["index", "probs"], [False, True], [0.0, 0.25], ["mean", "sum", "none"]))


@pytest.mark.parametrize("kind, weighted, eps, reduction", CASES)
def test_cross_entropy_variants_forward_and_gradcheck(device, kind, weighted, eps, reduction):
    z, probs, w = _inputs()
    target = TARGETS if kind == "index" else probs
    t = mt.tensor(target, device=device) if kind == "index" else device_tensor(probs, device)
    weight = mt.tensor(w, dtype="float64", device=device) if weighted else None
    x = device_tensor(z, device)

    def f(x, *soft):
        return F.cross_entropy(x, soft[0] if soft else t, weight=weight, reduction=reduction,
                               label_smoothing=eps)

    out = f(x)
    assert out.device == device
    want = _naive_cross_entropy(z, target, w if weighted else None, eps, reduction)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12, atol=1e-14)
    inputs = [x, t] if kind == "probs" else [x]  # probability targets are differentiable too
    assert mt.gradcheck(f, inputs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind, weighted, eps, reduction", CASES)
def test_cross_entropy_variants_match_torch(kind, weighted, eps, reduction):
    torch = pytest.importorskip("torch")
    z, probs, w = _inputs(1)
    target = TARGETS if kind == "index" else probs
    x, xt = mt.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    t = mt.tensor(target, requires_grad=kind == "probs")
    tt = torch.tensor(target, requires_grad=kind == "probs")
    kw = dict(reduction=reduction, label_smoothing=eps)
    out = F.cross_entropy(x, t, weight=mt.tensor(w) if weighted else None, **kw)
    ref = torch.nn.functional.cross_entropy(xt, tt, weight=torch.tensor(w) if weighted else None, **kw)
    u = np.random.default_rng(2).standard_normal(ref.shape)
    out.backward(mt.tensor(u))
    ref.backward(torch.tensor(u))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad_of(x), xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    if kind == "probs":
        np.testing.assert_allclose(grad_of(t), tt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_cross_entropy_class_dim_is_torchs_dim_1(device):
    # (N, C, d1) logits: the class dim is dim 1, as torch's (minitf read it last before round 9)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    z, tgt, w = rng.standard_normal((2, C, 3)), rng.integers(0, C, (2, 3)), rng.random(C)
    tgt[0, 1] = -100
    out = F.cross_entropy(mt.tensor(z, device=device), mt.tensor(tgt, device=device),
                          weight=mt.tensor(w, device=device), reduction="none", label_smoothing=0.1)
    ref = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(tgt),
                                            weight=torch.tensor(w), reduction="none", label_smoothing=0.1)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kw", [{}, {"weight": np.arange(1.0, C + 1)}, {"label_smoothing": 0.2},
                                {"reduction": "sum"}])
def test_cross_entropy_all_targets_ignored_nan_loss_zero_gradient(device, kw):
    kw = {k: (mt.tensor(v, device=device) if k == "weight" else v) for k, v in kw.items()}
    x = device_tensor(np.random.default_rng(4).standard_normal((3, C)), device)
    loss = F.cross_entropy(x, mt.tensor([-100, -100, -100], device=device), **kw)
    if kw.get("reduction") == "sum":
        assert loss.item() == 0.0
    else:
        assert math.isnan(loss.item())  # the mean over no targets is 0/0, as PyTorch
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no 0/0 warning on the way
        loss.backward()
    g = grad_of(x)
    assert g.shape == (3, C) and np.all(g == 0.0)  # an all-padding batch leaves parameters alone


def test_cross_entropy_all_ignored_matches_torch():
    torch = pytest.importorskip("torch")
    xt = torch.zeros(2, C, dtype=torch.float64, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor([-100, -100]))
    lt.backward()
    x = mt.tensor(np.zeros((2, C)), requires_grad=True)
    loss = F.cross_entropy(x, mt.tensor([-100, -100]))
    loss.backward()
    assert math.isnan(lt.item()) and math.isnan(loss.item())
    np.testing.assert_array_equal(grad_of(x), xt.grad.numpy())


def test_cross_entropy_bad_arguments(device):
    x = device_tensor(np.zeros((2, C)), device)
    t = mt.tensor([0, 1], device=device)
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(x, t, reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        F.cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        F.cross_entropy(x, t, weight=mt.tensor([1.0, 2.0], device=device))
    with pytest.raises(ValueError, match=r"0D or 1D target tensor expected.*or \(2, 4\) \(probabilities\)"):
        F.cross_entropy(x, device_tensor(np.zeros((2, 3)), device))   # (torch's message: not the logits' shape)
    with pytest.raises(ValueError, match="ignore_index is not supported for floating point target"):
        F.cross_entropy(x, device_tensor(np.full((2, C), 0.25), device), ignore_index=0)
    with pytest.raises(IndexError, match=r"target out of range \[0, 4\)"):
        F.cross_entropy(x, mt.tensor([0, 4], device=device), reduction="sum")


# ----------------------------------------------------------------------------- nll_loss
@pytest.mark.parametrize("weighted, reduction", list(itertools.product([False, True], ["mean", "sum", "none"])))
def test_nll_loss_gradcheck_and_torch(device, weighted, reduction):
    z, _, w = _inputs(5)
    x = device_tensor(z, device)
    t = mt.tensor(TARGETS, device=device)
    weight = mt.tensor(w, device=device) if weighted else None
    f = lambda x: F.nll_loss(x, t, weight=weight, reduction=reduction)  # noqa: E731
    assert mt.gradcheck(f, [x], rtol=RTOL, atol=ATOL)
    # nll_loss of log_softmax is cross_entropy
    np.testing.assert_allclose(F.nll_loss(F.log_softmax(x, dim=-1), t, weight=weight, reduction=reduction).numpy(),
                               F.cross_entropy(x, t, weight=weight, reduction=reduction).numpy(),
                               rtol=1e-13, atol=1e-15)
    torch = pytest.importorskip("torch")
    xt = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.nll_loss(xt, torch.tensor(TARGETS), reduction=reduction,
                                       weight=torch.tensor(w) if weighted else None)
    x.grad = None
    out = f(x)
    u = np.random.default_rng(6).standard_normal(ref.shape)
    out.backward(device_tensor(u, device, requires_grad=False))
    ref.backward(torch.tensor(u))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(grad_of(x), xt.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_nll_loss_all_ignored_and_errors(device):
    x = device_tensor(np.zeros((2, C)), device)
    loss = F.nll_loss(x, mt.tensor([-100, -100], device=device))
    assert math.isnan(loss.item())
    loss.backward()
    assert np.all(grad_of(x) == 0.0)
    with pytest.raises(TypeError, match="nll_loss: expected target dtype to be Long or Byte, but got float64"):
        F.nll_loss(x, device_tensor(np.zeros(2), device))
    with pytest.raises(ValueError, match=r"nll_loss: Expected input batch_size \(2\) to match target batch_size "
                                         r"\(3\).*input of shape \(2, 4\).*targets of shape \(2,\)"):
        F.nll_loss(x, mt.tensor([0, 1, 2], device=device))


# ----------------------------------------------------------------------------- mse_loss
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_gradcheck_and_torch(device, reduction):
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x, y = device_tensor(a, device), device_tensor(b, device)
    out = F.mse_loss(x, y, reduction=reduction)
    want = {"mean": ((a - b) ** 2).mean(), "sum": ((a - b) ** 2).sum(), "none": (a - b) ** 2}[reduction]
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-14)
    assert mt.gradcheck(lambda x, y: F.mse_loss(x, y, reduction=reduction), [x, y], rtol=RTOL, atol=ATOL)
    torch = pytest.importorskip("torch")
    ref = torch.nn.functional.mse_loss(torch.tensor(a), torch.tensor(b), reduction=reduction)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-14)


def test_mse_loss_warns_on_broadcasting_and_rejects_bad_input(device):
    x = device_tensor(np.zeros((3, 1)), device)
    with pytest.warns(UserWarning, match=r"target shape \(3,\) differs from input shape \(3, 1\)"):
        assert F.mse_loss(x, device_tensor(np.ones(3), device), reduction="none").shape == (3, 3)
    with pytest.raises(ValueError, match="do not broadcast"):
        F.mse_loss(x, device_tensor(np.ones((2, 2)), device))
    with pytest.raises(ValueError, match="mse_loss: reduction must be"):
        F.mse_loss(x, x, reduction="batchmean")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_the_second_derivative_of_nll_loss_is_zero_as_torchs(reduction):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(8).standard_normal((4, 5, 3))
    t = np.array([[0, 2, 1], [4, 4, 0], [1, 3, 2], [2, 0, 4]])
    res = []
    for lib in (mt, torch):
        xt = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.nll_loss(xt, lib.tensor(t), reduction=reduction).sum()
        (gx,) = lib.autograd.grad(y, xt, create_graph=True)
        assert gx.requires_grad
        (ggx,) = lib.autograd.grad((gx * gx).sum(), xt)
        res.append((gx.detach().numpy(), ggx.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-15)
    np.testing.assert_array_equal(res[0][1], res[1][1])
