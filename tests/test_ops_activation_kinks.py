"""Piecewise activations at their kinks, first and second order: the branch torch takes at the
kink itself (x = +-0, beta x = threshold, clamp's bounds, NaN), for the value's sign of zero, the
first derivative and the second (autograd.grad with create_graph), in float64."""
import math

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

from .conftest import ATOL, RTOL, device_tensor

NAN = float("nan")

# name -> (minitf op, torch op name and kwargs, the points to probe)
KINKS = {
    "relu": (F.relu, ("relu", {}), [0.0, -0.0, NAN]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), ("leaky_relu", {"negative_slope": 0.1}), [0.0, -0.0, NAN]),
    "leaky_relu_negative_slope": (lambda x: F.leaky_relu(x, -0.5), ("leaky_relu", {"negative_slope": -0.5}),
                                  [0.0, -0.0, NAN]),
    "elu": (F.elu, ("elu", {}), [0.0, -0.0, NAN, -0.5]),
    "elu_alpha_2": (lambda x: F.elu(x, 2.0), ("elu", {"alpha": 2.0}), [0.0, -0.0, -0.5]),
    "elu_alpha_half": (lambda x: F.elu(x, 0.5), ("elu", {"alpha": 0.5}), [0.0, -0.0, -0.5]),
    "elu_alpha_negative": (lambda x: F.elu(x, -1.5), ("elu", {"alpha": -1.5}), [0.0, -0.0, -0.5]),
    "softplus_threshold": (F.softplus, ("softplus", {}), [20.0, 0.0, NAN]),
    "softplus_beta_threshold": (lambda x: F.softplus(x, 2.0, 3.0), ("softplus", {"beta": 2.0, "threshold": 3.0}),
                                [1.5, 1.5 - 1e-9]),
    "softplus_negative_beta": (lambda x: F.softplus(x, -2.0, 3.0),
                               ("softplus", {"beta": -2.0, "threshold": 3.0}), [-1.5, 0.0]),
    "relu6": (F.relu6, ("relu6", {}), [0.0, -0.0, 6.0, NAN]),
    "gelu_tanh": (lambda x: F.gelu(x, "tanh"), ("gelu", {"approximate": "tanh"}), [0.0, -0.0]),
    "gelu": (F.gelu, ("gelu", {}), [0.0, -0.0]),
    "abs": (mt.abs, ("abs", {}), [0.0, -0.0, NAN]),
    "clamp": (lambda x: mt.clamp(x, -1.0, 1.0), ("clamp", {"min": -1.0, "max": 1.0}), [-1.0, 1.0]),
    "maximum_tie": (lambda x: mt.maximum(x, x * 0), ("maximum_tie", {}), [0.0, -0.0, NAN]),
    "sqrt": (mt.sqrt, ("sqrt", {}), [0.0, -0.0]),
    "pow_half": (lambda x: x ** 0.5, ("pow", {"exponent": 0.5}), [0.0, -0.0]),
    "l1_loss": (lambda x: F.l1_loss(x, x.detach() * 0 + 1, reduction="none"), ("l1_loss", {}), [1.0, 0.0, NAN]),
    "smooth_l1_loss": (lambda x: F.smooth_l1_loss(x, x.detach() * 0, reduction="none", beta=0.5),
                       ("smooth_l1_loss", {"beta": 0.5}), [0.5, -0.5, 0.0, NAN]),
    "huber_loss": (lambda x: F.huber_loss(x, x.detach() * 0, reduction="none", delta=2.0),
                   ("huber_loss", {"delta": 2.0}), [2.0, -2.0, 0.0, NAN]),
}


def _derivatives(grad, x, y):
    """y, y' and y'' of an elementwise op at the points of x (None where y' does not depend on x)."""
    g, = grad(y.sum(), x, create_graph=True)
    if not g.requires_grad:   # both libraries: y' constant (clamp, sign): nothing to differentiate
        return y, g, None
    gg, = grad(g.sum(), x)
    return y, g, gg


