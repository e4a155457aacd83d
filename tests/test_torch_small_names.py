"""torch's small names that a PyTorch user reaches for: the constants, default_generator, GradScaler,
the native_* tuples, empty_permuted and nn.grad, each checked against torch 2.13."""
import math

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf import nn
from minitf.backend import to_numpy

from .conftest import ATOL, RTOL, device_tensor


def test_constants_are_torchs():
    torch = pytest.importorskip("torch")
    assert (mt.pi, mt.e, mt.inf) == (torch.pi, torch.e, torch.inf) == (math.pi, math.e, math.inf)
    assert math.isnan(mt.nan) and math.isnan(torch.nan)
    assert mt.newaxis is None is torch.newaxis
    assert mt.zeros(2, 3)[:, mt.newaxis].shape == (2, 1, 3)


def test_default_generator_is_the_cpu_default():
    g = mt.default_generator
    assert isinstance(g, mt.Generator) and g.device == "cpu"
    mt.manual_seed(5)
    a = mt.rand(4)
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    np.testing.assert_array_equal(mt.rand(4).numpy(), a.numpy())    # the same stream as manual_seed(5)
    state = g.get_state()
    b = mt.rand(3, generator=g)
    g.set_state(state)
    np.testing.assert_array_equal(mt.rand(3).numpy(), b.numpy())    # its state is the default's
    mt.manual_seed(11)
    assert g.initial_seed() == 11 == mt.initial_seed()              # follows a later manual_seed
    np.testing.assert_array_equal(mt.get_rng_state().numpy(), g.get_state().numpy())


def test_grad_scaler_is_amps():
    torch = pytest.importorskip("torch")
    assert torch.GradScaler is torch.amp.GradScaler
    assert mt.GradScaler is mt.amp.GradScaler


def test_native_layer_norm(device):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    w = np.random.default_rng(1).standard_normal(4)
    xs, ws = device_tensor(x, device), device_tensor(w, device)
    out, mean, rstd = mt.native_layer_norm(xs, (4,), ws, None, 1e-5)
    t = torch.native_layer_norm(torch.tensor(x, requires_grad=True), [4], torch.tensor(w, requires_grad=True), None, 1e-5)
    for a, b in zip((out, mean, rstd), t):
        assert a.shape == tuple(b.shape) and a.requires_grad == b.requires_grad
        np.testing.assert_allclose(to_numpy(a.data), b.detach().numpy(), rtol=1e-12, atol=1e-12)
    ref = F.layer_norm(xs, (4,), ws, None, 1e-5)
    np.testing.assert_array_equal(to_numpy(out.data), to_numpy(ref.data))
    assert mt.gradcheck(lambda x, w: mt.native_layer_norm(x, (4,), w, None, 1e-5)[0], [xs, ws], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("training", [True, False])
def test_native_batch_norm(training):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((4, 3, 5))
    rm, rv = np.zeros(3), np.ones(3)
    mrm, mrv, trm, trv = mt.tensor(rm), mt.tensor(rv), torch.tensor(rm), torch.tensor(rv)
    got = mt.native_batch_norm(mt.tensor(x, requires_grad=True), None, None, mrm, mrv, training, 0.1, 1e-5)
    want = torch.native_batch_norm(torch.tensor(x, requires_grad=True), None, None, trm, trv, training, 0.1, 1e-5)
    for a, b in zip(got, want):
        assert a.shape == tuple(b.shape) and a.requires_grad == b.requires_grad
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mrm.numpy(), trm.numpy(), rtol=1e-12)   # running statistics updated alike
    np.testing.assert_allclose(mrv.numpy(), trv.numpy(), rtol=1e-12)


