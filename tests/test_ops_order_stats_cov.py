"""kthvalue, mode, nanmedian, aminmax, msort, unique_consecutive (minitf/ops/order_stats.py),
cov, corrcoef, dist, renorm, inner, vdot, ger, chain_matmul (minitf/ops/covariance.py) and
histogram (minitf/ops/histogram.py): values and gradients against torch 2.13 over edge cases
(ties, NaN, size-1 and empty dims, negative dims, int inputs), float64 gradchecks on every
device, torch's errors."""
import warnings

import numpy as np
import pytest

import minitf as mt

rng = np.random.default_rng(0)


def _t(torch, a, grad=False):
    return torch.tensor(a, requires_grad=grad)


def _same(ours, theirs, exact=True):
    a, b = ours.numpy(), theirs.detach().numpy()
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    if exact:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(7,), (3, 5), (4, 1), (1, 6), (2, 3, 4)])
def test_kthvalue_mode_nanmedian_as_torch(shape, device):
    torch = pytest.importorskip("torch")
    for trial in range(4):
        a = rng.integers(0, 3, size=shape).astype("float64")   # many ties
        if trial >= 2:
            a[rng.random(shape) < 0.25] = np.nan
        for dim in range(-len(shape), len(shape)):
            x = mt.tensor(a, device=device)
            tx = _t(torch, a)
            if trial < 2:   # torch's mode with NaN present follows its unordered sort: not a rule to match
                m, tm = mt.mode(x, dim), torch.mode(tx, dim)
                _same(m.values, tm.values)
                _same(m.indices, tm.indices)   # torch's rule: the smallest most frequent value, its last index
            n, tn = mt.nanmedian(x, dim, keepdim=True), torch.nanmedian(tx, dim, keepdim=True)
            _same(n.values, tn.values)
            k = int(rng.integers(1, shape[dim] + 1))
            kv, tkv = x.kthvalue(k, dim), torch.kthvalue(tx, k, dim)
            _same(kv.values, tkv.values)
            # the index holds the value (torch's quickselect picks an unspecified one among ties)
            picked = np.take_along_axis(a, np.expand_dims(kv.indices.numpy(), dim), dim).squeeze(dim)
            np.testing.assert_array_equal(picked, kv.values.numpy())
        _same(mt.nanmedian(mt.tensor(a, device=device)), torch.nanmedian(_t(torch, a)))


def test_order_stats_edges_as_torch():
    torch = pytest.importorskip("torch")
    # all-NaN slices, 0-d inputs, int and bool inputs
    for a in ([np.nan, np.nan], [[np.nan, 1.0], [np.nan, np.nan]]):
        ours, theirs = mt.nanmedian(mt.tensor(a), 0), torch.nanmedian(torch.tensor(a), 0)
        _same(ours.values, theirs.values)
        _same(ours.indices, theirs.indices)
    for f, args in (("kthvalue", (1,)), ("mode", ()), ("nanmedian", (0,))):
        ours, theirs = getattr(mt, f)(mt.tensor(5.0), *args), getattr(torch, f)(torch.tensor(5.0), *args)
        assert ours.values.item() == theirs.values.item() and ours.indices.item() == 0 and ours.values.ndim == 0
    m = mt.mode(mt.tensor([True, False, True]))
    assert (m.values.item(), m.indices.item()) == (True, 2)
    _same(mt.mode(mt.tensor([[3, 1, 3], [2, 2, 1]]), 1, keepdim=True).indices,
          torch.mode(torch.tensor([[3, 1, 3], [2, 2, 1]]), 1, keepdim=True).indices)
    _same(mt.kthvalue(mt.tensor([5, 1, 4]), 2).values, torch.kthvalue(torch.tensor([5, 1, 4]), 2).values)
    _same(mt.nanmedian(mt.tensor([5, 1, 4, 2])), torch.nanmedian(torch.tensor([5, 1, 4, 2])))
    assert mt.nanmedian(mt.tensor([])).isnan().item()
    with pytest.raises(mt.errors.IndexRangeError, match="k out of range"):
        mt.kthvalue(mt.tensor([1.0]), 2)
    with pytest.raises(mt.errors.IndexRangeError, match="non-zero size"):
        mt.mode(mt.zeros(0, 3), 0)
    with pytest.raises(mt.errors.DimError):
        mt.kthvalue(mt.tensor([1.0]), 1, dim=2)
    assert type(mt.kthvalue(mt.tensor([1.0]), 1)).__name__ == "kthvalue"


