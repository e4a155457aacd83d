"""max_pool*d_with_indices, max_unpool1d/2d and lp_pool1d/2d with their layers: torch 2.13 in float64
(values and gradients, NaNs where torch has them), gradchecks on both devices, torch's errors."""
import math

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F, nn
from minitf.errors import ArgumentError, DtypeError, IndexRangeError, ShapeError

from .conftest import ATOL, RTOL, device_tensor
from .test_functional_fixes import grad_of


def _grads(torch, arrays, fn_mt, fn_t, seed=0):
    """(y, yt, [dx...], [dxt...]) of fn on float64 copies of ``arrays`` (ints passed as they are)."""
    rng = np.random.default_rng(seed)
    xs = [mt.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    xts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    y, yt = fn_mt(*xs), fn_t(*xts)
    u = rng.standard_normal(tuple(yt.shape))
    y.backward(mt.tensor(u))
    yt.backward(torch.tensor(u))
    fl = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    return y.numpy(), yt.detach().numpy(), [grad_of(xs[i]) for i in fl], [xts[i].grad.numpy() for i in fl]


def test_with_indices_names_are_return_indices_true():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((2, 3, 5, 6))
    for d, name in ((1, "max_pool1d_with_indices"), (2, "max_pool2d_with_indices")):
        x = a[:, :, 0] if d == 1 else a
        y, i = getattr(F, name)(mt.tensor(x), 2, 1, 1)
        yt, it = getattr(torch.nn.functional, name)(torch.tensor(x), 2, 1, 1)
        np.testing.assert_array_equal(y.numpy(), yt.numpy())
        np.testing.assert_array_equal(i.numpy(), it.numpy())
    assert mt.max_pool1d_with_indices(mt.tensor(a[0]), 3)[1].dtype == mt.int64


UNPOOL = [  # (d, input shape, kernel, stride, padding, output_size)
    (2, (2, 3, 6, 4), 2, None, 0, None), (2, (2, 3, 6, 4), 2, None, 0, (7, 5)), (2, (3, 5, 5), 3, 2, 1, None),
    (2, (1, 2, 5, 5), (2, 3), (1, 2), (1, 1), (1, 2, 5, 6)), (1, (2, 3, 9), 3, 2, 1, None), (1, (3, 8), 2, None, 0, [9]),
    (1, (2, 1, 7), 3, 3, 0, None), (2, (0, 2, 4, 4), 2, None, 0, None),
    # 3-d (the same code): unbatched, uneven kernel / stride / padding, an output_size past the default
    (3, (2, 2, 4, 6, 4), 2, None, 0, (1, 2, 5, 7, 5)), (3, (2, 5, 4, 5), (2, 3, 2), (1, 2, 2), (1, 1, 0), (5, 4, 5)),
    (3, (1, 1, 1, 2, 3), 1, None, 0, None)]


@pytest.mark.parametrize("d, shape, k, s, p, size", UNPOOL)
def test_max_unpool_matches_torch(d, shape, k, s, p, size):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).standard_normal(shape)
    pool, unpool = f"max_pool{d}d", f"max_unpool{d}d"
    yt, it = getattr(torch.nn.functional, pool)(torch.tensor(a), k, s, p, return_indices=True)
    y = yt.numpy()
    if 0 in shape:   # torch's max_unpool backward refuses an empty batch: the forward only
        out = getattr(F, unpool)(mt.tensor(y), mt.tensor(it.numpy()), k, s, p, size)
        assert out.shape == tuple(getattr(torch.nn.functional, unpool)(yt, it, k, s, p, size).shape)
        return
    r, rt, (g,), (gt,) = _grads(torch, [y, it.numpy()], lambda v, i: getattr(F, unpool)(v, i, k, s, p, size),
                                lambda v, i: getattr(torch.nn.functional, unpool)(v, i, k, s, p, size))
    np.testing.assert_array_equal(r, rt)
    np.testing.assert_array_equal(g, gt)


def test_max_unpool_inverts_max_pool_on_its_maxima_and_layers():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(2).standard_normal((2, 3, 4, 6))
    pool, un = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    y, i = pool(mt.tensor(a))
    back = un(y, i).numpy()
    assert ((back == 0) | (back == a)).all() and (back != 0).sum() == y.numel()
    assert un(y, i, output_size=(2, 3, 5, 7)).shape == (2, 3, 5, 7)
    for layer, ref in [(nn.MaxUnpool2d(2), torch.nn.MaxUnpool2d(2)), (nn.MaxUnpool1d(3, 2, 1), torch.nn.MaxUnpool1d(3, 2, 1)),
                       (nn.LPPool2d(2, 3), torch.nn.LPPool2d(2, 3)), (nn.LPPool1d(1.5, 2, 1, True), torch.nn.LPPool1d(1.5, 2, 1, True))]:
        assert repr(layer) == repr(ref)


