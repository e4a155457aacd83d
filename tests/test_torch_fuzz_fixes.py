"""Fixes from the torch fuzz review of the new tensor-level API (NaN/inf in median, quantile,
scatter_reduce, hypot, atan2; diagonal as a view; promotion and shapes of cat/stack, nansum,
quantile's 0-d q; crashes on 0-d inputs, bool diff, int relu6, bare no_grad): each value
asserted without torch, and against torch where it is installed; float64 gradchecks."""
import math

import numpy as np
import pytest

import minitf as mt

NAN, INF = float("nan"), float("inf")


def _np(t):
    return np.asarray(t.to("cpu").numpy() if hasattr(t, "numpy") else t)


# ---- median / quantile with NaN and inf


def test_median_of_a_slice_with_nan_is_nan_at_its_first_nan(device):
    x = mt.tensor([[1.0, NAN, 3.0, NAN], [4.0, 1.0, 2.0, 3.0]], dtype=mt.float64, device=device)
    m = mt.median(x, 1)
    np.testing.assert_array_equal(_np(m.values), [NAN, 2.0])
    np.testing.assert_array_equal(_np(m.indices), [1, 2])
    assert math.isnan(mt.median(x).item())
    assert mt.median(x[1]).item() == 2.0


def test_quantile_of_a_slice_with_nan_is_nan(device):
    x = mt.tensor([[1.0, NAN, 3.0], [4.0, 1.0, 2.0]], dtype=mt.float64, device=device)
    q = mt.quantile(x, mt.tensor([0.2, 0.5], dtype=mt.float64, device=device), dim=1)
    np.testing.assert_allclose(_np(q), [[NAN, 1.4], [NAN, 2.0]])
    assert math.isnan(mt.quantile(x, 0.5).item())


@pytest.mark.parametrize("interp", ["lower", "higher", "nearest"])
def test_quantile_keeps_inf_at_a_rounded_position(interp, device):
    x = mt.tensor([1.0, 2.0, INF], dtype=mt.float64, device=device)
    assert mt.quantile(x, 1.0, interpolation=interp).item() == INF


def test_quantile_lerps_from_the_nearer_end_as_torch(device):
    # sorted [-inf, 0, 0, inf]: q = 0.3 sits at 0.9 of the way from -inf to 0: -inf (not -inf + inf)
    x = mt.tensor([INF, -INF, 0.0, -0.0], dtype=mt.float64, device=device)
    assert mt.quantile(x, 0.3).item() == -INF
    assert mt.quantile(x, 0.3, interpolation="midpoint").item() == -INF


def test_quantile_of_0d_and_0d_q(device):
    x = mt.tensor(2.5, dtype=mt.float64, device=device)
    for dim in (None, 0, -1):
        out = mt.quantile(x, 0.3, dim=dim)
        assert out.shape == () and out.item() == 2.5
    assert mt.quantile(x, mt.tensor([0.3, 0.4], dtype=mt.float64, device=device)).shape == (2,)
    with pytest.raises(IndexError):
        mt.quantile(x, 0.3, dim=1)
    y = mt.tensor([1.0, 2.0, 4.0], dtype=mt.float64, device=device)
    out = mt.quantile(y, mt.tensor(0.5, dtype=mt.float64, device=device))
    assert out.shape == () and out.item() == 2.0


def test_quantile_and_median_gradcheck(device):
    x = mt.tensor([[0.3, -1.2, 2.0, 0.7], [1.5, 0.1, -0.4, 0.9]], dtype=mt.float64, device=device,
                  requires_grad=True)
    for interp in ("linear", "lower", "higher", "nearest", "midpoint"):
        assert mt.gradcheck(lambda a: mt.quantile(a, mt.tensor([0.3, 0.8], dtype=mt.float64, device=device),
                                                  1, interpolation=interp), [x])
    assert mt.gradcheck(lambda a: mt.median(a, 1).values, [x])
    assert mt.gradcheck(lambda a: mt.median(a), [x])


