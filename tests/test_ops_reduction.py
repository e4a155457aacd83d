"""sum, mean, var, amax, amin (and max, min along a dim) over hypothesis axes (None, int, negative, tuples) with and
without keepdims: NumPy references, float64 gradchecks, both devices."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import check_op, device_tensor, distinct, floats, shapes


def axes_for(ndim):
    """None, one axis (negative ones too) or a tuple of distinct axes of an ndim-array."""
    if ndim == 0:
        return st.none()
    one = st.integers(-ndim, ndim - 1)
    many = st.lists(one, min_size=1, max_size=ndim, unique_by=lambda a: a % ndim).map(tuple)
    return st.one_of(st.none(), one, many)


def _count(shape, axis):
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes]))


@pytest.mark.parametrize("name", ["sum", "mean"])
@settings(max_examples=15)
@given(data=st.data(), shape=shapes(), keepdims=st.booleans())
def test_sum_mean(device, name, data, shape, keepdims):
    axis = data.draw(axes_for(len(shape)))
    a = data.draw(floats(shape))
    reference = {"sum": np.sum, "mean": np.mean}[name]
    check_op(lambda t: getattr(F, name)(t, axis=axis, keepdims=keepdims),
             lambda a: reference(a, axis=axis, keepdims=keepdims), [a], device)
    check_op(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims),
             lambda a: reference(a, axis=axis, keepdims=keepdims), [a], device)


@pytest.mark.parametrize("name", ["amax", "amin"])
@settings(max_examples=15)
@given(data=st.data(), shape=shapes(), keepdims=st.booleans())
def test_amax_amin(device, name, data, shape, keepdims):
    axis = data.draw(axes_for(len(shape)))
    a = distinct(data.draw, shape)  # not differentiable where two candidates tie
    reference = {"amax": np.max, "amin": np.min}[name]
    check_op(lambda t: getattr(F, name)(t, axis=axis, keepdims=keepdims),
             lambda a: reference(a, axis=axis, keepdims=keepdims), [a], device)


@pytest.mark.parametrize("name", ["max", "min"])
@settings(max_examples=15)
@given(data=st.data(), shape=shapes(), keepdim=st.booleans())
def test_max_min_along_a_dim_give_values_and_indices(device, name, data, shape, keepdim):
    dim = data.draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))
    a = distinct(data.draw, shape)
    axis = dim % len(shape) if shape else None
    reference = {"max": np.max, "min": np.min}[name]
    check_op(lambda t: getattr(F, name)(t, dim, keepdim=keepdim).values,
             lambda a: reference(a, axis=axis, keepdims=keepdim and bool(shape)), [a], device)
    idx = getattr(F, name)(device_tensor(a, device), dim=dim, keepdim=keepdim).indices
    expected = (np.argmax if name == "max" else np.argmin)(a, axis=axis)
    expected = np.expand_dims(expected, axis) if keepdim and shape else expected
    assert idx.dtype == np.int64 and idx.device == device
    np.testing.assert_array_equal(idx.numpy(), expected)


@settings(max_examples=20)
@given(data=st.data(), shape=shapes(), keepdims=st.booleans(), correction=st.sampled_from([0, 1]))
def test_var(device, data, shape, keepdims, correction):
    axis = data.draw(axes_for(len(shape)))
    assume(_count(shape, axis) > correction)  # n - correction = 0 divides by zero
    a = data.draw(floats(shape))

    def reference(a):
        dev = a - a.mean(axis=axis, keepdims=True)
        return (dev * dev).sum(axis=axis, keepdims=keepdims) / (_count(shape, axis) - correction)

    check_op(lambda t: F.var(t, axis=axis, keepdims=keepdims, correction=correction), reference, [a], device)


def test_var_default_is_unbiased(device):
    a = np.array([[1.0, 2.0, 4.0], [0.0, -1.0, 3.0]])
    out = F.var(device_tensor(a, device), axis=1)
    np.testing.assert_allclose(out.numpy(), np.var(a, axis=1, ddof=1), rtol=1e-14)


def test_amax_shares_the_gradient_between_ties(device):
    x = device_tensor(np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, -1.0]]), device)
    F.amax(x, axis=1).backward(device_tensor(np.array([2.0, 3.0]), device, requires_grad=False))
    np.testing.assert_allclose(to_numpy(x.grad.data), [[0, 1, 1, 0], [1, 1, 1, 0]], rtol=1e-15)


def test_full_reductions_are_0d(device):
    x = device_tensor(np.arange(6.0).reshape(2, 3), device)
    for op in (F.sum, F.mean, F.max, F.min, F.amax, F.amin, F.var):
        out = op(x)
        assert out.shape == () and out.device == device
        out.backward()
        assert x.grad.shape == (2, 3)
        x.grad = None


@pytest.mark.parametrize("dim", [(), []])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "norm", "amax", "amin"])
def test_an_empty_dim_reduces_every_dim_as_pytorch(device, name, dim, keepdim):
    """x.sum(dim=()) is the total in PyTorch (NumPy's axis=() would reduce nothing): values,
    shapes and gradients match torch for every reduction that takes a dim list."""
    torch = pytest.importorskip("torch")
    import minitf as mt
    data = np.random.default_rng(0).standard_normal((2, 3, 4))
    x = mt.tensor(data, device=device, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    y = getattr(x, name)(dim=dim, keepdim=keepdim)
    ty = getattr(tx.detach(), name)(dim=dim, keepdim=keepdim)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(to_numpy(y.data), ty.numpy(), rtol=1e-13)
    y.sum().backward()
    # torch 2.13's var/std backward takes dim=() as "no dim" (n = 1: an inf gradient) while its
    # forward reduces every dim; the gradient of the function computed is that of dim=None
    ty = getattr(tx, name)(dim=None if name in ("var", "std") else dim, keepdim=keepdim)
    ty.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad.data), tx.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64"])
def test_sum_of_bool_and_integers_is_int64_as_torch(device, dtype):
    # NumPy sums uint8 in uint64 (and bool in the platform int); PyTorch in int64
    a = np.array([[1, 0, 1], [1, 1, 0]]).astype(dtype)
    x = mt.tensor(a, device=device)
    for out, ref in ((x.sum(), a.sum()), (x.sum(dim=1), a.sum(axis=1)), (mt.sum(x, 0, keepdims=True), a.sum(0, keepdims=True))):
        assert out.dtype == np.int64
        np.testing.assert_array_equal(to_numpy(out.data), ref)


def test_mean_of_integers_is_refused_as_torch():
    with pytest.raises(TypeError, match="mean: the input must be floating point, got int64"):
        mt.tensor([1, 2]).mean()
    assert mt.tensor([1, 2]).float().mean().item() == 1.5


# ----------------------------------------------------------------------------- var(unbiased=)
@pytest.mark.parametrize("unbiased, correction", [(True, 1), (False, 0)])
def test_var_takes_unbiased_as_std_does(device, unbiased, correction):
    a = np.random.default_rng(3).standard_normal((3, 4))
    x = mt.tensor(a, device=device)
    for got in (x.var(1, unbiased=unbiased), mt.var(x, dim=1, unbiased=unbiased),
                F.var(x, axis=1, keepdims=False, unbiased=unbiased)):
        np.testing.assert_allclose(got.numpy(), a.var(1, ddof=correction), rtol=1e-12)
    np.testing.assert_allclose(x.var(unbiased=unbiased).item(), a.var(ddof=correction), rtol=1e-12)
    assert x.var(unbiased=unbiased, keepdim=True, dim=0).shape == (1, 4)
    w = mt.tensor(a, device=device, requires_grad=True)
    assert mt.gradcheck(lambda t: t.var(dim=1, unbiased=unbiased), [w])


def test_var_refuses_both_correction_and_unbiased():
    x = mt.ones(3)
    with pytest.raises(TypeError, match="correction or unbiased"):   # (torch's class)
        x.var(unbiased=False, correction=0)
    with pytest.raises(TypeError, match="correction or unbiased"):
        mt.var(x, unbiased=True, correction=1)
    with pytest.raises(TypeError, match="correction or unbiased"):
        x.std(0, True, correction=0)


def test_var_unbiased_matches_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(4).standard_normal((2, 5))
    for unbiased in (True, False):
        t = torch.tensor(a)
        np.testing.assert_allclose(mt.tensor(a).var(dim=1, unbiased=unbiased).numpy(),
                                   t.var(dim=1, unbiased=unbiased).numpy(), rtol=1e-14)
        np.testing.assert_allclose(mt.var(mt.tensor(a), unbiased=unbiased).item(),
                                   torch.var(t, unbiased=unbiased).item(), rtol=1e-14)
