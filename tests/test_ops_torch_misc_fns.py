"""trapezoid / cumulative_trapezoid (minitf/ops/integrate.py), frexp, gcd, lcm, isposinf,
isneginf, isreal (number_parts.py), diag_embed, diagflat, vander, unravel_index
(diag_build.py), broadcast_shapes and the dtype rules, the constructors of
minitf/creation_more.py and the window functions (minitf/signal_windows.py): values and
gradients against torch 2.13 over edge cases, float64 gradchecks on every device."""
import array
import warnings

import numpy as np
import pytest

import minitf as mt

rng = np.random.default_rng(0)


def _same(ours, theirs, rtol=0.0, atol=0.0):
    a, b = ours.numpy(), theirs.detach().numpy()
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("shape", [(3, 4), (3, 1), (3, 0), (5,)])
def test_trapezoid_as_torch(shape, device):
    torch = pytest.importorskip("torch")
    y = rng.standard_normal(shape)
    for dim in range(-len(shape), len(shape)):
        n = shape[dim]
        for kw in ({}, dict(dx=2.5), dict(x=rng.standard_normal(n)), dict(x=rng.standard_normal(shape))):
            for name in ("trapezoid", "cumulative_trapezoid") + (("trapz",) if dim == -1 else ()):
                tk = {k: torch.tensor(v, requires_grad=True) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
                mk = {k: mt.tensor(v, device=device, requires_grad=True) if isinstance(v, np.ndarray) else v
                      for k, v in kw.items()}
                ty, my = torch.tensor(y, requires_grad=True), mt.tensor(y, device=device, requires_grad=True)
                theirs, ours = getattr(torch, name)(ty, dim=dim, **tk), getattr(mt, name)(my, dim=dim, **mk)
                _same(ours, theirs, rtol=1e-12, atol=1e-12)
                if ours.numel() and n:   # (n = 0: torch's zeros have no graph)
                    g = rng.standard_normal(ours.shape)
                    (ours * mt.tensor(g, device=device)).sum().backward()
                    (theirs * torch.tensor(g)).sum().backward()
                    np.testing.assert_allclose(my.grad.numpy(), ty.grad.numpy(), rtol=1e-12, atol=1e-12)
                    if "x" in kw:
                        np.testing.assert_allclose(mk["x"].grad.numpy(), tk["x"].grad.numpy(), rtol=1e-12, atol=1e-12)
    _same(mt.trapezoid(mt.tensor([1, 2, 4])), torch.trapezoid(torch.tensor([1, 2, 4])))


def test_trapezoid_gradcheck_and_errors(device):
    y = mt.tensor(rng.standard_normal((3, 4)), device=device, requires_grad=True)
    x = mt.tensor(rng.standard_normal(4), device=device, requires_grad=True)
    assert mt.gradcheck(lambda y, x: mt.trapezoid(y, x), [y, x])
    assert mt.gradgradcheck(lambda y, x: mt.cumulative_trapezoid(y, x, dim=1), [y, x])
    with pytest.raises(mt.errors.ShapeError, match="one `x` value"):
        mt.trapezoid(y, mt.ones(3))
    with pytest.raises(mt.errors.ArgumentError, match="not both"):
        mt.trapezoid(y, x, dx=1.0)


def test_number_parts_as_torch(device):
    torch = pytest.importorskip("torch")
    x = np.array([0.0, -0.0, 3.0, -0.5, np.inf, -np.inf, np.nan, 1e-310, 7e5, 1.0])
    for dt in ("float16", "float32", "float64"):
        with np.errstate(over="ignore"):
            v = x.astype(dt)
        ours, theirs = mt.frexp(mt.tensor(v, device=device)), torch.frexp(torch.tensor(v))
        np.testing.assert_array_equal(ours.mantissa.numpy(), theirs.mantissa.numpy())
        _same(ours.exponent, theirs.exponent)
        for name in ("isposinf", "isneginf", "isreal"):
            _same(getattr(mt.tensor(v, device=device), name)(), getattr(torch, name)(torch.tensor(v)))
    _same(mt.isposinf(mt.tensor([1, 2], device=device)), torch.isposinf(torch.tensor([1, 2])))
    a, b = np.array([-4, 0, 0, 12, 7, -9, 1]), np.array([6, 5, 0, -18, 0, -6, 1])
    for name in ("gcd", "lcm"):
        _same(getattr(mt, name)(mt.tensor(a, device=device), mt.tensor(b, device=device)),
              getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
        _same(getattr(mt.tensor(a.astype("int32"), device=device), name)(mt.tensor(b[:1].astype("int16"), device=device)),
              getattr(torch, name)(torch.tensor(a.astype("int32")), torch.tensor(b[:1].astype("int16"))))
        with pytest.raises(mt.errors.DtypeError, match="integer"):
            getattr(mt, name)(mt.tensor([1.0]), mt.tensor([2]))
    with pytest.raises(mt.errors.DtypeError, match="floating"):
        mt.frexp(mt.tensor([1, 2]))


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 0), (1, 4, 2)])
def test_diag_embed_diagflat_as_torch(shape, device):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal(shape)
    planes = [(-2, -1), (0, 1), (1, 0), (0, -1)] + ([(0, 2), (2, 1)] if len(shape) > 1 else [])
    for off in (0, 1, -2):
        for d1, d2 in planes:
            x, tx = mt.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
            ours, theirs = x.diag_embed(off, d1, d2), torch.diag_embed(tx, off, d1, d2)
            _same(ours, theirs)
            g = rng.standard_normal(ours.shape)
            (ours * mt.tensor(g, device=device)).sum().backward()
            (theirs * torch.tensor(g)).sum().backward()
            _same(x.grad, tx.grad)
        _same(mt.diagflat(mt.tensor(a, device=device), off), torch.diagflat(torch.tensor(a), off))
    x = mt.tensor(rng.standard_normal((2, 3)), device=device, requires_grad=True)
    assert mt.gradcheck(lambda t: mt.diag_embed(t, 1, 0, 2), [x]) and mt.gradcheck(mt.diagflat, [x])
    with pytest.raises(mt.errors.ArgumentError, match="identical"):
        mt.diag_embed(x, 0, 1, 1)


