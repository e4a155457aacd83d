"""Bitwise ops (minitf/ops/bitwise.py), floor_divide / remainder / fmod (minitf/ops/division.py),
their operators (& | ^ ~ // %) and the operator methods by torch's names (add(alpha=), sub, mul,
div, neg, neg_): written values, torch's where installed, float64 gradchecks on both devices."""
import numpy as np
import pytest

import minitf as mt
from minitf.backend import to_numpy

A = [-7.0, 7.0, -7.5, 7.5, 3.0, -0.0, 6.0]
B = [2.0, -2.0, 2.0, 2.0, np.inf, 2.0, -3.0]
# torch 2.13 on A, B (float64)
EXPECTED = {
    "floor_divide": [-4.0, -4.0, -4.0, 3.0, 0.0, -0.0, -2.0],
    "remainder": [1.0, -1.0, 0.5, 1.5, 3.0, 0.0, 0.0],
    "fmod": [-1.0, 1.0, -1.5, 1.5, 3.0, -0.0, 0.0],
}
INT_A, INT_B = [-7, 7, -6, 5, 0], [2, -2, 3, -3, 4]
INT_EXPECTED = {"floor_divide": [-4, -4, -2, -2, 0], "remainder": [1, -1, 0, -1, 0], "fmod": [-1, 1, 0, 2, 0]}
OPERATOR = {"floor_divide": lambda a, b: a // b, "remainder": lambda a, b: a % b, "fmod": None}


def _t(values, device, dtype="float64", requires_grad=False):
    return mt.tensor(np.array(values, dtype=dtype), device=device, requires_grad=requires_grad)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rounding_divisions_of_floats_and_ints(device, name):
    for form in (getattr(mt, name), lambda a, b: getattr(a, name)(b), OPERATOR[name]):
        if form is None:
            continue
        out = form(_t(A, device), _t(B, device))
        assert out.dtype == mt.float64
        np.testing.assert_array_equal(to_numpy(out.data), EXPECTED[name])
        iout = form(_t(INT_A, device, "int64"), _t(INT_B, device, "int64"))
        assert iout.dtype == mt.int64 and to_numpy(iout.data).tolist() == INT_EXPECTED[name]
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(getattr(torch, name)(torch.tensor(A), torch.tensor(B)).numpy(), EXPECTED[name])
    assert getattr(torch, name)(torch.tensor(INT_A), torch.tensor(INT_B)).tolist() == INT_EXPECTED[name]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy warns of 1 // 0.0 and 1 % 0.0: inf and NaN, the test
def test_rounding_division_dtypes_numbers_and_errors(device):
    i = _t([5, -5], device, "int64")
    assert (i // 2).dtype == mt.int64 and to_numpy((i // 2).data).tolist() == [2, -3]
    assert (7 // i).dtype == mt.int64 and to_numpy((7 // i).data).tolist() == [1, -2]
    assert (i % 2.5).dtype == mt.float32 and to_numpy((i % 2.5).data).tolist() == [0.0, 0.0]  # promoted
    assert to_numpy((-7 % _t([3, -3], device, "int64")).data).tolist() == [2, -1]
    for name in ("floor_divide", "remainder", "fmod"):
        with pytest.raises(ZeroDivisionError, match=f"{name}: integer division by zero"):
            getattr(mt, name)(i, 0)
        with pytest.raises(TypeError, match=f"{name}: not defined for bool tensors"):
            getattr(mt, name)(mt.tensor([True], device=device), True)
    np.testing.assert_array_equal(to_numpy((_t([1.0, -1.0], device) // 0).data), [np.inf, -np.inf])
    assert np.isnan(to_numpy((_t([1.0], device) % 0).data)).all()


@pytest.mark.parametrize("name", ["remainder", "fmod"])
def test_remainder_and_fmod_gradients(device, name):
    a, b = _t([-7.3, 7.3, 5.5], device, requires_grad=True), _t([2.0, -2.0, 1.5], device, requires_grad=True)
    getattr(mt, name)(a, b).sum().backward()
    q = np.floor(np.divide([-7.3, 7.3, 5.5], [2.0, -2.0, 1.5])) if name == "remainder" else \
        np.trunc(np.divide([-7.3, 7.3, 5.5], [2.0, -2.0, 1.5]))
    np.testing.assert_array_equal(to_numpy(a.grad.data), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(to_numpy(b.grad.data), -q)
    assert mt.gradcheck(lambda a, b: getattr(mt, name)(a, b) * a, [a, b])   # away from the jumps
    assert mt.gradgradcheck(lambda a, b: getattr(mt, name)(a * a, b) * b, [a, b])
    torch = pytest.importorskip("torch")
    at = torch.tensor([-7.3, 7.3, 5.5], requires_grad=True)
    bt = torch.tensor([2.0, -2.0, 1.5], requires_grad=True)
    getattr(torch, name)(at, bt).sum().backward()
    np.testing.assert_array_equal(to_numpy(b.grad.data), bt.grad.numpy())


def test_floor_divide_has_no_derivative_as_torch(device):
    x = _t([3.0, -3.0], device, requires_grad=True)
    y = x // 2
    assert y.requires_grad   # as torch: the error comes in backward
    with pytest.raises(RuntimeError, match="the derivative for 'floor_divide' is not implemented"):
        y.sum().backward()


def test_bitwise_ops_and_operators(device):
    b1, b2 = mt.tensor([True, False, True], device=device), mt.tensor([True, True, False], device=device)
    i1, i2 = _t([5, 3, -1], device, "int64"), _t([1, 6, 4], device, "int64")
    cases = [(b1 & b2, "bool", [True, False, False]), (b1 | b2, "bool", [True, True, True]),
             (b1 ^ b2, "bool", [False, True, True]), (~b1, "bool", [False, True, False]),
             (i1 & i2, "int64", [1, 2, 4]), (i1 | 8, "int64", [13, 11, -1]), (3 ^ i1, "int64", [6, 0, -4]),
             (~i1, "int64", [-6, -4, 0]), (b1 & 2, "int64", [0, 0, 0]),   # bool & int: int64, as torch
             (mt.bitwise_and(i1, i2), "int64", [1, 2, 4]), (mt.bitwise_or(b1, b2), "bool", [True, True, True]),
             (mt.bitwise_xor(i1, i2), "int64", [4, 5, -5]), (mt.bitwise_not(b2), "bool", [False, False, True]),
             (i1.bitwise_and(i2), "int64", [1, 2, 4])]
    for out, dtype, expected in cases:
        assert out.dtype == np.dtype(dtype) and to_numpy(out.data).tolist() == expected
    for bad in (lambda: _t([1.0], device) & b1[:1], lambda: ~_t([1.0], device), lambda: mt.bitwise_or(i1, 0.5)):
        with pytest.raises(TypeError, match="defined for bool and integer tensors only"):
            bad()
    torch = pytest.importorskip("torch")
    tb1, tb2 = torch.tensor([True, False, True]), torch.tensor([True, True, False])
    ti1, ti2 = torch.tensor([5, 3, -1]), torch.tensor([1, 6, 4])
    torch_cases = [tb1 & tb2, tb1 | tb2, tb1 ^ tb2, ~tb1, ti1 & ti2, ti1 | 8, 3 ^ ti1, ~ti1, tb1 & 2]
    for (out, _, expected), t in zip(cases, torch_cases):
        assert t.tolist() == expected


def test_operator_methods_by_torchs_names(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    y = _t([10.0, 20.0], device, requires_grad=True)
    out = x.add(y, alpha=3).sub(1, alpha=2).mul(2).div(4).neg()   # -((x + 3y - 2) * 2 / 4)
    np.testing.assert_allclose(to_numpy(out.data), [-14.5, -30.0])
    out.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad.data), [-0.5, -0.5])
    np.testing.assert_allclose(to_numpy(y.grad.data), [-1.5, -1.5])
    np.testing.assert_allclose(to_numpy(mt.add(x, y, alpha=-1).data), [-9.0, -18.0])
    np.testing.assert_allclose(to_numpy(mt.sub(x, 1, alpha=0.5).data), [0.5, 1.5])
    assert mt.gradcheck(lambda x, y: mt.add(x, y, alpha=2.5) * mt.sub(x, y, alpha=-1), [x, y])
    z = _t([1.0, -2.0], device)
    assert z.neg_() is z and to_numpy(z.data).tolist() == [-1.0, 2.0]
    assert to_numpy(mt.neg(z).data).tolist() == [1.0, -2.0]
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0]).add(torch.tensor([10.0, 20.0]), alpha=3).sub(1, alpha=2).mul(2).div(4).neg()
    np.testing.assert_allclose(to_numpy(out.data), t.numpy())
