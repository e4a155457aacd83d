"""torch's dtype= of sum/mean/prod/cumsum/cumprod/softmax/log_softmax (cast first),
div(rounding_mode=...) (minitf/ops/div_modes.py) and where(cond) alone."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

from .conftest import randt

DTYPE_CALLS = {  # torch's signature, on mt or torch: m, x, the dtype's name
    "sum": lambda m, x, d: x.sum(dtype=getattr(m, d)),
    "sum(1)": lambda m, x, d: x.sum(1, dtype=getattr(m, d)),
    "F.sum": lambda m, x, d: m.sum(x, dim=0, keepdim=True, dtype=getattr(m, d)),
    "mean": lambda m, x, d: x.mean(dtype=getattr(m, d)),
    "mean(0)": lambda m, x, d: m.mean(x, 0, dtype=getattr(m, d)),
    "prod(1)": lambda m, x, d: x.prod(1, dtype=getattr(m, d)),
    "cumsum(0)": lambda m, x, d: x.cumsum(0, dtype=getattr(m, d)),
    "mt.cumprod(1)": lambda m, x, d: m.cumprod(x, 1, dtype=getattr(m, d)),
    "softmax": lambda m, x, d: x.softmax(-1, dtype=getattr(m, d)),
    "F.softmax": lambda m, x, d: m.nn.functional.softmax(x, -1, dtype=getattr(m, d)),
    "F.log_softmax": lambda m, x, d: m.nn.functional.log_softmax(x, dim=0, dtype=getattr(m, d)),
}


@pytest.mark.parametrize("name", sorted(DTYPE_CALLS))
def test_dtype_casts_first_and_the_gradient_comes_back_in_the_inputs_dtype(name, device):
    x = mt.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], device=device, requires_grad=True)
    y = DTYPE_CALLS[name](mt, x, "float64")
    assert y.dtype == mt.float64 and y.device == device
    expected = DTYPE_CALLS[name](mt, x.detach().double(), "float64")
    np.testing.assert_allclose(y.detach().cpu().numpy(), expected.cpu().numpy(), rtol=1e-12)
    y.sum().backward()
    assert x.grad.dtype == mt.float32


@pytest.mark.parametrize("name", sorted(DTYPE_CALLS))
def test_dtype_gradcheck(name, device):
    x = randt(np.random.default_rng(0), 2, 3, device=device)
    assert mt.gradcheck(lambda t: DTYPE_CALLS[name](mt, t, "float64"), [x])


@pytest.mark.parametrize("name", sorted(DTYPE_CALLS))
def test_dtype_of_integer_input_as_torch(name):
    torch = pytest.importorskip("torch")
    data = [[1, 2, 3], [4, 5, 6]]
    ours = DTYPE_CALLS[name](mt, mt.tensor(data, dtype=mt.int32), "float32")
    theirs = DTYPE_CALLS[name](torch, torch.tensor(data, dtype=torch.int32), "float32")
    assert ours.dtype == mt.float32 and str(theirs.dtype) == "torch.float32"
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


A = [-7.0, 7.0, 5.5, -5.5, 6.0, 0.5]
B = [2.0, -2.0, 2.0, 2.0, -3.0, -4.0]


@pytest.mark.parametrize("mode", [None, "floor", "trunc"])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_div_rounding_modes_as_torch(mode, dtype, device):
    torch = pytest.importorskip("torch")
    a, b = (np.array(v).astype(dtype) for v in (A, B))
    b = np.where(b == 0, 1, b)
    ours = mt.div(mt.tensor(a, device=device), mt.tensor(b, device=device), rounding_mode=mode)
    theirs = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
    assert str(theirs.dtype) == f"torch.{ours.dtype}"
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())
    method = mt.tensor(a, device=device).div(2, rounding_mode=mode)
    np.testing.assert_array_equal(method.cpu().numpy(), torch.tensor(a).div(2, rounding_mode=mode).numpy())


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_rounded_div_has_a_zero_gradient_as_torch(mode, device):
    a = mt.tensor(A, dtype=mt.float64, device=device, requires_grad=True)
    b = mt.tensor([2.0], dtype=mt.float64, device=device, requires_grad=True)
    F.div(a, b, rounding_mode=mode).sum().backward()
    assert a.grad.tolist() == [0.0] * len(A) and b.grad.tolist() == [0.0]
    x = mt.tensor([0.3, 1.7], dtype=mt.float64, device=device, requires_grad=True)  # away from the steps
    assert mt.gradcheck(lambda t: mt.div(t, 0.5, rounding_mode=mode) * t, [x])


def test_div_refuses_what_torch_refuses():
    with pytest.raises(RuntimeError, match="rounding_mode to be one of None, 'trunc', or 'floor'"):
        mt.div(mt.ones(2), 2, rounding_mode="round")
    with pytest.raises(ZeroDivisionError):
        mt.div(mt.tensor([1]), mt.tensor([0]), rounding_mode="trunc")
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        mt.div(mt.ones(2), mt.ones(3), rounding_mode="floor")
    assert mt.div(mt.tensor([1.0]), mt.tensor([0.0]), rounding_mode="trunc").tolist() == [float("inf")]


def test_true_divide_is_the_operator():
    assert mt.true_divide(mt.tensor([1, 3]), 2).tolist() == [0.5, 1.5]
    assert mt.tensor([1.0]).true_divide(4).tolist() == [0.25]


def test_where_with_the_condition_alone_is_nonzero_as_tuple(device):
    cond = mt.tensor([[0, 1], [1, 0]], device=device)
    rows, cols = mt.where(cond)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0] and rows.dtype == mt.int64
    assert [t.tolist() for t in F.where(cond > 0)] == [[0, 1], [1, 0]]
    with pytest.raises(TypeError, match="give both a and b"):
        mt.where(cond > 0, mt.ones(2, 2))


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_div_in_place_with_a_rounding_mode_as_torch(mode, device):
    torch = pytest.importorskip("torch")
    for dtype in ("float32", "int64"):
        a = np.array(A).astype(dtype)
        x = mt.tensor(a, device=device)
        v = x._version
        assert x.div_(mt.tensor(np.array(B).astype(dtype), device=device), rounding_mode=mode) is x
        assert x._version == v + 1
        expected = torch.tensor(a).div_(torch.tensor(np.array(B).astype(dtype)), rounding_mode=mode)
        np.testing.assert_array_equal(x.cpu().numpy(), expected.numpy())
    a = mt.ones(2, requires_grad=True)
    y = a * 3.0
    y.div_(2.0, rounding_mode=mode).sum().backward()  # recorded: gradient 0, as torch
    assert y.tolist() == [1.0, 1.0] and a.grad.tolist() == [0.0, 0.0]