def test_median_quantile_nan_inf_against_torch():
    torch = pytest.importorskip("torch")
    rows = [[1.0, NAN, 3.0, NAN], [4.0, 1.0, 2.0, 3.0], [INF, -INF, 0.0, -0.0], [1.0, 2.0, INF, INF],
            [-INF, -INF, 3.0, 1.0]]
    x, t = mt.tensor(rows, dtype=mt.float64), torch.tensor(rows, dtype=torch.float64)
    m, tm = mt.median(x, 1), torch.median(t, 1)
    np.testing.assert_array_equal(_np(m.values), tm.values.numpy())
    np.testing.assert_array_equal(_np(m.indices), tm.indices.numpy())
    for q in (0.0, 0.3, 0.5, 2 / 3, 1.0):
        for interp in ("linear", "lower", "higher", "nearest", "midpoint"):
            np.testing.assert_array_equal(_np(mt.quantile(x, q, 1, interpolation=interp)),
                                          torch.quantile(t, q, 1, interpolation=interp).numpy(), err_msg=f"{q} {interp}")
    z = torch.quantile(torch.tensor(2.5, dtype=torch.float64), 0.3, dim=0)
    assert mt.quantile(mt.tensor(2.5, dtype=mt.float64), 0.3, dim=0).shape == tuple(z.shape)


# ---- scatter_reduce with include_self=False and inf/nan in x


def _scatter_cases(m, dev=None):
    kw = {"device": dev} if dev else {}
    f64 = m.float64
    x = m.tensor([[INF, 1.0, -2.0, NAN]], dtype=f64, **kw)
    i0, i2, i3 = (m.tensor([[k]], **kw) for k in (0, 2, 3))
    s = lambda v: m.tensor([[v]], dtype=f64, **kw)  # noqa: E731
    return [x.scatter_reduce(1, i0, s(2.0), "sum", include_self=False),
            x.scatter_reduce(1, i3, s(2.0), "mean", include_self=False),
            x.scatter_reduce(1, i2, s(3.0), "sum", include_self=False),
            x.scatter_reduce(1, i0, s(-INF), "amax", include_self=False),
            x.scatter_reduce(1, i0, s(INF), "amin", include_self=False)]


def test_scatter_reduce_without_self_drops_inf_nan_and_keeps_infinite_extremes(device):
    out = [_np(t) for t in _scatter_cases(mt, device)]
    np.testing.assert_array_equal(out[0], [[2.0, 1.0, -2.0, NAN]])
    np.testing.assert_array_equal(out[1], [[INF, 1.0, -2.0, 2.0]])
    np.testing.assert_array_equal(out[2], [[INF, 1.0, 3.0, NAN]])
    np.testing.assert_array_equal(out[3], [[-INF, 1.0, -2.0, NAN]])
    np.testing.assert_array_equal(out[4], [[INF, 1.0, -2.0, NAN]])
    # a dropped negative gives +0., not -0. (x * 0)
    z = mt.tensor([[-2.0, 1.0]], dtype=mt.float64, device=device).scatter_reduce(
        1, mt.tensor([[0]], device=device), mt.tensor([[0.0]], dtype=mt.float64, device=device), "sum",
        include_self=False)
    assert not np.signbit(_np(z)[0, 0])


def test_scatter_reduce_without_self_gradcheck(device):
    x = mt.tensor([[0.3, 1.0, -2.0], [0.5, -0.7, 1.1]], dtype=mt.float64, device=device, requires_grad=True)
    src = mt.tensor([[0.9, -0.2], [0.4, 2.0]], dtype=mt.float64, device=device, requires_grad=True)
    idx = mt.tensor([[0, 2], [1, 1]], device=device)
    for red in ("sum", "mean", "amax", "amin"):
        assert mt.gradcheck(lambda a, b: a.scatter_reduce(1, idx, b, red, include_self=False), [x, src])


def test_scatter_reduce_inf_nan_against_torch():
    torch = pytest.importorskip("torch")
    for a, b in zip(_scatter_cases(mt), _scatter_cases(torch)):
        np.testing.assert_array_equal(_np(a), b.numpy())
        np.testing.assert_array_equal(np.signbit(_np(a)), np.signbit(b.numpy()))


# ---- hypot and atan2 at the edges


