"""exp, log, sqrt, tanh, sigmoid, relu, gelu: NumPy references written from the
definitions, float64 gradchecks over hypothesis shapes, on both devices."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import away_from_zero, check_op, device_tensor, floats, shapes


def _gelu_tanh(x):
    c = math.sqrt(2.0 / math.pi)
    return 0.5 * x * (1.0 + np.tanh(c * (x + 0.044715 * x ** 3)))


def _gelu_erf(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf, otypes=[float])(x / math.sqrt(2.0)))


# name -> (reference, transform that keeps inputs in the op's smooth domain)
CASES = {
    "exp": (np.exp, lambda a: a),
    "log": (np.log, lambda a: np.abs(a) + 0.1),        # log needs x > 0
    "sqrt": (np.sqrt, lambda a: np.abs(a) + 0.1),      # sqrt is not differentiable at 0
    "tanh": (np.tanh, lambda a: 2 * a),
    "sigmoid": (lambda a: 1.0 / (1.0 + np.exp(-a)), lambda a: 3 * a),
    "relu": (lambda a: np.where(a > 0, a, 0.0), away_from_zero),  # kink at 0
    "gelu": (_gelu_erf, lambda a: 2 * a),  # PyTorch's default, the exact form
    "silu": (lambda a: a / (1.0 + np.exp(-a)), lambda a: 3 * a),
}


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=10)
@given(data=st.data(), shape=shapes())
def test_elementwise(device, name, data, shape):
    reference, domain = CASES[name]
    a = domain(data.draw(floats(shape)))
    check_op(getattr(F, name), reference, [a], device)


@pytest.mark.parametrize("name", sorted(CASES))
def test_elementwise_every_op_on_a_fixed_grid(device, name):
    # a deterministic sweep through each op's domain, in addition to the drawn examples
    reference, domain = CASES[name]
    a = domain(np.linspace(-2.0, 2.0, 24).reshape(2, 3, 4))
    check_op(getattr(F, name), reference, [a], device)


def test_relu_gradient_is_an_indicator(device):
    x = device_tensor(np.array([-2.0, -0.5, 0.0, 0.5, 2.0]), device)
    F.relu(x).backward(device_tensor(np.full(5, 3.0), device, requires_grad=False))
    assert to_numpy(x.grad.data).tolist() == [0.0, 0.0, 0.0, 3.0, 3.0]  # 0 at the kink, by convention


def test_gelu_tanh_is_the_tanh_approximation_not_erf(device):
    x = np.array([-1.5, 0.7, 2.0])
    out = to_numpy(F.gelu(device_tensor(x, device), approximate="tanh").data)
    exact_erf = 0.5 * x * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x]))
    np.testing.assert_allclose(out, _gelu_tanh(x), rtol=1e-14)
    assert np.abs(out - exact_erf).max() > 1e-5  # the two GELUs differ: this one is tanh's


def test_gelu_saved_or_recomputed_tanh_give_the_same_bits(monkeypatch):
    """Small GELU inputs keep tanh's output for backward, large ones recompute it: same bits."""
    from minitf.ops import elementwise
    rng = np.random.default_rng(3)
    x_np = rng.standard_normal((3, 70000)).astype(np.float32)   # several chunks
    g_np = rng.standard_normal(x_np.shape).astype(np.float32)
    results = []
    for keep in (0, 10 ** 9):
        monkeypatch.setattr(elementwise, "_KEEP_T", keep)
        x = mt.tensor(x_np, requires_grad=True)
        y = F.gelu(x, approximate="tanh")   # the fused tanh kernel (F.gelu defaults to the erf form)
        assert (y._fn.t is None) == (keep == 0)
        y.backward(g_np)
        grad = x.grad.data if isinstance(x.grad, mt.Tensor) else x.grad
        results.append((y.numpy().copy(), np.array(grad)))
    assert np.array_equal(results[0][0], results[1][0]) and np.array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_at_infinities_and_nan(device, dtype):
    # relu(-inf) = 0 (x * [x > 0] gave -inf * 0 = NaN); NaN stays NaN and, as PyTorch's
    # threshold_backward ([x <= 0] ? 0 : g), passes the incoming gradient on
    values = [-np.inf, np.inf, np.nan, -1.0, 0.0, 2.0]
    x = mt.tensor(values, dtype=dtype, device=device, requires_grad=True)
    y = F.relu(x)
    y.backward(mt.tensor([2.0, 3.0, 4.0, 5.0, 6.0, 7.0], dtype=dtype, device=device))
    expected_y, expected_g = [0.0, np.inf, np.nan, 0.0, 0.0, 2.0], [0.0, 3.0, 4.0, 0.0, 0.0, 7.0]
    np.testing.assert_array_equal(to_numpy(y.data), np.array(expected_y, dtype=dtype))
    np.testing.assert_array_equal(to_numpy(x.grad.data), np.array(expected_g, dtype=dtype))
    assert y.dtype == x.dtype
    torch = pytest.importorskip("torch")
    t = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=True)
    torch.relu(t).backward(torch.tensor([2.0, 3.0, 4.0, 5.0, 6.0, 7.0], dtype=t.dtype))
    np.testing.assert_array_equal(to_numpy(y.data), torch.relu(t).detach().numpy())
    np.testing.assert_array_equal(to_numpy(x.grad.data), t.grad.numpy())


@pytest.mark.parametrize("shape", [(7, 5), (300, 700)])   # t kept, and recomputed chunk by chunk
def test_gelu_tanh_of_a_transposed_input(device, shape):
    # a transposed x once made F-ordered outputs whose flat views were copies: y and dx unwritten
    x0 = np.random.default_rng(0).standard_normal(shape) * 3
    g0 = np.random.default_rng(1).standard_normal(shape[::-1])
    xt = mt.tensor(x0, device=device, requires_grad=True)
    y = F.gelu(xt.t(), approximate="tanh")
    y.backward(mt.tensor(g0, device=device))
    xc = mt.tensor(np.ascontiguousarray(x0.T), device=device, requires_grad=True)
    yc = F.gelu(xc, approximate="tanh")
    yc.backward(mt.tensor(g0, device=device))
    np.testing.assert_array_equal(y.numpy(), yc.numpy())
    np.testing.assert_array_equal(xt.grad.numpy(), xc.grad.numpy().T)
