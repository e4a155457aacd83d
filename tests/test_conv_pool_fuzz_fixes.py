"""Regression tests for what a fuzz of convolution and pooling against torch 2.13 found: each
case is one that differed from torch (an error where torch has none, none where it has one,
or another value, index or gradient)."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F, nn
from minitf.errors import ArgumentError, ShapeError

from .test_functional_fixes import grad_of

INF, NAN = float("inf"), float("nan")


def test_max_pool_padding_is_limited_by_the_kernel_size_not_the_dilated_span():
    # torch: pad <= kernel_size / 2 whatever the dilation (the span 5 would allow pad 2)
    x = mt.ones(1, 1, 8)
    with pytest.raises(ArgumentError, match="at most half of kernel size"):
        F.max_pool1d(x, 3, padding=2, dilation=2)
    with pytest.raises(ArgumentError, match="at most half of kernel size"):
        F.max_pool2d(mt.ones(1, 1, 8, 8), 2, padding=(0, 2), dilation=3)
    assert F.max_pool1d(x, 3, 1, padding=1, dilation=2).shape == (1, 1, 6)


@pytest.mark.parametrize("call", [
    lambda: F.max_pool2d(mt.ones(2, 0, 4, 4), 2),
    lambda: F.max_pool2d(mt.ones(0, 4, 4), 2),          # unbatched: dim 0 is the channel
    lambda: F.max_pool1d(mt.ones(2, 3, 0), 1),
    lambda: F.avg_pool1d(mt.ones(3, 0, 4), 2),
    lambda: F.avg_pool2d(mt.ones(1, 2, 0, 4), 1),
    lambda: F.adaptive_max_pool1d(mt.ones(2, 0, 6), 2),
    lambda: F.adaptive_max_pool2d(mt.ones(3, 2, 0), 2),
    lambda: F.adaptive_avg_pool2d(mt.ones(1, 1, 0, 8), 2),
    lambda: F.adaptive_avg_pool1d(mt.ones(2, 1, 0), 4),
])
def test_pools_of_an_empty_non_batch_dim_raise(call):
    with pytest.raises(ShapeError, match="non-zero size"):
        call()


def test_pools_of_an_empty_batch_still_work():
    assert F.max_pool2d(mt.ones(0, 3, 4, 4), 2).shape == (0, 3, 2, 2)
    assert F.adaptive_avg_pool2d(mt.ones(2, 0, 4, 4), 2).shape == (2, 0, 2, 2)   # torch's: only H, W checked
    assert F.adaptive_max_pool2d(mt.ones(0, 4, 4), 2).shape == (0, 2, 2)         # torch's: dim 0 never checked


def test_adaptive_max_pool_to_an_empty_output(device):
    x = mt.tensor(np.random.default_rng(0).standard_normal((2, 3, 5)), device=device, requires_grad=True)
    y, idx = F.adaptive_max_pool1d(x, 0, return_indices=True)
    assert y.shape == idx.shape == (2, 3, 0)
    y.sum().backward()
    np.testing.assert_array_equal(grad_of(x), np.zeros((2, 3, 5)))
    assert F.adaptive_max_pool2d(mt.ones(2, 3, 4, device=device), (None, 0)).shape == (2, 3, 0)


def test_adaptive_avg_pool_keeps_an_inf_or_nan_in_its_own_windows(device):
    # an averaging matrix multiplied 0 * inf = NaN into every window of the row
    x = np.array([[[1.0, 2.0, 3.0, 4.0, INF]]])
    y = F.adaptive_avg_pool1d(mt.tensor(x, device=device), 3)      # windows [0, 2), [1, 4), [3, 5)
    np.testing.assert_array_equal(y.numpy(), [[[1.5, 3.0, INF]]])
    x2 = np.arange(24.0).reshape(1, 1, 4, 6)
    x2[0, 0, 0, 0] = NAN
    y2 = F.adaptive_avg_pool2d(mt.tensor(x2, device=device), (3, 4)).numpy()
    assert np.isnan(y2[0, 0, 0, 0]) and np.isnan(y2).sum() == 1


def test_adaptive_avg_pool_matches_torch_on_non_finite_input():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for shape, out in [((2, 3, 7, 5), (3, 4)), ((1, 2, 9, 6), 4), ((3, 8), 5), ((2, 2, 6, 6), (None, 4))]:
        x = rng.standard_normal(shape)
        x.reshape(-1)[rng.integers(0, x.size, 3)] = [INF, -INF, NAN]
        d = 1 if len(shape) == 2 or isinstance(out, int) and len(shape) == 3 else 2
        ours = getattr(F, f"adaptive_avg_pool{d}d")(mt.tensor(x, requires_grad=True), out)
        theirs = getattr(torch.nn.functional, f"adaptive_avg_pool{d}d")(torch.tensor(x), out)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


def test_max_pool_picks_the_last_nan_as_torch():
    torch = pytest.importorskip("torch")
    x = [[[NAN, 1.0, NAN, 3.0, NAN, 0.5]]]
    for ours, theirs in [(F.max_pool1d(mt.tensor(x), 3, return_indices=True),
                          torch.nn.functional.max_pool1d(torch.tensor(x), 3, return_indices=True)),
                         (F.adaptive_max_pool1d(mt.tensor(x), 2, return_indices=True),
                          torch.nn.functional.adaptive_max_pool1d(torch.tensor(x), 2, return_indices=True))]:
        assert ours[1].tolist() == theirs[1].tolist()
        assert ours[1].tolist() == [[[2, 4]]]    # NumPy's argmax would say 0, the first NaN


def test_max_pool_of_minus_inf_never_picks_the_padding(device):
    # all -inf in a padded window: torch picks the window's first input element (index and gradient)
    x = mt.tensor([[[-INF, -INF, -INF]]], device=device, requires_grad=True)
    y, idx = F.max_pool1d(x, 2, stride=1, padding=1, return_indices=True)
    assert idx.tolist() == [[[0, 0, 1, 2]]]
    y.sum().backward()
    np.testing.assert_array_equal(grad_of(x), [[[2.0, 1.0, 1.0]]])
    y2, idx2 = F.max_pool2d(mt.full((1, 1, 2, 2), -INF, device=device), 2, stride=1, padding=1, return_indices=True)
    assert idx2.tolist() == [[[[0, 0, 1], [0, 0, 1], [2, 2, 3]]]]


@pytest.mark.parametrize("op", [
    lambda x: F.batch_norm(x, None, None, training=True),
    lambda x: F.batch_norm(x, mt.zeros(3, dtype="float64"), mt.ones(3, dtype="float64"), training=False),
    lambda x: F.instance_norm(x),
    lambda x: F.group_norm(x, 3),
    lambda x: F.max_pool2d(x[0], 2),
    lambda x: F.avg_pool2d(x[0], 2),
    lambda x: F.adaptive_max_pool2d(x, 3),
    lambda x: F.conv2d(x[0], mt.ones(2, 3, 2, 2, dtype="float64")),
    lambda x: F.unfold(x[0], 2),
])
def test_results_of_conv_pool_and_norm_take_in_place_ops_as_torch(op):
    # they were reshape views of the op's intermediate, which minitf cannot change in place
    # (found porting a CNN tutorial: nn.ReLU(inplace=True) after nn.BatchNorm2d)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 4))
    cot = None
    grads = []
    for inplace in (False, True):
        xt = mt.tensor(x, requires_grad=True)
        y = op(xt)
        y = nn.ReLU(inplace=inplace)(y)
        cot = rng.standard_normal(y.shape) if cot is None else cot
        (y * mt.tensor(cot)).sum().backward()
        grads.append(grad_of(xt))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("call, match", [
    (lambda: F.conv1d(mt.ones(2, 3, 0), mt.ones(3, 3, 3), padding=2), "only zero batch or zero channel"),
    (lambda: F.conv2d(mt.ones(1, 6, 8, 0), mt.ones(6, 3, 4, 1), padding=(1, 2), groups=2), "only zero batch"),
    (lambda: F.conv_transpose1d(mt.ones(2, 4, 0), mt.ones(4, 1, 3), groups=2), "only zero batch"),
    (lambda: F.conv1d(mt.ones(2, 3, 5), mt.ones(0, 3, 2)), "at least 1 at dimension 0"),
    (lambda: F.conv_transpose1d(mt.ones(1, 0, 2), mt.ones(0, 1, 4), groups=2), "at least 2 at dimension 0"),
])
def test_conv_of_an_empty_spatial_dim_or_no_filters_raises_as_torch(call, match):
    with pytest.raises(ShapeError, match=match):
        call()


def test_conv_of_an_empty_batch_with_an_empty_spatial_dim_still_works():
    assert F.conv1d(mt.ones(0, 3, 0), mt.ones(2, 3, 1), padding=1).shape == (0, 2, 2)


def test_conv_transpose_of_an_empty_input_has_a_gradient(device):
    # the weight gradient's conv of the (narrower than the kernel) output found no window
    x = mt.tensor(np.ones((0, 6, 0)), device=device, requires_grad=True)
    w = mt.tensor(np.ones((6, 3, 4)), device=device, requires_grad=True)
    y = F.conv_transpose1d(x, w, None, 2, 0, 1, 2)
    assert y.shape == (0, 6, 3)
    y.sum().backward()
    assert grad_of(x).shape == (0, 6, 0)
    np.testing.assert_array_equal(grad_of(w), np.zeros((6, 3, 4)))
