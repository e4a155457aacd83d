"""torch's warnings and refusals at the tensor level: the .grad of a non-leaf, a negative slice step."""
import warnings

import numpy as np
import pytest

import minitf as mt


def test_grad_of_a_non_leaf_warns_as_torch():
    a = mt.ones(2, requires_grad=True)
    y = a * 2
    with pytest.warns(UserWarning, match="The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"):
        assert y.grad is None


def test_no_warning_for_leaves_retained_grads_and_minitfs_own_reads():
    a = mt.ones(2, requires_grad=True)
    y = a * 2
    z = a * 3
    z.retain_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert a.grad is None and z.grad is None and mt.ones(2).grad is None
        (y.sum() + z.sum()).backward()
        assert a.grad.tolist() == [5.0, 5.0] and z.grad.tolist() == [1.0, 1.0]
        mt.to_dot(y.sum(), show_grad=True)  # reads every node's gradient
        x = mt.tensor([0.5, 1.5], dtype=mt.float64, requires_grad=True)
        assert mt.gradcheck(lambda t: (t * 2).exp(), [x])


def test_torch_warns_the_same():
    torch = pytest.importorskip("torch")
    y = torch.ones(2, requires_grad=True) * 2
    with pytest.warns(UserWarning, match="The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"):
        assert y.grad is None


@pytest.mark.parametrize("index", [slice(None, None, -1), (0, slice(None, None, -2)), slice(3, 0, -1)])
def test_a_negative_or_zero_step_refuses_as_torch(index, device):
    x = mt.arange(12.0, device=device).reshape(3, 4)
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[index]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[index] = 0.0
    assert x.flip(0).tolist() == np.arange(12.0).reshape(3, 4)[::-1].tolist()  # the way to reverse
    assert x[::2].tolist() == [[0, 1, 2, 3], [8, 9, 10, 11]]


def test_torch_refuses_a_negative_step():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="step must be greater than zero"):
        torch.arange(3)[::-1]


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, torch_dim", [((), 0), ((4,), 0), ((2, 3), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1)])
def test_softmax_without_dim_warns_and_takes_torchs_dim(fn, shape, torch_dim):
    x = mt.tensor(np.random.default_rng(0).standard_normal(shape))
    f = getattr(mt.functional, fn)
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {fn} has been deprecated"):
        out = f(x)
    np.testing.assert_allclose(out.numpy(), f(x, dim=torch_dim).numpy(), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f(x, dim=-1), f(x, -1), getattr(x, fn)()  # a dim given (the method's default, -1): silent


@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 3, 4), (2, 3, 4, 5)])
def test_implicit_softmax_dim_is_torchs(shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal(shape)
    with pytest.warns(UserWarning):
        theirs = torch.nn.functional.softmax(torch.tensor(x)).numpy()
    with pytest.warns(UserWarning):
        ours = mt.functional.softmax(mt.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
