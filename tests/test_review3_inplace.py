"""Round-4 review of the in-place machinery (minitf/ops/inplace.py): an in-place op recorded as
several ops passes its own version check, x's own value among its arguments is its old value
(x.add_(x)), and an in-place change of a view of a view keeps the gradient path. Against torch
and closed forms, on every device."""
import numpy as np
import pytest

import minitf as mt
from minitf.ops.inplace_methods import from_op

A = np.array([[1.5, 2.5, 3.0, 0.4], [0.3, 0.7, 1.1, 1.9]])
W = A * 2 + 1   # the cotangent weights


def _grad(lib, change, device=None):
    kw = {"device": device} if device else {}
    w = lib.tensor(A, requires_grad=True, **kw)
    x = w * 1.0
    change(x)
    (x * lib.tensor(W, **kw)).sum().backward()
    return np.asarray(w.grad.detach().cpu().numpy() if lib is not mt else w.grad.numpy())


def test_composed_inplace_op_passes_its_own_version_check(device):
    # sin(a * a): the Mul saved a (x's old value) and the Sin came after it; only the last op's
    # epoch was moved past the change, so the Mul took its own input for a changed one
    sq_sin_ = from_op("sq_sin_", lambda a: mt.sin(a * a))
    g = _grad(mt, sq_sin_, device)
    np.testing.assert_allclose(g, W * 2 * A * np.cos(A * A), rtol=1e-12)


def test_composed_inplace_op_still_catches_an_earlier_reader(device):
    w = mt.tensor(A, requires_grad=True, device=device)
    x = w * 1.0
    y = x * x                       # saved x's array, overwritten next
    from_op("sq_sin_", lambda a: mt.sin(a * a))(x)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (y.sum() + x.sum()).backward()


@pytest.mark.parametrize("change, grad", [
    (lambda x: x.add_(x), lambda a: 2 * np.ones_like(a)),            # torch gives 2 too
    (lambda x: x.sub_(x, alpha=3), lambda a: -2 * np.ones_like(a)),
    (lambda x: x.mul_(x), lambda a: 2 * a),                           # torch refuses these four;
    (lambda x: x.div_(x), lambda a: np.zeros_like(a)),                # minitf reads the old value
    (lambda x: x.atan2_(x), lambda a: np.zeros_like(a)),              # (see docs/api.md)
    (lambda x: x.hypot_(x), lambda a: np.sqrt(2) * np.ones_like(a)),
])
def test_x_itself_as_the_argument_is_its_old_value(device, change, grad):
    # x._fn was the op itself with x among its inputs: a cycle (x.add_(x) gave 1, x.mul_(x) a^2)
    np.testing.assert_allclose(_grad(mt, change, device), W * grad(A), rtol=1e-12)


def test_add_self_as_torch():
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(_grad(mt, lambda x: x.add_(x)), _grad(torch, lambda x: x.add_(x)), rtol=1e-12)


@pytest.mark.parametrize("change", [
    lambda x: x[1][1:3].exp_(),                                 # gave a zero gradient there
    lambda x: x[1][1:3].mul_(3).sin_(),
    lambda x: x[:, 1:][0].add_(x[1, :3]),
    lambda x: x[0][::2][1:].sigmoid_(),
])
def test_view_of_a_view_changed_in_place_as_torch(change):
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(_grad(mt, change), _grad(torch, change), rtol=1e-12)


def test_view_of_a_view_on_every_device(device):
    g = _grad(mt, lambda x: x[1][1:3].exp_(), device)
    expect = W.copy()
    expect[1, 1:3] *= np.exp(A[1, 1:3])
    np.testing.assert_allclose(g, expect, rtol=1e-12)