def test_hypot_does_not_overflow_and_keeps_inf(device):
    big = mt.tensor([1e200, 3.0, INF, NAN], dtype=mt.float64, device=device)
    other = mt.tensor([1e200, 4.0, NAN, INF], dtype=mt.float64, device=device)
    np.testing.assert_allclose(_np(mt.hypot(big, other)), [math.sqrt(2) * 1e200, 5.0, INF, INF], rtol=1e-15)
    f = mt.tensor([1e20], device=device)
    np.testing.assert_allclose(_np(mt.hypot(f, f)), [math.sqrt(2) * 1e20], rtol=1e-6)
    a = mt.tensor([1e200, 1e-200], dtype=mt.float64, device=device, requires_grad=True)
    mt.hypot(a, a).sum().backward()
    np.testing.assert_allclose(_np(a.grad), [2 / math.sqrt(2)] * 2, rtol=1e-15)  # a / hypot twice, finite


def test_atan2_gradient_is_zero_at_the_origin_and_finite_at_extremes(device):
    a = mt.tensor([0.0, 1e200, 1e-200, 3.0], dtype=mt.float64, device=device, requires_grad=True)
    b = mt.tensor([0.0, 1e200, 1e-200, 4.0], dtype=mt.float64, device=device, requires_grad=True)
    mt.atan2(a, b).sum().backward()
    # d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2); 0 at (0, 0)
    np.testing.assert_allclose(_np(a.grad), [0.0, 5e-201, 5e199, 0.16], rtol=1e-14)
    np.testing.assert_allclose(_np(b.grad), [0.0, -5e-201, -5e199, -0.12], rtol=1e-14)
    # second order through the origin's mask is finite too
    a2 = mt.tensor([0.0, 1.0], dtype=mt.float64, device=device, requires_grad=True)
    b2 = mt.tensor([0.0, 2.0], dtype=mt.float64, device=device)
    (g,) = mt.autograd.grad(mt.atan2(a2, b2).sum(), [a2], create_graph=True)
    np.testing.assert_allclose(_np(g), [0.0, 0.4])


def test_hypot_atan2_gradcheck(device):
    a = mt.tensor([[0.3, -1.2], [2.0, 0.7]], dtype=mt.float64, device=device, requires_grad=True)
    b = mt.tensor([[1.5, 0.1], [-0.4, 0.9]], dtype=mt.float64, device=device, requires_grad=True)
    assert mt.gradcheck(mt.hypot, [a, b])
    assert mt.gradcheck(mt.atan2, [a, b])
    assert mt.gradgradcheck(mt.hypot, [a, b])
    assert mt.gradgradcheck(mt.atan2, [a, b])


def test_hypot_atan2_edges_against_torch():
    torch = pytest.importorskip("torch")
    av, bv = [0.0, 1e200, 3.0, INF, INF], [0.0, 1e200, 4.0, NAN, 1.0]
    for m, a, b in ((mt, mt.tensor(av, dtype=mt.float64), mt.tensor(bv, dtype=mt.float64)),
                    (torch, torch.tensor(av, dtype=torch.float64), torch.tensor(bv, dtype=torch.float64))):
        out = _np(m.hypot(a, b)) if m is mt else m.hypot(a, b).numpy()
        if m is mt:
            ours = out
        else:
            np.testing.assert_array_equal(ours, out)
    x, y = torch.zeros(1, dtype=torch.float64, requires_grad=True), torch.zeros(1, dtype=torch.float64, requires_grad=True)
    torch.atan2(x, y).sum().backward()
    p, q = (mt.zeros(1, dtype=mt.float64, requires_grad=True) for _ in range(2))
    mt.atan2(p, q).sum().backward()
    assert _np(p.grad).tolist() == x.grad.tolist() and abs(_np(q.grad)).tolist() == abs(y.grad).tolist()


# ---- dtypes: nansum / nanmean of integers, cat/stack of mixed dtypes


def test_nansum_of_ints_is_int64_and_nanmean_refuses_them(device):
    out = mt.nansum(mt.tensor([1, 2, 3], dtype=mt.int32, device=device))
    assert out.dtype == mt.int64 and out.item() == 6
    b = mt.nansum(mt.tensor([[True, False], [True, True]], device=device), 1, True)
    assert b.dtype == mt.int64 and _np(b).tolist() == [[1], [2]]
    with pytest.raises(RuntimeError, match="floating point"):
        mt.nanmean(mt.tensor([1, 2], device=device))
    with pytest.raises(RuntimeError, match="floating point"):
        mt.tensor([True], device=device).nanmean()


