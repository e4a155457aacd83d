"""More activations (minitf.ops.piecewise_activations, .smooth_activations, nn.activation_more)
against torch 2.13: values and derivatives at the kinks exactly (first and second order, float64),
values and gradients on random inputs, gradcheck/gradgradcheck on every device, the layers'
arguments and reprs, PReLU's channel broadcasting, RReLU's randomness, in-place forms, errors."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn

from .conftest import ATOL, RTOL

NAN = float("nan")

# name -> (minitf op, torch F name and kwargs, the kink points)
KINKS = {
    "hardtanh": (F.hardtanh, ("hardtanh", {}), [-1.0, 1.0, 0.0, NAN, -3.0]),
    "hardtanh_bounds": (lambda x: F.hardtanh(x, -0.5, 2.0), ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
                        [-0.5, 2.0, NAN]),
    "hardswish": (F.hardswish, ("hardswish", {}), [-3.0, 3.0, 0.0, -0.0, NAN, -4.0, 4.0]),
    "hardsigmoid": (F.hardsigmoid, ("hardsigmoid", {}), [-3.0, 3.0, 0.0, NAN, 5.0]),
    "threshold": (lambda x: F.threshold(x, 1.0, -5.0), ("threshold", {"threshold": 1.0, "value": -5.0}),
                  [1.0, 0.5, 2.0, NAN]),
    "hardshrink": (F.hardshrink, ("hardshrink", {}), [0.5, -0.5, 0.0, -0.0, 1.0, NAN]),
    # (no NaN: torch's softshrink gradient at NaN is 1 in its scalar kernel, 0 in its vectorised one)
    "softshrink": (F.softshrink, ("softshrink", {}), [0.5, -0.5, 0.0, -0.0, 1.0, -1.0, -0.25, 2.0]),
    "softshrink_0": (lambda x: F.softshrink(x, 0.0), ("softshrink", {"lambd": 0.0}), [0.0, -0.0, 1.0]),
    "rrelu_eval": (F.rrelu, ("rrelu", {}), [0.0, -0.0, -1.0, 1.0, NAN]),
    "selu": (F.selu, ("selu", {}), [0.0, -0.0, -1.0, 1.0, NAN]),
    "celu": (F.celu, ("celu", {}), [0.0, -0.0, -1.0, 1.0, NAN]),
    "celu_alpha": (lambda x: F.celu(x, 2.0), ("celu", {"alpha": 2.0}), [0.0, -0.0, -1.0, 1.0]),
    "celu_negative_alpha": (lambda x: F.celu(x, -0.5), ("celu", {"alpha": -0.5}), [0.0, -0.0, -1.0, 1.0]),
    "softsign": (F.softsign, ("softsign", {}), [0.0, -0.0, -1.0, 1.0]),
    "tanhshrink": (F.tanhshrink, ("tanhshrink", {}), [0.0, -0.0, 1.0]),
    "mish": (F.mish, ("mish", {}), [0.0, -0.0, -1.0, 30.0, -30.0]),
}
# the second derivative torch does not define (hardsigmoid's double backward is not implemented)
NO_SECOND = {"hardsigmoid"}


def _derivatives(grad, x, y, second=True):
    g, = grad(y.sum(), x, create_graph=True)
    if not second or not g.requires_grad:
        return y, g, None
    gg, = grad(g.sum(), x)
    return y, g, gg


def _same(ours, theirs, what, sign=True):
    a, b = ours.detach().numpy(), theirs.detach().numpy(force=True)
    np.testing.assert_array_equal(a, b, err_msg=what)   # exact, NaN where NaN
    if sign:
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b), err_msg=f"{what}: sign of zero")


@pytest.mark.parametrize("case", sorted(KINKS))
def test_kinks_match_torch_to_second_order(case):
    torch = pytest.importorskip("torch")
    op, (name, kw), points = KINKS[case]
    x = mt.tensor(points, dtype=mt.float64, requires_grad=True)
    xt = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    second = case not in NO_SECOND
    ours = _derivatives(mt.grad, x, op(x), second)
    theirs = _derivatives(torch.autograd.grad, xt, getattr(torch.nn.functional, name)(xt, **kw), second)
    # softshrink's sign of a zero result differs between torch's scalar and vectorised kernels
    _same(ours[0], theirs[0], "value", sign=not case.startswith("softshrink"))
    if case == "mish":   # a composition (x tanh(softplus x)): its derivative rounds 1 ulp off torch's formula in the tail
        np.testing.assert_allclose(ours[1].detach().numpy(), theirs[1].detach().numpy(), rtol=2e-16, atol=0)
        np.testing.assert_allclose(ours[2].detach().numpy(), theirs[2].detach().numpy(), rtol=1e-15, atol=0)
        return
    _same(ours[1], theirs[1], "first derivative", sign=False)
    if second and theirs[2] is not None:
        assert ours[2] is not None
        _same(ours[2], theirs[2], "second derivative", sign=False)


def test_hardsigmoid_second_derivative_is_zero(device):
    """torch has none (not implemented); minitf's is the piecewise constant slope's: 0."""
    x = mt.tensor([-3.0, 0.0, 1.0, 4.0], dtype=mt.float64, device=device, requires_grad=True)
    g, = mt.grad(F.hardsigmoid(x).sum(), x, create_graph=True)
    gg, = mt.grad(g.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), np.zeros(4))


SMOOTH = ["selu", "celu", "mish", "softsign", "tanhshrink", "hardswish"]
OPS = {
    "hardtanh": (lambda x: F.hardtanh(x, -0.7, 1.2), lambda t, x: t.nn.functional.hardtanh(x, -0.7, 1.2)),
    "hardswish": (F.hardswish, lambda t, x: t.nn.functional.hardswish(x)),
    "hardsigmoid": (F.hardsigmoid, lambda t, x: t.nn.functional.hardsigmoid(x)),
    "threshold": (lambda x: F.threshold(x, 0.3, 7.0), lambda t, x: t.nn.functional.threshold(x, 0.3, 7.0)),
    "hardshrink": (lambda x: F.hardshrink(x, 0.7), lambda t, x: t.nn.functional.hardshrink(x, 0.7)),
    "softshrink": (lambda x: F.softshrink(x, 0.7), lambda t, x: t.nn.functional.softshrink(x, 0.7)),
    "rrelu_eval": (lambda x: F.rrelu(x, 0.1, 0.4), lambda t, x: t.nn.functional.rrelu(x, 0.1, 0.4)),
    "selu": (F.selu, lambda t, x: t.nn.functional.selu(x)),
    "celu": (lambda x: F.celu(x, 1.5), lambda t, x: t.nn.functional.celu(x, 1.5)),
    "mish": (F.mish, lambda t, x: t.nn.functional.mish(x)),
    "softsign": (F.softsign, lambda t, x: t.nn.functional.softsign(x)),
    "tanhshrink": (F.tanhshrink, lambda t, x: t.nn.functional.tanhshrink(x)),
    "softmin": (lambda x: F.softmin(x, dim=1), lambda t, x: t.nn.functional.softmin(x, dim=1)),
    "softmin_negdim": (lambda x: F.softmin(x, -1), lambda t, x: t.nn.functional.softmin(x, -1)),
    "softmax2d": (nn.Softmax2d(), lambda t, x: t.nn.Softmax2d()(x)),
}


def _kink_free(shape, rng):
    """Values in (-5, 5) kept 0.05 away from every kink of the ops above."""
    x = rng.uniform(-5, 5, shape)
    kinks = np.array([-3, -1, -0.7, 0, 0.3, 0.7, 1.2, 3])
    near = np.abs(x[..., None] - kinks).min(-1) < 0.05
    return np.where(near, x + 0.1, x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_values_and_gradients_match_torch(name, dtype):
    torch = pytest.importorskip("torch")
    ours_op, torch_op = OPS[name]
    host = _kink_free((2, 3, 4, 5), np.random.default_rng(1))
    host[0, 0, 0, :3] = [-30.0, 25.0, 0.0]   # the tails and a kink
    x = mt.tensor(host, dtype=dtype, requires_grad=True)
    xt = torch.tensor(host, dtype=getattr(torch, dtype), requires_grad=True)
    y, yt = ours_op(x.transpose(1, 3)), torch_op(torch, xt.transpose(1, 3))   # non-contiguous input
    c = np.random.default_rng(2).standard_normal(yt.shape)
    (y * mt.tensor(c, dtype=dtype)).sum().backward()
    (yt * torch.tensor(c, dtype=getattr(torch, dtype))).sum().backward()
    tol = 2e-6 if dtype == "float32" else 1e-13   # a few ulp: exp/tanh rounded differently
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(OPS))
def test_gradcheck(name, device):
    op = OPS[name][0]
    x = mt.tensor(_kink_free((2, 3, 2, 2), np.random.default_rng(3)), dtype="float64", device=device,
                  requires_grad=True)
    assert op(x).device == device
    assert mt.gradcheck(op, [x], rtol=RTOL, atol=ATOL)
    if name in SMOOTH or name.startswith("softmin"):
        assert mt.gradgradcheck(op, [x], rtol=RTOL, atol=ATOL)


def test_integer_inputs_as_torch():
    torch = pytest.importorskip("torch")
    a = np.array([-3, 0, 2, 5])
    for ours, theirs in [(lambda x: F.hardtanh(x, -1, 3), lambda x: torch.nn.functional.hardtanh(x, -1, 3)),
                         (lambda x: F.threshold(x, 1, 9), lambda x: torch.nn.functional.threshold(x, 1, 9)),
                         (F.softsign, torch.nn.functional.softsign)]:
        y, yt = ours(mt.tensor(a)), theirs(torch.tensor(a))
        assert str(y.dtype) == str(yt.dtype).replace("torch.", "")
        np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-6)
    for op in (F.hardswish, F.mish, F.selu, F.hardsigmoid):
        with pytest.raises(NotImplementedError):
            op(mt.tensor(a))


# ------------------------------------------------------------------ PReLU
@pytest.mark.parametrize("shape,n", [((2, 3), 3), ((2, 3, 4), 3), ((2, 3, 2, 2), 1), ((5,), 1), ((), 1),
                                     ((2, 1, 4), 1), ((0, 3), 3)])
def test_prelu_broadcasts_over_channel_dim_1(shape, n, device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    host, w = rng.standard_normal(shape), rng.uniform(-0.5, 0.5, n)
    host.reshape(-1)[:1] = 0.0   # a kink
    x = mt.tensor(host, dtype="float64", device=device, requires_grad=True)
    wt_ = mt.tensor(w, dtype="float64", device=device, requires_grad=True)
    xt = torch.tensor(host, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    y, yt = F.prelu(x, wt_), torch.nn.functional.prelu(xt, wt)
    np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
    c = rng.standard_normal(shape)
    (y * mt.tensor(c, dtype="float64", device=device)).sum().backward()
    (yt * torch.tensor(c)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(wt_.grad.numpy(), wt.grad.numpy(), rtol=1e-13, atol=1e-15)
    if host.size:
        x2 = mt.tensor(host + 0.05 * (host == 0), dtype="float64", device=device, requires_grad=True)
        assert mt.gradcheck(F.prelu, [x2, wt_], rtol=RTOL, atol=ATOL)


def test_prelu_module_parameters_repr_and_errors():
    torch = pytest.importorskip("torch")
    m = nn.PReLU(3, init=0.1)
    assert [(k, p.shape) for k, p in m.named_parameters()] == [("weight", (3,))]
    np.testing.assert_allclose(m.weight.numpy(), [0.1] * 3, rtol=1e-7)
    assert m.weight.dtype == np.float32
    assert repr(m) == repr(torch.nn.PReLU(3, 0.1)) == "PReLU(num_parameters=3)"
    assert repr(nn.PReLU()) == repr(torch.nn.PReLU())
    y = m(mt.tensor([[-1.0, 2.0, -3.0]]))
    np.testing.assert_allclose(y.numpy(), [[-0.1, 2.0, -0.3]], rtol=1e-6)
    m(mt.tensor([[-1.0, 2.0, -3.0]])).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), [-1.0, 0.0, -3.0])
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        F.prelu(mt.ones(2, 3), mt.ones(2))
    with pytest.raises(RuntimeError, match="Mismatch"):
        F.prelu(mt.ones(3), mt.ones(3))   # one channel below 2 dims, as torch
    with pytest.raises(RuntimeError, match="scalar or 1D"):
        F.prelu(mt.ones(2, 3), mt.ones(1, 3))


# ------------------------------------------------------------------ RReLU
def test_rrelu_training_draws_slopes_from_minitf_generator(device):
    x = mt.tensor(np.linspace(-2, 2, 41), dtype="float64", device=device, requires_grad=True)
    mt.manual_seed(7)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    mt.manual_seed(7)
    y2 = F.rrelu(x, 0.1, 0.3, training=True)
    np.testing.assert_array_equal(y.detach().numpy(), y2.detach().numpy())   # the seeded generator's draws
    y3 = F.rrelu(x, 0.1, 0.3, training=True)
    assert not np.array_equal(y.detach().numpy(), y3.detach().numpy())       # fresh draws next time
    host = x.detach().numpy()
    neg = host < 0
    slope = y.detach().numpy()[neg] / host[neg]
    assert slope.min() >= 0.1 and slope.max() <= 0.3 and np.unique(slope).size > 10
    np.testing.assert_array_equal(y.detach().numpy()[host > 0], host[host > 0])
    y.sum().backward()   # the gradient is the drawn slope (x <= 0, zero included) or 1
    g = x.grad.numpy()
    np.testing.assert_allclose(g[neg], slope, rtol=1e-15)
    assert 0.1 <= g[host == 0][0] <= 0.3   # x = 0 draws a slope too, as torch's
    np.testing.assert_array_equal(g[host > 0], 1.0)
    gen = mt.Generator(device=device).manual_seed(3)
    a = F.rrelu(x, training=True, generator=gen).detach().numpy()
    b = F.rrelu(x, training=True, generator=mt.Generator(device=device).manual_seed(3)).detach().numpy()
    np.testing.assert_array_equal(a, b)


def test_rrelu_module_train_and_eval():
    m = nn.RReLU(0.2, 0.4)
    x = mt.tensor([-1.0, -2.0, 3.0])
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), [-0.3, -0.6, 3.0], rtol=1e-6)
    m.train()
    s = -m(x).numpy()[:2] / np.array([1.0, 2.0])
    assert ((s >= 0.2) & (s <= 0.4)).all()


# ------------------------------------------------------------------ layers, in place, errors
def test_layer_reprs_and_outputs_match_torch():
    torch = pytest.importorskip("torch")
    pairs = [(nn.Hardtanh(), torch.nn.Hardtanh()), (nn.Hardtanh(-2, 3, True), torch.nn.Hardtanh(-2, 3, True)),
             (nn.Hardswish(True), torch.nn.Hardswish(True)), (nn.Hardsigmoid(), torch.nn.Hardsigmoid()),
             (nn.Mish(), torch.nn.Mish()), (nn.Mish(True), torch.nn.Mish(True)), (nn.SELU(), torch.nn.SELU()),
             (nn.SELU(True), torch.nn.SELU(True)), (nn.CELU(), torch.nn.CELU()), (nn.CELU(2, True), torch.nn.CELU(2, True)),
             (nn.RReLU(), torch.nn.RReLU()), (nn.RReLU(0.1, 0.3, True), torch.nn.RReLU(0.1, 0.3, True)),
             (nn.Threshold(0.1, 20), torch.nn.Threshold(0.1, 20)),
             (nn.Threshold(0.1, 20, True), torch.nn.Threshold(0.1, 20, True)),
             (nn.Softmin(), torch.nn.Softmin()), (nn.Softmin(1), torch.nn.Softmin(1)),
             (nn.Tanhshrink(), torch.nn.Tanhshrink()), (nn.Softshrink(), torch.nn.Softshrink()),
             (nn.Hardshrink(0.3), torch.nn.Hardshrink(0.3)), (nn.Softsign(), torch.nn.Softsign()),
             (nn.Softmax2d(), torch.nn.Softmax2d())]
    host = _kink_free((2, 3, 2, 2), np.random.default_rng(5))
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        if isinstance(ours, (nn.RReLU,)):
            ours.eval(), theirs.eval()
        x, xt = mt.tensor(host), torch.tensor(host, dtype=torch.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # Softmin() without dim: the deprecation warning
            np.testing.assert_allclose(ours(x).numpy(), theirs(xt).numpy(), rtol=2e-6, atol=2e-7)


def test_softmin_without_dim_warns_at_the_callers_line():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin") as rec:
        F.softmin(mt.ones(2, 3))
    assert rec[0].filename == __file__


@pytest.mark.parametrize("name,args", [("hardtanh", (-0.5, 0.5)), ("threshold", (0.1, -1.0)), ("selu", ()),
                                       ("celu", (2.0,)), ("rrelu", ())])
def test_in_place_forms_write_into_the_input(name, args):
    torch = pytest.importorskip("torch")
    host = _kink_free((3, 4), np.random.default_rng(6))
    x, xt = mt.tensor(host), torch.tensor(host, dtype=torch.float32)
    out = getattr(F, name + "_")(x, *args)
    assert out is x
    getattr(torch.nn.functional, name + "_")(xt, *args)
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-6)
    # inplace=True on a tensor in the graph: recorded, the gradient is the out-of-place op's
    leaf = mt.tensor(host, dtype="float64", requires_grad=True)
    y = leaf * 1
    getattr(F, name)(y, *args, inplace=True)
    y.sum().backward()
    ref = mt.tensor(host, dtype="float64", requires_grad=True)
    getattr(F, name)(ref, *args).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), ref.grad.numpy())


@pytest.mark.parametrize("name", ["hardswish", "hardsigmoid", "mish"])
def test_inplace_flag(name):
    host = _kink_free((3, 4), np.random.default_rng(8))
    x = mt.tensor(host)
    out = getattr(F, name)(x, inplace=True)
    assert out is x
    np.testing.assert_allclose(x.numpy(), getattr(F, name)(mt.tensor(host)).numpy())


def test_errors_as_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    cases = [(lambda: F.hardtanh(mt.ones(3), 2, 1), lambda: tf.hardtanh(torch.ones(3), 2, 1)),
             (lambda: F.rrelu(mt.ones(3), 0.5, 0.1), lambda: tf.rrelu(torch.ones(3), 0.5, 0.1)),
             (lambda: F.softshrink(mt.ones(3), -1.0), lambda: tf.softshrink(torch.ones(3), -1.0)),
             (lambda: nn.Softmax2d()(mt.ones(2, 2)), lambda: torch.nn.Softmax2d()(torch.ones(2, 2)))]
    for ours, theirs in cases:
        with pytest.raises(Exception) as te:
            theirs()
        with pytest.raises(Exception) as oe:
            ours()
        assert isinstance(oe.value, type(te.value)), (oe.value, te.value)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        nn.Hardtanh(2, 1)   # torch's layer asserts (AssertionError); minitf's says it as F.hardtanh does
    with pytest.raises(RuntimeError, match="alpha cannot be 0 for CELU") as te:
        tf.celu(torch.ones(3), 0.0)
    with pytest.raises(ZeroDivisionError, match="alpha cannot be 0 for CELU"):
        F.celu(mt.ones(3), 0.0)   # torch's RuntimeError carries the words of a ZeroDivisionError; minitf raises one
