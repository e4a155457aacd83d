"""Integer and bool inputs to float-valued ops (minitf.ops._util.float_input): the result is the
default float dtype, as PyTorch's, not NumPy's float64 (float16 for bool and uint8); the ops
PyTorch refuses integers for (softmax, norm, std, ...) refuse them with one clear error."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy

# name -> call(m, x) with the same text in minitf and torch
FLOAT_OPS = {
    "exp": lambda m, x: m.exp(x), "log": lambda m, x: m.log(x), "sqrt": lambda m, x: m.sqrt(x),
    "tanh": lambda m, x: m.tanh(x), "sigmoid": lambda m, x: m.sigmoid(x),
    "log1p": lambda m, x: m.log1p(x), "expm1": lambda m, x: m.expm1(x), "sin": lambda m, x: m.sin(x),
    "cos": lambda m, x: m.cos(x), "rsqrt": lambda m, x: m.rsqrt(x), "reciprocal": lambda m, x: m.reciprocal(x),
    "logsumexp": lambda m, x: m.logsumexp(x, dim=-1), "clamp(min=0.5)": lambda m, x: m.clamp(x, min=0.5),
    "clamp(max=2.5)": lambda m, x: m.clamp(x, max=2.5), "exp method": lambda m, x: x.exp(),
}
REFUSED = {
    "softmax": lambda m, x: m.softmax(x, dim=-1), "log_softmax": lambda m, x: m.log_softmax(x, dim=-1),
    "norm": lambda m, x: m.norm(x), "norm p=1": lambda m, x: m.norm(x, p=1), "norm p=3": lambda m, x: m.norm(x, p=3),
    "std": lambda m, x: m.std(x), "var": lambda m, x: m.var(x),
}
INTEGRAL = {"int64": [0, 1, 2, 3], "int32": [0, 1, 2, 3], "uint8": [0, 1, 2, 255], "bool": [True, False, True]}


@pytest.fixture(params=["float32", "float64"])
def default_dtype(request):
    mt.set_default_dtype(request.param)
    try:
        yield request.param
    finally:
        mt.set_default_dtype("float32")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log(0), 1/0: the values are inf, as torch
@pytest.mark.parametrize("name", sorted(FLOAT_OPS))
@pytest.mark.parametrize("dtype", sorted(INTEGRAL))
def test_integral_input_gives_the_default_float_dtype(device, default_dtype, name, dtype):
    x = mt.tensor(np.array(INTEGRAL[dtype], dtype=dtype), device=device)
    out = FLOAT_OPS[name](mt, x)
    assert out.dtype == np.dtype(default_dtype) and not out.requires_grad
    # the same values as the op on the input already in that dtype
    same = FLOAT_OPS[name](mt, mt.tensor(np.array(INTEGRAL[dtype], dtype=default_dtype), device=device))
    np.testing.assert_array_equal(to_numpy(out.data), to_numpy(same.data))
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(getattr(torch, default_dtype))
    try:
        t = FLOAT_OPS[name](torch, torch.tensor(np.array(INTEGRAL[dtype], dtype=dtype)))
    finally:
        torch.set_default_dtype(torch.float32)
    assert str(t.dtype) == f"torch.{default_dtype}"
    np.testing.assert_allclose(to_numpy(out.data), t.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(REFUSED))
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_ops_torch_refuses_integers_for_refuse_them(device, name, dtype):
    x = mt.tensor(np.array(INTEGRAL[dtype], dtype=dtype), device=device)
    with pytest.raises(TypeError, match=f"{name.split()[0]}: the input must be floating point, got {dtype}"):
        REFUSED[name](mt, x)
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, NotImplementedError)):
        REFUSED[name](torch, torch.tensor(np.array(INTEGRAL[dtype], dtype=dtype)))


def test_silu_refuses_integers():
    with pytest.raises(TypeError, match="silu: the input must be floating point, got int64"):
        F.silu(mt.tensor([1, 2]))


def test_clamp_of_an_integer_tensor_with_integer_bounds_stays_integer(device):
    out = mt.clamp(mt.tensor([1, 5, 9], device=device), min=2, max=6)
    assert out.dtype == mt.int64 and to_numpy(out.data).tolist() == [2, 5, 6]


def test_float_input_keeps_the_gradient_path(device):
    x = mt.tensor([0.5, 1.5], dtype="float64", device=device, requires_grad=True)
    for fn in (mt.exp, mt.sin, mt.sigmoid, lambda t: mt.clamp(t, min=0.7)):
        assert fn(x).dtype == mt.float64 and mt.gradcheck(fn, [x])