@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_order_stats_gradients_as_torch(device):
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 2.0, 2.0, np.nan], [3.0, 0.5, 3.0, 3.0], [4.0, 4.0, -1.0, 0.0]])
    g = rng.standard_normal(3)
    for name, fn, tfn in (("mode", lambda x: mt.mode(x[:, :3], 1).values, lambda x: torch.mode(x[:, :3], 1).values),
                          ("nanmedian", lambda x: mt.nanmedian(x, 1).values, lambda x: torch.nanmedian(x, 1).values),
                          ("kthvalue", lambda x: mt.kthvalue(x[:, 2:], 2, 1).values,   # (no tie at k = 2)
                           lambda x: torch.kthvalue(x[:, 2:], 2, 1).values),
                          ("aminmax", lambda x: sum(mt.aminmax(x[:, :3], dim=1)),
                           lambda x: sum(torch.aminmax(x[:, :3], dim=1)))):
        x, tx = mt.tensor(a, device=device, requires_grad=True), _t(torch, a, True)
        (fn(x) * mt.tensor(g, device=device)).sum().backward()
        (tfn(tx) * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), err_msg=name)
    b = rng.standard_normal((3, 4))   # distinct values: each op is smooth there
    x = mt.tensor(b, device=device, requires_grad=True)
    for fn in (lambda x: mt.kthvalue(x, 2, 0).values, lambda x: mt.nanmedian(x, -1).values,
               lambda x: mt.mode(x, 1).values, lambda x: mt.aminmax(x, dim=0).max, lambda x: mt.msort(x)):
        assert mt.gradcheck(fn, [x])


def test_aminmax_msort_unique_consecutive_as_torch(device):
    torch = pytest.importorskip("torch")
    a = np.array([[1, 5, 5], [3, 2, 2], [3, 2, 2], [0, 0, 1]])
    for kw in ({}, dict(dim=0), dict(dim=-1, keepdim=True)):
        ours, theirs = mt.aminmax(mt.tensor(a, device=device), **kw), torch.aminmax(torch.tensor(a), **kw)
        _same(ours.min, theirs.min)
        _same(ours.max, theirs.max)
    _same(mt.tensor(a, device=device).msort(), torch.msort(torch.tensor(a)))
    with pytest.raises(RuntimeError, match="empty"):
        mt.aminmax(mt.tensor([]))
    for v in (a, a.astype(float), np.array([1.0, 1.0, np.nan, np.nan, 2.0, 2.0]), np.zeros((0,)), np.array(3)):
        for kw in ({}, dict(return_inverse=True), dict(return_counts=True, return_inverse=True),
                   dict(dim=0, return_counts=True, return_inverse=True), dict(dim=-1, return_counts=True)):
            if "dim" in kw and v.ndim == 0:
                continue
            ours = mt.unique_consecutive(mt.tensor(v, device=device), **kw)
            theirs = torch.unique_consecutive(torch.tensor(v), **kw)
            ours, theirs = (ours, theirs) if isinstance(theirs, tuple) else ((ours,), (theirs,))
            assert len(ours) == len(theirs)
            for o, t in zip(ours, theirs):
                np.testing.assert_array_equal(o.numpy(), t.numpy())
                assert o.shape == tuple(t.shape)


def _weights(torch, kw, device):
    return ({k: (v if isinstance(v, int) else torch.tensor(v)) for k, v in kw.items()},
            {k: (v if isinstance(v, int) else mt.tensor(v, device=device)) for k, v in kw.items()})