def test_max_unpool_gradcheck_on_device(device):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 2, 5, 4))
    _, i = F.max_pool2d(device_tensor(a, device, requires_grad=False), 2, 1, return_indices=True)  # repeated indices
    v = device_tensor(rng.standard_normal(i.shape), device)
    out = F.max_unpool2d(v, i, 2, 1)
    assert out.device == device and out.shape == (2, 2, 5, 4)
    # with repeated indices (overlapping windows) each input reads the output's gradient at its
    # index, as torch's: dv[n, c, p] = g[n, c].flat[i[n, c, p]]
    g = rng.standard_normal((2, 2, 5, 4))
    out.backward(device_tensor(g, device, requires_grad=False))
    want = np.take_along_axis(g.reshape(2, 2, -1), i.numpy().reshape(2, 2, -1), axis=2).reshape(i.shape)
    np.testing.assert_array_equal(grad_of(v), want)
    _, iu = F.max_pool1d(device_tensor(a[0], device, requires_grad=False), 2, return_indices=True)   # distinct
    v1 = device_tensor(rng.standard_normal(iu.shape), device)
    assert mt.gradcheck(lambda t: F.max_unpool1d(t, iu, 2), [v1], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(lambda t: F.max_unpool1d(t, iu, 2), [v1], rtol=RTOL, atol=ATOL)


def test_max_unpool_errors_as_torch():
    a = np.random.default_rng(6).standard_normal((1, 1, 4, 4))
    y, i = F.max_pool2d(mt.tensor(a), 2, return_indices=True)

    with pytest.raises(DtypeError, match="indices should be an integer type"):
        F.max_unpool2d(y, i.float(), 2)
    with pytest.raises(ShapeError, match=r"Expected shape of indices to be same as that of the input tensor \(\[1, 1, 2, 2\]\)"):
        F.max_unpool2d(y, i[..., :1], 2)
    # (torch's parallel loop names some bad index; minitf the first one)
    with pytest.raises(IndexRangeError, match=rf"invalid max index: {int(i.numpy().flat[0]) + 20} \(output volumes are of size 4x4\)"):
        F.max_unpool2d(y, i + 20, 2)
    with pytest.raises(ArgumentError, match=r'invalid output_size "\(6, 6\)" \(dim 0 must be between 2 and 6\)'):
        F.max_unpool2d(y, i, 2, output_size=(6, 6))
    with pytest.raises(ArgumentError, match="containing 2 or 4 elements, but it has a length of '1'"):
        F.max_unpool2d(y, i, 2, output_size=(5,))
    with pytest.raises(ShapeError, match="3d or 4d input, but got a tensor with 2 dimensions"):
        F.max_unpool2d(y[0, 0], i[0, 0], 2)


LP = [(1, (2, 3, 7), 2.0, 2, None, False), (1, (3, 8), 3.0, 3, 2, True), (1, (2, 2, 6), 1.5, 2, 1, False),
      (2, (2, 2, 5, 6), 2.0, 2, None, False), (2, (2, 5, 5), 1.0, (2, 3), (1, 2), True), (2, (1, 2, 4, 4), 3.0, 2, 1, False),
      (2, (1, 1, 4, 6), math.inf, 2, None, False), (1, (1, 2, 6), -math.inf, 3, 1, False),
      (3, (2, 2, 4, 5, 4), 2.0, 2, None, False), (3, (2, 5, 4, 5), 1.5, (2, 3, 2), (1, 2, 1), True),
      (3, (1, 1, 3, 4, 4), math.inf, 2, None, False)]


@pytest.mark.parametrize("d, shape, p, k, s, ceil", LP)
@pytest.mark.parametrize("sign", ["positive", "mixed"])
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_lp_pool_matches_torch(d, shape, p, k, s, ceil, sign):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(4).standard_normal(shape)
    a = np.abs(a) + 0.1 if sign == "positive" else a
    a.reshape(-1)[:4] = 0.0   # (a window of zeros in some: relu's zero gradient there, not NaN)
    name = f"lp_pool{d}d"
    if d == 1 and not isinstance(k, int):
        return
    y, yt, (g,), (gt,) = _grads(torch, [a], lambda t: getattr(F, name)(t, p, k, s, ceil),
                                lambda t: getattr(torch.nn.functional, name)(t, p, k, s, ceil))
    np.testing.assert_allclose(y, yt, rtol=1e-13, atol=1e-15, equal_nan=True)   # NaN: odd p, negative sums
    np.testing.assert_allclose(g, gt, rtol=1e-12, atol=1e-14, equal_nan=True)


def test_lp_pool_zero_window_has_zero_gradient_and_odd_p_sign():
    torch = pytest.importorskip("torch")
    a = np.array([[[0.0, 0.0, 1.0, 2.0, -3.0, 1.0]]])
    y, yt, (g,), (gt,) = _grads(torch, [a], lambda t: F.lp_pool1d(t, 3, 2), lambda t: torch.nn.functional.lp_pool1d(t, 3, 2))
    np.testing.assert_array_equal(np.isnan(y), [[[False, False, True]]])    # (-3)^3 + 1 < 0: NaN, as torch's
    np.testing.assert_allclose(y, yt, rtol=1e-14, equal_nan=True)
    np.testing.assert_array_equal(g[..., :2], 0.0)
    np.testing.assert_allclose(g, gt, rtol=1e-14, equal_nan=True)


@pytest.mark.parametrize("d, p", [(1, 2.0), (2, 3.0), (2, 1.5)])
def test_lp_pool_gradcheck_on_device(device, d, p):
    shape = (2, 2, 6) if d == 1 else (1, 2, 4, 5)
    x = device_tensor(np.abs(np.random.default_rng(5).standard_normal(shape)) + 0.5, device)
    fn = (lambda t: F.lp_pool1d(t, p, 2)) if d == 1 else (lambda t: F.lp_pool2d(t, p, 2, 1))
    assert fn(x).device == device
    assert mt.gradcheck(fn, [x], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(fn, [x], rtol=RTOL, atol=ATOL)
    layer = nn.LPPool1d(p, 2) if d == 1 else nn.LPPool2d(p, 2, 1)
    np.testing.assert_allclose(layer(x).numpy(), fn(x).numpy())
    with pytest.raises(ArgumentError, match="nonzero"):
        F.lp_pool1d(x if d == 1 else x[0], 0, 2)


def test_unpool3d_and_lp_pool3d_gradcheck_layers_and_errors(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    a = rng.standard_normal((1, 2, 4, 4, 4))
    _, i = F.max_pool3d(device_tensor(a, device, requires_grad=False), 2, return_indices=True)
    v = device_tensor(rng.standard_normal(i.shape), device)
    assert F.max_unpool3d(v, i, 2).device == device
    assert mt.gradcheck(lambda t: F.max_unpool3d(t, i, 2), [v], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(lambda t: F.max_unpool3d(t, i, 2), [v], rtol=RTOL, atol=ATOL)
    x = device_tensor(np.abs(a) + 0.5, device)
    assert mt.gradcheck(lambda t: F.lp_pool3d(t, 2.5, 2, 1), [x], rtol=RTOL, atol=ATOL)
    assert mt.gradgradcheck(lambda t: F.lp_pool3d(t, 3, (2, 1, 2)), [x], rtol=RTOL, atol=ATOL)
    for layer, ref in [(nn.MaxUnpool3d(2), torch.nn.MaxUnpool3d(2)),
                       (nn.MaxUnpool3d((2, 1, 2), 1, (1, 0, 0)), torch.nn.MaxUnpool3d((2, 1, 2), 1, (1, 0, 0))),
                       (nn.LPPool3d(2, 3), torch.nn.LPPool3d(2, 3))]:
        assert repr(layer) == repr(ref)
    np.testing.assert_allclose(nn.LPPool3d(2, 2)(x).numpy(), F.lp_pool3d(x, 2, 2).numpy())
    y, i = F.max_pool3d(mt.tensor(a), 2, return_indices=True)
    assert (nn.MaxUnpool3d(2)(y, i, output_size=(5, 5, 4)).numpy() != 0).sum() == y.numel()
    with pytest.raises(ShapeError, match="4d or 5d input, but got a tensor with 3 dimensions"):
        F.max_unpool3d(y[0, 0], i[0, 0], 2)
    with pytest.raises(IndexRangeError, match="output volumes are of size 4x4x4"):
        F.max_unpool3d(y, i + 100, 2)
    with pytest.raises(ArgumentError, match="containing 3 or 5 elements"):
        F.max_unpool3d(y, i, 2, output_size=(4, 4))