def test_native_group_norm(device):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((2, 4, 3, 2))
    xs = device_tensor(x, device)
    got = mt.native_group_norm(xs, None, None, 2, 4, 6, 2, 1e-5)
    want = torch.native_group_norm(torch.tensor(x), None, None, 2, 4, 6, 2, 1e-5)
    for a, b in zip(got, want):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(to_numpy(a.data), b.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert mt.gradcheck(lambda x: mt.native_group_norm(x, None, None, 2, 4, 6, 2, 1e-5)[2], [xs],
                        rtol=RTOL, atol=ATOL)   # rstd is differentiable, as torch's
    with pytest.raises(ValueError, match="spatial"):
        mt.native_group_norm(xs, None, None, 2, 4, 5, 2, 1e-5)


def test_native_dropout(device):
    x = device_tensor(np.random.default_rng(4).standard_normal((50, 40)), device)
    mt.manual_seed(0)
    out, mask = mt.native_dropout(x, 0.3, True)
    mt.manual_seed(0)
    ref = F.dropout(x, 0.3)
    np.testing.assert_array_equal(to_numpy(out.data), to_numpy(ref.data))   # the draws of F.dropout
    m = to_numpy(mask.data)
    assert mask.dtype == mt.bool and not mask.requires_grad and out.requires_grad
    np.testing.assert_allclose(to_numpy(out.data), np.where(m, to_numpy(x.data) / 0.7, 0.0), rtol=1e-12)
    assert abs(m.mean() - 0.7) < 0.05
    out, mask = mt.native_dropout(x, 0.3, False)
    assert to_numpy(mask.data).all() and out is not x
    np.testing.assert_array_equal(to_numpy(out.data), to_numpy(x.data))
    out, mask = mt.native_dropout(x, 1.0, None)   # train=None trains, as torch's
    assert not to_numpy(mask.data).any() and not to_numpy(out.data).any()


@pytest.mark.parametrize("size, layout", [((2, 3, 4), (2, 0, 1)), ((2, 3, 4, 5), (0, 2, 3, 1)), ((3, 0, 2), (1, 2, 0))])
def test_empty_permuted_strides_are_torchs(size, layout):
    torch = pytest.importorskip("torch")
    t = mt.empty_permuted(size, layout, dtype=mt.float64, requires_grad=True)
    want = torch.empty_permuted(size, layout)
    assert t.shape == size and t.stride() == want.stride() and t.requires_grad and t.dtype == mt.float64
    with pytest.raises(ValueError, match="permutation"):
        mt.empty_permuted(size, layout[:-1])


@pytest.mark.parametrize("dim, kw", [(1, dict(stride=2, padding=1)), (2, dict(stride=(2, 1), dilation=2, groups=2)),
                                     (3, dict(padding=1))])
def test_nn_grad_matches_torch(dim, kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(dim)
    x = rng.standard_normal((2, 4) + (7,) * dim)
    w = rng.standard_normal((6, 4 // kw.get("groups", 1)) + (3,) * dim)
    conv = getattr(torch.nn.functional, f"conv{dim}d")
    g = rng.standard_normal(conv(torch.tensor(x), torch.tensor(w), **kw).shape)
    name = f"conv{dim}d"
    got = getattr(nn.grad, name + "_input")(x.shape, mt.tensor(w), mt.tensor(g), **kw)
    want = getattr(torch.nn.grad, name + "_input")(x.shape, torch.tensor(w), torch.tensor(g), **kw)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    got = getattr(nn.grad, name + "_weight")(mt.tensor(x), w.shape, mt.tensor(g), **kw)
    want = getattr(torch.nn.grad, name + "_weight")(torch.tensor(x), w.shape, torch.tensor(g), **kw)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


def test_nn_grad_is_differentiable_and_checks_shapes():
    rng = np.random.default_rng(9)
    w = mt.tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)
    g = mt.tensor(rng.standard_normal((1, 3, 4)), requires_grad=True)
    assert mt.gradcheck(lambda w, g: nn.grad.conv1d_input((1, 2, 6), w, g), [w, g], rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="grad_output has shape"):
        nn.grad.conv1d_input((1, 2, 7), w, g)