@pytest.mark.parametrize("join", ["cat", "stack", "hstack", "vstack"])
def test_joins_promote_as_torch(join, device):
    f32 = mt.ones(2, device=device, requires_grad=True)
    i32 = mt.tensor([3, 4], dtype=mt.int32, device=device)
    out = getattr(mt, join)([f32, i32])
    assert out.dtype == mt.float32
    assert sorted(_np(out).reshape(-1).tolist()) == [1.0, 1.0, 3.0, 4.0]
    out.sum().backward()
    assert f32.grad.dtype == mt.float32 and _np(f32.grad).tolist() == [1.0, 1.0]
    assert getattr(mt, join)([i32, mt.tensor([True, False], device=device)]).dtype == mt.int32
    assert getattr(mt, join)([f32, mt.ones(2, dtype=mt.float64, device=device)]).dtype == mt.float64


def test_join_promotion_gradcheck(device):
    a = mt.tensor([0.3, -1.2], dtype=mt.float64, device=device, requires_grad=True)
    i = mt.tensor([1, 2], dtype=mt.int32, device=device)
    assert mt.gradcheck(lambda x: mt.cat([x, i]) * mt.cat([i, x]), [a])


def test_dtypes_against_torch():
    torch = pytest.importorskip("torch")
    assert str(mt.nansum(mt.tensor([1, 2])).dtype) == str(torch.nansum(torch.tensor([1, 2])).dtype).split(".")[1]
    for join in ("cat", "stack", "hstack", "vstack"):
        for da, db in (("float32", "int32"), ("int32", "bool"), ("float32", "float64"), ("uint8", "int8")):
            ours = getattr(mt, join)([mt.ones(2, dtype=getattr(mt, da)), mt.zeros(2, dtype=getattr(mt, db))])
            theirs = getattr(torch, join)([torch.ones(2, dtype=getattr(torch, da)), torch.zeros(2, dtype=getattr(torch, db))])
            assert str(ours.dtype) == str(theirs.dtype).split(".")[1], (join, da, db)
    with pytest.raises(RuntimeError):
        torch.nanmean(torch.tensor([1]))


# ---- diagonal is a view


def test_diagonal_writes_reach_the_base_and_share_its_version(device):
    a = mt.zeros(3, 3, device=device)
    d = a.diagonal()
    d.fill_(1.0)
    assert a.sum().item() == 3.0 and _np(a).tolist() == np.eye(3).tolist()
    assert a._version == d._version == 1
    a.add_(1.0)  # and the other way: the base's writes show in the view
    assert _np(d).tolist() == [2.0, 2.0, 2.0] and d._version == 2
    b = mt.zeros(2, 3, 4, device=device)
    b.diagonal(1, 0, 2).add_(mt.tensor([[1.0, 2.0]] * 3, device=device))
    expect = np.zeros((2, 3, 4))
    expect[0, :, 1], expect[1, :, 2] = 1.0, 2.0
    np.testing.assert_array_equal(_np(b), expect)


def test_diagonal_in_place_is_recorded_for_autograd(device):
    w = mt.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=mt.float64, device=device, requires_grad=True)
    y = w * 1
    y.diagonal().mul_(3.0)
    y.sum().backward()
    assert _np(w.grad).tolist() == [[3.0, 1.0], [1.0, 3.0]]
    with pytest.raises(RuntimeError, match="leaf"):
        w.diagonal().add_(1.0)
    with mt.no_grad():
        w.diagonal().add_(1.0)
    assert _np(w).tolist() == [[2.0, 2.0], [3.0, 5.0]]
    y = w * 1
    d = y.diagonal()
    z = (d * d).sum()
    y.diagonal().fill_(0.0)  # d * d saved d: its backward must refuse the changed value
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_diagonal_gradcheck(device):
    x = mt.tensor(np.arange(24.0).reshape(2, 3, 4) / 7, dtype=mt.float64, device=device, requires_grad=True)
    assert mt.gradcheck(lambda a: a.diagonal(1, 0, 2), [x])
    assert mt.gradgradcheck(lambda a: a.diagonal(-1, 2, 1) ** 2, [x])

    def through_view(a):
        y = a * 1
        y.diagonal().mul_(a.diagonal())
        return y * y
    m = mt.tensor(np.arange(12.0).reshape(3, 4) / 5, dtype=mt.float64, device=device, requires_grad=True)
    assert mt.gradcheck(through_view, [m])