def _torch_op(torch, name, kw):
    if name == "maximum_tie":
        return lambda t: torch.maximum(t, t * 0)
    if name.endswith("_loss"):   # against a constant target: 1 for l1 (its kink at x = 1), 0 otherwise
        target = 1.0 if name == "l1_loss" else 0.0
        return lambda t: getattr(torch.nn.functional, name)(t, t.detach() * 0 + target, reduction="none", **kw)
    if name in ("abs", "clamp", "sqrt", "pow"):
        return lambda t: getattr(torch, name)(t, **kw)
    return lambda t: getattr(torch.nn.functional, name)(t, **kw)


def _same(ours, theirs, what, sign=False):
    a, b = ours.detach().numpy(), theirs.detach().numpy(force=True)   # force: a torch ZeroTensor
    np.testing.assert_array_equal(a, b, err_msg=what)   # exact, NaN where NaN
    if sign:   # and the sign of each zero
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b), err_msg=f"{what}: sign")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # sqrt' sums +inf and -inf at +-0: NaN, meant
@pytest.mark.parametrize("case", sorted(KINKS))
def test_kinks_match_torch_to_second_order(case):
    torch = pytest.importorskip("torch")
    op, (name, kw), points = KINKS[case]
    x = mt.tensor(points, dtype=mt.float64, requires_grad=True)
    xt = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    ours = _derivatives(mt.grad, x, op(x))
    theirs = _derivatives(torch.autograd.grad, xt, _torch_op(torch, name, kw)(xt))
    assert (ours[2] is None) == (theirs[2] is None), "y' depends on x in one library only"
    # relu(-0) is -0 in torch, +0 or -0 in minitf: NumPy's maximum picks either zero by its SIMD path,
    # and a pass to fix the sign would cost the hot path (the value and both derivatives are torch's)
    _same(ours[0], theirs[0], "value", sign=case != "relu")
    for k, what in ((1, "first derivative"), (2, "second derivative")):
        if ours[k] is not None:
            if case.startswith("softplus") and k == 1:   # sigma(20) as 1/(1+e^-20) vs e^20/(e^20+1): 1 ulp
                np.testing.assert_allclose(ours[k].detach().numpy(), theirs[k].detach().numpy(), rtol=1e-15)
            else:
                _same(ours[k], theirs[k], what)


@pytest.mark.parametrize("alpha", [1.0, 2.0, 0.5, -1.5])
def test_elu_at_zero_first_derivative_alpha_second_zero(device, alpha):
    """elu' = alpha exp(x) for x <= 0 (so alpha at 0), elu'' = alpha exp(x) for x < 0 only (0 at 0)."""
    x = mt.tensor([0.0, -0.0, -0.5, 0.5], dtype=mt.float64, device=device, requires_grad=True)
    y = F.elu(x, alpha)
    assert list(np.signbit(y.numpy()[:2])) == [False, True]          # +-0 come back as they are
    g, = mt.grad(y.sum(), x, create_graph=True)
    gg, = mt.grad(g.sum(), x)
    np.testing.assert_array_equal(g.numpy(), [alpha, alpha, alpha * math.exp(-0.5), 1.0])
    np.testing.assert_array_equal(gg.numpy(), [0.0, 0.0, alpha * math.exp(-0.5), 0.0])


def test_leaky_relu_second_derivative_is_zero_not_an_error(device):
    x = mt.tensor([0.0, -0.0, -2.0, 3.0, NAN], dtype=mt.float64, device=device, requires_grad=True)
    g, = mt.grad(F.leaky_relu(x, 0.2).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [0.2, 0.2, 0.2, 1.0, 0.2])
    gg, = mt.grad(g.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), np.zeros(5))


def test_relu6_second_derivative_is_zero_not_an_error(device):
    x = mt.tensor([-1.0, 0.5, 3.0, 7.0], dtype=mt.float64, device=device, requires_grad=True)
    g, = mt.grad(F.relu6(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [0.0, 1.0, 1.0, 0.0])
    gg, = mt.grad(g.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), np.zeros(4))


