"""The Tensor's PyTorch-named surface: .grad as a Tensor, size()/numel()/dim(), dtypes, creation."""
import numpy as np
import pytest

import minitf as mt
from minitf import backend


def test_grad_is_a_tensor_like_its_leaf(device):
    w = mt.tensor([[1.0, -2.0], [0.5, 3.0]], dtype="float64", device=device, requires_grad=True)
    (w * w).sum().backward()
    g = w.grad
    assert isinstance(g, mt.Tensor) and not g.requires_grad and g.is_leaf
    assert g.shape == w.shape and g.dtype == w.dtype and g.device == w.device
    np.testing.assert_array_equal(backend.to_numpy(g.data), 2 * backend.to_numpy(w.data))
    (w * w).sum().backward()  # accumulates into the same Tensor
    assert w.grad is g
    np.testing.assert_array_equal(backend.to_numpy(g.data), 4 * backend.to_numpy(w.data))


def test_grad_assignment_follows_pytorch():
    w = mt.tensor([1.0, 2.0], requires_grad=True)
    w.grad = mt.tensor([0.5, 0.5])
    assert w.grad.tolist() == [0.5, 0.5]
    with pytest.raises(TypeError, match="Tensor or None but got grad of type ndarray"):
        w.grad = np.zeros(2, dtype=np.float32)
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*shape \(2,\)"):
        w.grad = mt.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="dtype float64"):
        w.grad = mt.tensor([1.0, 2.0], dtype="float64")
    w.grad = None
    assert w.grad is None


def test_cpu_tensor_converts_to_numpy_implicitly_and_device_one_refuses():
    assert np.allclose(mt.tensor([1.0, 2.0]), [1.0, 2.0])
    with pytest.raises(TypeError):
        np.asarray(mt.tensor([1.0], device="fake"))
