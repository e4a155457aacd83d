"""Regressions from the adversarial review of round 1's shape ops, activations and F.interpolate
against torch 2.13: each test failed before its fix."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

from .conftest import ATOL, RTOL


def _t(torch, a, grad=False):
    t = torch.tensor(a)
    return t.requires_grad_(True) if grad else t


def test_take_of_a_0d_index_is_a_copy_as_torchs(device):
    torch = pytest.importorskip("torch")
    x = mt.tensor(np.arange(6.0).reshape(2, 3), device=device)
    y = mt.take(x, mt.tensor(4, device=device))
    assert y.shape == () and float(y) == float(torch.take(torch.arange(6.0).reshape(2, 3), torch.tensor(4)))
    y.add_(1)                                    # was a view: x[1, 1] changed too
    assert x.numpy()[1, 1] == 4.0


def test_take_along_dim_wraps_negative_indices_along_dim_as_torch():
    torch = pytest.importorskip("torch")
    a = np.arange(12.0).reshape(3, 4)
    idx = np.array([[-1, 0, -4], [2, -2, 3], [-3, 1, 0]])
    got = mt.take_along_dim(mt.tensor(a), mt.tensor(idx), 1).numpy()
    np.testing.assert_array_equal(got, torch.take_along_dim(torch.tensor(a), torch.tensor(idx), 1).numpy())
    b = np.array([[-1], [0], [-2]])              # broadcast over dim 1
    np.testing.assert_array_equal(mt.take_along_dim(mt.tensor(a), mt.tensor(b), 0).numpy(),
                                  torch.take_along_dim(torch.tensor(a), torch.tensor(b), 0).numpy())
    with pytest.raises(IndexError):              # without dim, torch's gather refuses a negative index
        mt.take_along_dim(mt.tensor(a), mt.tensor(np.array([-1])))


def test_combinations_of_r0_records_no_graph_as_torchs():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    out = mt.combinations(x, 0)
    assert out.shape == (0,) and not out.requires_grad and out.grad_fn is None
    assert mt.combinations(x, 1).requires_grad


@pytest.mark.parametrize("dts", [("int32", "int64"), ("float32", "float64"), ("int32", "float64"), ("bool", "int64")])
def test_block_diag_dtype_counts_a_0d_block_as_torchs_result_type(dts):
    torch = pytest.importorskip("torch")
    a, b = np.ones((2, 2)).astype(dts[0]), np.array(3).astype(dts[1])   # b is 0-d
    ours = mt.block_diag(mt.tensor(a), mt.tensor(b))
    theirs = torch.block_diag(torch.tensor(a), torch.tensor(b))
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_unfold_of_a_0d_tensor_with_size_0_is_empty_as_torchs():
    x = mt.tensor(5.0)
    assert x.unfold(0, 0, 2).shape == (0,)
    assert x.unfold(0, 1, 2).shape == (1,)


def test_in_place_ops_on_an_empty_tensor_with_a_zero_stride_work():
    x = mt.zeros((0, 1, 4)) * 1                  # NumPy gives this empty array a stride 0
    assert 0 in x.data.strides
    assert x.add_(1).shape == (0, 1, 4)
    assert F.hardtanh(x, inplace=True) is x


def test_mish_in_place_is_differentiable_as_the_out_of_place_one():
    a = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    x1 = mt.tensor(a, requires_grad=True)
    x2 = mt.tensor(a, requires_grad=True)
    F.mish(x1 * 1, inplace=True).sum().backward()   # was a version error at backward
    F.mish(x2).sum().backward()
    np.testing.assert_allclose(x1.grad.numpy(), x2.grad.numpy(), rtol=1e-15)


def test_threshold_of_an_integer_tensor_casts_the_threshold_as_torch():
    torch = pytest.importorskip("torch")
    a = np.array([-2, -1, 0, 1, 2])
    for th, v in [(-0.5, 3.0), (1.7, -2.5), (-1.2, 9.9)]:
        ours = F.threshold(mt.tensor(a), th, v).numpy()
        np.testing.assert_array_equal(ours, torch.nn.functional.threshold(torch.tensor(a), th, v).numpy())


def test_tanhshrink_of_integers_gives_floats_as_torchs():
    torch = pytest.importorskip("torch")
    for dt in ("int64", "int32"):
        a = np.array([-3, 0, 2]).astype(dt)
        ours, theirs = F.tanhshrink(mt.tensor(a)), torch.nn.functional.tanhshrink(torch.tensor(a))
        assert ours.dtype == mt.float32
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    with pytest.raises(TypeError):
        F.tanhshrink(mt.tensor([True]))


def test_prelu_gradient_with_a_nan_slope_and_its_dtype_error_as_torchs():
    torch = pytest.importorskip("torch")
    a, w = np.array([[0.0, 2.0], [4.0, -3.0]]), np.array([-0.0, np.nan])
    x, wt = mt.tensor(a, requires_grad=True), mt.tensor(w, requires_grad=True)
    xt, wtt = _t(torch, a, True), _t(torch, w, True)
    F.prelu(x, wt).sum().backward()
    torch.nn.functional.prelu(xt, wtt).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())      # was NaN where x > 0
    np.testing.assert_array_equal(wt.grad.numpy(), wtt.grad.numpy())
    with pytest.raises(TypeError, match="Type promoting not supported"):
        F.prelu(mt.tensor(a, dtype="float32"), mt.tensor([0.25], dtype="float64"))


def test_softmin_negates_before_the_dtype_cast_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="bool"):
        F.softmin(mt.tensor([True, False]), dim=0, dtype=mt.float64)
    a = np.array([[3, -4, 0]])
    np.testing.assert_allclose(F.softmin(mt.tensor(a), dim=1, dtype=mt.float64).numpy(),
                               torch.nn.functional.softmin(torch.tensor(a), dim=1, dtype=torch.float64).numpy(),
                               rtol=1e-15)


def _interp_both(torch, a, **kw):
    x, xt = mt.tensor(a, requires_grad=True), _t(torch, a, True)
    y, yt = F.interpolate(x, **kw), torch.nn.functional.interpolate(xt, **kw)
    c = np.random.default_rng(1).standard_normal(yt.shape)
    (y * mt.tensor(c)).sum().backward()
    (yt * torch.tensor(c)).sum().backward()
    return y.numpy(), yt.detach().numpy(), x.grad.numpy(), xt.grad.numpy()


# torch's CPU kernels copy a spatial dim whose size a scale_factor leaves unchanged
# (3 * 1.3 -> 3): the linear modes, and nearest in 2-D
@pytest.mark.parametrize("mode,spatial", [("linear", (3,)), ("bilinear", (4, 3)), ("bilinear", (3, 3)),
                                          ("trilinear", (3, 4, 3)), ("nearest", (4, 3)), ("nearest", (3, 5)),
                                          ("nearest", (3,)), ("nearest-exact", (3, 4)), ("bicubic", (3, 4))])
def test_interpolate_dim_of_unchanged_size_as_torch(mode, spatial):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((2, 2) + spatial)
    y, yt, g, gt = _interp_both(torch, a, scale_factor=1.3, mode=mode, recompute_scale_factor=False)
    np.testing.assert_allclose(y, yt, rtol=1e-12, atol=1e-12)
    if mode in ("linear", "bilinear", "trilinear") or mode == "nearest" and len(spatial) == 2:
        np.testing.assert_allclose(g, gt, rtol=1e-12, atol=1e-12)
    # (elsewhere torch's backward copies the dim while its forward does not: its gradient is not
    # that of its output; ours is, see docs/api.md)


@pytest.mark.parametrize("spatial,kw", [((7,), {"size": 3}), ((3,), {"size": 8}), ((5, 4), {"size": (2, 7)}),
                                        ((5, 4), {"scale_factor": 1.7}), ((4, 5, 6), {"size": (3, 5, 2)}),
                                        ((6, 5), {"scale_factor": (0.5, 0.4)})])
def test_interpolate_area_as_torchs_adaptive_average_pooling(spatial, kw):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((2, 3) + spatial)
    a.flat[5], a.flat[-3] = np.nan, np.inf          # only their windows become NaN / inf, as torch's
    y, yt, g, gt = _interp_both(torch, a, mode="area", **kw)
    np.testing.assert_allclose(y, yt, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, gt, rtol=1e-12, atol=1e-12)
    assert F.interpolate(mt.tensor(a), size=(0,) * len(spatial), mode="area").shape == (2, 3) + (0,) * len(spatial)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(mt.tensor(a), size=2, mode="area", align_corners=False)


def test_interpolate_area_gradcheck_on_every_device(device):
    host = np.random.default_rng(2).standard_normal((1, 2, 5, 4))
    x = mt.tensor(host, dtype="float64", device=device, requires_grad=True)
    y = F.interpolate(x, size=(3, 6), mode="area")
    assert y.device == device and y.shape == (1, 2, 3, 6)
    assert mt.gradcheck(lambda t: F.interpolate(t, size=(3, 6), mode="area"), [x], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(lambda t: F.interpolate(t, size=(2, 3), mode="area") ** 2, [x], rtol=RTOL, atol=ATOL)


def test_interpolate_to_the_same_size_gives_a_new_tensor():
    x = mt.tensor(np.ones((1, 1, 3)), requires_grad=True)
    for kw in ({"size": 3, "mode": "linear"}, {"scale_factor": 1.3, "mode": "linear"}):
        y = F.interpolate(x, **kw)
        assert y is not x and y.grad_fn.name() == "UpsampleLinear1DBackward0"


@pytest.mark.parametrize("expr", ["Softplus(2, 10)", "ELU(2)", "LeakyReLU(1)", "Softplus(beta=0.5)", "ELU(alpha=0.5)"])
def test_activation_modules_keep_int_arguments_in_their_repr_as_torchs(expr):
    torch = pytest.importorskip("torch")
    ours, theirs = eval("mt.nn." + expr), eval("torch.nn." + expr)
    assert repr(ours) == repr(theirs)
    a = np.linspace(-3, 30, 12)
    np.testing.assert_allclose(ours(mt.tensor(a)).numpy(), theirs(torch.tensor(a)).numpy(), rtol=1e-12)
