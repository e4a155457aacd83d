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
