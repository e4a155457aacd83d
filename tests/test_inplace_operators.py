"""The in-place forms of the rounding and bitwise ops (``//=``, ``%=``, ``&=``, ``|=``, ``^=``,
floor_divide_, remainder_, fmod_, bitwise_*_, neg_) write into the tensor, as torch's: a view
taken before sees the change. Also torch's rules for add/sub's ``alpha`` and for negating bools."""
import numpy as np
import pytest

import minitf as mt

from minitf import backend


def host(t):
    return backend.to_numpy(t.data)

CASES = [
    ("ifloordiv", [5, -3, 4], lambda x: x.__ifloordiv__(2), [2, -2, 2]),
    ("imod", [5.0, -3.0, 4.0], lambda x: x.__imod__(2.5), [0.0, 2.0, 1.5]),
    ("iand", [True, False, True], lambda x: x.__iand__(x.new_tensor([True, True, False])), [True, False, False]),
    ("ior", [1, 4, 0], lambda x: x.__ior__(2), [3, 6, 2]),
    ("ixor", [5, 6, 0], lambda x: x.__ixor__(3), [6, 5, 3]),
    ("fmod_", [5.0, -7.0, 4.0], lambda x: x.fmod_(3.0), [2.0, -1.0, 1.0]),
    ("remainder_", [5.0, -7.0, 4.0], lambda x: x.remainder_(3.0), [2.0, 2.0, 1.0]),
    ("floor_divide_", [5, -7, 4], lambda x: x.floor_divide_(3), [1, -3, 1]),
    ("bitwise_and_", [6, 5, 3], lambda x: x.bitwise_and_(3), [2, 1, 3]),
    ("neg_", [1.0, -2.0, 0.5], lambda x: x.neg_(), [-1.0, 2.0, -0.5]),
]


@pytest.mark.parametrize("name, data, op, expected", CASES, ids=[c[0] for c in CASES])
def test_inplace_forms_write_into_the_tensor(device, name, data, op, expected):
    x = mt.tensor(data, device=device)
    view, version = x[:], x._version
    out = op(x)
    assert out is x and host(view).tolist() == expected and host(x).tolist() == expected
    assert x._version > version


@pytest.mark.parametrize("name, data, op, expected", CASES, ids=[c[0] for c in CASES])
def test_inplace_forms_match_torch(name, data, op, expected):
    torch = pytest.importorskip("torch")
    t = torch.tensor(data)
    op(t)
    assert t.tolist() == expected


def test_inplace_remainder_records_its_gradient_and_refuses_a_type_that_does_not_fit(device):
    a = mt.tensor([5.0, 7.0], device=device, requires_grad=True)
    y = a * 1
    y.remainder_(mt.tensor([3.0, -2.0], device=device))
    (y * mt.tensor([2.0, 3.0], device=device)).sum().backward()
    assert host(a.grad).tolist() == [2.0, 3.0]              # d(a mod b)/da = 1
    with pytest.raises(TypeError, match="remainder_: result type float32 can't be cast to .* int64"):
        mt.tensor([5, 6], device=device).remainder_(2.5)
    with pytest.raises(RuntimeError, match="^neg_: a leaf Variable"):
        mt.zeros(2, requires_grad=True).neg_()


def test_alpha_and_negation_follow_torchs_rules():
    i = mt.tensor([1, 2])
    with pytest.raises(TypeError, match="integral tensors alpha must not be a floating-point"):
        mt.add(i, i, alpha=0.5)
    with pytest.raises(TypeError, match="bool alpha is only for bool results"):
        i.sub(i, alpha=True)
    with pytest.raises(TypeError, match="negation of a bool tensor is not supported"):
        -mt.tensor([True, False])
    assert mt.sub(i, 1, alpha=2).tolist() == [-1, 0]
    assert mt.add(mt.tensor([1.0, 2.0]), mt.tensor([1.0, 2.0]), alpha=0.5).tolist() == [1.5, 3.0]
    assert mt.tensor([True]).add(mt.tensor([False]), alpha=True).tolist() == [True]


def test_alpha_and_negation_errors_are_torchs_errors_too():
    torch = pytest.importorskip("torch")
    i = torch.tensor([1, 2])
    for call in (lambda: torch.add(i, i, alpha=0.5), lambda: i.sub(i, alpha=True),
                 lambda: -torch.tensor([True, False])):
        with pytest.raises(RuntimeError):
            call()
    np.testing.assert_array_equal(torch.sub(i, 1, alpha=2).numpy(), [-1, 0])
