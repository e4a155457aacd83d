"""histc, bucketize, searchsorted(sorter=) (minitf/ops/binning.py) and the scattered product,
scatter_reduce(reduce="prod") and scatter(reduce=) (minitf/ops/scatter_prod.py): values and
gradients against torch 2.13 (zeros, include_self, repeated indices), float64 gradchecks on every
device (the fake device runs the sort-and-scan product that a GPU would), and torch's errors."""
import warnings

import numpy as np
import pytest

import minitf as mt

rng = np.random.default_rng(0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [dict(bins=10, min=-2, max=2), dict(bins=7, min=-1.3, max=0.7), dict(bins=13),
                                dict(bins=1), dict(bins=4, min=3, max=3)])
def test_histc_as_torch(dtype, kw, device):
    torch = pytest.importorskip("torch")
    x = np.concatenate([rng.standard_normal(3000), np.linspace(-2, 2, 81)]).astype(dtype)  # edges on bin edges
    if "min" in kw and kw["min"] != kw["max"]:
        x = np.concatenate([x, [np.nan, np.inf, -np.inf]]).astype(dtype)
    ours = mt.histc(mt.tensor(x, device=device), **kw)
    theirs = torch.histc(torch.tensor(x), **kw)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype == x.dtype and ours.device == mt.tensor(x, device=device).device


def test_histc_edges_and_errors_as_torch():
    torch = pytest.importorskip("torch")
    for x, kw in (([2.0, 2.0], dict(bins=4)), ([], dict(bins=3)), ([0.1, 0.2, 0.3], dict(bins=3, min=0.1, max=0.3))):
        assert mt.histc(mt.tensor(x), **kw).tolist() == torch.histc(torch.tensor(x), **kw).tolist()
    assert not mt.histc(mt.tensor([1.0, 2.0], requires_grad=True), bins=2).requires_grad
    assert mt.tensor([1.0, 2.0, 2.0]).histc(2).tolist() == [1.0, 2.0]
    with pytest.raises(mt.errors.DtypeNotImplemented):
        mt.histc(mt.tensor([1, 2]))
    with pytest.raises(mt.errors.ArgumentError, match="bins must be > 0"):
        mt.histc(mt.tensor([1.0]), bins=0)
    with pytest.raises(mt.errors.ArgumentError, match="max must be larger than min"):
        mt.histc(mt.tensor([1.0]), min=3, max=1)
    with pytest.raises(mt.errors.ArgumentError, match="not finite"):
        mt.histc(mt.tensor([1.0, np.inf]))
    with pytest.raises(mt.errors.ArgumentError, match="not finite"):
        mt.histc(mt.tensor([1.0, np.nan]))


def test_bucketize_as_torch(device):
    torch = pytest.importorskip("torch")
    b = [1, 3, 5, 7, 9]
    for v in ([[3, 6, 9], [0, 10, 1]], [3.5, 5.0, -1.0], [], 3):
        for right in (False, True):
            for out_int32 in (False, True):
                tv = torch.tensor(v) if isinstance(v, list) else v
                mv = mt.tensor(v, device=device) if isinstance(v, list) else v
                ours = mt.bucketize(mv, mt.tensor(b, device=device), right=right, out_int32=out_int32)
                theirs = torch.bucketize(tv, torch.tensor(b), right=right, out_int32=out_int32)
                assert ours.tolist() == theirs.tolist() and ours.shape == tuple(theirs.shape)
                assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    with pytest.raises(mt.errors.ShapeError, match="1 dimension"):
        mt.bucketize(mt.tensor([1]), mt.tensor([[1, 2]]))


def test_searchsorted_sorter_as_torch(device):
    torch = pytest.importorskip("torch")
    seq = [5.0, 1.0, 3.0, 9.0, 7.0, 3.0]
    srt = torch.argsort(torch.tensor(seq), stable=True)
    for v in ([3.0, 6.0, 0.0, 10.0], 6.0):
        for right in (False, True):
            mv = mt.tensor(v, device=device) if isinstance(v, list) else v
            tv = torch.tensor(v) if isinstance(v, list) else v
            ours = mt.searchsorted(mt.tensor(seq, device=device), mv, right=right,
                                   sorter=mt.tensor(srt.numpy(), device=device))
            assert ours.tolist() == torch.searchsorted(torch.tensor(seq), tv, right=right, sorter=srt).tolist()
    rows = [[4, 1, 2], [9, 8, 7]]
    order = torch.argsort(torch.tensor(rows), dim=-1)
    assert mt.searchsorted(mt.tensor(rows), mt.tensor([[3], [8]]), sorter=mt.tensor(order.numpy())).tolist() == \
        torch.searchsorted(torch.tensor(rows), torch.tensor([[3], [8]]), sorter=order).tolist()
    s = mt.tensor(seq)
    with pytest.raises(mt.errors.ShapeError, match="same size"):
        mt.searchsorted(s, mt.tensor([3.0]), sorter=mt.tensor([0, 1]))
    with pytest.raises(mt.errors.ArgumentError, match="long dtype"):
        mt.searchsorted(s, mt.tensor([3.0]), sorter=mt.tensor([0.0] * 6))
    with pytest.raises(mt.errors.ArgumentError, match="out of range"):
        mt.searchsorted(s, mt.tensor([3.0]), sorter=mt.tensor([0, 1, 2, 3, 4, 9]))


