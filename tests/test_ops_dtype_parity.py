"""Binary (and a few unary) ops over every pair of operand dtypes, as torch's: the result dtype
where torch accepts, an error of torch's class where it refuses (a subtraction with a bool, a
bool to a bool power, a Python number where torch takes only a Tensor), and the in-place ops'
refusals (``int_tensor += 0.5``: a RuntimeError naming both dtypes) and casts (``uint8 += int64``)."""
import operator

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy
from minitf.errors import DtypeError, DtypeNotImplemented

DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64"]
NUMBERS = [True, 3, 2.5]
BINARY = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow,
    "//": operator.floordiv, "%": operator.mod, "&": operator.and_, "|": operator.or_, "^": operator.xor,
    "==": operator.eq, "<": operator.lt,
    **{name: name for name in ("add", "sub", "mul", "div", "pow", "floor_divide", "remainder", "fmod", "maximum",
                               "minimum", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
                               "bitwise_xor", "eq", "ne", "lt", "ge")},
}
UNARY = ["neg", "positive", "abs", "sign", "square", "sqrt", "exp", "bitwise_not", "logical_not", "floor",
         "round", "sigmoid", "relu", "sum", "mean", "cumsum", "__neg__", "__invert__", "__abs__", "__pos__"]


def _operand(lib, d, dtype_of):
    if not isinstance(d, str):
        return d   # a Python number
    values = [True, False, True] if d == "bool" else [3, 2, 1]
    return lib.tensor(np.array(values, dtype=d)) if lib is mt else lib.tensor(values, dtype=dtype_of(d))


def _outcome(fn):
    """The result's dtype name, or the exception raised."""
    try:
        return str(fn().dtype).replace("torch.", "")
    except Exception as e:   # noqa: BLE001 - what was raised is the subject of the test
        return e


def _call(lib, op, a, b):
    return getattr(lib, op)(a, b) if isinstance(op, str) else op(a, b)


def _same_outcome(ours, theirs, what):
    if isinstance(theirs, Exception):
        assert isinstance(ours, Exception), f"{what}: torch raises {type(theirs).__name__} ({theirs}), minitf gives {ours}"
        assert isinstance(ours, type(theirs)), f"{what}: torch raises {type(theirs).__name__}, minitf {type(ours).__name__}: {ours}"
    else:
        assert not isinstance(ours, Exception), f"{what}: torch gives {theirs}, minitf raises {type(ours).__name__}: {ours}"
        assert ours == theirs, f"{what}: torch gives {theirs}, minitf {ours}"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NumPy's x / 0 and 0 ** -1 on the way: not the subject
@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_op_over_every_dtype_pair_as_torch(op):
    torch = pytest.importorskip("torch")
    fn = BINARY[op]
    for x in DTYPES + NUMBERS:
        for y in DTYPES + NUMBERS:
            if not (isinstance(x, str) or isinstance(y, str)):
                continue
            theirs = _outcome(lambda: _call(torch, fn, _operand(torch, x, lambda d: getattr(torch, d)),
                                            _operand(torch, y, lambda d: getattr(torch, d))))
            ours = _outcome(lambda: _call(mt, fn, _operand(mt, x, None), _operand(mt, y, None)))
            _same_outcome(ours, theirs, f"{op}({x!r}, {y!r})")


@pytest.mark.parametrize("op", UNARY)
def test_unary_op_over_every_dtype_as_torch(op):
    torch = pytest.importorskip("torch")
    for d in DTYPES:
        def run(lib):
            x = _operand(lib, d, lambda d: getattr(torch, d))
            return getattr(x, op)() if op.startswith("__") else getattr(lib, op)(x)
        _same_outcome(_outcome(lambda: run(mt)), _outcome(lambda: run(torch)), f"{op}({d})")


INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
           "//=": operator.ifloordiv, "%=": operator.imod, "&=": operator.iand, "|=": operator.ior,
           "add_": "add_", "sub_": "sub_", "mul_": "mul_", "div_": "div_", "fmod_": "fmod_",
           "remainder_": "remainder_", "floor_divide_": "floor_divide_"}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NumPy's x / 0 on the way: not the subject
