"""Issue 7's numerical fixes and PyTorch spellings in minitf.functional: a stable
sigmoid, var without degrees of freedom, softmax's dim=, checked against
extended-precision references and (when installed) PyTorch in float64."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import ATOL, RTOL, device_tensor


def grad_of(t):
    """``t.grad`` as a host array, whether it is an array or a Tensor."""
    g = t.grad
    return to_numpy(g.data if isinstance(g, mt.Tensor) else g)


# ----------------------------------------------------------------------------- sigmoid
def _sigmoid_longdouble(x):
    """exp(x)/(1+exp(x)) for x < 0 and 1/(1+exp(-x)) otherwise, in extended precision."""
    xl = np.asarray(x, dtype=np.longdouble)
    e = np.exp(-np.abs(xl))
    return np.where(xl >= 0, 1 / (1 + e), e / (1 + e))


@pytest.mark.parametrize("dtype, lo", [("float64", -700.0), ("float32", -87.0)])
def test_sigmoid_is_accurate_to_rounding_for_both_signs(device, dtype, lo):
    x = np.concatenate([np.linspace(lo, 40.0, 4001), [-30.0, -37.0, -17.0, -10.0]]).astype(dtype)
    y = to_numpy(F.sigmoid(mt.tensor(x, dtype=dtype, device=device)).data)
    assert y.dtype == np.dtype(dtype)
    ref = _sigmoid_longdouble(x)
    assert (y > 0).all()  # never 0 while the answer is a normal number (log(sigmoid) stays finite)
    rel = np.abs(y.astype(np.longdouble) - ref) / ref
    # a few ulp: exp, one add and one divide, each correctly rounded
    assert rel.max() <= 4 * np.finfo(dtype).eps, f"worst relative error {float(rel.max()):.3g}"


def test_sigmoid_gradcheck_and_saturated_backward(device):
    x = device_tensor(np.array([-40.0, -5.0, -0.3, 0.0, 0.4, 6.0, 35.0]), device)
    assert mt.gradcheck(F.sigmoid, [x], rtol=RTOL, atol=ATOL)
    x.grad = None
    F.sigmoid(x).backward(device_tensor(np.ones(7), device, requires_grad=False))
    s = _sigmoid_longdouble(to_numpy(x.data))
    want, got, neg = (s * (1 - s)).astype(np.float64), grad_of(x), to_numpy(x.data) <= 0
    # sigma (1 - sigma), PyTorch's formula: relative accuracy where sigma is small (x <= 0); for
    # x > 0, 1 - sigma is only good to an ulp of 1, so there the error is absolute
    np.testing.assert_allclose(got[neg], want[neg], rtol=1e-14, atol=0)
    np.testing.assert_allclose(got[~neg], want[~neg], rtol=1e-14, atol=np.finfo(np.float64).eps)


def test_sigmoid_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-700, 700, 2001)
    xt = torch.tensor(x, requires_grad=True)
    torch.sigmoid(xt).backward(torch.ones_like(xt))
    ours = mt.tensor(x, requires_grad=True)
    y = F.sigmoid(ours)
    y.backward(mt.tensor(np.ones_like(x)))
    np.testing.assert_allclose(y.numpy(), torch.sigmoid(xt).detach().numpy(), rtol=4e-16, atol=0)
    np.testing.assert_allclose(grad_of(ours), xt.grad.numpy(), rtol=1e-15, atol=0)


# ----------------------------------------------------------------------------- var
# x = 1.3 * (1, ..., n), correction, dim -> var's gradient (of the sum), as torch 2.13's var_backward:
# 2 (x - mean) / (n - correction) along a dim, even for n - correction <= 0 (+-inf, NaN at the mean, for 0);
# over every element (dim None) inf, NaN at the mean, for any n - correction <= 0

# torch's "degrees of freedom is <= 0" warning: these cases are about the values, the warning's own test is below
NO_DOF_WARNING = pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning")

_VAR_GRADS = {
    (1, 1, None): [np.nan], (1, 1, 0): [np.nan],
    (2, 2, 0): [-np.inf, np.inf], (2, 2, None): [np.inf, np.inf],
    (2, 3, 0): [1.3, -1.3], (2, 3, None): [np.inf, np.inf],
    (3, 5, 0): [1.3, 0.0, -1.3], (3, 5, None): [np.inf, np.nan, np.inf],
}


@NO_DOF_WARNING
@pytest.mark.parametrize("n, correction, dim", sorted(_VAR_GRADS, key=str))
def test_var_without_degrees_of_freedom_is_inf_or_nan_with_torchs_gradient(device, n, correction, dim):
    x = device_tensor(np.arange(1.0, n + 1.0) * 1.3, device)
    v = F.var(x, axis=dim, correction=correction)
    ss = ((x.numpy() - x.numpy().mean()) ** 2).sum()
    assert v.item() == np.inf if ss > 0 else np.isnan(v.item())  # sum / 0, as PyTorch
    v.backward()  # no ZeroDivisionError
    np.testing.assert_allclose(grad_of(x), _VAR_GRADS[n, correction, dim], rtol=1e-15, atol=1e-15)
    g2, = mt.grad(F.var(x, axis=dim, correction=correction), x, create_graph=True)  # the recorded backward
    np.testing.assert_allclose(to_numpy(g2.data), _VAR_GRADS[n, correction, dim], rtol=1e-15, atol=1e-15)
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x.numpy(), requires_grad=True)
    with pytest.warns(UserWarning):  # PyTorch warns about the missing degrees of freedom; we do not
        torch.var(xt, dim=dim, correction=correction).backward()
    np.testing.assert_allclose(grad_of(x), xt.grad.numpy(), rtol=1e-15, atol=1e-15)


@NO_DOF_WARNING
def test_var_single_element_as_pytorch(device):
    torch = pytest.importorskip("torch")
    x = mt.tensor([1.3], dtype="float64", device=device, requires_grad=True)
    v = x.var()
    v.backward()
    xt = torch.tensor([1.3], dtype=torch.float64, requires_grad=True)
    with pytest.warns(UserWarning):  # PyTorch warns about the missing degrees of freedom; we do not
        vt = xt.var()
    vt.backward()
    assert np.isnan(v.item()) and np.isnan(vt.item())
    assert np.isnan(grad_of(x)).all() and np.isnan(xt.grad.numpy()).all()


# rows [1, 2, 4], [3, 3, 3] (constant), [5, 5, 6]; std along dim 1 -> the gradient of its sum: 0 on the
# constant row for every correction (sqrt' = inf times 2 (x - mean) = 0 gave NaN), torch's std_backward
@NO_DOF_WARNING
@pytest.mark.parametrize("correction", [0, 1, 2, 3, 5])
def test_std_of_a_constant_slice_has_gradient_zero(device, correction):
    a = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0], [5.0, 5.0, 6.0]])
    x = device_tensor(a, device)
    y = mt.std(x, dim=1, correction=correction)
    y.sum().backward()
    g = grad_of(x)
    if correction < 3:
        np.testing.assert_array_equal(g[1], [0.0, 0.0, 0.0])
        xc = a - a.mean(1, keepdims=True)
        with np.errstate(invalid="ignore"):  # 0 / 0 on the constant row, which is not compared
            expected = xc / ((3 - correction) * np.sqrt((xc * xc).sum(1, keepdims=True) / (3 - correction)))
        np.testing.assert_allclose(g[[0, 2]], expected[[0, 2]], rtol=1e-14)
    else:  # std = inf or NaN (sum / 0): inf rows get 0 * 2 / (n - c) (x - mean), NaN rows NaN
        assert np.isnan(g[1]).all()
    g2, = mt.grad(mt.std(x, dim=1, correction=correction).sum(), x, create_graph=True)
    np.testing.assert_array_equal(to_numpy(g2.data), g)
    torch = pytest.importorskip("torch")
    xt = torch.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's degrees-of-freedom warning (c = 3, 5)
        torch.std(xt, dim=1, correction=correction).sum().backward()
    np.testing.assert_allclose(g, xt.grad.numpy(), rtol=1e-14, atol=0)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(xt.grad.numpy()))


def test_std_of_one_element_with_correction_zero_has_gradient_zero(device):
    x = device_tensor(np.array([2.5]), device)
    y = x.std(correction=0)
    y.backward()
    assert y.item() == 0.0 and grad_of(x).tolist() == [0.0]
    assert mt.gradgradcheck(lambda x: mt.std(x * x, dim=1, correction=0), [device_tensor(np.ones((2, 1)), device)])


@NO_DOF_WARNING
def test_var_along_an_axis_with_too_few_rows(device):
    x = device_tensor(np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]]), device)
    v = F.var(x, axis=1, correction=3).numpy()
    assert v[0] == np.inf and np.isnan(v[1])   # sum of squares > 0 over 0, and 0 / 0


# ----------------------------------------------------------------------------- softmax dim=
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_takes_dim_as_pytorch(device, name):
    rng = np.random.default_rng(0)
    x = device_tensor(rng.standard_normal((2, 3, 4)), device)
    fn = getattr(F, name)
    for d in (0, 1, -1):
        np.testing.assert_array_equal(fn(x, dim=d).numpy(), fn(x, axis=d).numpy())
        np.testing.assert_array_equal(fn(x, d).numpy(), fn(x, axis=d).numpy())
        assert mt.gradcheck(lambda t: fn(t, dim=d), [x], rtol=RTOL, atol=ATOL)
    with pytest.raises(TypeError, match="both axis=0 and dim=1"):
        fn(x, axis=0, dim=1)
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        fn(x, dim=3)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_of_an_empty_dimension_is_empty_as_torch(device, name):
    # torch returns an empty tensor (and an empty gradient), where minitf raised before
    x = mt.zeros((2, 0), device=device, requires_grad=True)
    y = getattr(F, name)(x, dim=-1)
    assert y.shape == (2, 0) and y.dtype == x.dtype
    y.sum().backward()
    assert x.grad.shape == (2, 0)
    assert getattr(F, name)(mt.zeros((0, 3), device=device), dim=0).shape == (0, 3)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_matches_torch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, u = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 4, 5))
    for d in (0, 1, 2):
        x, xt = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, yt = getattr(F, name)(x, dim=d), getattr(torch.nn.functional, name)(xt, dim=d)
        y.backward(mt.tensor(u))
        yt.backward(torch.tensor(u))
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(grad_of(x), xt.grad.numpy(), rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------- layer_norm
def _np_layer_norm(a, k, w=None, b=None, eps=1e-5):
    axes = tuple(range(a.ndim - k, a.ndim))
    y = (a - a.mean(axes, keepdims=True)) / np.sqrt(a.var(axes, keepdims=True) + eps)
    return y * (1 if w is None else w) + (0 if b is None else b)


@pytest.mark.parametrize("normalized_shape", [4, (4,), (3, 4), [2, 3, 4]])
def test_layer_norm_pytorch_signature_over_trailing_dims(device, normalized_shape):
    rng = np.random.default_rng(2)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    a = rng.standard_normal((2, 3, 4))
    x = device_tensor(a, device)
    w, b = device_tensor(rng.standard_normal(shape), device), device_tensor(rng.standard_normal(shape), device)
    out = F.layer_norm(x, normalized_shape, w, b, 1e-3)
    np.testing.assert_allclose(out.numpy(), _np_layer_norm(a, len(shape), w.numpy(), b.numpy(), 1e-3),
                               rtol=1e-12, atol=1e-13)
    assert mt.gradcheck(lambda x, w, b: F.layer_norm(x, normalized_shape, w, b, eps=1e-3), [x, w, b],
                        rtol=RTOL, atol=ATOL)
    assert mt.gradcheck(lambda x: F.layer_norm(x, normalized_shape), [x], rtol=RTOL, atol=ATOL)


def test_layer_norm_earlier_call_forms_still_work(device):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 5))
    x, w, b = (device_tensor(v, device) for v in (a, rng.standard_normal(5), rng.standard_normal(5)))
    want = F.layer_norm(x, (5,), w, b, 1e-3).numpy()
    np.testing.assert_array_equal(F.layer_norm(x, w, b, 1e-3).numpy(), want)      # minitf's positional form
    np.testing.assert_array_equal(F.layer_norm(x, w, bias=b, eps=1e-3).numpy(), want)
    np.testing.assert_array_equal(F.layer_norm(x, weight=w, bias=b, eps=1e-3).numpy(), want)
    np.testing.assert_array_equal(F.layer_norm(x, None, b).numpy(), F.layer_norm(x, 5, None, b).numpy())
    np.testing.assert_array_equal(F.layer_norm(x, w).numpy(), F.layer_norm(x, 5, w).numpy())


def test_layer_norm_bad_arguments(device):
    x = device_tensor(np.zeros((2, 3)), device)
    with pytest.raises(ValueError, match=r"normalized_shape=\(4,\) needs an input of shape \(\*, 4\), got \(2, 3\)"):
        F.layer_norm(x, 4)
    with pytest.raises(ValueError, match=r"normalized_shape=\(1, 2, 3\) needs an input"):
        F.layer_norm(x, (1, 2, 3))
    with pytest.raises(ValueError, match="eps must be a non-negative number, got -1"):
        F.layer_norm(x, 3, eps=-1)
    with pytest.raises(ValueError, match="eps must be a non-negative number"):
        F.layer_norm(x, 3, eps=float("nan"))
    with pytest.raises(ValueError, match=r"weight has shape \(2, 3\), expected \(3,\)"):
        F.layer_norm(x, 3, device_tensor(np.ones((2, 3)), device))
    with pytest.raises(ValueError, match="an int or a non-empty tuple of ints"):
        F.layer_norm(x, ())


def test_layer_norm_module_refuses_negative_eps():
    from minitf import nn
    with pytest.raises(ValueError, match="eps must be a non-negative number"):
        nn.LayerNorm(4, eps=-1)(mt.tensor(np.zeros((1, 4))))


def test_layer_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a, w, b, u = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), \
        rng.standard_normal((2, 3, 4))
    ours = [mt.tensor(v, requires_grad=True) for v in (a, w, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, w, b)]
    y = F.layer_norm(ours[0], (3, 4), ours[1], ours[2], 1e-5)
    yt = torch.nn.functional.layer_norm(theirs[0], (3, 4), theirs[1], theirs[2], 1e-5)
    y.backward(mt.tensor(u))
    yt.backward(torch.tensor(u))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-13)
    for p, pt in zip(ours, theirs):
        np.testing.assert_allclose(grad_of(p), pt.grad.numpy(), rtol=1e-11, atol=1e-12)


def test_no_degrees_of_freedom_warns_as_torch_at_the_users_line(device):
    x = device_tensor(np.ones((2, 1)), device)
    for call, name in ((lambda: x.std(dim=1), "std"), (lambda: x.var(dim=1), "var"), (lambda: mt.std(x, 1), "std"),
                       (lambda: x.var(correction=2), "var"), (lambda: mt.std_mean(x, 1), "std")):
        with pytest.warns(UserWarning, match=r"\(\): degrees of freedom is <= 0") as said:
            call()
        assert said[0].filename == __file__ and str(said[0].message).startswith(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.std(dim=0), x.var(), mt.var(x, 0, correction=1)   # n - correction >= 1: silent
