"""Pooling (minitf/ops/pooling.py): values, indices and gradients against torch over
kernel/stride/padding/dilation/ceil_mode grids, max-pool ties (the gradient to the first
maximum, as torch's CPU kernel), finite differences in float64, the fake device, errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.errors import ArgumentError, DtypeError, ShapeError

from .test_functional_fixes import grad_of
from .torch_compare import compare_with_torch

rng = np.random.default_rng(11)

MAX2D_GRID = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), dilation=(2, 1)),
    dict(kernel_size=2, stride=3, ceil_mode=True),
    dict(kernel_size=(1, 2), dilation=(1, 3), ceil_mode=True),
]
EMPTY_BATCH = [(F.max_pool2d, "max_pool2d", dict(kernel_size=2)), (F.avg_pool2d, "avg_pool2d", dict(kernel_size=3, padding=1)),
               (F.max_pool1d, "max_pool1d", dict(kernel_size=2)), (F.avg_pool1d, "avg_pool1d", dict(kernel_size=2))]
AVG2D_GRID = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), divisor_override=5),
    dict(kernel_size=2, stride=3, ceil_mode=True),
]


def _distinct(shape):
    """Values with no ties inside any window (a permutation), so finite differences see no kink."""
    return rng.permutation(np.prod(shape)).reshape(shape) / 7.0


@pytest.mark.parametrize("kwargs", MAX2D_GRID)
def test_max_pool2d_matches_torch_with_indices(kwargs):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 7, 6))
    compare_with_torch(lambda x: F.max_pool2d(x, **kwargs), lambda x: torch.nn.functional.max_pool2d(x, **kwargs), [x])
    ours = F.max_pool2d(mt.tensor(x), return_indices=True, **kwargs)[1]
    theirs = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)[1]
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("kwargs", MAX2D_GRID[:5])
def test_max_pool2d_gradcheck_and_gradgradcheck(kwargs):
    x = mt.tensor(_distinct((2, 2, 6, 5)), requires_grad=True)
    assert mt.gradcheck(lambda x: F.max_pool2d(x, **kwargs), [x])
    assert mt.gradgradcheck(lambda x: F.max_pool2d(x, **kwargs), [x])


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                    dict(kernel_size=2, dilation=2, padding=1), dict(kernel_size=4, stride=1)])
def test_max_pool1d_matches_torch_and_gradchecks(kwargs):
    torch = pytest.importorskip("torch")
    x = _distinct((2, 3, 9))
    compare_with_torch(lambda x: F.max_pool1d(x, **kwargs), lambda x: torch.nn.functional.max_pool1d(x, **kwargs), [x])
    np.testing.assert_array_equal(F.max_pool1d(mt.tensor(x), return_indices=True, **kwargs)[1].numpy(),
                                  torch.nn.functional.max_pool1d(torch.tensor(x), return_indices=True, **kwargs)[1])
    compare_with_torch(lambda x: F.max_pool1d(x[0], **kwargs), lambda x: torch.nn.functional.max_pool1d(x[0], **kwargs),
                       [x])   # unbatched (C, L)
    assert mt.gradcheck(lambda x: F.max_pool1d(x, **kwargs), [mt.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("ours, name, kwargs", EMPTY_BATCH)
def test_pools_of_an_empty_batch_match_torch(ours, name, kwargs):
    torch = pytest.importorskip("torch")
    shape = (0, 2, 5, 5) if name.endswith("2d") else (0, 2, 5)
    compare_with_torch(lambda x: ours(x, **kwargs), lambda x: getattr(torch.nn.functional, name)(x, **kwargs),
                       [np.zeros(shape)])


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    x = mt.tensor([[[1.0, 3.0, 3.0, 2.0, 3.0]]], requires_grad=True)
    y, idx = F.max_pool1d(x, 3, stride=1, return_indices=True)
    y.sum().backward()
    assert idx.tolist() == [[[1, 1, 2]]]           # windows [1 3 3], [3 3 2], [3 2 3]: the first 3 of each
    assert grad_of(x).tolist() == [[[0.0, 2.0, 1.0, 0.0, 0.0]]]
    x2 = mt.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    F.max_pool2d(x2, 2, stride=1).sum().backward()  # all equal: the top-left of each window, row-major
    assert grad_of(x2)[0, 0].tolist() == [[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]]


def test_max_pool_gradient_goes_to_the_last_nan_of_a_window():
    """A window holding NaN has NaN for its max (as torch) and its gradient on the window's last NaN
    (torch's CPU kernel: its values as torch 2.13 gives them), in 1-D and 2-D; and a window of -inf
    inputs beside -inf padding picks an input element, never the padding (torch's indices)."""
    x = mt.tensor([[[np.nan, 1.0, np.nan, 5.0, np.nan, np.nan]]], requires_grad=True)
    y, idx = F.max_pool1d(x, 3, stride=3, return_indices=True)
    y.sum().backward()
    assert np.isnan(y.numpy()).all() and idx.tolist() == [[[2, 5]]]
    assert grad_of(x).tolist() == [[[0.0, 0.0, 1.0, 0.0, 0.0, 1.0]]]
    x = mt.tensor([[[[np.nan, 1.0], [np.nan, 5.0]]]], requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    y.sum().backward()
    assert idx.tolist() == [[[[2]]]] and grad_of(x).tolist() == [[[[0.0, 0.0], [1.0, 0.0]]]]
    x = mt.full((1, 1, 2, 2), -np.inf)
    _, idx = F.max_pool2d(x, 2, stride=1, padding=1, return_indices=True)
    assert idx.tolist() == [[[[0, 0, 1], [0, 0, 1], [2, 2, 3]]]]


def test_max_pool_output_may_change_in_place_but_not_its_input():
    """As torch: backward reads the pool's input (for the argmax) but not its output, so a ReLU in
    place after the pool is fine, and a change of the input in place is caught."""
    x = mt.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    y = F.max_pool2d(x * 1, 2)
    expected = (y.numpy() > 0).astype(float)
    F.relu(y, inplace=True).sum().backward()
    up = np.kron(expected, np.ones((2, 2)))
    assert grad_of(x).sum() == expected.sum() and (grad_of(x) <= up).all()
    z = x * 1
    y = F.max_pool2d(z, 2)
    z.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_max_pool_ties_match_torch():
    torch = pytest.importorskip("torch")
    x = rng.integers(0, 3, (2, 2, 6, 6)).astype(np.float64)   # many ties
    for kwargs in (dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=(2, 3), stride=(2, 1), dilation=(2, 1))):
        compare_with_torch(lambda x: F.max_pool2d(x, **kwargs), lambda x: torch.nn.functional.max_pool2d(x, **kwargs),
                           [x])
        np.testing.assert_array_equal(F.max_pool2d(mt.tensor(x), return_indices=True, **kwargs)[1].numpy(),
                                      torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True,
                                                                     **kwargs)[1].numpy())


@pytest.mark.parametrize("kwargs", AVG2D_GRID)
def test_avg_pool2d_matches_torch_and_gradchecks(kwargs):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 7, 6))
    compare_with_torch(lambda x: F.avg_pool2d(x, **kwargs), lambda x: torch.nn.functional.avg_pool2d(x, **kwargs), [x])
    t = mt.tensor(x[:1, :2], requires_grad=True)
    assert mt.gradcheck(lambda x: F.avg_pool2d(x, **kwargs), [t])


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                                    dict(kernel_size=2), dict(kernel_size=4, stride=1, padding=2)])
def test_avg_pool1d_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 9))
    compare_with_torch(lambda x: F.avg_pool1d(x, **kwargs), lambda x: torch.nn.functional.avg_pool1d(x, **kwargs), [x])
    compare_with_torch(lambda x: F.avg_pool1d(x[0], **kwargs), lambda x: torch.nn.functional.avg_pool1d(x[0], **kwargs),
                       [x])


