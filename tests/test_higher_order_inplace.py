"""The general backward walk (mt.grad, create_graph=True, the debug hooks) against in-place
changes: the version checks of the plain backward apply there too, and a recorded backward
reads each op's inputs as they were when the op ran."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

from .conftest import device_tensor


def test_recorded_backward_reads_the_inputs_as_of_the_forward(device):
    # Exp's backward reads its output, so y may change afterwards; its recorded backward
    # exp(y) must use y's value before the recorded y.mul_(3), not after
    x = device_tensor([0.5, -1.0, 0.25], device)
    y = x * 1.0
    a = F.exp(y)
    y.mul_(3.0)
    loss = a.sum() + y.sum()
    g, = mt.grad(loss, x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), np.exp(x.numpy()) + 3.0, rtol=1e-13)
    h, = mt.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), np.exp(x.numpy()), rtol=1e-13)


def test_recorded_setitem_then_double_backward(device):
    # y[0] = ... is recorded (IndexPut); the op before it (exp, which saves only its output)
    # sees y's old value in its recorded backward, the ops after it the new one
    x = device_tensor([0.5, -1.0, 1.5], device)
    y = x * x              # y = x^2
    s = F.exp(y).sum()     # sum exp(x^2), recorded before the change
    y[0] = x[1] * 3.0      # y = [3 x1, x1^2, x2^2]
    loss = s + (y * y * y).sum()
    g, = mt.grad(loss, x, create_graph=True)
    x0, x1, x2 = xs = x.numpy()
    e = np.exp(xs ** 2)
    expect_g = 2 * xs * e + np.array([0.0, 81 * x1 ** 2 + 6 * x1 ** 5, 6 * x2 ** 5])
    np.testing.assert_allclose(g.numpy(), expect_g, rtol=1e-12)
    h, = mt.grad(g.sum(), x)
    expect_h = e * (2 + 4 * xs ** 2) + np.array([0.0, 162 * x1 + 30 * x1 ** 4, 30 * x2 ** 4])
    np.testing.assert_allclose(h.numpy(), expect_h, rtol=1e-12)


def test_the_version_check_applies_to_mt_grad_and_the_hooked_walk():
    x = mt.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    c = mt.tensor([3.0, 4.0], dtype="float64")
    y = (x * c).sum()      # MulBackward saved c
    c.add_(1.0)
    match = "modified by an inplace operation: the input 1 of MulBackward"
    with pytest.raises(RuntimeError, match=match):
        mt.grad(y, x, retain_graph=True)
    with pytest.raises(RuntimeError, match=match):
        y.backward(create_graph=True)
    with pytest.raises(RuntimeError, match=match):
        with mt.profile():
            y.backward(retain_graph=True)


def test_create_graph_refuses_an_input_changed_in_place_unrecorded():
    # Exp's plain backward needs only its output, so this is fine without create_graph;
    # the recorded backward would read x's new value and must refuse
    x = mt.tensor([0.5, 1.0], dtype="float64", requires_grad=True)
    y = F.exp(x).sum()
    with mt.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match="input 0 of ExpBackward0 .* create_graph=True"):
        mt.grad(y, x, create_graph=True)
    g, = mt.grad(y, x)
    np.testing.assert_allclose(g.numpy(), np.exp([0.5, 1.0]), rtol=1e-13)


def test_a_plain_backward_adds_to_a_recorded_grad_out_of_place():
    x = mt.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    before = g.numpy().copy()
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(g.numpy(), before)  # the recorded gradient is part of a graph: untouched
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2 + 2.0)
    assert x.grad.grad_fn is None
    x.grad = None
    g.sum().backward()  # and it still differentiates: d/dx sum(3 x^2) = 6 x
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


def test_leaves_never_share_a_gradient_buffer_after_create_graph():
    # sum's recorded backward of a constant seed is a constant, and add hands it to both leaves
    x = mt.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = mt.tensor([3.0, 4.0], dtype="float64", requires_grad=True)
    (x + y).sum().backward(create_graph=True)
    assert x.grad is not y.grad
    (x * 2.0).sum().backward()  # adds into x.grad in place
    assert x.grad.tolist() == [3.0, 3.0] and y.grad.tolist() == [1.0, 1.0]
