"""max, min, amax, amin through every public spelling (minitf.*, Tensor.*, functional.*) against
torch: values, indices, gradients, grad_fn names, ties, NaN, empty slices, integer dtypes, errors."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

# a tie in each row and in the whole, a NaN-free (2, 4) and a NaN-carrying one
TIES = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, 0.5, -2.0, 3.0]])
NANS = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 0.0, 2.0, -1.0]])

# name -> call on a tensor-like with PyTorch's signature (the same text for minitf and torch)
CALLS = {
    "max()": lambda m, x: m.max(x),
    "min()": lambda m, x: m.min(x),
    "max(1)": lambda m, x: m.max(x, 1).values,
    "min(0, keepdim)": lambda m, x: m.min(x, 0, keepdim=True).values,
    "max(-1) indices": lambda m, x: m.max(x, -1).indices,
    "min(1, keepdim) indices": lambda m, x: m.min(x, dim=1, keepdim=True)[1],
    "amax()": lambda m, x: m.amax(x),
    "amin(())": lambda m, x: m.amin(x, ()),
    "amax(1)": lambda m, x: m.amax(x, 1),
    "amin((0, 1), keepdim)": lambda m, x: m.amin(x, (0, 1), keepdim=True),
    "amax(0, keepdim)": lambda m, x: m.amax(x, dim=0, keepdim=True),
}

SPELLINGS = {  # how each entry point spells the call: module function, Tensor method, functional
    "mt": lambda name: lambda x, *a, **k: getattr(mt, name)(x, *a, **k),
    "Tensor": lambda name: lambda x, *a, **k: getattr(x, name)(*a, **k),
    "F": lambda name: lambda x, *a, **k: getattr(F, name)(x, *a, **k),
}


class _Namespace:
    def __init__(self, spelling):
        self.spelling = spelling

    def __getattr__(self, name):
        return SPELLINGS[self.spelling](name)


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@pytest.mark.parametrize("data", [TIES, NANS], ids=["ties", "nan"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_spelling_matches_torch(device, spelling, data, name):
    torch = pytest.importorskip("torch")
    call = CALLS[name]
    x = mt.tensor(data, dtype="float64", device=device, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    out, outt = call(_Namespace(spelling), x), call(torch, xt)
    assert out.device == device and out.shape == tuple(outt.shape)
    assert str(out.dtype) == str(outt.dtype).replace("torch.", "")
    np.testing.assert_array_equal(out.numpy(), outt.detach().numpy())
    if outt.grad_fn is None:  # the indices
        assert out.grad_fn is None and not out.requires_grad
        return
    # PyTorch's names with the overload number (MaxBackward1: max(), MaxBackward0: max(dim))
    assert out.grad_fn.name() == outt.grad_fn.name()
    u = np.arange(1.0, 1.0 + out.numel()).reshape(out.shape)  # distinct cotangents: shares can't hide
    out.backward(mt.tensor(u, dtype="float64", device=device))
    outt.backward(torch.tensor(u))
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_the_results_are_torch_return_types():
    torch = pytest.importorskip("torch")
    x, xt = mt.tensor(TIES), torch.tensor(TIES)
    for m in (mt, F, _Namespace("Tensor")):
        r, rt = m.max(x, 1), torch.max(xt, 1)
        assert type(r).__name__ == type(rt).__name__ == "max" and r._fields == ("values", "indices")
        assert type(m.min(x, 1)).__name__ == "min"
        assert not isinstance(m.amax(x, 1), tuple) and not isinstance(m.max(x), tuple)


def test_numpy_spellings_of_the_arguments(device):
    x = mt.tensor(TIES, device=device)
    for m in (mt, F, _Namespace("Tensor")):
        assert m.max(x, axis=1, keepdims=True).values.shape == (2, 1)
        assert m.amin(x, axis=(0, 1)).item() == -2.0
        with pytest.raises(TypeError, match="give dim or axis, not both"):
            m.amax(x, 0, axis=1)
    assert x.argmax(axis=1).tolist() == [1, 3] and mt.argmin(x, axis=0, keepdims=True).tolist() == [[1, 1, 1, 0]]


def test_integer_and_bool_tensors_as_torch():
    torch = pytest.importorskip("torch")
    for data, dtype in [([0, 1, 2], "uint8"), ([5, -3, 7], "int64"), ([True, False], "bool")]:
        x, xt = mt.tensor(np.array(data, dtype=dtype)), torch.tensor(np.array(data, dtype=dtype))
        for name in ("max", "min", "amax", "amin"):
            out, outt = getattr(mt, name)(x), getattr(torch, name)(xt)
            assert out.dtype == x.dtype and out.item() == outt.item(), (dtype, name)  # amin(uint8) was 1 for 0
        r, rt = mt.min(x, 0), torch.min(xt, 0)
        assert r.values.item() == rt.values.item() and r.indices.item() == rt.indices.item()


def test_empty_tensors_as_torch(device):
    torch = pytest.importorskip("torch")
    e, et = mt.zeros(0, 3, device=device), torch.zeros(0, 3)
    for name in ("max", "min"):
        r, rt = getattr(mt, name)(e, 1), getattr(torch, name)(et, 1)
        assert r.values.shape == r.indices.shape == tuple(rt.values.shape) == (0,)
        with pytest.raises(ValueError, match=rf"{name}: dim 0 of shape \(0, 3\) is empty"):
            getattr(mt, name)(e, 0)
        with pytest.raises(ValueError, match=rf"{name}: the tensor is empty; name a dim"):
            getattr(mt, name)(e)
    for name in ("amax", "amin"):
        assert getattr(mt, name)(e, 1).shape == tuple(getattr(torch, name)(et, 1).shape) == (0,)
        with pytest.raises(ValueError, match=rf"{name}: dim 0 of shape \(0, 3\) is empty"):
            getattr(mt, name)(e, (0, 1))
        with pytest.raises(ValueError, match=rf"{name}: the tensor is empty; name the dims"):
            getattr(mt, name)(e)


def test_misuse_is_one_clear_error():
    x = mt.tensor(TIES)
    with pytest.raises(TypeError, match=r"max: dim must be an int .*amax\(x, dim\) for several dims"):
        mt.max(x, (0, 1))
    with pytest.raises(TypeError, match="min: keepdim=True needs a dim"):
        x.min(keepdim=True)
    with pytest.raises(TypeError, match=r"max\(x, other\) takes no keepdim"):
        F.max(x, x, keepdim=True)
    with pytest.raises(ValueError, match="amax: axis 2 is out of range"):
        x.amax(2)


def test_max_min_amax_amin_gradchecks(device, rng):
    a = rng.permutation(12).reshape(3, 4) * 0.5  # no ties: differentiable everywhere
    x = mt.tensor(a, dtype="float64", device=device, requires_grad=True)
    for op in (lambda t: t.max() * t, lambda t: mt.min(t * t), lambda t: F.amax(t, 0) * t,
               lambda t: mt.amin(t * t, (0, 1), keepdim=True) * t, lambda t: F.min(t, 1).values * t[:, 0]):
        assert mt.gradcheck(op, [x]) and mt.gradgradcheck(op, [x])


def test_nan_extremes_raise_no_numpy_warning():
    # PyTorch computes these NaN gradients silently; NumPy's 0/0 would warn
    for op in (lambda t: mt.amax(t, 1).sum(), lambda t: t.max(), lambda t: t.amin(), lambda t: F.min(t, 1).values.sum()):
        x = mt.tensor(NANS, dtype="float64", requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            op(x).backward()


PAIR_A = np.array([[1.0, 2.0, np.nan, 3.0], [5.0, -1.0, 0.0, 2.0]])
PAIR_B = np.array([[1.0, 3.0, 1.0, np.nan], [4.0, -1.0, 0.5, 7.0]])


@pytest.mark.parametrize("call", ["maximum", "minimum", "max(x, other)", "min(x, other)", "x.max(other)",
                                  "x.minimum(other)", "F.maximum", "broadcast"])
def test_elementwise_maximum_and_minimum_follow_torch(device, call):
    """torch.maximum / minimum (and torch.max(input, other)): values, ties sharing the gradient
    half and half, NaN propagating with the gradient to both, broadcasting, grad_fn names."""
    torch = pytest.importorskip("torch")
    fns = {"maximum": lambda m, a, b: m.maximum(a, b), "minimum": lambda m, a, b: m.minimum(a, b),
           "max(x, other)": lambda m, a, b: m.max(a, b), "min(x, other)": lambda m, a, b: m.min(a, b),
           "x.max(other)": lambda m, a, b: a.max(b), "x.minimum(other)": lambda m, a, b: a.minimum(b),
           "F.maximum": lambda m, a, b: (F if m is mt else torch).maximum(a, b),
           "broadcast": lambda m, a, b: m.maximum(a, b[:1])}
    f = fns[call]
    a = mt.tensor(PAIR_A, device=device, requires_grad=True)
    b = mt.tensor(PAIR_B, device=device, requires_grad=True)
    ta, tb = torch.tensor(PAIR_A, requires_grad=True), torch.tensor(PAIR_B, requires_grad=True)
    out, tout = f(mt, a, b), f(torch, ta, tb)
    assert out.shape == tuple(tout.shape) and type(out.grad_fn).__name__ in type(tout.grad_fn).__name__
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    u = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(mt.tensor(u, device=device))
    tout.backward(torch.tensor(u))
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-15)


def test_elementwise_maximum_gradchecks_and_has_zero_second_derivative(device):
    rng = np.random.default_rng(1)
    a = mt.tensor(rng.standard_normal((3, 4)), device=device, requires_grad=True)
    b = mt.tensor(rng.standard_normal((3, 4)), device=device, requires_grad=True)
    assert mt.gradcheck(lambda a, b: mt.maximum(a, b) * mt.minimum(a, b), [a, b])
    assert mt.gradgradcheck(lambda a, b: (mt.maximum(a, b) ** 2).sum(), [a, b])
    with pytest.raises(TypeError, match="takes no keepdim"):
        mt.max(a, b, keepdim=True)
