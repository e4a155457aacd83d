"""Module conveniences from PyTorch: double()/float()/to(dtype) in place, zero_grad(set_to_none=),
load_state_dict type errors, nn.utils.clip_grad_norm_ and its max_norm checks."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn, optim

from ..conftest import randt


def grad_array(t):
    """A gradient as a host array, whether ``.grad`` is a backend array or a Tensor."""
    g = t.grad
    return g.numpy() if isinstance(g, mt.Tensor) else mt.backend.to_numpy(g)


def model_with_grads(device="cpu", dtype="float32"):
    mt.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).to(device=device, dtype=dtype)
    x = mt.tensor(np.random.default_rng(0).standard_normal((5, 3)), dtype=dtype, device=device)
    model(x).sum().backward()
    return model


def test_double_and_float_cast_in_place_keeping_the_parameters(device, restore_rng):
    model = model_with_grads(device)
    params = list(model.parameters())
    values = [p.numpy().astype(np.float64) for p in params]
    opt = optim.SGD(params, lr=0.1)                       # built before the cast
    assert model.double() is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    for p, v in zip(params, values):
        assert p.dtype == np.float64 and p.device == device
        assert grad_array(p).dtype == np.float64           # the gradient follows, as in PyTorch
        np.testing.assert_array_equal(p.numpy(), v)         # float32 -> float64 is exact
    model.zero_grad()
    x = randt(np.random.default_rng(1), 5, 3, device=device, requires_grad=False)
    model(x).sum().backward()
    expected = [p.numpy() - 0.1 * grad_array(p) for p in params]
    opt.step()                                             # the optimizer still updates the same objects
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.numpy(), e, rtol=1e-15)
    model.float()
    assert all(p.dtype == np.float32 for p in params)
    model.to("float64")                                    # a dtype in the first place, as PyTorch's to()
    assert all(p.dtype == np.float64 and p.device == device for p in params)
    model.to(device, "float32")
    assert all(p.dtype == np.float32 and p.device == device for p in params)
    with pytest.raises(TypeError, match="parameters must stay floating point"):
        model.to("int64")
    with pytest.raises(mt.DeviceError, match="unknown device 'tpu'"):
        model.to("tpu")


def test_zero_grad_set_to_none_or_zeros_in_place(device, restore_rng):
    model = model_with_grads(device)
    before = {id(p): p.grad for p in model.parameters()}
    assert all(np.abs(grad_array(p)).max() > 0 for p in model.parameters())
    model.zero_grad(set_to_none=False)
    for p in model.parameters():
        assert p.grad is before[id(p)]                     # the same gradient object, now zeros
        np.testing.assert_array_equal(grad_array(p), 0)
    model[0].bias.grad = None
    model.zero_grad(set_to_none=False)                     # a missing gradient stays missing
    assert model[0].bias.grad is None
    model.zero_grad()                                      # the default, as in PyTorch 2.x
    assert all(p.grad is None for p in model.parameters())


def test_load_state_dict_needs_a_mapping():
    layer = nn.Linear(2, 1)
    for bad in (None, [1, 2], "weights"):
        with pytest.raises(TypeError, match="expected a mapping of parameter names to tensors .*got "
                                            + type(bad).__name__):
            layer.load_state_dict(bad)


def test_nn_utils_clip_grad_norm_is_optims_and_checks_max_norm():
    assert nn.utils.clip_grad_norm_ is optim.clip_grad_norm_
    p = mt.tensor([3.0, 4.0], dtype="float64", requires_grad=True)
    (p * mt.tensor([3.0, 4.0], dtype="float64")).sum().backward()     # grad (3, 4), norm 5
    for bad in (-1.0, float("nan"), -float("inf"), "1", None):
        with pytest.raises(ValueError, match="max_norm must be a number >= 0"):
            nn.utils.clip_grad_norm_([p], bad)
        np.testing.assert_array_equal(grad_array(p), [3.0, 4.0])       # untouched, never reversed
    assert nn.utils.clip_grad_norm_([p], float("inf")) == pytest.approx(5.0)   # measures, as PyTorch
    np.testing.assert_array_equal(grad_array(p), [3.0, 4.0])
    assert nn.utils.clip_grad_norm_([p], 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(grad_array(p), [0.6, 0.8], rtol=1e-6)
    assert nn.utils.clip_grad_norm_([p], 0) == pytest.approx(1.0, rel=1e-5)   # 0 is allowed, as in PyTorch
    np.testing.assert_array_equal(grad_array(p), [0.0, 0.0])
