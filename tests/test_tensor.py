"""The engine: graph recording, topological order, accumulation, freeing, errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F


def test_reused_intermediate_is_not_double_counted():
    a = mt.tensor(2.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward(retain_graph=True)
    assert a.grad == 4.0
    c.backward()
    assert a.grad == 8.0  # exactly twice, never more


def test_second_backward_through_freed_graph_raises():
    a = mt.tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_long_chain_backward_has_no_recursion_limit():
    x = mt.tensor([0.5], dtype="float64", requires_grad=True)
    h = x
    for _ in range(10_000):
        h = F.tanh(h * 0.9999 + 0.01)
    h.sum().backward()
    # reference: the same chain rule by hand
    v, d = 0.5, 1.0
    for _ in range(10_000):
        v = np.tanh(v * 0.9999 + 0.01)
        d *= (1 - v * v) * 0.9999
    assert np.isclose(x.grad[0], d, rtol=1e-10)


def test_intermediate_grads_are_dropped_unless_retained():
    a = mt.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    c = b * b
    b.retain_grad()
    (c.sum()).backward()
    assert np.allclose(b.grad, 2 * b.data)
    with pytest.warns(UserWarning, match="not a leaf Tensor"):  # torch's warning: never filled
        assert c.grad is None


def test_no_grad_records_nothing():
    a = mt.tensor([1.0], requires_grad=True)
    with mt.no_grad():
        b = a * 2
    assert not b.requires_grad and b.is_leaf
    assert mt.is_grad_enabled()


def test_integer_and_bool_tensors_cannot_require_grad():
    message = "only Tensors of floating point dtype can require gradients"  # torch's words
    with pytest.raises(TypeError, match=f"{message}, got dtype int64"):
        mt.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match=f"{message}, got dtype bool"):
        mt.tensor([True], requires_grad=True)
    x = mt.tensor([1, 2])
    with pytest.raises(TypeError, match=f"{message}, got dtype int64"):
        x.requires_grad_()
    with pytest.raises(TypeError, match=f"{message}, got dtype int64"):
        x.requires_grad = True  # the attribute too, not only requires_grad_() (it was accepted)
    assert x.requires_grad is False
    x.requires_grad = False  # always allowed
    f = mt.tensor([1.0])
    f.requires_grad = True
    assert f.requires_grad is True and f.is_leaf
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="only Tensors of floating point (and complex )?dtype can require gradients"):
        torch.tensor([1, 2]).requires_grad = True   # torch's setter adds "and complex"; requires_grad_() does not


def test_backward_on_non_scalar_needs_grad():
    y = mt.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="scalar output"):
        y.backward()
    y.backward(mt.tensor([1.0, 1.0]))


def test_backward_grad_of_wrong_shape_is_named():
    y = mt.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(ValueError, match=r"\(3,\)"):
        y.backward(np.ones(3, dtype=np.float32))


def test_shape_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add.*\(2,\).*\(3,\)"):
        mt.tensor([1.0, 2.0]) + mt.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(2, 3\)"):
        mt.ones(2, 3) @ mt.ones(2, 3)


def test_unknown_device_and_dtype_are_named():
    with pytest.raises(mt.DeviceError, match="tpu"):
        mt.tensor([1.0], device="tpu")
    with pytest.raises(TypeError, match="float128"):
        mt.tensor([1.0], dtype="float128")


def test_mixing_devices_names_both():
    with pytest.raises(mt.DeviceError, match="fake.*cpu|cpu.*fake"):
        mt.tensor([1.0], device="fake") + mt.tensor([1.0])


def test_gpu_without_cupy_or_gpu_gives_one_clear_error():
    if mt.gpu_available():
        pytest.skip("a GPU is available here")
    with pytest.raises(mt.DeviceError, match=r"CuPy|GPU") as e:
        mt.tensor([1.0], device="gpu")
    assert "pip install" in str(e.value) or "no usable GPU" in str(e.value)


def test_default_dtypes():
    assert mt.tensor([1.0, 2.0]).dtype == np.float32
    assert mt.tensor([1, 2]).dtype == np.int64
    assert mt.tensor(np.ones(2)).dtype == np.float64  # NumPy arrays keep theirs
    assert mt.tensor([1.0], dtype="float64").dtype == np.float64


def test_to_moves_between_devices_and_keeps_gradients_flowing():
    a = mt.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    b = a.to("fake")
    assert b.device == "fake"
    (b * b).sum().backward()
    assert a.grad is not None and np.allclose(a.grad, [2.0, 4.0])
    assert b.to("cpu").device == "cpu"


def test_comparisons_are_not_differentiable():
    a = mt.tensor([1.0, -1.0], requires_grad=True)
    m = a > 0
    assert m.dtype == np.bool_ and not m.requires_grad
    assert m.tolist() == [True, False]


def test_item_numpy_detach():
    a = mt.tensor([[3.0]], requires_grad=True)
    assert a.item() == 3.0
    assert isinstance(a.numpy(), np.ndarray)
    assert not (a * 2).detach().requires_grad


def test_ndarray_on_left_uses_tensor_ops():
    a = mt.tensor([1.0, 2.0], requires_grad=True)
    out = np.ones(2, dtype=np.float32) + a
    assert isinstance(out, mt.Tensor)


def test_one_element_tensors_convert_to_python_scalars():
    assert bool(mt.tensor(3.0) > 2) is True
    assert float(mt.tensor([[2.5]])) == 2.5
    assert int(mt.tensor([7])) == 7
    with pytest.raises(TypeError, match=r"one-element.*\(2,\)"):
        bool(mt.tensor([1.0, 2.0]))


def test_softmax_axis_errors_name_the_op_and_dim_alias_works():
    x = mt.tensor([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"softmax: axis 5.*\(1, 2\)"):
        F.softmax(x, axis=5)
    with pytest.raises(ValueError, match=r"log_softmax: axis 5"):
        F.log_softmax(x, axis=5)
    assert np.allclose(x.softmax(dim=-1).numpy(), F.softmax(x, axis=-1).numpy())


def test_gradcheck_refuses_a_non_tensor_output():
    x = mt.tensor([1.0], dtype="float64", requires_grad=True)
    with pytest.raises(TypeError, match="output 0 is a float"):
        mt.gradcheck(lambda x: 3.0, [x])
