"""torch's remaining everyday top-level names: the *_copy views of slice/as_strided/view_as_real/complex, the
in-place dropouts, set_warn_always, the inter-op thread count and set_flush_denormal."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import backend

from .conftest import device_tensor


@pytest.mark.parametrize("args", [(), (1,), (1, 1), (0, 1, 3), (1, -3, None, 2), (-1, None, -1), (0, 5, 9)])
def test_slice_copy_as_torch(args):
    torch = pytest.importorskip("torch")
    a = np.arange(24.0).reshape(4, 6)
    x = mt.tensor(a, requires_grad=True)
    y = mt.slice_copy(x, *args)
    expected = torch.slice_copy(torch.tensor(a), *args)
    assert y.tolist() == expected.tolist()
    y.sum().backward()                         # differentiable, and memory of its own
    assert x.grad.sum().item() == y.numel()
    assert not np.shares_memory(y.numpy(), x.detach().numpy())


def test_copies_gradcheck_on_every_device(device):
    rng = np.random.default_rng(1)
    x = device_tensor(rng.standard_normal((4, 6)), device)
    for fn in (lambda t: mt.slice_copy(t, 1, 1, None, 2), lambda t: mt.slice_copy(t, -2, -3),
               lambda t: mt.as_strided_copy(t, (3, 2), (2, 3), 1)):
        assert fn(x).device == x.device
        assert mt.gradcheck(fn, [x])          # float64, random cotangents
    z = mt.view_as_real_copy(mt.tensor(np.array([1 + 2j, 3 - 1j]), device=device))
    assert z.device == x.device and backend.to_numpy(z.data).tolist() == [[1.0, 2.0], [3.0, -1.0]]


def test_slice_copy_refuses_a_dim_out_of_range():
    with pytest.raises(IndexError, match=r"slice_copy: axis 2 is out of range \[-2, 1\]"):
        mt.slice_copy(mt.ones(2, 3), 2)


def test_other_copies_as_torch():
    torch = pytest.importorskip("torch")
    a = np.arange(12.0)
    y = mt.as_strided_copy(mt.tensor(a), (3, 2), (2, 3), 1)
    assert y.tolist() == torch.as_strided_copy(torch.tensor(a), (3, 2), (2, 3), 1).tolist()
    z = mt.tensor(np.array([1 + 2j, 3 - 1j]))
    r = mt.view_as_real_copy(z)
    assert r.tolist() == torch.view_as_real_copy(torch.tensor(np.array([1 + 2j, 3 - 1j]))).tolist()
    back = mt.view_as_complex_copy(r)
    assert back.tolist() == [1 + 2j, 3 - 1j]
    assert not np.shares_memory(r.numpy(), z.numpy())


@pytest.mark.parametrize("name, shape", [("alpha_dropout_", (50, 40)), ("feature_alpha_dropout_", (50, 40, 3)),
                                         ("feature_dropout_", (50, 40, 3))])
def test_in_place_dropouts(name, shape):
    x = mt.randn(*shape, dtype=mt.float64)
    before = x.numpy().copy()
    out = getattr(mt, name)(x, 0.5, False)            # train=False: the input, unchanged
    assert out is x and np.array_equal(x.numpy(), before)
    mt.manual_seed(3)
    expected = getattr(mt, name.rstrip("_"))(mt.tensor(before), 0.5, True)   # the out-of-place form's draw
    mt.manual_seed(3)
    out = getattr(mt, name)(x, 0.5, True)
    assert out is x and np.allclose(x.numpy(), expected.numpy()) and not np.allclose(x.numpy(), before)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        getattr(mt, name)(x, 1.5, True)


def test_in_place_dropouts_on_every_device(device):
    x = mt.tensor(np.ones((8, 6, 2)), device=device)
    for name in ("alpha_dropout_", "feature_alpha_dropout_", "feature_dropout_"):
        assert getattr(mt, name)(x, 0.5, True) is x and x.device == mt.ones(1, device=device).device


def test_set_warn_always_repeats_the_once_warnings():
    from minitf import tensor_conversions
    x = mt.ones((), requires_grad=True)
    saved = tensor_conversions._scalar_warning_given[0]
    try:
        assert mt.is_warn_always_enabled() is False
        mt.set_warn_always(True)
        assert mt.is_warn_always_enabled() is True
        for _ in range(2):                              # each float() warns, as torch's TORCH_WARN_ONCE then
            with pytest.warns(UserWarning, match="requires_grad=True to a scalar"):
                float(x)
        mt.set_warn_always(False)
        float_warned = []
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            float(x)                                    # once more (the last one given with warn_always off)
            float(x)
            float_warned = [str(i.message) for i in w]
        assert len(float_warned) == 1
        with pytest.raises(TypeError, match="set_warn_always: expected a bool"):
            mt.set_warn_always(1)
    finally:
        mt.set_warn_always(False)
        tensor_conversions._scalar_warning_given[0] = saved


def test_interop_threads_and_flush_denormal():
    assert mt.get_num_interop_threads() >= 1
    try:
        mt.set_num_interop_threads(3)
        assert mt.get_num_interop_threads() == 3
        with pytest.raises(RuntimeError, match="positive number of threads"):
            mt.set_num_interop_threads(0)
    finally:
        from minitf import settings
        settings._interop_threads[0] = None
    assert mt.set_flush_denormal(True) is False     # NumPy gives no control of flush-to-zero
    tiny = mt.tensor([1e-310], dtype=mt.float64)    # a denormal stays exact
    assert tiny.item() == 1e-310 and (tiny * 1.0).item() == 1e-310