SELF = np.array([2.0, 0.0, 3.0, 1.0, -1.5])
SRC = np.array([0.0, 4.0, 5.0, 0.0, 2.0, 3.0, 0.0, 0.0, 1.5])
INDEX = np.array([0, 0, 1, 2, 2, 3, 4, 4, 3])    # a single zero at 0 and 2, two at 4, none at 3


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_values_and_gradients_as_torch(include_self, device):
    torch = pytest.importorskip("torch")
    g = rng.standard_normal(5)
    x = mt.tensor(SELF, device=device, requires_grad=True)
    s = mt.tensor(SRC, device=device, requires_grad=True)
    out = mt.scatter_reduce(x, 0, mt.tensor(INDEX, device=device), s, "prod", include_self=include_self)
    (out * mt.tensor(g, device=device)).sum().backward()
    tx, ts = torch.tensor(SELF, requires_grad=True), torch.tensor(SRC, requires_grad=True)
    tout = tx.scatter_reduce(0, torch.tensor(INDEX), ts, "prod", include_self=include_self)
    (tout * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy(), rtol=1e-14)


def test_scatter_reduce_prod_2d_and_integers_as_torch():
    torch = pytest.importorskip("torch")
    x, src = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    idx = rng.integers(0, 3, (5, 4))
    for dim in (0, -2):
        ours = mt.tensor(x).scatter_reduce(dim, mt.tensor(idx), mt.tensor(src), "prod")
        theirs = torch.tensor(x).scatter_reduce(dim, torch.tensor(idx), torch.tensor(src), "prod")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-13)
    ours = mt.tensor([1, 2, 3]).scatter_reduce(0, mt.tensor([0, 0, 2]), mt.tensor([3, 4, -2]), "prod",
                                               include_self=False)
    assert ours.tolist() == torch.tensor([1, 2, 3]).scatter_reduce(0, torch.tensor([0, 0, 2]),
                                                                   torch.tensor([3, 4, -2]), "prod",
                                                                   include_self=False).tolist()


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_gradchecks(include_self, device):
    x = mt.tensor(rng.standard_normal((3, 4)), device=device, requires_grad=True)
    src = rng.standard_normal((5, 4))
    src[0, 0] = 0.0                                   # a single zero at a target
    s = mt.tensor(src, device=device, requires_grad=True)
    idx = mt.tensor(rng.integers(0, 3, (5, 4)), device=device)
    fn = lambda a, b: mt.scatter_reduce(a, 0, idx, b, "prod", include_self=include_self)  # noqa: E731
    assert mt.gradcheck(fn, [x, s]) and mt.gradgradcheck(fn, [x, s])


def test_scatter_reduce_prod_double_backward_with_two_zeros_refuses_as_torch():
    x = mt.tensor([1.0, 2.0], dtype=mt.float64, requires_grad=True)
    s = mt.tensor([0.0, 0.0], dtype=mt.float64, requires_grad=True)
    out = mt.scatter_reduce(x, 0, mt.tensor([0, 0]), s, "prod")
    (gx, gs) = mt.grad(out.sum(), [x, s], retain_graph=True)
    assert gs.tolist() == [0.0, 0.0] and gx.tolist() == [0.0, 1.0]
    with pytest.raises(RuntimeError, match="Double backward"):
        mt.grad(out.sum(), [x, s], create_graph=True)


def test_scatter_with_reduce_as_torch(device):
    torch = pytest.importorskip("torch")
    idx = [[0, 1], [0, 0]]
    for reduce, src in (("add", 2.0), ("multiply", 3.0), ("add", "tensor"), ("multiply", "tensor")):
        ours = mt.ones(3, 2, device=device) * 2
        theirs = torch.ones(3, 2) * 2
        if src == "tensor":
            vals = rng.standard_normal((2, 2)).astype(np.float32)
            with pytest.warns(UserWarning, match="deprecated"):
                ours.scatter_(0, mt.tensor(idx, device=device), mt.tensor(vals, device=device), reduce=reduce)
            with warnings.catch_warnings():   # torch warns once a process: not asserted on its side
                warnings.simplefilter("ignore", UserWarning)
                theirs.scatter_(0, torch.tensor(idx), torch.tensor(vals), reduce=reduce)
        else:
            ours.scatter_(0, mt.tensor(idx, device=device), src, reduce=reduce)
            theirs.scatter_(0, torch.tensor(idx), src, reduce=reduce)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert mt.tensor([1, 2, 3]).scatter(0, mt.tensor([0, 0]), 5, reduce="multiply").tolist() == [25, 2, 3]
    with pytest.raises(mt.errors.ArgumentError, match="add or multiply"):
        mt.zeros(3).scatter_(0, mt.tensor([0]), 1.0, reduce="mean")


def test_the_device_product_agrees_with_numpys(device):
    # many repeats onto few targets: the sort-and-scan product of the fake device (a GPU's path)
    x = rng.standard_normal((4, 3))
    src = rng.uniform(0.5, 1.5, (40, 3)) * np.where(rng.random((40, 3)) < 0.5, -1, 1)
    idx = rng.integers(0, 4, (40, 3))
    host = mt.scatter_reduce(mt.tensor(x), 0, mt.tensor(idx), mt.tensor(src), "prod")
    here = mt.scatter_reduce(mt.tensor(x, device=device), 0, mt.tensor(idx, device=device),
                             mt.tensor(src, device=device), "prod")
    np.testing.assert_allclose(here.numpy(), host.numpy(), rtol=1e-13)