def test_avg_pool_gradgradcheck():
    x = mt.tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    assert mt.gradgradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [x])


@pytest.mark.parametrize("shape, size", [((2, 3, 7, 6), (3, 4)), ((2, 3, 7, 6), 1), ((2, 3, 5, 4), (None, 3)),
                                         ((3, 5, 4), (7, 2)),   # unbatched, a size larger than the input
                                         ((2, 3, 6, 6), 6), ((0, 2, 4, 4), 3)])
def test_adaptive_avg_pool2d_matches_torch(shape, size):
    torch = pytest.importorskip("torch")
    compare_with_torch(lambda x: F.adaptive_avg_pool2d(x, size),
                       lambda x: torch.nn.functional.adaptive_avg_pool2d(x, size), [rng.standard_normal(shape)])


@pytest.mark.parametrize("shape, size", [((2, 3, 10), 4), ((3, 10), 3), ((2, 1, 3), 5)])
def test_adaptive_avg_pool1d_matches_torch(shape, size):
    torch = pytest.importorskip("torch")
    compare_with_torch(lambda x: F.adaptive_avg_pool1d(x, size),
                       lambda x: torch.nn.functional.adaptive_avg_pool1d(x, size), [rng.standard_normal(shape)])


def test_adaptive_avg_pool_gradgradcheck():
    x = mt.tensor(rng.standard_normal((1, 2, 5, 7)), requires_grad=True)
    assert mt.gradgradcheck(lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [x])


