"""minitf.gradcheck itself: it must catch wrong backwards (including ones a plain-sum
check would miss), say exactly where, and refuse what it cannot check reliably."""
import re

import numpy as np
import pytest

import minitf as mt
from minitf import backend
from minitf import functional as F
from minitf.tensor import Function

from .conftest import device_tensor


def _softmax_rows(x):
    xp = backend.get_array_module(x)
    e = xp.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class SoftmaxBackwardIdentity(Function):
    """Softmax whose backward forgets the Jacobian: returns g unchanged."""

    def forward(self, x):
        return _softmax_rows(x)

    def backward(self, g):
        return (g,)


class SoftmaxBackwardMean(Function):
    """Softmax whose backward subtracts the plain row mean of g instead of sum(g * y):
    y (g - mean(g)). Right whenever g is constant along the row -- as it is for .sum()."""

    def forward(self, x):
        self.y = _softmax_rows(x)
        return self.y

    def backward(self, g):
        return (self.y * (g - g.mean(axis=-1, keepdims=True)),)


class MulWrongAtOneElement(Function):
    """a * b whose gradient for b is off by 0.5 at b[1, 2] only."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        gb = g * self.a
        gb[1, 2] += 0.5
        return g * self.b, gb


def _numeric_gradient_of_sum(f, x, eps=1e-6):
    """What a DeZero-style check does: central differences of f(x).sum(), element by element."""
    host = x.numpy().copy()
    out = np.zeros_like(host)
    for i in np.ndindex(*host.shape):
        for sign in (1, -1):
            moved = host.copy()
            moved[i] += sign * eps
            val = f(mt.tensor(moved, dtype="float64", device=x.device)).sum().item()
            out[i] += sign * val / (2 * eps)
    return out


def test_plain_sum_check_is_fooled_but_gradcheck_is_not(device):
    rng = np.random.default_rng(0)
    x = device_tensor(rng.standard_normal((3, 5)), device)
    broken = SoftmaxBackwardMean.apply
    # the plain-sum check: softmax rows sum to 1, so d sum / dx = 0, and the broken
    # backward also returns y (1 - mean(1)) = 0: the check passes a wrong backward
    broken(x).sum().backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad.data), 0.0, atol=1e-15)
    np.testing.assert_allclose(_numeric_gradient_of_sum(broken, x), 0.0, atol=1e-8)
    # a random cotangent u makes sum(u * y) depend on x: the error shows
    with pytest.raises(mt.GradcheckError, match="input 0"):
        mt.gradcheck(broken, [x])
    assert mt.gradcheck(lambda t: F.softmax(t, dim=-1), [x])  # and the real softmax passes the same check


def test_gradcheck_catches_a_backward_that_returns_g_unchanged(device):
    x = device_tensor(np.random.default_rng(1).standard_normal((2, 4)), device)
    with pytest.raises(mt.GradcheckError):
        mt.gradcheck(SoftmaxBackwardIdentity.apply, [x])


def test_failure_message_names_input_index_values_and_error(device):
    rng = np.random.default_rng(2)
    a = device_tensor(rng.standard_normal((3, 4)), device)
    b = device_tensor(rng.standard_normal((3, 4)), device)
    with pytest.raises(mt.GradcheckError) as err:
        mt.gradcheck(MulWrongAtOneElement.apply, [a, b], atol=1e-8, rtol=1e-6)
    msg = str(err.value)
    assert "input 1" in msg and "(shape (3, 4))" in msg
    assert re.search(r"at index \(1, 2\)", msg), msg
    assert "1 of 12 checks failed" in msg
    analytic = float(re.search(r"analytic (\S+),", msg).group(1))
    numeric = float(re.search(r"numeric (\S+),", msg).group(1))
    rel = float(re.search(r"relative error (\S+) ", msg).group(1))
    assert abs((analytic - numeric) - 0.5) < 1e-6  # exactly the error we planted
    assert rel == pytest.approx(0.5 / max(abs(numeric), 1e-8 / 1e-6), rel=1e-2)  # printed to 3 digits


def test_random_direction_mode_catches_a_wrong_backward(device):
    # 20 x 20 = 400 elements > max_elements: checked along random unit directions
    x = device_tensor(np.random.default_rng(3).standard_normal((20, 20)), device)
    with pytest.raises(mt.GradcheckError, match=r"input 0.*random direction \d \(input has 400 elements\)"):
        mt.gradcheck(SoftmaxBackwardMean.apply, [x], max_elements=256, num_directions=3)
    assert mt.gradcheck(lambda t: F.softmax(t, dim=-1), [x], max_elements=256, num_directions=3)
    assert mt.max_relative_error(SoftmaxBackwardMean.apply, [x]) > 1e-2


def test_max_relative_error_is_small_for_right_and_large_for_wrong(device):
    x = device_tensor(np.random.default_rng(4).standard_normal((3, 4)), device)
    assert mt.max_relative_error(lambda t: F.softmax(t, dim=-1), [x]) < 1e-6
    assert mt.max_relative_error(SoftmaxBackwardIdentity.apply, [x]) > 1e-1


def test_float32_inputs_are_refused(device):
    x = mt.tensor(np.ones((2, 2)), dtype="float32", device=device, requires_grad=True)
    with pytest.raises(TypeError, match="input 0 is float32.*float64"):
        mt.gradcheck(F.tanh, [x])


def test_nothing_to_check_is_an_error(device):
    x = mt.tensor(np.ones(3), dtype="float64", device=device)
    with pytest.raises(ValueError, match="no input requires grad"):
        mt.gradcheck(F.tanh, [x])
    y = device_tensor(np.ones(3), device)
    with pytest.raises(mt.GradcheckError, match="does not depend"):
        mt.gradcheck(lambda y: x * 2.0, [y])


def test_gradcheck_checks_every_output_and_leaves_inputs_intact(device):
    rng = np.random.default_rng(5)
    a = device_tensor(rng.standard_normal((2, 3)), device)
    before = a.numpy().copy()
    # a function of two outputs, only the second of which is wrong
    with pytest.raises(mt.GradcheckError):
        mt.gradcheck(lambda a: (F.softmax(a, dim=-1), SoftmaxBackwardMean.apply(a)), [a])
    assert mt.gradcheck(lambda a: (F.softmax(a, dim=-1), F.tanh(a)), [a])
    np.testing.assert_array_equal(a.numpy(), before)
    assert mt.is_grad_enabled()


def test_gradcheck_of_an_identity_and_of_0d_inputs(device):
    # regressions: a function returning its input (backward on a leaf) and 0-d inputs
    x = device_tensor(np.array(0.3), device)
    y = device_tensor(np.array(-1.2), device)
    assert mt.gradcheck(lambda x: F.dropout(x, 0.5, training=False), [x])
    assert mt.gradcheck(lambda x, y: F.stack([x * y, F.where(mt.tensor(True, device=device), x, y)]), [x, y])


def test_gradcheck_leaves_grads_as_they_were_and_takes_a_bare_tensor():
    x = mt.tensor([0.3, -1.2], dtype="float64", requires_grad=True)
    w = mt.tensor([2.0, 0.5], dtype="float64", requires_grad=True)
    (x * w).sum().backward()
    before_x, before_w = x.grad, x.grad.tolist()
    assert mt.gradcheck(lambda x: (x * w).tanh(), x)  # a bare tensor, w held fixed
    assert mt.gradcheck(lambda x, w: x * w, [x, w])
    assert x.grad is before_x and x.grad.tolist() == before_w and w.grad.tolist() == [0.3, -1.2]
    y = mt.tensor([1.0], dtype="float64", requires_grad=True)
    mt.gradcheck(lambda y: y * 3, y)
    assert y.grad is None


def test_a_large_output_does_not_swamp_a_small_slope(device):
    # The outputs are subtracted before they meet the cotangent: contracting first put the
    # rounding of u0 * 1e8 (about 1e-8 / 2 eps = 7e-3) onto the slope 2e-3 of element 1.
    x = device_tensor(np.array([1e4, 1e-3]), device)
    assert mt.gradcheck(lambda x: x * x, [x])
    assert mt.max_relative_error(lambda x: x * x, [x]) < 1e-6
