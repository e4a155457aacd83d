"""The 3-d pools (max_pool3d, avg_pool3d, adaptive_avg_pool3d, adaptive_max_pool3d; the same code as
the 1-d and 2-d ones) and torch's *_with_indices names: values, indices and gradients against torch
over edge-case grids (ties, NaN, ceil_mode at the border, stride > kernel, the kernel as large as
the input), float64 finite differences, errors (the fake device: test_ops_pooling.py)."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.errors import ArgumentError, DtypeError, ShapeError

from .test_functional_fixes import grad_of
from .torch_compare import compare_with_torch

rng = np.random.default_rng(13)
SHAPE = (2, 2, 4, 5, 3)

MAX3D_GRID = [
    dict(kernel_size=2),
    dict(kernel_size=(3, 2, 2), stride=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),                 # a last window past the border
    dict(kernel_size=(2, 3, 1), stride=(1, 2, 3), padding=(1, 1, 0), dilation=(2, 1, 1)),   # stride > kernel
    dict(kernel_size=2, stride=3, ceil_mode=True),
    dict(kernel_size=(1, 2, 2), dilation=(1, 2, 1), ceil_mode=True),
    dict(kernel_size=(4, 5, 3)),                                              # the kernel as large as the input
]
AVG3D_GRID = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3, 2), stride=(1, 2, 1), padding=(1, 1, 0), divisor_override=5),
    dict(kernel_size=(1, 2, 1), stride=(3, 1, 2), ceil_mode=True),           # stride > kernel
    dict(kernel_size=(4, 5, 3)),
]


def _distinct(shape):
    """Values with no ties inside any window (a permutation), so finite differences see no kink."""
    return rng.permutation(np.prod(shape)).reshape(shape) / 7.0


@pytest.mark.parametrize("kwargs", MAX3D_GRID)
def test_max_pool3d_matches_torch_with_indices_and_gradchecks(kwargs):
    torch = pytest.importorskip("torch")
    x = _distinct(SHAPE)
    compare_with_torch(lambda x: F.max_pool3d(x, **kwargs), lambda x: torch.nn.functional.max_pool3d(x, **kwargs), [x])
    ours = F.max_pool3d(mt.tensor(x), return_indices=True, **kwargs)[1]
    theirs = torch.nn.functional.max_pool3d(torch.tensor(x), return_indices=True, **kwargs)[1]
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert mt.gradcheck(lambda x: F.max_pool3d(x, **kwargs), [mt.tensor(x[:1], requires_grad=True)])


def test_max_pool3d_ties_nan_and_layouts_match_torch():
    torch = pytest.importorskip("torch")
    x = rng.integers(0, 3, SHAPE).astype(np.float64)   # many ties: the first maximum, row-major over (kD, kH, kW)
    x[0, 0, 1, 2, 1] = x[1, 1, 0, 0, 0] = x[1, 1, 0, 0, 1] = np.nan   # a window with NaN: its last NaN
    cases = [(lambda x: x, dict(kernel_size=2, stride=1, padding=1)),
             (lambda x: x[0], dict(kernel_size=(2, 3, 2), stride=(2, 1, 1))),                # unbatched
             (lambda x: x.transpose(2, 4)[:, :, ::2], dict(kernel_size=2, ceil_mode=True)),  # non-contiguous
             (lambda x: x[:0], dict(kernel_size=2))]                                         # an empty batch
    for view, kwargs in cases:
        t, tt = mt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        (y, i), (yt, it) = F.max_pool3d(view(t), return_indices=True, **kwargs), \
            torch.nn.functional.max_pool3d(view(tt), return_indices=True, **kwargs)
        np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
        np.testing.assert_array_equal(i.numpy(), it.numpy())
        g = rng.standard_normal(y.shape)
        y.backward(mt.tensor(g))
        yt.backward(torch.tensor(g))
        # the same elements receive gradient; overlapping windows add in another order than torch's
        np.testing.assert_allclose(grad_of(t), tt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_max_pool3d_gradgradcheck():
    x = mt.tensor(_distinct((1, 2, 3, 4, 3)), requires_grad=True)
    assert mt.gradgradcheck(lambda x: F.max_pool3d(x, 2, stride=1, padding=1, dilation=(1, 2, 1)), [x])


@pytest.mark.parametrize("kwargs", AVG3D_GRID)
def test_avg_pool3d_matches_torch_and_gradchecks(kwargs):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(SHAPE)
    compare_with_torch(lambda x: F.avg_pool3d(x, **kwargs), lambda x: torch.nn.functional.avg_pool3d(x, **kwargs), [x])
    compare_with_torch(lambda x: F.avg_pool3d(x[0, ..., ::2], **kwargs),   # unbatched, non-contiguous
                       lambda x: torch.nn.functional.avg_pool3d(x[0, ..., ::2], **kwargs), [x.repeat(2, axis=-1)])
    assert mt.gradcheck(lambda x: F.avg_pool3d(x, **kwargs), [mt.tensor(x[:1], requires_grad=True)])


def test_avg_pool3d_gradgradcheck():
    x = mt.tensor(rng.standard_normal((1, 2, 3, 4, 3)), requires_grad=True)
    assert mt.gradgradcheck(lambda x: F.avg_pool3d(x, 2, 1, 1, ceil_mode=True, count_include_pad=False), [x])


@pytest.mark.parametrize("shape, size", [(SHAPE, (3, 2, 2)), (SHAPE, 1), (SHAPE, (None, 3, None)),
                                         ((2, 4, 5, 3), (5, 7, 2)),   # unbatched, sizes larger than the input
                                         (SHAPE, (4, 5, 3)), ((0, 2, 3, 3, 3), 2)])
def test_adaptive_pools_3d_match_torch_with_indices(shape, size):
    torch = pytest.importorskip("torch")
    compare_with_torch(lambda x: F.adaptive_avg_pool3d(x, size),
                       lambda x: torch.nn.functional.adaptive_avg_pool3d(x, size), [rng.standard_normal(shape)])
    x = rng.integers(0, 3, shape).astype(np.float64)     # many ties: the first maximum of each window
    compare_with_torch(lambda x: F.adaptive_max_pool3d(x, size),
                       lambda x: torch.nn.functional.adaptive_max_pool3d(x, size), [x])
    idx = F.adaptive_max_pool3d(mt.tensor(x), size, return_indices=True)[1]
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx.numpy(),
                                  torch.nn.functional.adaptive_max_pool3d(torch.tensor(x), size, True)[1].numpy())


def test_adaptive_pools_3d_gradcheck_and_gradgradcheck():
    x = mt.tensor(_distinct((1, 2, 3, 5, 4)), requires_grad=True)
    for fn in (lambda x: F.adaptive_avg_pool3d(x, (2, 3, 3)), lambda x: F.adaptive_max_pool3d(x, (2, 3, 3))):
        assert mt.gradcheck(fn, [x])
        assert mt.gradgradcheck(fn, [x])


@pytest.mark.parametrize("name, d, arg", [("max_pool1d_with_indices", 1, (2,)), ("max_pool2d_with_indices", 2, (2,)),
                                          ("max_pool3d_with_indices", 3, (2,)),
                                          ("adaptive_max_pool1d_with_indices", 1, (3,)),
                                          ("adaptive_max_pool2d_with_indices", 2, ((3, 2),)),
                                          ("adaptive_max_pool3d_with_indices", 3, ((3, 2, 1),))])
def test_with_indices_names_return_output_and_indices_as_torchs(name, d, arg):
    torch = pytest.importorskip("torch")
    x = rng.integers(0, 3, (2, 2) + (5,) * d).astype(np.float64)
    for flag in (False, True):   # torch's return both whatever return_indices says
        (y, i), (yt, it) = getattr(F, name)(mt.tensor(x), *arg, return_indices=flag), \
            getattr(torch.nn.functional, name)(torch.tensor(x), *arg, return_indices=flag)
        np.testing.assert_array_equal(y.numpy(), yt.numpy())
        np.testing.assert_array_equal(i.numpy(), it.numpy())
    t = mt.tensor(x, requires_grad=True)
    getattr(F, name)(t, *arg)[0].sum().backward()
    tt = torch.tensor(x, requires_grad=True)
    getattr(torch.nn.functional, name)(tt, *arg)[0].sum().backward()
    np.testing.assert_array_equal(grad_of(t), tt.grad.numpy())


def test_torch_top_level_names():
    torch = pytest.importorskip("torch")
    x = _distinct(SHAPE)
    for name, args in (("max_pool3d", (2, 1, 1, 1, True)), ("max_pool1d_with_indices", ())):
        assert hasattr(torch, name) and getattr(mt, name) is getattr(F, name)
    np.testing.assert_array_equal(mt.max_pool3d(mt.tensor(x), 2, 1, 1, 1, True).numpy(),
                                  torch.max_pool3d(torch.tensor(x), 2, 1, 1, 1, True).numpy())
    y, i = mt.max_pool1d_with_indices(mt.tensor(x[0, 0, 0]), 2, 1)
    yt, it = torch.max_pool1d_with_indices(torch.tensor(x[0, 0, 0]), 2, 1)
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
    np.testing.assert_array_equal(i.numpy(), it.numpy())


# the 3-d pools on the fake device: in test_ops_pooling.py's device test, with the 1-d and 2-d ones


@pytest.mark.parametrize("call, cls, match", [
    (lambda: F.max_pool3d(mt.ones(1, 1, 5, 5, 5), 3, padding=(0, 2, 0)), ArgumentError, "at most half of kernel size"),
    (lambda: F.avg_pool3d(mt.ones(1, 1, 5, 5, 5), 3, padding=2), ArgumentError, "at most half of kernel size"),
    (lambda: F.max_pool3d(mt.ones(1, 1, 1, 3, 3), 2), ShapeError, "too small"),
    (lambda: F.max_pool3d(mt.ones(5, 5, 5), 2), ShapeError, "4D \\(unbatched\\) or 5D"),
    (lambda: F.avg_pool3d(mt.ones(1, 1, 5, 5, 5), (2, 2)), ArgumentError, "kernel_size"),
    (lambda: F.max_pool3d(mt.ones(1, 1, 5, 5, 5), 2, stride=(1, 0, 1)), ArgumentError, "stride"),
    (lambda: F.avg_pool3d(mt.ones(1, 1, 5, 5, 5), 2, divisor_override=0), ArgumentError, "divisor"),
    (lambda: F.avg_pool3d(mt.tensor(np.ones((1, 1, 4, 4, 4), dtype=np.int64)), 2), DtypeError, "int64"),
    (lambda: F.max_pool3d(mt.ones(1, 0, 4, 4, 4), 2), ShapeError, "non-zero sizes"),
    (lambda: F.adaptive_avg_pool3d(mt.ones(2, 3, 3), 2), ShapeError, "4D or 5D"),
    (lambda: F.adaptive_avg_pool3d(mt.ones(1, 2, 3, 3), (1, 2)), ArgumentError, "tuple of 3"),
    (lambda: F.adaptive_max_pool3d(mt.ones(1, 2, 3, 3), (1, -1, 2)), ArgumentError, ">= 0"),
    (lambda: F.adaptive_max_pool3d(mt.ones(1, 2, 0, 3, 3), 2), ShapeError, "non-zero size"),
])
def test_bad_arguments_raise(call, cls, match):
    with pytest.raises(cls, match=match):
        call()