@pytest.mark.parametrize("d, shape, size", [(2, (2, 3, 7, 6), (3, 4)), (2, (3, 5, 4), (7, None)), (2, (2, 2, 6, 6), 1),
                                            (1, (2, 3, 10), 4), (1, (1, 1, 5), 3), (1, (2, 1, 3), 5), (1, (3, 8), 3),
                                            (2, (0, 2, 4, 4), 2)])   # an empty batch
def test_adaptive_max_pool_matches_torch_with_ties_and_indices(d, shape, size):
    torch = pytest.importorskip("torch")
    x = rng.integers(0, 3, shape).astype(np.float64)     # many ties: the first maximum of each window
    ours, theirs = ((F.adaptive_max_pool1d, torch.nn.functional.adaptive_max_pool1d) if d == 1
                    else (F.adaptive_max_pool2d, torch.nn.functional.adaptive_max_pool2d))
    compare_with_torch(lambda x: ours(x, size), lambda x: theirs(x, size), [x])
    idx = ours(mt.tensor(x), size, return_indices=True)[1]
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx.numpy(), theirs(torch.tensor(x), size, return_indices=True)[1].numpy())


def test_adaptive_max_pool_gradcheck_and_gradgradcheck():
    x = mt.tensor(_distinct((1, 3, 5, 7)), requires_grad=True)
    assert mt.gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 4)), [x])
    assert mt.gradgradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 4)), [x])
    x1 = mt.tensor(_distinct((2, 2, 7)), requires_grad=True)
    assert mt.gradcheck(lambda x: F.adaptive_max_pool1d(x, 3), [x1])


def test_pools_on_the_device_match_cpu(device):
    x = _distinct((2, 3, 6, 5))
    calls = [lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
             lambda x: F.adaptive_avg_pool2d(x, (4, 2)), lambda x: F.max_pool1d(x[:, 0], 2),
             lambda x: F.avg_pool1d(x[:, 0], 2, padding=1), lambda x: F.adaptive_avg_pool1d(x[:, 0], 3),
             lambda x: F.adaptive_max_pool2d(x, (4, 2)), lambda x: F.adaptive_max_pool1d(x[:, 0], 3),
             # 3-d convolution and pooling: (N, C, D, H, W) = (2, 1, 3, 6, 5)
             lambda x: F.max_pool3d(x[:, None], 3, 2, 1, ceil_mode=True),
             lambda x: F.avg_pool3d(x[:, None], 2, 1, 1, ceil_mode=True, count_include_pad=False),
             lambda x: F.adaptive_avg_pool3d(x[:, None], (2, 4, 2)), lambda x: F.adaptive_max_pool3d(x[:, None], (2, 4, 2)),
             lambda x: F.max_pool3d_with_indices(x[:, None], 2)[0]]
    for call in calls:
        results = []
        for dev in ("cpu", device):
            t = mt.tensor(x, device=dev, requires_grad=True)
            y = call(t)
            (y * y).sum().backward()
            assert y.device == t.grad.device == mt.device(dev)
            results.append((mt.backend.to_numpy(y.data), grad_of(t)))
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    for idx in (F.max_pool2d(mt.tensor(x, device=device), 2, return_indices=True)[1],
                F.max_pool3d(mt.tensor(x[:, None], device=device), 2, return_indices=True)[1],
                F.adaptive_max_pool3d_with_indices(mt.tensor(x[:, None], device=device), 2)[1]):
        assert idx.device == mt.device(device) and idx.dtype == np.int64


def test_max_pool_of_integers_keeps_the_dtype():
    x = mt.tensor(np.arange(12).reshape(1, 3, 4))
    y = F.max_pool2d(x, 2, padding=1)
    assert y.dtype == np.int64 and y.tolist() == [[[0, 2, 3], [8, 10, 11]]]