def test_diagonal_view_against_torch():
    torch = pytest.importorskip("torch")
    base = np.arange(9.0).reshape(3, 3) / 4
    out = []
    for m in (mt, torch):
        w = m.tensor(base, dtype=m.float64, requires_grad=True)
        y = w * 1
        y.diagonal(1).add_(w.diagonal(1) ** 2)
        (y * y).sum().backward()
        out.append((_np(y.detach()) if m is mt else y.detach().numpy(), _np(w.grad) if m is mt else w.grad.numpy()))
    np.testing.assert_allclose(out[0][0], out[1][0])
    np.testing.assert_allclose(out[0][1], out[1][1])


# ---- shapes and crashes: tensors inside tensor(), 0-d joins, diff, relu6 of ints, isin, no_grad


def test_tensor_of_a_list_of_tensors_reads_each_as_a_number(device):
    a, b = mt.tensor(1.0, device=device), mt.tensor(2.0, dtype=mt.float64, device=device)
    t = mt.tensor([a, b])
    assert t.shape == (2,) and t.dtype == mt.float64 and _np(t).tolist() == [1.0, 2.0]
    one = mt.tensor([mt.tensor([1.0], device=device), mt.tensor([2.0], device=device)])
    assert one.shape == (2,) and one.dtype == mt.float32
    assert mt.tensor([[mt.tensor(1, device=device)], [mt.tensor(2, device=device)]]).shape == (2, 1)
    assert mt.tensor([mt.tensor(1, device=device), 2.5]).dtype == mt.float32
    with pytest.raises(ValueError, match="only one element tensors"):
        mt.tensor([mt.tensor([1.0, 2.0], device=device)])
    assert mt.tensor([np.array([1.0, 2.0]), np.array([3.0, 4.0])]).shape == (2, 2)  # arrays stay sequences


def test_joins_and_diff_edges(device):
    h = mt.hstack([mt.tensor(1.0, device=device), mt.tensor(2.0, device=device)])
    assert h.shape == (2,) and _np(h).tolist() == [1.0, 2.0]
    assert mt.hstack([mt.tensor(1.0, device=device), mt.tensor([2.0, 3.0], device=device)]).shape == (3,)
    assert mt.vstack([mt.tensor(1.0, device=device), mt.tensor(2.0, device=device)]).shape == (2, 1)
    x = mt.tensor([1.0, 4.0], device=device)
    same = mt.diff(x, n=0, prepend=mt.tensor([5.0], device=device))
    assert _np(same).tolist() == [1.0, 4.0]
    b = mt.diff(mt.tensor([[True, False, False, True]], device=device))
    assert b.dtype == mt.bool and _np(b).tolist() == [[True, False, True]]
    assert _np(mt.diff(mt.tensor([True, False, False], device=device), n=2)).tolist() == [True]


def test_relu6_of_integers_clamps_in_their_dtype(device):
    F = mt.nn.functional
    t = mt.tensor([-1, 3, 9], dtype=mt.int32, device=device)
    out = F.relu6(t)
    assert out.dtype == mt.int32 and _np(out).tolist() == [0, 3, 6]
    u = F.relu6(mt.tensor([1, 9], dtype=mt.uint8, device=device))
    assert u.dtype == mt.uint8 and _np(u).tolist() == [1, 6]
    F.relu6(t, inplace=True)
    assert _np(t).tolist() == [0, 3, 6] and t._version == 1
    with pytest.raises(RuntimeError, match="bool"):
        F.relu6(mt.tensor([True], device=device))


def test_isin_across_devices_is_a_device_error():
    with pytest.raises(mt.DeviceError, match="isin: tensors on different devices"):
        mt.isin(mt.tensor([1, 2], device="fake"), mt.tensor([1]))
    assert _np(mt.isin(mt.tensor([1, 2], device="fake"), mt.tensor([2], device="fake"))).tolist() == [False, True]


def test_bare_no_grad_and_enable_grad_decorators():
    x = mt.ones(2, requires_grad=True)

    @mt.no_grad
    def off(a):
        """doc"""
        return a * 2

    @mt.enable_grad
    def on(a):
        return a * 2
    assert not off(x).requires_grad and off.__name__ == "off" and off.__doc__ == "doc"
    with mt.no_grad():
        assert on(x).requires_grad
    assert mt.is_grad_enabled()
    with pytest.raises(TypeError, match="one function to decorate"):
        mt.no_grad(3)