@pytest.mark.parametrize("shape", [(3, 5), (5,), (1, 5), (3, 1), (2, 0)])
def test_cov_corrcoef_as_torch(shape, device):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal(shape)
    n = shape[-1]
    fw, aw = rng.integers(0, 4, n), rng.random(n)
    fw[:1] = 1   # at least one observation counted
    for kw in ({}, dict(correction=0), dict(correction=2), dict(fweights=fw), dict(aweights=aw),
               dict(fweights=fw, aweights=aw, correction=3), dict(aweights=aw, correction=0)):
        tk, mk = _weights(torch, kw, device)
        if n == 0 and ("fweights" in kw or "aweights" in kw):
            with pytest.raises(mt.errors.ArgumentError, match="weights sum to zero"):
                mt.cov(mt.tensor(a, device=device), **mk)
            continue
        with warnings.catch_warnings():   # few observations: torch's and minitf's "degrees of freedom" warning
            warnings.simplefilter("ignore")
            theirs = torch.cov(torch.tensor(a), **tk)
            ours = mt.cov(mt.tensor(a, device=device), **mk)
        o, t = ours.numpy(), theirs.numpy()
        assert o.shape == t.shape
        # with no degrees of freedom left both divide by 0: 0/0 or a rounding residue/0, so NaN or
        # inf on either side (the residue depends on the order of the weighted mean's arithmetic)
        assert np.array_equal(np.isfinite(o), np.isfinite(t))
        np.testing.assert_allclose(o[np.isfinite(o)], t[np.isfinite(t)], rtol=1e-12, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(mt.corrcoef(mt.tensor(a, device=device)).numpy(),
                                   torch.corrcoef(torch.tensor(a)).numpy(), rtol=1e-12, atol=1e-12)
    ints = rng.integers(0, 9, shape)
    warnings.simplefilter("ignore")   # (inside pytest's per-test warnings context)
    assert mt.cov(mt.tensor(ints)).dtype == mt.float32 and mt.tensor(ints.astype(float)).cov().shape == \
        tuple(torch.cov(torch.tensor(ints)).shape)


def test_cov_corrcoef_gradients(device):
    torch = pytest.importorskip("torch")
    a, aw = rng.standard_normal((3, 6)), rng.random(6) + 0.1
    fw = np.array([1, 2, 1, 3, 1, 2])
    g = rng.standard_normal((3, 3))
    for fn, tfn in ((lambda x, w: mt.cov(x, fweights=mt.tensor(fw, device=device), aweights=w),
                     lambda x, w: torch.cov(x, fweights=torch.tensor(fw), aweights=w)),
                    (lambda x, w: mt.corrcoef(x * w), lambda x, w: torch.corrcoef(x * w))):
        x, w = mt.tensor(a, device=device, requires_grad=True), mt.tensor(aw, device=device, requires_grad=True)
        tx, tw = _t(torch, a, True), _t(torch, aw, True)
        (fn(x, w) * mt.tensor(g, device=device)).sum().backward()
        (tfn(tx, tw) * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-10, atol=1e-12)
        assert mt.gradcheck(fn, [x, w]) and mt.gradgradcheck(fn, [x, w])


def test_cov_errors_as_torch():
    x = mt.tensor([[1.0, 2.0, 4.0]])
    for kw, err, match in ((dict(fweights=mt.tensor([1.0, 2.0, 1.0])), mt.errors.DtypeError, "integral"),
                           (dict(fweights=mt.tensor([-1, 2, 1])), mt.errors.ArgumentError, "negative"),
                           (dict(aweights=mt.tensor([1, 2, 1])), mt.errors.DtypeError, "floating"),
                           (dict(fweights=mt.tensor([1, 2])), mt.errors.ShapeError, "same numel")):
        with pytest.raises(err, match=match):
            mt.cov(x, **kw)
    with pytest.raises(mt.errors.ShapeError, match="two or fewer"):
        mt.cov(mt.zeros(2, 2, 2))
    # (errstate: pytest.warns records every warning and re-emits NumPy's 0/0 one, which minitf's
    # filter otherwise keeps silent, as torch is)
    with pytest.warns(UserWarning, match="degrees of freedom"), np.errstate(invalid="ignore"):
        assert mt.cov(mt.tensor([1.0])).isnan().item()


def test_products_and_distances_as_torch(device):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((2, 5, 3))
    g = rng.standard_normal((4, 2, 5))
    x, y = mt.tensor(a, device=device, requires_grad=True), mt.tensor(b, device=device, requires_grad=True)
    tx, ty = _t(torch, a, True), _t(torch, b, True)
    (mt.inner(x, y) * mt.tensor(g, device=device)).sum().backward()
    (torch.inner(tx, ty) * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-12)
    _same(mt.inner(mt.tensor(2.0), mt.tensor(a)), torch.inner(torch.tensor(2.0), torch.tensor(a)))
    assert mt.gradgradcheck(mt.inner, [x, y])
    with pytest.raises(mt.errors.ShapeError, match="last dimension"):
        mt.inner(mt.ones(2, 3), mt.ones(2))
    # dist: broadcasting, every p (p = 0 counts)
    u, v = rng.standard_normal((3, 4)), rng.standard_normal(4)
    v[1] = u[0, 1]
    for p in (2, 1, 0, 3.5, float("inf"), -float("inf")):
        xu, xv = mt.tensor(u, device=device, requires_grad=True), mt.tensor(v, device=device, requires_grad=True)
        tu, tv = _t(torch, u, True), _t(torch, v, True)
        ours, theirs = mt.dist(xu, xv, p), torch.dist(tu, tv, p)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
        if p != 0:
            ours.backward()
            theirs.backward()
            np.testing.assert_allclose(xu.grad.numpy(), tu.grad.numpy(), rtol=1e-10, atol=1e-12)
    # renorm: slices over / under maxnorm, negative dim, gradient through the norm
    r = rng.standard_normal((3, 2, 4)) * np.array([[[0.1]], [[2.0]], [[1.0]]])
    for p, dim, maxnorm in ((2, 0, 1.0), (1, -1, 0.5), (3.0, 1, 2.0)):
        xr, tr = mt.tensor(r, device=device, requires_grad=True), _t(torch, r, True)
        gr = rng.standard_normal(r.shape)
        (mt.renorm(xr, p, dim, maxnorm) * mt.tensor(gr, device=device)).sum().backward()
        (torch.renorm(tr, p, dim, maxnorm) * torch.tensor(gr)).sum().backward()
        np.testing.assert_allclose(xr.grad.numpy(), tr.grad.numpy(), rtol=1e-8, atol=1e-12)
        _same(xr.renorm(p, dim, maxnorm), torch.renorm(tr, p, dim, maxnorm), exact=False)
        assert mt.gradcheck(lambda t: mt.renorm(t, p, dim, maxnorm), [xr])
    # ger is outer; vdot is dot for real tensors (it conjugates a complex a: tests/test_complex.py)
    assert mt.ger is mt.outer
    _same(mt.tensor([1, 2]).vdot(mt.tensor([3, 4])), torch.vdot(torch.tensor([1, 2]), torch.tensor([3, 4])))
    _same(mt.tensor([1.0, 2.0]).ger(mt.tensor([3.0, 4.0, 5.0])), torch.ger(torch.tensor([1.0, 2.0]),
                                                                         torch.tensor([3.0, 4.0, 5.0])))


def test_chain_matmul_warns_and_multiplies(device):
    torch = pytest.importorskip("torch")
    ms = [rng.standard_normal(s) for s in ((2, 3), (3, 4), (4, 2))]
    with pytest.warns(UserWarning, match="deprecated"):
        ours = mt.chain_matmul(*[mt.tensor(m, device=device) for m in ms])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.chain_matmul(*[torch.tensor(m) for m in ms])
        _same(ours, theirs, exact=False)
        one = mt.tensor(ms[0], device=device)
        assert mt.chain_matmul(one) is not one and mt.chain_matmul(one).tolist() == one.tolist()
        with pytest.raises(mt.errors.ShapeError, match="2D"):
            mt.chain_matmul(one, mt.ones(3))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_histogram_as_torch(dtype, device):
    torch = pytest.importorskip("torch")
    x = np.concatenate([rng.standard_normal(500), np.linspace(-2, 2, 41), [np.nan, np.inf, -np.inf]]).astype(dtype)
    w = rng.random(x.shape).astype(dtype)
    edges = np.array([-3.0, -1.0, 0.0, 0.5, 2.0], dtype=dtype)
    for bins_kw in (dict(bins=10, range=(-2.0, 2.0)), dict(bins=7, range=(-1.3, 0.7)), dict(bins=1, range=(0.0, 1.0)),
                    dict(bins=4, range=(1.0, 1.0)), dict(bins=1000, range=(-3.7, 11.3)), dict(bins="edges")):
        for extra in ({}, dict(weight=True), dict(density=True), dict(weight=True, density=True)):
            tk, mk = dict(bins_kw), dict(bins_kw)
            if bins_kw["bins"] == "edges":
                tk["bins"], mk["bins"] = torch.tensor(edges), mt.tensor(edges, device=device)
            if "weight" in extra:
                tk["weight"], mk["weight"] = torch.tensor(w), mt.tensor(w, device=device)
            tk["density"] = mk["density"] = "density" in extra
            ours, theirs = mt.histogram(mt.tensor(x, device=device), **mk), torch.histogram(torch.tensor(x), **tk)
            if not extra:   # counts: exactly torch's, values on bin edges included
                np.testing.assert_array_equal(ours.hist.numpy(), theirs.hist.numpy())
            else:   # float32 sums of weights in another order; density divides by widths from edges an
                # ulp off torch's (1e-6 of a 0.015 width at 1000 bins: 1e-4 relative)
                tol = 1e-10 if dtype == "float64" else 2e-4 if "density" in extra else 2e-5
                np.testing.assert_allclose(ours.hist.numpy(), theirs.hist.numpy(), rtol=tol, atol=1e-6)
            assert ours.hist.dtype == x.dtype and ours.bin_edges.dtype == x.dtype
            # edges: torch's linspace arithmetic, within a float32 ulp of torch's vectorised kernel
            np.testing.assert_allclose(ours.bin_edges.numpy(), theirs.bin_edges.numpy(), rtol=0,
                                       atol=2e-6 if dtype == "float32" else 1e-14)
    finite = x[np.isfinite(x)]
    for bins in (3, 13, 100):   # the data's own range
        ours, theirs = mt.tensor(finite, device=device).histogram(bins), torch.histogram(torch.tensor(finite), bins)
        np.testing.assert_array_equal(ours.hist.numpy(), theirs.hist.numpy())


def test_histogram_edges_and_errors():
    torch = pytest.importorskip("torch")
    for v, bins in (([], 3), ([1.0, 1.0], 3), ([2.0], 1)):
        ours, theirs = mt.histogram(mt.tensor(v), bins), torch.histogram(torch.tensor(v), bins)
        assert ours.hist.tolist() == theirs.hist.tolist()
        np.testing.assert_allclose(ours.bin_edges.numpy(), theirs.bin_edges.numpy(), rtol=1e-7)
    assert not mt.histogram(mt.tensor([1.0, 2.0], requires_grad=True), 2).hist.requires_grad
    with pytest.raises(mt.errors.DtypeNotImplemented):
        mt.histogram(mt.tensor([1, 2]), 2)
    with pytest.raises(mt.errors.ArgumentError, match="bins must be > 0"):
        mt.histogram(mt.tensor([1.0]), 0)
    with pytest.raises(mt.errors.ArgumentError, match="min should not exceed max"):
        mt.histogram(mt.tensor([1.0]), 2, range=(2.0, 1.0))
    with pytest.raises(mt.errors.ArgumentError, match="not finite"):
        mt.histogram(mt.tensor([1.0, np.nan]), 2)
    with pytest.raises(mt.errors.ShapeError, match="one dimension"):
        mt.histogram(mt.tensor([1.0]), mt.tensor([[1.0, 2.0]]))
    with pytest.raises(mt.errors.DtypeError, match="same dtype"):
        mt.histogram(mt.tensor([1.0]), mt.tensor([1.0, 2.0], dtype=mt.float64))
    with pytest.raises(mt.errors.ShapeError, match="same shape"):
        mt.histogram(mt.tensor([1.0, 2.0]), 2, weight=mt.ones(3))


def test_histogramdd_as_torch(device):
    torch = pytest.importorskip("torch")
    pts = np.concatenate([rng.standard_normal((60, 3)), [[0.0, 0.0, 0.0], [np.nan, 0.0, 1.0]]])
    w = rng.random(len(pts))
    edges = [np.array([-2.0, 0.0, 0.5, 3.0]), np.array([-1.0, 1.0]), np.array([-3.0, -1.0, 0.0, 1.0, 3.0])]
    for kw in (dict(bins=[4, 5, 6], range=[-2.0, 2.0, -1.0, 1.0, -3.0, 3.0]), dict(bins=3, range=[0.0, 1.0] * 3),
               dict(bins="edges"), dict(bins="edges", weight=True, density=True), dict(bins=2, range=[0.0, 0.0] * 3)):
        tk, mk = dict(kw), dict(kw)
        if kw["bins"] == "edges":
            tk["bins"], mk["bins"] = [torch.tensor(e) for e in edges], [mt.tensor(e, device=device) for e in edges]
        if "weight" in kw:
            tk["weight"], mk["weight"] = torch.tensor(w), mt.tensor(w, device=device)
        ours, theirs = mt.histogramdd(mt.tensor(pts, device=device), **mk), torch.histogramdd(torch.tensor(pts), **tk)
        np.testing.assert_allclose(ours.hist.numpy(), theirs.hist.numpy(), rtol=1e-12)
        assert len(ours.bin_edges) == len(theirs.bin_edges) == 3
        for o, t in zip(ours.bin_edges, theirs.bin_edges):
            np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=0, atol=1e-14)
    finite = pts[:60].reshape(2, 30, 3)   # batched points (..., D), the data's own ranges
    ours, theirs = mt.histogramdd(mt.tensor(finite, device=device), bins=[4, 5, 6]), torch.histogramdd(
        torch.tensor(finite), bins=[4, 5, 6])
    np.testing.assert_array_equal(ours.hist.numpy(), theirs.hist.numpy())
    with pytest.raises(mt.errors.ShapeError, match="innermost dimension"):
        mt.histogramdd(mt.tensor(pts), bins=[2])