@pytest.mark.parametrize("call, cls, match", [
    (lambda: F.max_pool2d(mt.ones(1, 1, 5, 5), 3, padding=2), ArgumentError, "at most half of kernel size"),
    (lambda: F.avg_pool2d(mt.ones(1, 1, 5, 5), 3, padding=2), ArgumentError, "at most half of kernel size"),
    (lambda: F.max_pool2d(mt.ones(1, 1, 1, 1), 2), ShapeError, "too small"),
    (lambda: F.avg_pool1d(mt.ones(1, 1, 1), 2), ShapeError, "too small"),
    (lambda: F.max_pool2d(mt.ones(5, 5), 2), ShapeError, "3D \\(unbatched\\) or 4D"),
    (lambda: F.max_pool1d(mt.ones(1, 1, 5), 0), ArgumentError, "kernel_size"),
    (lambda: F.max_pool1d(mt.ones(1, 1, 5), 2, stride=0), ArgumentError, "stride"),
    (lambda: F.avg_pool2d(mt.ones(1, 1, 5, 5), 2, divisor_override=0), ArgumentError, "divisor"),
    (lambda: F.avg_pool2d(mt.tensor(np.ones((1, 1, 4, 4), dtype=np.int64)), 2), DtypeError, "int64"),
    (lambda: F.adaptive_avg_pool2d(mt.ones(2, 3), 2), ShapeError, "3D or 4D"),
    (lambda: F.adaptive_avg_pool2d(mt.ones(1, 2, 3), (1, 2, 3)), ArgumentError, "tuple of 2"),
    (lambda: F.adaptive_max_pool2d(mt.ones(1, 2, 3), (-1, 2)), ArgumentError, ">= 0"),
    (lambda: F.adaptive_max_pool1d(mt.ones(2, 2, 3, 3), 2), ShapeError, "2D or 3D"),
])
def test_bad_arguments_raise(call, cls, match):
    with pytest.raises(cls, match=match):
        call()


@pytest.mark.parametrize("name, kw", [("max_pool1d", dict(kernel_size=2)), ("max_pool2d", dict(kernel_size=2)),
                                      ("max_pool2d", dict(kernel_size=2, stride=3, padding=1)),
                                      ("avg_pool2d", dict(kernel_size=2)), ("max_pool3d", dict(kernel_size=2)),
                                      ("avg_pool3d", dict(kernel_size=2, stride=2))])
def test_a_minus_zero_gradient_lands_as_plus_zero_in_disjoint_windows_as_torch(name, kw):
    # torch adds each window's gradient into zeros (0 + -0.0 = +0.0); the disjoint windows' strided
    # write must make the same sum, sign bit included
    torch = pytest.importorskip("torch")
    nd = int(name[-2])
    x = np.random.default_rng(3).standard_normal((2, 3) + (6,) * nd)
    xm, xt = mt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = getattr(F, name)(xm, **kw), getattr(torch.nn.functional, name)(xt, **kw)
    g = np.random.default_rng(4).standard_normal(ym.shape)
    g[0, 0] = -0.0
    g[1, 2].flat[::2] = -0.0
    ym.backward(mt.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(xm.grad.numpy(), xt.grad.numpy())
    np.testing.assert_array_equal(np.signbit(xm.grad.numpy()), np.signbit(xt.grad.numpy()))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, kw", [("max_pool1d", dict(kernel_size=3, stride=2)), ("max_pool2d", dict(kernel_size=2)),
                                      ("max_pool2d", dict(kernel_size=3, stride=2, padding=1)),
                                      ("max_pool3d", dict(kernel_size=2)), ("avg_pool1d", dict(kernel_size=3)),
                                      ("avg_pool2d", dict(kernel_size=2)), ("avg_pool2d", dict(kernel_size=3, padding=1)),
                                      ("avg_pool3d", dict(kernel_size=2))])
def test_windows_of_signed_zeros_pool_to_torchs_sign(name, kw, dtype):
    # torch's max keeps a window's first maximum (a later equal element is not greater), so -0.0
    # then +0.0 gives -0.0; its average starts the sum at +0.0, so -0.0s average to +0.0
    torch = pytest.importorskip("torch")
    tie = np.maximum(np.zeros(33), np.full(33, -0.0))   # NumPy's maximum on this CPU, for a tie of +0, -0
    if name.startswith("max") and not np.signbit(tie).all():
        pytest.skip("this CPU's NumPy maximum does not keep its second operand on a +0/-0 tie (ARM gives +0), "
                    "so max pooling's sign of such a tie is the CPU's, not torch's")
    nd = int(name[-2])
    x = np.where(np.random.default_rng(5).random((2, 3) + (6,) * nd) < 0.5, -0.0, 0.0)
    ym = getattr(F, name)(mt.tensor(x, dtype=dtype), **kw).numpy()
    yt = getattr(torch.nn.functional, name)(torch.tensor(x, dtype=getattr(torch, dtype)), **kw).numpy()
    assert np.signbit(yt).any() == name.startswith("max")   # the case is there to fail
    np.testing.assert_array_equal(np.signbit(ym), np.signbit(yt))


