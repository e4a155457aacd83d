"""Predicates and comparisons (minitf/ops/logical.py) against torch: values, dtypes, dims,
broadcasting, both spellings, no gradient, and the errors."""
import numpy as np
import pytest

import minitf as mt

DATA = np.array([[1.0, np.nan, 0.0, -np.inf], [2.0, 0.0, np.inf, -1.0], [0.0, 0.0, 3.0, 1.0]])
OTHER = np.array([1.0, 0.0, 0.0, 2.0])

CALLS = {
    "isnan": lambda m, x, y: m.isnan(x),
    "isinf": lambda m, x, y: m.isinf(x),
    "isfinite": lambda m, x, y: m.isfinite(x),
    "any()": lambda m, x, y: m.any(x),
    "all()": lambda m, x, y: m.all(x),
    "any(1)": lambda m, x, y: m.any(x, 1),
    "all(0, keepdim)": lambda m, x, y: m.all(x, 0, keepdim=True),
    "any((0, 1))": lambda m, x, y: m.any(x, dim=(0, 1)),
    "all(-1)": lambda m, x, y: m.all(x, -1),
    "count_nonzero()": lambda m, x, y: m.count_nonzero(x),
    "count_nonzero(0)": lambda m, x, y: m.count_nonzero(x, 0),
    "count_nonzero((0, 1))": lambda m, x, y: m.count_nonzero(x, dim=(0, 1)),
    "logical_and": lambda m, x, y: m.logical_and(x, y),
    "logical_or": lambda m, x, y: m.logical_or(x, y),
    "logical_xor": lambda m, x, y: m.logical_xor(x, y),
    "logical_not": lambda m, x, y: m.logical_not(x),
    "eq": lambda m, x, y: m.eq(x, y),
    "ne": lambda m, x, y: m.ne(x, y),
    "lt": lambda m, x, y: m.lt(x, y),
    "le": lambda m, x, y: m.le(x, y),
    "gt": lambda m, x, y: m.gt(x, y),
    "ge(scalar)": lambda m, x, y: m.ge(x, 1.0),
    "isclose": lambda m, x, y: m.isclose(x, y + 1e-7),
    "isclose(equal_nan)": lambda m, x, y: m.isclose(x, x, equal_nan=True),
    "isclose(rtol, atol)": lambda m, x, y: m.isclose(x, y * 1.1, rtol=0.2, atol=0.0),
}


class _Methods:  # m.f(x, *args) spelled x.f(*args)
    def __getattr__(self, name):
        return lambda t, *a, **k: getattr(t, name)(*a, **k)


@pytest.mark.parametrize("method", [False, True], ids=["mt", "Tensor"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_matches_torch(device, name, method):
    torch = pytest.importorskip("torch")
    x = mt.tensor(DATA, dtype="float64", device=device, requires_grad=True)
    y = mt.tensor(OTHER, dtype="float64", device=device)
    xt, yt = torch.tensor(DATA, requires_grad=True), torch.tensor(OTHER)
    out = CALLS[name](_Methods() if method else mt, x, y)
    outt = CALLS[name](_Methods() if method else torch, xt, yt)
    assert out.device == device and out.shape == tuple(outt.shape)
    assert str(out.dtype) == str(outt.dtype).replace("torch.", "")
    assert not out.requires_grad and out.grad_fn is None
    np.testing.assert_array_equal(out.numpy(), outt.numpy())


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_integer_and_bool_input(device, dtype):
    torch = pytest.importorskip("torch")
    data = np.array([[1, 0, 2], [0, 0, 3]]).astype(dtype)
    x, xt = mt.tensor(data, device=device), torch.tensor(data)
    for f in ("isnan", "isinf", "isfinite", "any", "all", "count_nonzero", "logical_not"):
        out, outt = getattr(x, f)(), getattr(xt, f)()
        assert str(out.dtype) == str(outt.dtype).replace("torch.", ""), f
        np.testing.assert_array_equal(out.numpy(), outt.numpy(), err_msg=f)


def test_equal_is_a_python_bool(device):
    torch = pytest.importorskip("torch")
    pairs = [(DATA[:, 2:], DATA[:, 2:].copy()), (DATA, DATA.copy()), (OTHER, OTHER[:2]), (OTHER, OTHER + 1)]
    for a, b in pairs:
        got = mt.equal(mt.tensor(a, device=device), mt.tensor(b, device=device))
        assert got is torch.equal(torch.tensor(a), torch.tensor(b))
        assert mt.tensor(a, device=device).equal(mt.tensor(b, device=device)) is got
    with pytest.raises(TypeError, match="two tensors"):
        mt.equal(mt.tensor(OTHER), OTHER)


def test_errors(device):
    x = mt.tensor(DATA, device=device)
    with pytest.raises(ValueError, match="out of range"):
        x.any(2)
    with pytest.raises(ValueError, match="more than once"):
        x.count_nonzero((0, 0))
    if device != "cpu":
        with pytest.raises(mt.DeviceError, match="different devices"):
            mt.logical_and(x, mt.tensor(DATA))
        with pytest.raises(mt.DeviceError, match="different devices"):
            mt.isclose(x, mt.tensor(DATA))


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or"])
def test_binary_ops_without_gradient_name_a_shape_mismatch(device, name):
    a = mt.tensor([1, 0], device=device)
    b = mt.tensor([1, 1, 0], device=device)
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(2,\) and \(3,\) cannot be broadcast together"):
        getattr(mt, name)(a, b)
