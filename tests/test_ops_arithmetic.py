"""add, sub, mul, div, neg, pow, matmul, linear: NumPy references and float64 gradchecks
over hypothesis shapes, broadcasting included, on the CPU and the fake device."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import away_from_zero, check_op, device_tensor, floats

broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
@settings(max_examples=15)
@given(data=st.data(), shapes=broadcast_pairs)
def test_broadcasting_binary_ops(device, name, data, shapes):
    sa, sb = shapes.input_shapes
    a = data.draw(floats(sa))
    b = data.draw(floats(sb))
    if name == "div":
        b = away_from_zero(b, 0.5)  # 1/b stays smooth across the finite-difference step
    reference = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
                 "mul": lambda a, b: a * b, "div": lambda a, b: a / b}[name]
    ta, tb = check_op(getattr(F, name), reference, [a, b], device)
    assert ta.shape == sa and tb.shape == sb


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_broadcast_gradients_are_summed_back(device, name):
    # (3, 1) op (4,) -> (3, 4); the gradient of b is summed over the 3 rows, of a over the 4 columns
    a = device_tensor(np.array([[1.0], [2.0], [3.0]]), device)
    b = device_tensor(np.array([0.5, -1.0, 2.0, 4.0]), device)
    getattr(F, name)(a, b).sum().backward()
    av, bv = a.numpy(), b.numpy()
    ones = np.ones((3, 4))
    expected_a = {"add": ones, "sub": ones, "mul": ones * bv, "div": ones / bv}[name].sum(1, keepdims=True)
    expected_b = {"add": ones, "sub": -ones, "mul": ones * av, "div": -av / bv ** 2 * ones}[name].sum(0)
    np.testing.assert_allclose(to_numpy(a.grad.data), expected_a, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(b.grad.data), expected_b, rtol=1e-12)


@settings(max_examples=10)
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
       scalar=st.floats(-3, 3, allow_nan=False, width=64), side=st.sampled_from(["left", "right"]))
def test_python_scalar_operands(device, data, shape, scalar, side):
    a = data.draw(floats(shape))
    if side == "left":
        check_op(lambda t: scalar - t * scalar + scalar / (t * t + 1.0),
                 lambda a: scalar - a * scalar + scalar / (a * a + 1.0), [a], device)
    else:
        check_op(lambda t: (t + scalar) * 2.0 - t / 4.0, lambda a: (a + scalar) * 2.0 - a / 4.0, [a], device)


@settings(max_examples=10)
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
def test_neg(device, data, shape):
    a = data.draw(floats(shape))
    check_op(F.neg, lambda a: -a, [a], device)
    check_op(lambda t: -t, lambda a: -a, [a], device)


@settings(max_examples=25)
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
       p=st.sampled_from([2, 3, -1, -2, 0.5, -0.5, -1.5, 1.7, 0]))
def test_pow_scalar_exponent(device, data, shape, p):
    a = away_from_zero(data.draw(floats(shape)), 0.5)
    if not float(p).is_integer():
        a = np.abs(a)  # a non-integer power of a negative base is not real
    check_op(lambda t: F.pow(t, p), lambda a: a ** p, [a], device)
    check_op(lambda t: t ** p, lambda a: a ** p, [a], device)


_POW_AT = [0.0, -0.0, np.nan, 5e-324, 1.0, -1.0, np.inf, -np.inf]  # 5e-324: the smallest subnormal


# the gradient of x ** p at _POW_AT, as torch 2.13 gives it: x ** 0 has gradient 0 everywhere (p a^(p-1)
# gave 0 * 0^-1 = NaN at 0); x ** 0.5 is inf at +0 and -inf at -0 (torch's rsqrt for the -0.5 power)
_POW_GRADS = {
    0: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    1: [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    0.5: [np.inf, -np.inf, np.nan, 0.5 / np.sqrt(5e-324), 0.5, np.nan, 0.0, np.nan],
    2: [0.0, -0.0, np.nan, 1e-323, 2.0, -2.0, np.inf, -np.inf],
    -1: [-np.inf, -np.inf, np.nan, -np.inf, -1.0, -1.0, -0.0, -0.0],
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy warns of 0^-1 and sqrt(-1); the values are the test
@pytest.mark.parametrize("p", sorted(_POW_GRADS))
@pytest.mark.parametrize("form", ["operator", "function"])
def test_pow_gradient_at_zero_nan_and_infinities(device, p, form):
    x = device_tensor(np.array(_POW_AT), device)
    y = x ** p if form == "operator" else F.pow(x, p)
    y.backward(device_tensor(np.ones(len(_POW_AT)), device, requires_grad=False))
    grad = to_numpy(x.grad.data)
    np.testing.assert_array_equal(grad, np.array(_POW_GRADS[p]))
    torch = pytest.importorskip("torch")
    t = torch.tensor(_POW_AT, dtype=torch.float64, requires_grad=True)
    (t ** p).sum().backward()
    np.testing.assert_array_equal(grad, t.grad.numpy())
    np.testing.assert_array_equal(to_numpy(y.data), (t ** p).detach().numpy())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # sqrt(-inf) and 1/0 warn in NumPy
def test_pow_minus_half_is_torchs_rsqrt(device):
    # torch computes x ** -0.5 as rsqrt: -inf at -0 and NaN at -inf, where C's pow gives inf and 0
    x = device_tensor(np.array([-0.0, -np.inf, 4.0]), device, requires_grad=False)
    np.testing.assert_array_equal(to_numpy((x ** -0.5).data), [-np.inf, np.nan, 0.5])


def test_pow_zero_second_derivative_is_zero(device):
    x = device_tensor(np.array([0.0, 2.0, -3.0]), device)
    g, = mt.grad((x ** 0).sum(), x, create_graph=True)
    np.testing.assert_array_equal(to_numpy(g.data), [0.0, 0.0, 0.0])
    assert mt.gradgradcheck(lambda x: (x * x + 1.0) ** -0.5, [x])


def _naive_matmul(a, b):
    """NumPy matmul semantics written out: promote 1-D operands, loop over the broadcast batch."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    A = np.broadcast_to(a2, batch + a2.shape[-2:])
    B = np.broadcast_to(b2, batch + b2.shape[-2:])
    out = np.zeros(batch + (A.shape[-2], B.shape[-1]))
    for idx in np.ndindex(*batch):
        for i in range(A.shape[-2]):
            for j in range(B.shape[-1]):
                out[idx + (i, j)] = sum(A[idx + (i, k)] * B[idx + (k, j)] for k in range(A.shape[-1]))
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


