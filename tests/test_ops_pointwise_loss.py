"""l1_loss, smooth_l1_loss, huber_loss, binary_cross_entropy(_with_logits), kl_div: every
reduction, weights and options; float64 gradchecks (input and target) on both devices;
PyTorch's values and gradients; stability; clear errors for bad shapes and targets."""
import itertools
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

from .conftest import ATOL, RTOL, device_tensor
from .torch_compare import compare_with_torch

RED = ["mean", "sum", "none"]
rng0 = np.random.default_rng(0)
X, T = rng0.standard_normal((4, 3)), rng0.standard_normal((4, 3))
X[0, 0], T[0, 0] = 0.3, 0.3 + 0.5          # |d| = 0.5 and 1.5: both sides of beta / delta
X[0, 1], T[0, 1] = 0.0, -1.5
W = rng0.random((4, 3)) + 0.1
P = 1 / (1 + np.exp(-X))                   # probabilities strictly inside (0, 1)
Q = rng0.random((4, 3))
LOGP = X - np.log(np.exp(X).sum(1, keepdims=True))
POS = np.array([0.5, 2.0, 3.0])

# name -> (ours(x, t), torch name, torch kwargs, x, t); x and t both differentiable
REGRESSION = {}
for r in RED:
    REGRESSION[f"l1-{r}"] = (lambda x, t, r=r: F.l1_loss(x, t, reduction=r), "l1_loss", {"reduction": r}, X, T)
    for beta in (1.0, 0.7, 0.0):
        REGRESSION[f"smooth_l1-{beta}-{r}"] = (
            lambda x, t, r=r, b=beta: F.smooth_l1_loss(x, t, reduction=r, beta=b),
            "smooth_l1_loss", {"reduction": r, "beta": beta}, X, T)
    for delta in (1.0, 0.7):
        REGRESSION[f"huber-{delta}-{r}"] = (lambda x, t, r=r, d=delta: F.huber_loss(x, t, reduction=r, delta=d),
                                            "huber_loss", {"reduction": r, "delta": delta}, X, T)
    REGRESSION[f"bce-{r}"] = (lambda x, t, r=r: F.binary_cross_entropy(x, t, reduction=r),
                              "binary_cross_entropy", {"reduction": r}, P, Q)
    REGRESSION[f"bce_logits-{r}"] = (lambda x, t, r=r: F.binary_cross_entropy_with_logits(x, t, reduction=r),
                                     "binary_cross_entropy_with_logits", {"reduction": r}, X, Q)
for r, lt in itertools.product(RED + ["batchmean"], [False, True]):
    tgt = np.log(Q) if lt else Q
    REGRESSION[f"kl-{lt}-{r}"] = (lambda x, t, r=r, lt=lt: F.kl_div(x, t, reduction=r, log_target=lt),
                                  "kl_div", {"reduction": r, "log_target": lt}, LOGP, tgt)


def _quiet(fn):
    def run(*a):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # kl_div's 'mean' warning, tested below
            return fn(*a)
    return run