def test_edges_against_torch():
    torch = pytest.importorskip("torch")
    assert tuple(torch.tensor([torch.tensor([1.0]), torch.tensor([2.0])]).shape) == \
        mt.tensor([mt.tensor([1.0]), mt.tensor([2.0])]).shape
    pairs = [(lambda m: m.hstack([m.tensor(1.0), m.tensor(2.0)])),
             (lambda m: m.diff(m.tensor([1.0, 4.0]), n=0, prepend=m.tensor([5.0]))),
             (lambda m: m.diff(m.tensor([[True, False, False, True]]))),
             (lambda m: m.nn.functional.relu6(m.tensor([-1, 3, 9], dtype=m.int32)))]
    for f in pairs:
        ours, theirs = f(mt), f(torch)
        assert _np(ours).tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype).split(".")[1]

    @torch.no_grad
    def off(a):
        return a * 2
    assert not off(torch.ones(1, requires_grad=True)).requires_grad


# ---- names: nanquantile, Tensor.divide, nn.ReLU6


def test_nanquantile_leaves_nan_out_of_each_slice(device):
    x = mt.tensor([[1.0, NAN, 3.0, 2.0], [NAN, NAN, NAN, NAN], [4.0, 0.0, 2.0, 8.0]], dtype=mt.float64,
                  device=device)
    out = mt.nanquantile(x, 0.5, dim=1)  # the medians of [1, 2, 3], nothing, [0, 2, 4, 8]
    np.testing.assert_array_equal(_np(out), [2.0, NAN, 3.0])
    low = x.nanquantile(mt.tensor([0.25, 1.0], dtype=mt.float64, device=device), 1, True, interpolation="lower")
    assert low.shape == (2, 3, 1)
    np.testing.assert_array_equal(_np(low)[:, :, 0], [[1.0, NAN, 0.0], [3.0, NAN, 8.0]])
    assert mt.nanquantile(x, 0.5).item() == 2.0  # the non-NaN values sorted [0, 1, 2, 2, 3, 4, 8]: position 3


def test_nanquantile_gradcheck(device):
    x = mt.tensor([[0.3, NAN, 2.0, 0.7], [1.5, 0.1, -0.4, 0.9]], dtype=mt.float64, device=device, requires_grad=True)
    for interp in ("linear", "lower", "midpoint"):
        assert mt.gradcheck(lambda a: mt.nanquantile(a, mt.tensor([0.3, 0.8], dtype=mt.float64, device=device), 1,
                                                     interpolation=interp), [x])


def test_divide_and_relu6_module(device):
    a = mt.tensor([7.0, -7.0], device=device)
    assert _np(a.divide(2)).tolist() == [3.5, -3.5]
    assert _np(a.divide(2, rounding_mode="floor")).tolist() == [3.0, -4.0]
    assert _np(mt.divide(a, 2, rounding_mode="trunc")).tolist() == [3.0, -3.0]
    m = mt.nn.ReLU6()
    assert repr(m) == "ReLU6()" and repr(mt.nn.ReLU6(inplace=True)) == "ReLU6(inplace=True)"
    x = mt.tensor([-1.0, 3.0, 9.0], device=device)
    assert _np(m(x)).tolist() == [0.0, 3.0, 6.0]
    mt.nn.ReLU6(inplace=True)(x)
    assert _np(x).tolist() == [0.0, 3.0, 6.0]


