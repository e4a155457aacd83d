"""Mixed-dtype elementwise ops follow PyTorch's type promotion (minitf.ops.promotion), not
NumPy's: checked against torch over every pairing of operand kinds, and the gradients of
cast inputs come back in their own dtypes."""
import itertools

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy
from minitf.ops.promotion import promote_types, result_type

# each operand: a name and how to build it in either library (a tensor with dims, a 0-d tensor,
# or a Python number); values positive and small so that every op is defined
OPERANDS = {
    "bool[]": lambda m: m.tensor([True, False, True]),
    "uint8[]": lambda m: m.tensor(np.array([1, 2, 3], np.uint8)),
    "int8[]": lambda m: m.tensor(np.array([1, 2, 3], np.int8)),
    "int32[]": lambda m: m.tensor(np.array([1, 2, 3], np.int32)),
    "int64[]": lambda m: m.tensor([1, 2, 3]),
    "float16[]": lambda m: m.tensor(np.array([0.5, 1.5, 2.0], np.float16)),
    "float32[]": lambda m: m.tensor(np.array([0.5, 1.5, 2.0], np.float32)),
    "float64[]": lambda m: m.tensor(np.array([0.5, 1.5, 2.0])),
    "int64()": lambda m: m.tensor(2),
    "float64()": lambda m: m.tensor(np.float64(1.5)),
    "float32()": lambda m: m.tensor(np.float32(1.5)),
    "True": lambda m: True,
    "3": lambda m: 3,
    "0.5": lambda m: 0.5,
}
OPS = {
    "add": lambda m, a, b: a + b, "sub": lambda m, a, b: a - b, "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b, "maximum": lambda m, a, b: m.maximum(a, b),
    "where": lambda m, a, b: m.where(m.tensor([True, False, True]), a, b),
}


def _is_number(name):
    return "[" not in name and "(" not in name


PAIRS = [(a, b) for a, b in itertools.product(OPERANDS, repeat=2) if not (_is_number(a) and _is_number(b))]


@pytest.mark.parametrize("op", sorted(OPS))
def test_result_dtype_and_values_match_torch(op):
    torch = pytest.importorskip("torch")
    wrong = []
    for a, b in PAIRS:
        if op == "sub" and "bool" in a + b and (a.startswith("bool") or a == "True") and (
                b.startswith("bool") or b == "True"):
            continue  # torch refuses bool - bool, as does NumPy
        if op == "maximum" and (_is_number(a) or _is_number(b)):
            continue  # torch.maximum takes two tensors
        if op == "where" and (_is_number(a) and _is_number(b)):
            continue
        try:
            ref = OPS[op](torch, OPERANDS[a](torch), OPERANDS[b](torch))
        except (RuntimeError, TypeError):
            continue
        with np.errstate(divide="ignore", invalid="ignore"):  # bool / bool divides by False
            got = OPS[op](mt, OPERANDS[a](mt), OPERANDS[b](mt))
        want = str(ref.dtype).removeprefix("torch.")
        # rtol: float16 results, rounded once in either library
        if str(got.dtype) != want or not np.allclose(to_numpy(got.data).astype(np.float64),
                                                     ref.double().numpy(), rtol=1e-3, equal_nan=True):
            wrong.append(f"{a} {op} {b}: minitf {got.dtype}, torch {want}")
    assert not wrong, wrong


def test_integer_division_and_powers_give_the_default_float_dtype():
    assert (mt.tensor([1, 2]) / mt.tensor([2, 2])).dtype == np.float32
    assert (mt.tensor([1, 4]) ** 0.5).dtype == np.float32
    assert (mt.tensor([1, 4]) ** 2).dtype == np.int64
    mt.set_default_dtype("float64")
    try:
        assert (mt.tensor([1, 2]) * 0.5).dtype == np.float64
        assert (mt.tensor([1, 2]) / 2).dtype == np.float64
    finally:
        mt.set_default_dtype("float32")


def test_bool_plus_an_integer_is_an_integer_not_a_bool():
    out = mt.tensor([True, False]) + 3
    assert out.dtype == np.int64 and out.tolist() == [4, 3]


def test_a_cast_input_gets_its_gradient_in_its_own_dtype(device):
    w = mt.tensor([0.5, 1.5], dtype="float32", device=device, requires_grad=True)
    s = mt.tensor(2.0, dtype="float64", device=device, requires_grad=True)   # 0-d: w's dtype wins
    y = w * s
    assert y.dtype == np.float32
    y.sum().backward()
    assert w.grad.dtype == np.float32 and s.grad.dtype == np.float64
    np.testing.assert_allclose(to_numpy(w.grad.data), [2.0, 2.0])
    np.testing.assert_allclose(to_numpy(s.grad.data), 2.0)
    idx = mt.tensor([1, 2], device=device)
    z = (F.exp(w) * idx).sum()                        # an integer tensor meets a float32 one
    z.backward()
    assert w.grad.dtype == np.float32