@pytest.mark.parametrize("case", sorted(REGRESSION))
def test_gradcheck_input_and_target(device, case):
    ours, _, _, x, t = REGRESSION[case]
    xs, ts = device_tensor(x, device), device_tensor(t, device)
    y = _quiet(ours)(xs, ts)
    assert y.device == device and y.dtype == np.float64
    assert mt.gradcheck(_quiet(ours), [xs, ts], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("case", sorted(REGRESSION))
def test_matches_torch(case):
    torch = pytest.importorskip("torch")
    ours, name, kw, x, t = REGRESSION[case]
    compare_with_torch(_quiet(ours), _quiet(lambda a, b: getattr(torch.nn.functional, name)(a, b, **kw)), [x, t])


WEIGHTED = {
    "l1": (lambda x, t, w, r: F.l1_loss(x, t, reduction=r, weight=w), "l1_loss", X, T, W),
    "huber": (lambda x, t, w, r: F.huber_loss(x, t, reduction=r, delta=0.8, weight=w), "huber_loss", X, T, W),
    "bce": (lambda x, t, w, r: F.binary_cross_entropy(x, t, weight=w, reduction=r), "binary_cross_entropy",
            P, Q, W[:1]),
    "bce_logits": (lambda x, t, w, r: F.binary_cross_entropy_with_logits(x, t, weight=w, reduction=r),
                   "binary_cross_entropy_with_logits", X, Q, W),
    "bce_logits_pos": (lambda x, t, w, r: F.binary_cross_entropy_with_logits(x, t, weight=w, reduction=r,
                                                                             pos_weight=mt.tensor(POS)),
                       "binary_cross_entropy_with_logits", X, Q, W[0]),
}


@pytest.mark.parametrize("case, reduction", list(itertools.product(sorted(WEIGHTED), RED)))
def test_weighted_matches_torch_and_gradchecks(device, case, reduction):
    torch = pytest.importorskip("torch")
    ours, name, x, t, w = WEIGHTED[case]
    kw = {"reduction": reduction, **({"delta": 0.8} if name == "huber_loss" else {}),
          **({"pos_weight": torch.tensor(POS)} if case == "bce_logits_pos" else {})}
    if device == "cpu":
        compare_with_torch(lambda a, b, c: ours(a, b, c, reduction),
                           lambda a, b, c: getattr(torch.nn.functional, name)(a, b, weight=c, **kw),
                           [x, t, w], grad=[0, 1])   # PyTorch does not differentiate weights
    pw = mt.tensor(POS, device=device)
    tensors = [device_tensor(a, device) for a in (x, t, w)]
    fn = ours if case != "bce_logits_pos" else (
        lambda a, b, c, r: F.binary_cross_entropy_with_logits(a, b, weight=c, reduction=r, pos_weight=pw))
    assert mt.gradcheck(lambda a, b, c: fn(a, b, c, reduction), tensors, rtol=RTOL, atol=ATOL)


def test_bce_clamps_the_log_at_minus_100_as_torch():
    """Values and input gradients as torch at x = 0 and 1. The target gradient there is that of
    the clamped loss, +-100 (torch's is +-inf: it differentiates the unclamped logs)."""
    torch = pytest.importorskip("torch")
    x, t = np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    y = compare_with_torch(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
                           lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, reduction="none"),
                           [x, t], grad=[0])
    assert y.numpy()[0] == 100.0 and y.numpy()[1] == 100.0 and y.numpy()[2] == 0.0
    tt = mt.tensor(t, requires_grad=True)
    F.binary_cross_entropy(mt.tensor(x), tt, reduction="sum").backward()
    np.testing.assert_array_equal(tt.grad.numpy(), [100.0, -100.0, 100.0, -100.0, 0.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits_is_stable_for_huge_logits(device, dtype):
    x = mt.tensor([-1e4, -200.0, 200.0, 1e4], dtype=dtype, device=device, requires_grad=True)
    t = mt.tensor([1.0, 0.0, 1.0, 0.0], dtype=dtype, device=device)
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    tiny = np.log1p(np.exp(np.array(-200.0, dtype=dtype)))   # 1.4e-87 in float64, 0 in float32
    np.testing.assert_allclose(loss.numpy(), [1e4, tiny, tiny, 1e4], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, 0.0, 0.0, 1.0], atol=1e-30)


def test_kl_div_zero_target_contributes_nothing():
    x = mt.tensor([[-1.0, -2.0, -0.5]], dtype="float64", requires_grad=True)
    t = mt.tensor([[0.0, 0.6, 0.4]], dtype="float64", requires_grad=True)
    loss = F.kl_div(x, t, reduction="batchmean")
    assert loss.item() == pytest.approx(0.6 * (np.log(0.6) + 2.0) + 0.4 * (np.log(0.4) + 0.5), rel=1e-14)
    loss.backward()
    assert t.grad.numpy()[0, 0] == 0.0 and x.grad.numpy()[0, 0] == 0.0


def test_kl_div_mean_warns_as_torch():
    x, t = mt.tensor([[-1.0, -0.5]]), mt.tensor([[0.5, 0.5]])
    with pytest.warns(UserWarning, match="'batchmean' divides by the batch size"):
        F.kl_div(x, t)


def test_broadcast_target_warns_and_bad_shapes_raise():
    x = mt.tensor(np.ones((3, 1)))
    with pytest.warns(UserWarning, match="l1_loss: target shape \\(3,\\) differs from input shape \\(3, 1\\)"):
        assert F.l1_loss(x, mt.tensor(np.ones(3)), reduction="none").shape == (3, 3)
    with pytest.raises(ValueError, match="smooth_l1_loss: input of shape \\(3, 2\\) and target of shape \\(4,\\)"):
        F.smooth_l1_loss(mt.tensor(np.ones((3, 2))), mt.tensor(np.ones(4)))
    with pytest.raises(ValueError, match="binary_cross_entropy: target of shape \\(3,\\) must have"):
        F.binary_cross_entropy(mt.tensor(np.full((3, 1), 0.5)), mt.tensor(np.ones(3)))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: target of shape"):
        F.binary_cross_entropy_with_logits(x, mt.tensor(np.ones(3)))
    with pytest.raises(ValueError, match="l1_loss: weight of shape \\(3,\\) must have the input's shape"):
        F.l1_loss(x, x, weight=mt.tensor(np.ones(3)))
    with pytest.raises(ValueError, match="weight of shape \\(2,\\) does not broadcast"):
        F.binary_cross_entropy_with_logits(x, x, weight=mt.tensor(np.ones(2)))


def test_bad_targets_and_arguments_raise():
    p = mt.tensor([0.2, 0.7])
    with pytest.raises(ValueError, match="every element of input must be a probability in \\[0, 1\\]"):
        F.binary_cross_entropy(mt.tensor([1.5, 0.2]), p)
    with pytest.raises(TypeError, match="binary_cross_entropy_with_logits: target must be floating point"):
        F.binary_cross_entropy_with_logits(p, mt.tensor([1, 0]))
    with pytest.raises(ValueError, match="kl_div: reduction must be 'mean', 'batchmean'"):
        F.kl_div(p, p, reduction="avg")
    with pytest.raises(ValueError, match="l1_loss: reduction must be"):
        F.l1_loss(p, p, reduction="batchmean")
    with pytest.raises(ValueError, match="huber_loss: delta must be > 0"):
        F.huber_loss(p, p, delta=0.0)
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be >= 0"):
        F.smooth_l1_loss(p, p, beta=-1.0)


def test_integer_regression_target_is_cast_to_the_input_dtype():
    x = mt.tensor([0.5, 2.5], dtype="float32")
    y = F.l1_loss(x, mt.tensor([1, 2]))
    assert y.dtype == np.float32 and y.item() == pytest.approx(0.5)


@pytest.mark.parametrize("case", sorted(REGRESSION))
def test_gradgradcheck_input_and_target(device, case):
    ours = REGRESSION[case][0]
    xs, ts = device_tensor(REGRESSION[case][3], device), device_tensor(REGRESSION[case][4], device)
    assert mt.gradgradcheck(_quiet(ours), [xs, ts], rtol=RTOL, atol=ATOL)


def test_bce_double_backward_at_the_clamped_ends_is_finite(device):
    x = mt.tensor([0.0, 1.0, 0.3], dtype="float64", device=device, requires_grad=True)
    t = mt.tensor([1.0, 0.0, 0.4], dtype="float64", device=device, requires_grad=True)
    gx, gt = mt.grad(F.binary_cross_entropy(x, t, reduction="sum"), [x, t], create_graph=True)
    h = mt.grad((gx * gx).sum() + (gt * gt).sum(), [x, t])
    assert all(np.all(np.isfinite(v.numpy())) for v in h)


@pytest.mark.parametrize("case", sorted(REGRESSION))
def test_float32_stays_float32(device, case):
    ours, _, _, x, t = REGRESSION[case]
    xs = mt.tensor(x, dtype="float32", device=device, requires_grad=True)
    ts = mt.tensor(t, dtype="float32", device=device, requires_grad=True)
    y = _quiet(ours)(xs, ts)
    y.sum().backward()
    assert y.dtype == xs.grad.dtype == ts.grad.dtype == np.float32


def test_bce_checks_the_target_range_as_torch(device):
    x = mt.tensor([0.2, 0.7], dtype="float64", device=device)
    for bad in ([0.5, 1.5], [-0.1, 0.5], [np.nan, 0.5]):
        with pytest.raises(ValueError, match="binary_cross_entropy: every element of target must be in \\[0, 1\\]"):
            F.binary_cross_entropy(x, mt.tensor(bad, dtype="float64", device=device))
    with pytest.raises(ValueError, match="every element of input"):   # input first, as torch
        F.binary_cross_entropy(mt.tensor([1.5, 0.2], device=device), mt.tensor([2.0, 0.5], device=device))
    ok = F.binary_cross_entropy(x, mt.tensor([0.0, 1.0], dtype="float64", device=device), reduction="none")
    np.testing.assert_allclose(ok.numpy(), [-np.log(0.8), -np.log(0.7)], rtol=1e-14)


def test_bce_target_range_error_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
        torch.nn.functional.binary_cross_entropy(torch.tensor([0.5]), torch.tensor([1.5]))
    with pytest.raises(ValueError, match="target must be in"):
        F.binary_cross_entropy(mt.tensor([0.5]), mt.tensor([1.5]))


def test_kl_div_target_gradient_at_zero_differs_from_torch_on_purpose():
    # minitf: 0 (finite); PyTorch 2.13: NaN (documented in KLDiv and docs/api.md)
    torch = pytest.importorskip("torch")
    x, t = np.array([-1.0, -2.0, -0.5]), np.array([0.0, 0.6, 0.4])
    tm = mt.tensor(t, requires_grad=True)
    tt = torch.tensor(t, requires_grad=True)
    F.kl_div(mt.tensor(x), tm, reduction="sum").backward()
    torch.nn.functional.kl_div(torch.tensor(x), tt, reduction="sum").backward()
    assert np.isnan(tt.grad.numpy()[0]) and tm.grad.numpy()[0] == 0.0
    np.testing.assert_allclose(tm.grad.numpy()[1:], tt.grad.numpy()[1:], rtol=1e-14)