@pytest.mark.parametrize("name, kw", [("max_pool1d", dict(kernel_size=2)), ("max_pool2d", dict(kernel_size=3, stride=2)),
                                      ("max_pool3d", dict(kernel_size=2)), ("avg_pool1d", dict(kernel_size=3)),
                                      ("avg_pool2d", dict(kernel_size=2, padding=1)), ("avg_pool3d", dict(kernel_size=2))])
def test_the_second_derivative_of_pooling_is_zero_as_torchs(name, kw):
    # torch records pooling's backward as depending on x with slope zero: the first gradient
    # requires grad under create_graph, and its gradient in x is zeros (not an unused input)
    torch = pytest.importorskip("torch")
    nd = int(name[-2])
    x = np.random.default_rng(5).standard_normal((2, 3) + (5,) * nd)
    res = {}
    for lib, f in ((mt, getattr(F, name)), (torch, getattr(torch.nn.functional, name))):
        xt = lib.tensor(x, requires_grad=True)
        y = f(xt, **kw)
        (gx,) = lib.autograd.grad(y.sum(), xt, create_graph=True)
        assert gx.requires_grad
        (ggx,) = lib.autograd.grad((gx * gx).sum(), xt)
        res[lib.__name__] = (gx.detach().numpy(), ggx.numpy())
    np.testing.assert_array_equal(res["minitf"][0], res["torch"][0])
    np.testing.assert_array_equal(res["minitf"][1], res["torch"][1])
    assert not res["minitf"][1].any()


ADAPTIVE_SECOND = [("adaptive_avg_pool1d", (2, 3, 7), 3), ("adaptive_avg_pool2d", (2, 3, 7, 5), 3),
                   ("adaptive_avg_pool2d", (2, 3, 8, 4), (None, 2)), ("adaptive_avg_pool2d", (2, 3, 7, 5), (7, 5)),
                   ("adaptive_avg_pool3d", (2, 3, 5, 4, 5), 2), ("adaptive_avg_pool2d", (2, 3, 4, 6), 1),
                   ("adaptive_max_pool1d", (2, 3, 7), 3), ("adaptive_max_pool2d", (3, 7, 5), (3, 2)),
                   ("adaptive_max_pool2d", (2, 3, 7, 5), 1), ("adaptive_max_pool3d", (2, 3, 5, 4, 5), 2)]


@pytest.mark.parametrize("name, shape, size", ADAPTIVE_SECOND)
def test_the_second_derivative_of_adaptive_pooling_is_zero_as_torchs(name, shape, size):
    # torch's adaptive kernels depend on x with slope zero as the fixed ones do (minitf's are
    # composed of linear ops, anchored on x); the average to all 1s is torch's mean, which is not
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(8).standard_normal(shape)
    res = {}
    for lib, f in ((mt, getattr(F, name)), (torch, getattr(torch.nn.functional, name))):
        xt = lib.tensor(x, requires_grad=True)
        y = f(xt, size)
        (gx,) = lib.autograd.grad(y.sum(), xt, create_graph=True)
        second = None
        if gx.requires_grad:
            (second,) = lib.autograd.grad((gx * gx).sum(), xt)
            second = second.numpy()
        y = f(xt, size)
        y.sum().backward()
        try:
            y.sum().backward()
            twice = "runs"
        except RuntimeError:
            twice = "raises"
        res[lib.__name__] = (gx.detach().numpy(), second, y.grad_fn.name(), twice)
    (g, second, node, twice), (gt, second_t, node_t, twice_t) = res["minitf"], res["torch"]
    np.testing.assert_allclose(g, gt, rtol=1e-14, atol=0)
    assert (node, twice) == (node_t, twice_t)
    assert (second is None) == (second_t is None) == (name.startswith("adaptive_avg") and size == 1)
    if second is not None:
        np.testing.assert_array_equal(second, second_t)
        assert not second.any()


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pooling_second_derivative_through_the_output_as_torchs(name):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).standard_normal((2, 2, 6, 6))
    u = np.random.default_rng(7).standard_normal((2, 2, 6, 6))
    res = []
    for lib, f in ((mt, getattr(F, name)), (torch, getattr(torch.nn.functional, name))):
        xt = lib.tensor(x, requires_grad=True)
        y = f(xt, kernel_size=2)
        (gx,) = lib.autograd.grad((y * y).sum(), xt, create_graph=True)
        (ggx,) = lib.autograd.grad((gx * lib.tensor(u)).sum(), xt)
        res.append(ggx.numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-12, atol=1e-14)
    assert res[0].any()

