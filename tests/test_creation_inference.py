"""mt.tensor(data): the dtype inferred from the elements' own types, and overflow refused, as torch."""
import numpy as np
import pytest

import minitf as mt

CASES = [  # (data maker, expected dtype); makers so that torch's run gets its own tensors
    (lambda m: [m.tensor(1.0, dtype=m.float64), m.tensor(2.0, dtype=m.float64)], "float64"),
    (lambda m: [np.float64(1), np.float64(2)], "float64"),
    (lambda m: [np.float64(1), 2.0], "float64"),
    (lambda m: [1, np.float64(2)], "float64"),
    (lambda m: [np.array([1.0, 2.0])], "float64"),
    (lambda m: [[np.float64(1)], [2.0]], "float64"),
    (lambda m: [np.array([1], dtype=np.int32)], "int32"),
    (lambda m: [m.tensor(1, dtype=m.int32), m.tensor(2, dtype=m.int32)], "int32"),
    (lambda m: [m.tensor(1, dtype=m.int32), 1], "int64"),
    (lambda m: [np.uint8(1), np.int32(2)], "int32"),
    (lambda m: [m.tensor(1.0, dtype=m.float16), 1.0], "float32"),
    (lambda m: [m.tensor(1.0, dtype=m.float16), 1], "float16"),
    (lambda m: [np.float32(1), 2], "float32"),
    (lambda m: [np.int64(3), m.tensor(1.0)], "float32"),
    (lambda m: [np.bool_(True), 1.0], "float32"),
    (lambda m: [True, 1], "int64"),
    (lambda m: [m.tensor(True), m.tensor(False)], "bool"),
    (lambda m: [1.0, 2.0], "float32"),
    (lambda m: [], "float32"),
]


@pytest.mark.parametrize("make, expected", CASES)
def test_inferred_dtype(make, expected):
    t = mt.tensor(make(mt))
    assert t.dtype == np.dtype(expected)
    assert t.tolist() == np.asarray(make(mt), dtype=object).astype(expected).tolist()


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy.ndarrays")
@pytest.mark.parametrize("make, expected", CASES)
def test_inferred_dtype_as_torch(make, expected):
    torch = pytest.importorskip("torch")
    assert str(torch.tensor(make(torch)).dtype) == f"torch.{expected}"


def test_float64_values_are_kept_not_rounded_to_float32():
    stats = [np.float64(1 / 3), np.float64(2 / 3)]
    assert mt.tensor(stats).tolist() == [1 / 3, 2 / 3]


def test_default_dtype_float64_takes_python_floats_only():
    mt.set_default_dtype(mt.float64)
    try:
        assert mt.tensor([np.float32(1), 1.0]).dtype == mt.float64
        assert mt.tensor([mt.tensor(1.0, dtype=mt.float32), 2]).dtype == mt.float32
    finally:
        mt.set_default_dtype(mt.float32)


@pytest.mark.parametrize("data", [[2 ** 63], 2 ** 63, [-2 ** 63 - 1], [2 ** 64], [[1], [2 ** 70]]])
def test_python_ints_outside_int64_refuse(data):
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        mt.tensor(data)


def test_python_ints_outside_int64_make_floats_when_asked():
    assert mt.tensor([2 ** 63], dtype=mt.float64).tolist() == [2.0 ** 63]
    assert mt.tensor([2 ** 63 - 1]).tolist() == [2 ** 63 - 1]


@pytest.mark.parametrize("data, dtype", [([300], mt.uint8), (300, mt.uint8), ([2 ** 31], mt.int32),
                                         ([float("inf")], mt.int64), ([1e30], mt.int64), ([300.0], mt.uint8),
                                         ([-256], mt.uint8)])
def test_values_outside_the_given_integer_dtype_refuse(data, dtype):
    with pytest.raises(RuntimeError, match=f"value cannot be converted to type {np.dtype(dtype)} without overflow"):
        mt.tensor(data, dtype=dtype)


def test_what_torch_lets_through_on_construction():
    # negatives down to -max wrap into an unsigned dtype, floats truncate, arrays cast as NumPy
    # does, floats overflow to inf: all as torch.tensor
    assert mt.tensor([-1], dtype=mt.uint8).tolist() == [255]
    assert mt.tensor([255], dtype=mt.uint8).tolist() == [255]
    assert mt.tensor([1.5], dtype=mt.int64).tolist() == [1]
    assert mt.tensor(np.array([300]), dtype=mt.uint8).tolist() == [44]
    assert mt.tensor([1e40]).tolist() == [float("inf")]


def test_overflow_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        torch.tensor([2 ** 63])
    with pytest.raises(RuntimeError, match="without overflow"):
        torch.tensor([300], dtype=torch.uint8)
    assert torch.tensor([-1], dtype=torch.uint8).tolist() == [255]