def test_nanquantile_against_torch():
    torch = pytest.importorskip("torch")
    rows = [[1.0, NAN, 3.0, NAN, 2.0], [4.0, 1.0, 2.0, 3.0, 0.5], [NAN] * 5, [INF, -INF, 0.0, NAN, -0.0],
            [1.0, 2.0, INF, INF, NAN]]
    x, t = mt.tensor(rows, dtype=mt.float64), torch.tensor(rows, dtype=torch.float64)
    for q in (0.0, 0.3, 0.5, 2 / 3, 1.0, [0.1, 0.9]):
        qm = mt.tensor(q, dtype=mt.float64) if isinstance(q, list) else q
        qt = torch.tensor(q, dtype=torch.float64) if isinstance(q, list) else q
        for interp in ("linear", "lower", "higher", "nearest", "midpoint"):
            for dim in (None, 0, -1):
                for keep in (False, True):
                    for f in ("quantile", "nanquantile"):
                        ours = getattr(mt, f)(x, qm, dim, keep, interpolation=interp)
                        theirs = getattr(torch, f)(t, qt, dim, keep, interpolation=interp)
                        assert ours.shape == tuple(theirs.shape)
                        np.testing.assert_array_equal(_np(ours), theirs.numpy(), err_msg=f"{f} {q} {interp} {dim}")
    a = torch.tensor([7.0, -7.0])
    assert mt.tensor([7.0, -7.0]).divide(2, rounding_mode="floor").tolist() == a.divide(2, rounding_mode="floor").tolist()
    assert repr(mt.nn.ReLU6(inplace=True)) == repr(torch.nn.ReLU6(inplace=True))


# ---- error classes: torch's (RuntimeError, NotImplementedError), minitf's earlier ones kept