def test_vander_as_torch(device):
    torch = pytest.importorskip("torch")
    for v in (np.array([0.0, 2.0, -1.5]), np.array([1, 2, 3]), np.array([True, False]), np.zeros(0),
              np.array([1, 2], dtype=np.int32)):
        for N in (None, 0, 1, 4):
            for inc in (False, True):
                _same(mt.vander(mt.tensor(v, device=device), N, inc), torch.vander(torch.tensor(v), N, inc))
    # torch 2.13's vander backward fails (an in-place error), so the gradient is compared with
    # torch's gradient of the same matrix as powers x ** j (away from x = 0, where pow's is NaN-free)
    v = rng.standard_normal(4) + 2.0
    x, tx = mt.tensor(v, device=device, requires_grad=True), torch.tensor(v, requires_grad=True)
    g = rng.standard_normal((4, 5))
    (mt.vander(x, 5, increasing=True) * mt.tensor(g, device=device)).sum().backward()
    (tx.unsqueeze(1) ** torch.arange(5.0, dtype=torch.float64) * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    z = mt.tensor([0.0, 1.5, -2.0], dtype=mt.float64, device=device, requires_grad=True)   # a zero: the running product's case
    assert mt.gradcheck(lambda t: mt.vander(t, 4), [z]) and mt.gradgradcheck(lambda t: mt.vander(t, 3), [z])
    with pytest.raises(mt.errors.ShapeError, match="one-dimensional"):
        mt.vander(mt.ones(2, 2))
    with pytest.raises(mt.errors.ArgumentError, match="non-negative"):
        mt.vander(mt.ones(2), N=-1)


def test_unravel_index_and_broadcast_shapes_as_torch(device):
    torch = pytest.importorskip("torch")
    for idx, shape in (([6, -7, -1, 4, 0], (2, 3)), ([[1, 2], [3, 0]], (6,)), (4, (2, 3)), ([0, 5], 6),
                       ([7, 23], (2, 3, 4))):
        ours = mt.unravel_index(mt.tensor(idx, device=device), shape)
        theirs = torch.unravel_index(torch.tensor(idx), shape)
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
    assert mt.unravel_index(mt.tensor([0]), ()) == ()
    with pytest.raises(mt.errors.DtypeError, match="integer"):
        mt.unravel_index(mt.tensor([1.0]), (2, 3))
    with pytest.raises(mt.errors.ArgumentError, match="negative"):
        mt.unravel_index(mt.tensor([1]), (2, -1))
    for shapes in (((2, 1), 3), (), ((0, 1), (3,)), ((1,), (4, 1, 2), (3, 1)), (mt.Size([2]),)):
        assert mt.broadcast_shapes(*shapes) == tuple(torch.broadcast_shapes(*shapes))
    assert isinstance(mt.broadcast_shapes((2,)), mt.Size)
    with pytest.raises(mt.errors.ShapeError, match="Shape mismatch"):
        mt.broadcast_shapes((2,), (3,))


def test_dtype_rules_as_torch():
    torch = pytest.importorskip("torch")
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
    for a in names:
        for b in names:
            ta, tb = getattr(torch, a), getattr(torch, b)
            assert str(mt.promote_types(getattr(mt, a), getattr(mt, b))) == str(torch.promote_types(ta, tb))[6:]
            assert mt.can_cast(getattr(mt, a), getattr(mt, b)) == torch.can_cast(ta, tb), (a, b)
    for x, y in ((mt.tensor([1, 2]), 1.0), (mt.tensor([1.0], dtype=mt.float16), mt.tensor(1.0, dtype=mt.float64)),
                 (mt.tensor([True]), 3), (mt.tensor([1], dtype=mt.int8), mt.tensor([1], dtype=mt.uint8))):
        tx = torch.tensor(x.numpy())
        ty = torch.tensor(y.numpy()) if isinstance(y, mt.Tensor) else y
        assert str(mt.result_type(x, y)) == str(torch.result_type(tx, ty))[6:]


def test_logspace_range_scalar_tensor_as_torch(device):
    torch = pytest.importorskip("torch")
    for args, kw in (((0, 2, 3), {}), ((0, 2, 3), dict(base=2)), ((0, 3, 4), dict(dtype="int64")),
                     ((0.0, 1.0, 1), {}), ((-1.0, 1.5, 7), dict(base=3.0, dtype="float64")), ((1, 2, 0), {})):
        tkw = {k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()}
        _same(mt.logspace(*args, **kw, device=device), torch.logspace(*args, **tkw), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args, kw in (((0, 1, 0.3), {}), ((1, 3), dict(dtype="int64")), ((3, 1, -1), {}), ((0, 1, 0.25), {}),
                         ((2.5,), {})):
            tkw = {k: getattr(torch, v) for k, v in kw.items()}
            targs = args if len(args) > 1 else (0,) + args
            _same(mt.range(*args, **kw, device=device), torch.range(*targs, **tkw), rtol=1e-7)
    with pytest.warns(UserWarning, match="deprecated"):
        mt.range(1, 4)
    with pytest.raises(mt.errors.ArgumentError, match="inconsistent with step sign"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mt.range(1, 0)
    for s, kw in ((3, {}), (True, {}), (2, dict(dtype="int64")), (1.5, dict(dtype="float64"))):
        tkw = {k: getattr(torch, v) for k, v in kw.items()}
        _same(mt.scalar_tensor(s, **kw, device=device), torch.scalar_tensor(s, **tkw))


def test_asarray_frombuffer_empty_strided(device):
    torch = pytest.importorskip("torch")
    a = np.zeros(3)
    shared, copied = mt.asarray(a), mt.asarray(a, copy=True)
    a[0] = 5
    assert shared.tolist() == [5.0, 0.0, 0.0] and copied.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="copy=False"):
        mt.asarray(a, dtype=mt.float32, copy=False)
    t = mt.tensor([1.0], requires_grad=True)
    assert mt.asarray(t) is t and mt.asarray(t, copy=True) is not t and mt.asarray(t, copy=True).requires_grad
    detached = mt.asarray(t, requires_grad=False)
    assert not detached.requires_grad and t.requires_grad   # (torch would switch off t's own flag)
    assert mt.asarray(mt.tensor([1.0]), requires_grad=True).requires_grad
    cast = mt.asarray(t, dtype=mt.float64)
    cast.sum().backward()
    assert t.grad.tolist() == [1.0]   # the cast is differentiable
    for obj in ([1, 2], 3.0, [[1.0, 2.0]], [True]):
        ours, theirs = mt.asarray(obj, device=device), torch.asarray(obj)
        assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype)[6:]
    assert mt.asarray([1.0, 2.0], requires_grad=True).requires_grad
    # frombuffer: a writable buffer shares memory; bytes are copied
    b = bytearray(np.array([1, 2, 3], dtype=np.int32).tobytes())
    ours, theirs = mt.frombuffer(b, dtype=mt.int32, count=2, offset=4), torch.frombuffer(b, dtype=torch.int32,
                                                                                         count=2, offset=4)
    b[4] = 9
    assert ours.tolist() == theirs.tolist() == [9, 3]
    arr = array.array("d", [1.5, 2.5])
    assert mt.frombuffer(arr, dtype=mt.float64).tolist() == [1.5, 2.5]
    ro = mt.frombuffer(bytes(b), dtype=mt.int32)
    ro.add_(1)   # a copy: writable
    assert ro.tolist() == [2, 10, 4]
    for kw, match in ((dict(count=5), "must not be greater"), (dict(offset=12), "offset"), (dict(count=0), "must not be 0")):
        with pytest.raises(ValueError, match=match):
            mt.frombuffer(b, dtype=mt.int32, **kw)
    e = mt.empty_strided((2, 3), (1, 2), dtype=mt.float64, device=device)
    assert e.shape == (2, 3) and e.dtype == mt.float64 and e.stride() == (1, 2)   # honoured, as torch (tensor gaps group)
    n = mt.tensor([1], device=device).new_empty_strided((4,), (1,))
    assert n.shape == (4,) and n.dtype == mt.int64 and n.device == mt.tensor([1], device=device).device
    with pytest.raises(mt.errors.ArgumentError, match="mismatch in length"):
        mt.empty_strided((2, 3), (1,))


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"])
def test_windows_as_torch(name, device):
    torch = pytest.importorskip("torch")
    for L in (0, 1, 2, 3, 8, 51):
        for periodic in (True, False):
            for dtype in ("float32", "float64"):
                ours = getattr(mt, name)(L, periodic, dtype=getattr(mt, dtype), device=device)
                theirs = getattr(torch, name)(L, periodic, dtype=getattr(torch, dtype))
                # computed in float64 then rounded; torch computes in float32 (within a few float32 ulps)
                _same(ours, theirs, atol=1e-6 if dtype == "float32" else 1e-14)
    extra = dict(hamming_window=(0.6, 0.3), kaiser_window=(3.0,)).get(name, ())
    _same(getattr(mt, name)(9, False, *extra, dtype=mt.float64), getattr(torch, name)(9, False, *extra,
                                                                                     dtype=torch.float64), atol=1e-14)
    assert getattr(mt, name)(4, requires_grad=True).requires_grad and getattr(mt, name)(4).dtype == mt.float32
    with pytest.raises(mt.errors.DtypeError, match="floating point"):
        getattr(mt, name)(4, dtype=mt.int64)
    with pytest.raises(mt.errors.ArgumentError, match="non-negative"):
        getattr(mt, name)(-1)