def test_promote_types_is_torchs():
    torch = pytest.importorskip("torch")
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
    for a, b in itertools.product(names, repeat=2):
        assert str(promote_types(a, b)) == str(torch.promote_types(getattr(torch, a), getattr(torch, b))
                                               ).removeprefix("torch."), (a, b)


def test_result_type_examples_of_the_module_docstring():
    i64, f32 = mt.tensor([1, 2]), mt.tensor([1.0])
    assert result_type(i64, 0.5) == np.float32 and result_type(i64, f32) == np.float32
    assert result_type(f32, mt.tensor(1.0, dtype="float64")) == np.float32
    assert result_type(mt.tensor(np.array([1], np.int32)), 7) == np.int32
    assert result_type(mt.tensor([True]), 3) == np.int64


def test_in_place_ops_refuse_a_result_type_that_does_not_fit(device):
    # PyTorch: result type Long can't be cast to the desired output type Bool (it was True, silently)
    b = mt.tensor([True, False], device=device)
    for op in (lambda t: t.add_(1), lambda t: t.mul_(2)):
        with pytest.raises(TypeError, match="can't be cast to the desired output type bool"):
            op(b)
    with pytest.raises(TypeError, match="can't be cast"):
        mt.tensor([1, 2], device=device).add_(0.5)
    f = mt.tensor([1.0, 2.0], device=device)
    f.add_(1)
    assert f.tolist() == [2.0, 3.0] and f.dtype == np.float32


def test_integers_out_of_a_dtypes_range_wrap_around_as_in_torch(device):
    u = mt.tensor(np.array([1, 2], np.uint8), device=device)
    assert (u + -1).tolist() == [0, 1] and (u + 300).tolist() == [45, 46] and (u + 300).dtype == np.uint8
    assert (mt.tensor(np.array([1], np.int8), device=device) + 1000).tolist() == [-23]
    u.add_(-1)
    assert u.tolist() == [0, 1]


def test_a_power_given_as_a_host_array(device):
    x = mt.tensor([1.0, 2.0], device=device)
    if device == "cpu":
        assert (x ** np.array([1.0, 2.0])).tolist() == [1.0, 4.0]
        assert (mt.tensor([1, 2]) ** np.array([1, 2])).tolist() == [1, 4]
    else:
        with pytest.raises(mt.DeviceError, match="host numpy array"):
            x ** np.array([1.0, 2.0])


# (dtype, values, op, number, torch 2.13's result): comparisons in the promoted dtype. A bool tensor
# against an int compares in int64 (NumPy made the int a bool: [True, False] == 2 gave [True, False]);
# uint8/int8 against an out-of-range int wrap it into their own dtype, as torch does (300 -> 44)
COMPARISONS = [
    ("bool", [True, False], "==", 2, [False, False]),
    ("bool", [True, False], ">=", -1, [True, True]),
    ("bool", [True, False], "!=", 2, [True, True]),
    ("bool", [True, False], "<", 2, [True, True]),
    ("bool", [True, False], "==", 1, [True, False]),
    ("bool", [True, False], ">", 0.5, [True, False]),
    ("uint8", [0, 44, 255], "<", 300, [True, False, False]),
    ("uint8", [0, 44, 255], "==", -1, [False, False, True]),
    ("uint8", [0, 44, 255], "<", 44.5, [True, True, False]),
    ("int8", [-128, 44, 127], "==", 172, [False, False, False]),
    ("int8", [-128, 44, 127], ">", -129, [False, False, False]),  # -129 wraps to 127
    ("int32", [1, 2, 3], "==", 2 ** 32 + 2, [False, True, False]),
]


@pytest.mark.parametrize("dtype, values, op, number, expected", COMPARISONS)
@pytest.mark.parametrize("reflected", [False, True])
def test_comparisons_with_a_number_use_the_promoted_dtype(device, dtype, values, op, number, expected, reflected):
    flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}
    expr = f"number {flipped[op]} t" if reflected else f"t {op} number"   # the same comparison either way
    t = mt.tensor(np.array(values, dtype=dtype), device=device)
    out = eval(expr)
    assert out.dtype == mt.bool and to_numpy(out.data).tolist() == expected
    torch = pytest.importorskip("torch")
    t = torch.tensor(np.array(values, dtype=dtype))
    assert eval(expr).tolist() == expected