@pytest.mark.parametrize("op", sorted(INPLACE))
def test_inplace_op_over_every_dtype_pair_as_torch(op):
    torch = pytest.importorskip("torch")
    fn = INPLACE[op]

    def run(lib, x, y):
        a = _operand(lib, x, lambda d: getattr(torch, d))
        b = _operand(lib, y, lambda d: getattr(torch, d))
        out = getattr(a, fn)(b) if isinstance(fn, str) else fn(a, b)
        assert out is a
        return out
    for x in DTYPES:
        for y in DTYPES + NUMBERS:
            _same_outcome(_outcome(lambda: run(mt, x, y)), _outcome(lambda: run(torch, x, y)), f"{x} {op} {y!r}")


def test_subtraction_with_a_bool_is_refused_naming_it(device):
    b = mt.tensor([True, False], device=device)
    f = mt.tensor([1.0, 2.0], device=device)
    for fn in (lambda: f - b, lambda: b - f, lambda: f - True, lambda: True - f, lambda: b - 1, lambda: 2.5 - b,
               lambda: mt.sub(f, b), lambda: f.sub(b, alpha=2), lambda: f.clone().sub_(b), lambda: f.clone().sub_(True)):
        with pytest.raises(RuntimeError, match="subtraction, the `-` operator, with a bool tensor is not supported"):
            fn()
    for fn in (lambda: b - b, lambda: b.sub(b), lambda: b.clone().sub_(b), lambda: b - True):
        with pytest.raises(DtypeError, match="with two bool tensors .* logical_xor"):
            fn()
    with pytest.raises(TypeError, match="negation of a bool tensor"):   # a TypeError too, as before
        -b
    assert (f - 1).dtype == mt.float32 and (f + b).dtype == mt.float32   # addition with a bool is fine


def test_bool_powers_and_positive(device):
    b = mt.tensor([True, False], device=device)
    assert (b ** True).dtype == mt.bool and to_numpy((b ** True).data).tolist() == [True, False]
    assert to_numpy((b ** False).data).tolist() == [True, True]
    assert (2 ** b).dtype == mt.int64 and to_numpy((2 ** b).data).tolist() == [2, 1]
    assert (b ** 2).dtype == mt.int64 and (b ** 2.5).dtype == mt.float32
    for fn in (lambda: b ** b, lambda: True ** b, lambda: mt.pow(b, b)):
        with pytest.raises(NotImplementedError, match="pow: not defined for a bool tensor to a bool power"):
            fn()
    x = mt.tensor([1.5, -2.0], device=device, requires_grad=True)
    assert (+x) is x and mt.positive(x) is x and x.positive() is x
    with pytest.raises(RuntimeError, match="positive: the `\\+` operator on a bool tensor"):
        +b


def test_a_python_number_where_torch_takes_a_tensor_is_a_type_error(device):
    x = mt.tensor([1.0, -2.0], device=device)
    for fn, name, arg in ((lambda: mt.maximum(x, 3), "maximum", "other"), (lambda: x.minimum(0.5), "minimum", "other"),
                          (lambda: mt.maximum(3, x), "maximum", "input"), (lambda: mt.logical_and(x, 1), "logical_and", "other"),
                          (lambda: x.logical_xor(True), "logical_xor", "other"), (lambda: mt.fmod(3, x), "fmod", "input"),
                          (lambda: mt.eq(3, x), "eq", "input"), (lambda: mt.lt(2.0, x), "lt", "input")):
        with pytest.raises(TypeError, match=f"{name}\\(\\): argument '{arg}' must be Tensor, not"):
            fn()
    # the operators, the tensor first, and the scalar forms torch has are unaffected
    assert to_numpy((3 > x).data).tolist() == [True, True] and to_numpy((x == 1.0).data).tolist() == [True, False]
    assert to_numpy(mt.fmod(x, 3).data).tolist() == [1.0, -2.0] and mt.eq(x, 1.0).dtype == mt.bool
    assert to_numpy(mt.clamp_min(x, 0.5).data).tolist() == [1.0, 0.5]


