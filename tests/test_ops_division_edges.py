"""floor_divide / remainder / fmod at the edges, as torch's: the sign of a zero result, negative
divisors, +-inf and NaN on either side, subnormals, ints, Python scalars on either side, and an
integer division by zero (a RuntimeError, as torch's, that is also a ZeroDivisionError)."""
import itertools
import math

import numpy as np
import pytest

import minitf as mt
from minitf.backend import to_numpy

INF, NAN = math.inf, math.nan
VALUES = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 3.0, -3.0, 7.0, -7.0, 1e300, -1e300, 5e-324, INF, -INF, NAN]
NAMES = ("floor_divide", "remainder", "fmod")


def _grid(dtype):
    a, b = (np.array(v, dtype=dtype) for v in zip(*itertools.product(VALUES, VALUES)))
    with np.errstate(all="ignore"):
        # torch's vectorised CPU fmod / remainder give NaN where a / b overflows (fmod(1e300, 1e-10) on
        # 8 or more float64 elements; exact on fewer): minitf keeps the exact C fmod, so those pairs
        # are left out of the comparison
        keep = ~(np.isinf(a / b) & np.isfinite(a) & (b != 0))
    return a[keep], b[keep]


def _assert_identical(ours, theirs, what):
    np.testing.assert_array_equal(ours, theirs, err_msg=what)       # NaN where NaN
    num = ~np.isnan(ours)   # a NaN's sign bit is nobody's promise
    np.testing.assert_array_equal(np.signbit(ours[num]), np.signbit(theirs[num]), err_msg=f"{what}: the sign of zero")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NumPy warns of x / 0 and inf % x: the values tested
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", NAMES)
def test_float_grid_matches_torch_bit_for_bit(name, dtype):
    torch = pytest.importorskip("torch")
    a, b = _grid(dtype)
    ours = to_numpy(getattr(mt, name)(mt.tensor(a), mt.tensor(b)).data)
    theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy()
    assert ours.dtype == theirs.dtype
    _assert_identical(ours, theirs, f"{name} {dtype}")
    for x, y in ((-0.0, 2.0), (0.0, -2.0), (-5.0, INF), (5.0, -INF), (INF, 2.0)):   # a Python scalar divisor
        ours = to_numpy(getattr(mt, name)(mt.tensor([x], dtype=dtype), y).data)
        theirs = getattr(torch, name)(torch.tensor([x], dtype=getattr(torch, dtype)), y).numpy()
        _assert_identical(ours, theirs, f"{name}({x}, {y})")
    if name != "fmod":   # torch.fmod takes no scalar dividend
        ours = to_numpy(getattr(mt, name)(-3.0, mt.tensor([3.0, -3.0, INF], dtype=dtype)).data)
        _assert_identical(ours, getattr(torch, name)(-3.0, torch.tensor([3.0, -3.0, INF])).numpy().astype(dtype),
                          f"{name}(-3., tensor)")


@pytest.mark.parametrize("dtype", ["int64", "int32"])
@pytest.mark.parametrize("name", NAMES)
def test_int_grid_matches_torch(name, dtype):
    torch = pytest.importorskip("torch")
    v = [0, 1, -1, 2, -2, 3, -3, 7, -7, np.iinfo(dtype).max, np.iinfo(dtype).min + 1]
    a, b = (np.array(x, dtype=dtype) for x in zip(*itertools.product(v, [u for u in v if u != 0])))
    ours = to_numpy(getattr(mt, name)(mt.tensor(a), mt.tensor(b)).data)
    theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        getattr(torch, name)(torch.tensor([5, 0]), torch.tensor([1, 0]))
    with pytest.raises(RuntimeError, match=f"{name}: integer division by zero"):
        getattr(mt, name)(mt.tensor([5, 0]), mt.tensor([1, 0]))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NumPy warns of inf % x: the values tested
def test_zero_results_take_the_dividends_sign(device):
    """torch's remainder is fmod, plus b where the signs differ: a zero keeps a's sign (NumPy's b's)."""
    a = mt.tensor([-0.0, 0.0, -3.0, 3.0, -0.0, 0.0, -5.0, 5.0, INF, NAN, 2.0], dtype=mt.float64, device=device)
    b = mt.tensor([2.0, -2.0, 3.0, -3.0, -INF, INF, INF, -INF, 2.0, 2.0, NAN], dtype=mt.float64, device=device)
    r = to_numpy(mt.remainder(a, b).data)
    expect = np.array([-0.0, 0.0, -0.0, 0.0, -0.0, 0.0, INF, -INF, NAN, NAN, NAN])
    _assert_identical(r, expect, "remainder")
    _assert_identical(to_numpy((a % b).data), expect, "%")
    _assert_identical(to_numpy(mt.fmod(a, b).data), np.array([-0.0, 0.0, -0.0, 0.0, -0.0, 0.0, -5.0, 5.0,
                                                               NAN, NAN, NAN]), "fmod")
    _assert_identical(to_numpy(mt.floor_divide(a, b).data)[:4], np.array([-0.0, -0.0, -1.0, -1.0]), "floor_divide")
    x = mt.tensor([-4.0, 4.0], dtype=mt.float32, device=device)
    _assert_identical(to_numpy((x % 2).data), np.array([-0.0, 0.0], dtype=np.float32), "float32 % 2")
    _assert_identical(to_numpy((x % -2.0).data), np.array([-0.0, 0.0], dtype=np.float32), "float32 % -2.")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NumPy warns of 5 // 0.0 = inf: the value tested
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_integer_division_by_zero_is_a_runtime_error_naming_it(device, dtype):
    i = mt.tensor(np.array([5, 6], dtype=dtype), device=device)
    for name in NAMES:
        for divisor in (0, mt.tensor(np.array([1, 0], dtype=dtype), device=device)):
            with pytest.raises(RuntimeError, match=f"{name}: integer division by zero \\({dtype} operands") as e:
                getattr(mt, name)(i, divisor)
            assert isinstance(e.value, ZeroDivisionError)   # what Python's 5 // 0 raises, too
    assert to_numpy((i // 0.0).data).tolist() == [INF, INF]   # a float divisor: floats, no error (as torch)


def test_remainder_gradient_with_negative_divisors_and_signed_zeros(device):
    a = mt.tensor([-7.3, 7.3, 5.5, -5.5], dtype=mt.float64, device=device, requires_grad=True)
    b = mt.tensor([-2.0, -2.0, -1.5, 1.5], dtype=mt.float64, device=device, requires_grad=True)
    assert mt.gradcheck(lambda a, b: mt.remainder(a, b) * b, [a, b])
    assert mt.gradgradcheck(lambda a, b: mt.remainder(a * a, b) * b, [a, b])
    z = mt.tensor([-0.0, 0.0], dtype=mt.float64, device=device, requires_grad=True)
    y = mt.remainder(z, 2.0)
    y.sum().backward()
    assert list(np.signbit(to_numpy(y.data))) == [True, False] and to_numpy(z.grad.data).tolist() == [1.0, 1.0]