@settings(max_examples=25)
@given(data=st.data(),
       shapes=hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=3))
def test_matmul(device, data, shapes):
    # the signature "(n?,k),(k,m?)->(n?,m?)" draws 1-D operands and broadcast batch dims
    sa, sb = shapes.input_shapes
    a, b = data.draw(floats(sa)), data.draw(floats(sb))
    check_op(F.matmul, _naive_matmul, [a, b], device)
    check_op(lambda x, y: x @ y, _naive_matmul, [a, b], device)


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((3,), (2, 3, 4)), ((2, 1, 2, 3), (3,)),
                                    ((4, 1, 2, 3), (5, 3, 2)), ((1, 3), (2, 3, 1)),
                                    # a of one row: b's gradient an outer product (the broadcast product)
                                    ((1, 3), (3, 4)), ((2, 1, 3), (2, 3, 4)), ((2, 1, 3), (3, 4)), ((1, 3), (5, 3, 2)),
                                    ((1, 1), (1, 1)), ((4, 1), (1, 3)), ((2, 4, 1), (2, 1, 3)), ((1, 2), (2,))])
def test_matmul_edge_shapes(device, sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    check_op(F.matmul, _naive_matmul, [a, b], device)


@pytest.mark.parametrize("sa, sb", [((3, 1), (4, 5)), ((2, 3, 1), (2, 2, 5))])
def test_matmul_with_a_contracted_dim_of_1_still_checks_the_other(sa, sb):
    # (n, 1) @ (k, m) with k != 1 is a mismatch, not a broadcast product
    with pytest.raises(ValueError):
        mt.tensor(np.ones(sa)) @ mt.tensor(np.ones(sb))


def _naive_linear(x, w, b=None):
    out = np.zeros(x.shape[:-1] + (w.shape[0],))
    for idx in np.ndindex(*x.shape[:-1]):
        for o in range(w.shape[0]):
            out[idx + (o,)] = sum(x[idx + (i,)] * w[o, i] for i in range(w.shape[1])) + (0.0 if b is None else b[o])
    return out


@settings(max_examples=20)
@given(data=st.data(), lead=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3),
       n_in=st.integers(1, 4), n_out=st.integers(1, 4), bias=st.booleans())
def test_linear(device, data, lead, n_in, n_out, bias):
    x = data.draw(floats(lead + (n_in,)))
    w = data.draw(floats((n_out, n_in)))
    arrays = [x, w] + ([data.draw(floats((n_out,)))] if bias else [])
    check_op(F.linear, _naive_linear, arrays, device)


def test_grad_of_reused_operand(device):
    # x * x and x @ x use the same tensor twice: both contributions must add up
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 3))
    check_op(lambda t: t * t, lambda a: a * a, [x], device)
    check_op(lambda t: t @ t, lambda a: a @ a, [x], device)
    t = device_tensor(x, device)
    (t * t).sum().backward()
    np.testing.assert_allclose(to_numpy(t.grad.data), 2 * x, rtol=1e-12)


def test_the_quotients_gradient_in_the_divisor_is_torchs_where_g_over_b_overflows():
    # d(a/b)/db = -(g (a / b)) / b: with a = 0 and a subnormal b, g / b overflows and
    # -(g / b) a / b was inf * 0 = NaN; torch's is -0
    torch = pytest.importorskip("torch")
    a_host = np.array([0.0, -0.0, 1e-300, 2.0, 0.0])
    b_host = np.array([1e-310, 1e-310, 1e-310, -3.0, 4e-320])
    out = []
    for m in (mt, torch):
        a, b = m.tensor(a_host, requires_grad=True), m.tensor(b_host, requires_grad=True)
        (a / b).sum().backward()
        out.append(b.grad.numpy())
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(np.signbit(out[0]), np.signbit(out[1]))
    assert not np.isnan(out[0]).any()