def test_refused_dtypes_raise_torchs_classes(device):
    b = mt.tensor([True, False], device=device)
    i = mt.tensor([1, 2], device=device)
    f = mt.tensor([1.0, 2.0], device=device)
    for fn in (lambda: mt.abs(b), lambda: mt.floor(b), lambda: f & 1, lambda: ~f, lambda: b // b, lambda: b % True,
               lambda: F.leaky_relu(i), lambda: F.elu(i)):
        with pytest.raises(DtypeNotImplemented) as e:
            fn()
        assert isinstance(e.value, NotImplementedError) and isinstance(e.value, TypeError)
    for fn in (lambda: mt.relu(b), lambda: i.mean(), lambda: F.softmax(i, -1), lambda: mt.add(i, i, alpha=0.5),
               lambda: f @ f.double()):
        with pytest.raises(DtypeError) as e:
            fn()
        assert isinstance(e.value, RuntimeError) and not isinstance(e.value, NotImplementedError)


def test_inplace_refusals_are_runtime_errors_naming_both_dtypes(device):
    i = mt.tensor([1, 2], device=device)
    for fn, name, rt in ((lambda t: t.__iadd__(0.5), "add_", "float32"), (lambda t: t.mul_(1.5), "mul_", "float32"),
                         (lambda t: t.__itruediv__(2), "div_", "float32"), (lambda t: t.div_(t), "div_", "float32"),
                         (lambda t: t.remainder_(2.5), "remainder_", "float32"),
                         (lambda t: t.add_(mt.tensor([0.5, 1.0], dtype=mt.float64, device=device)), "add_", "float64"),
                         (lambda t: t.clamp_(min=mt.tensor(0.5, device=device)), "clamp_", "float32")):
        t = i.clone()
        with pytest.raises(RuntimeError, match=f"{name}: result type {rt} can't be cast to the desired output type int64"):
            fn(t)
        assert to_numpy(t.data).tolist() == [1, 2]   # unchanged
    with pytest.raises(DtypeError, match="result type int64 can't be cast to the desired output type bool"):
        mt.tensor([True], device=device).add_(1)


def test_inplace_casts_within_a_category_as_torch(device):
    """torch.can_cast refuses only a cast to a lower category: uint8 += int64 wraps, float32 += float64 rounds."""
    u = mt.tensor(np.array([250, 3], dtype=np.uint8), device=device)
    u += mt.tensor([10, -5], device=device)
    assert u.dtype == mt.uint8 and to_numpy(u.data).tolist() == [4, 254]
    u.mul_(mt.tensor(np.array([2, 2], dtype=np.int32), device=device))
    assert to_numpy(u.data).tolist() == [8, 252]
    i32 = mt.tensor(np.array([5, -7], dtype=np.int32), device=device)
    i32.clamp_(min=mt.tensor([0, 0], device=device))   # an int64 bound: int32 kept
    assert i32.dtype == mt.int32 and to_numpy(i32.data).tolist() == [5, 0]
    f = mt.tensor([1.0, 2.0], device=device)
    f += mt.tensor([0.1, 0.2], dtype=mt.float64, device=device)
    assert f.dtype == mt.float32 and np.allclose(to_numpy(f.data), [1.1, 2.2])
    b = mt.tensor([True, False], device=device)
    b += True
    assert to_numpy(b.data).tolist() == [True, True]


def test_gradients_through_promoted_and_inplace_operands(device):
    """Promoted integer operands and in-place ops on the graph keep their gradients (float64 gradcheck)."""
    k = mt.tensor([2, -3, 4], device=device)
    x = mt.tensor([0.7, -1.2, 2.1], dtype=mt.float64, device=device, requires_grad=True)
    assert mt.gradcheck(lambda x: (x - k) * (k - x) + x ** 2 - 1, [x])
    assert mt.gradcheck(lambda x: (x * 1.0).sub_(k).mul_(x).add_(mt.tensor([1.5, 0.5, 2.0], dtype=mt.float32,
                                                                              device=device)), [x])
    assert mt.gradgradcheck(lambda x: (x * 1.0).sub_(k).mul_(x), [x])