def test_l1_loss_second_derivative_is_zero_for_input_and_target(device):
    """|x - t|' = sign(x - t) is recorded on both (as torch's, whose abs double backward reads x - t):
    a second grad w.r.t. either gives zeros, not 'does not require grad'."""
    x = mt.tensor([0.0, 1.0, -2.0], dtype=mt.float64, device=device, requires_grad=True)
    t = mt.tensor([0.0, 3.0, -5.0], dtype=mt.float64, device=device, requires_grad=True)
    gx, gt = mt.grad(F.l1_loss(x, t, reduction="sum"), [x, t], create_graph=True)
    np.testing.assert_array_equal(gx.numpy(), [0.0, -1.0, 1.0])
    np.testing.assert_array_equal(gt.numpy(), [0.0, 1.0, -1.0])
    for g in (gx, gt):
        hx, ht = mt.grad(g.sum(), [x, t], retain_graph=True)
        np.testing.assert_array_equal(hx.numpy(), np.zeros(3))
        np.testing.assert_array_equal(ht.numpy(), np.zeros(3))
    xs, ts = device_tensor(np.array([0.3, -1.2, 2.5]), device), device_tensor(np.array([1.0, 0.4, -0.5]), device)
    assert mt.gradgradcheck(lambda a, b: F.l1_loss(a, b, reduction="none") * a, [xs, ts], rtol=RTOL, atol=ATOL)


def test_softplus_at_the_threshold_first_derivative_sigma_second_zero(device):
    """At beta x = threshold exactly: softplus' = sigma(beta x) (linear only above), softplus'' = 0
    (torch's double backward keeps beta x < threshold); just below, beta sigma'(beta x)."""
    below = 1.5 - 1e-9
    x = mt.tensor([1.5, below, 2.0], dtype=mt.float64, device=device, requires_grad=True)
    g, = mt.grad(F.softplus(x, beta=2.0, threshold=3.0).sum(), x, create_graph=True)
    gg, = mt.grad(g.sum(), x)
    s = 1 / (1 + np.exp(-2.0 * np.array([1.5, below])))
    np.testing.assert_allclose(g.numpy(), [s[0], s[1], 1.0], rtol=1e-15)
    np.testing.assert_allclose(gg.numpy(), [0.0, 2.0 * s[1] * (1 - s[1]), 0.0], rtol=1e-12)


def test_sqrt_second_derivative_at_minus_zero_is_minus_inf():
    x = mt.tensor([-0.0, 4.0], dtype=mt.float64, requires_grad=True)
    g, = mt.grad((x ** 0.5).sum(), x, create_graph=True)
    with np.errstate(divide="ignore"):
        gg, = mt.grad(g.sum(), x)
    assert g.numpy()[0] == -math.inf and gg.numpy()[0] == -math.inf
    assert gg.numpy()[1] == pytest.approx(-0.25 * 4.0 ** -1.5, rel=1e-15)


def _pow_half(x):
    return x ** 0.5


@pytest.mark.parametrize("op", [lambda x: F.elu(x, 2.0), lambda x: F.elu(x, -1.5),
                                lambda x: F.softplus(x, beta=2.0, threshold=3.0), _pow_half],
                         ids=["elu_alpha_2", "elu_alpha_negative", "softplus_beta", "pow_half"])
def test_gradgradcheck_near_the_kinks(device, op):
    """The changed double backwards against finite differences, on both sides of each kink."""
    x = device_tensor(np.array([-1.3, -0.2, 0.3, 1.4, 1.6, 2.5]), device)
    if op is _pow_half:   # positive inputs only
        x = device_tensor(np.array([0.3, 1.4, 1.6, 2.5]), device)
    assert mt.gradcheck(op, [x], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(op, [x], rtol=RTOL, atol=ATOL)