ERRORS = {  # name -> (call on mt or torch, torch's class, the class minitf raised before)
    "index_add dtype": (lambda m: m.zeros(3).index_add(0, m.tensor([1]), m.ones(1, dtype=m.float64)),
                        RuntimeError, TypeError),
    "index_copy dtype": (lambda m: m.zeros(3).index_copy(0, m.tensor([1]), m.ones(1, dtype=m.float64)),
                         RuntimeError, TypeError),
    "scatter dtype": (lambda m: m.zeros(3).scatter(0, m.tensor([1]), m.ones(1, dtype=m.float64)),
                      RuntimeError, TypeError),
    "scatter_add dtype": (lambda m: m.zeros(3).scatter_add(0, m.tensor([1]), m.ones(1, dtype=m.float64)),
                          RuntimeError, TypeError),
    "scatter_reduce dtype": (lambda m: m.zeros(3).scatter_reduce(0, m.tensor([1]), m.ones(1, dtype=m.float64), "sum"),
                             RuntimeError, TypeError),
    "scatter_reduce range": (lambda m: m.zeros(3).scatter_reduce(0, m.tensor([5]), m.ones(1), "sum"),
                             RuntimeError, IndexError),
    "gather range": (lambda m: m.zeros(3).gather(0, m.tensor([5])), RuntimeError, IndexError),
    "index_add range": (lambda m: m.zeros(3).index_add(0, m.tensor([5]), m.ones(1)), IndexError, IndexError),
    "lerp int": (lambda m: m.lerp(m.tensor([1]), m.tensor([2]), 0.5), NotImplementedError, TypeError),
    "round int decimals": (lambda m: m.tensor([1]).round(decimals=1), NotImplementedError, TypeError),
    "div int by 0": (lambda m: m.div(m.tensor([1]), 0, rounding_mode="floor"), RuntimeError, ZeroDivisionError),
    "div bool floor": (lambda m: m.div(m.tensor([True]), m.tensor([True]), rounding_mode="floor"),
                       NotImplementedError, TypeError),
    "vector_norm inf empty": (lambda m: m.linalg.vector_norm(m.zeros(0, 3), float("inf")), RuntimeError, ValueError),
    "index_fill 2-D index": (lambda m: m.zeros(3).index_fill(0, m.tensor([[0]]), 1.0), RuntimeError, ValueError),
    "diff 0-d": (lambda m: m.diff(m.tensor(1.0)), RuntimeError, ValueError),
    "quantile int": (lambda m: m.quantile(m.tensor([1, 2]), 0.5), RuntimeError, TypeError),
    "nanquantile bool": (lambda m: m.nanquantile(m.tensor([True]), 0.5), RuntimeError, TypeError),
    "quantile q dtype": (lambda m: m.quantile(m.ones(2, dtype=m.float64), m.tensor([0.5])), RuntimeError, TypeError),
    "quantile empty": (lambda m: m.quantile(m.zeros(2, 0), 0.5, dim=0), RuntimeError, RuntimeError),
    "median bool": (lambda m: m.median(m.tensor([True, False])), NotImplementedError, TypeError),
    "median bool bad dim": (lambda m: m.median(m.tensor([True, False]), 1), IndexError, IndexError),
    "quantile 2-D q": (lambda m: m.quantile(m.ones(3, dtype=m.float64), m.tensor([[0.5]], dtype=m.float64)),
                       RuntimeError, ValueError),
    "trace bool": (lambda m: m.trace(m.eye(2, dtype=m.bool)), NotImplementedError, TypeError),
    "hypot int": (lambda m: m.hypot(m.tensor([1]), m.tensor([2])), NotImplementedError, TypeError),
    "tril_indices negative": (lambda m: m.tril_indices(-1, 3), RuntimeError, ValueError),
    "triu_indices negative": (lambda m: m.triu_indices(3, -1), RuntimeError, ValueError),
    "searchsorted right and side": (lambda m: m.searchsorted(m.tensor([1, 2]), m.tensor([1]), right=True, side="left"),
                                    RuntimeError, ValueError),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_classes(name):
    call, torch_class, old_class = ERRORS[name]
    with pytest.raises(torch_class) as e:
        call(mt)
    assert isinstance(e.value, old_class)  # what minitf code and tests caught before still catches it
    assert str(e.value)


def test_median_of_empty_floats_is_nan_and_of_ints_works(device):
    assert math.isnan(mt.median(mt.zeros(0, device=device)).item())
    assert mt.median(mt.tensor([3, 1, 2], device=device)).item() == 2


def test_median_of_empty_against_torch():
    torch = pytest.importorskip("torch")
    assert math.isnan(torch.median(torch.zeros(0)).item()) and math.isnan(mt.median(mt.zeros(0)).item())
    assert torch.median(torch.tensor([3, 1, 2])).item() == mt.median(mt.tensor([3, 1, 2])).item()


def test_vector_norm_inf_of_an_empty_dim_that_is_not_reduced_is_fine(device):
    out = mt.linalg.vector_norm(mt.zeros(0, 3, device=device), float("inf"), dim=1)
    assert out.shape == (0,)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_classes_against_torch(name):
    torch = pytest.importorskip("torch")
    call, torch_class, _ = ERRORS[name]
    with pytest.raises(torch_class):
        call(torch)


# ---- the math ops in place


INPLACE_MATH = ["log2_", "log10_", "exp2_", "sinh_", "cosh_", "tan_", "asin_", "atan_", "erf_", "logit_",
                "arcsin_", "arctan_", "atan2_", "hypot_", "arctan2_"]
BASE = np.array([[0.3, 0.6], [0.45, 0.2]])


def _inplace_call(m, t, name):
    other = m.tensor(BASE[::-1].copy(), dtype=m.float64, device=t.device) if name in ("atan2_", "hypot_", "arctan2_") \
        else None
    return getattr(t, name)(*([other] if other is not None else []))


@pytest.mark.parametrize("name", INPLACE_MATH)
def test_inplace_math_writes_the_out_of_place_result(name, device):
    x = mt.tensor(BASE, dtype=mt.float64, device=device)
    expect = _np(getattr(mt, name[:-1])(x, *([mt.tensor(BASE[::-1].copy(), dtype=mt.float64, device=device)]
                                          if name in ("atan2_", "hypot_", "arctan2_") else [])))
    assert _inplace_call(mt, x, name) is x and x._version == 1
    np.testing.assert_array_equal(_np(x), expect)
    with pytest.raises(RuntimeError, match="can't be cast|not implemented"):  # hypot refuses ints itself
        _inplace_call(mt, mt.tensor([[1, 2], [3, 4]], device=device), name)


@pytest.mark.parametrize("name", ["log2_", "asin_", "atan2_", "hypot_"])
def test_inplace_math_gradcheck(name, device):
    x = mt.tensor(BASE, dtype=mt.float64, device=device, requires_grad=True)

    def f(a):
        y = a * 1
        _inplace_call(mt, y, name)
        return y
    assert mt.gradcheck(f, [x])
    with pytest.raises(RuntimeError, match="leaf"):
        _inplace_call(mt, x, name)


@pytest.mark.parametrize("name", INPLACE_MATH)
def test_inplace_math_against_torch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = mt.tensor(BASE, dtype=mt.float64), torch.tensor(BASE, dtype=torch.float64)
    _inplace_call(mt, ours, name)
    _inplace_call(torch, theirs, name)
    np.testing.assert_allclose(_np(ours), theirs.numpy(), rtol=1e-12)
