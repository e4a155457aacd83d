"""Regressions from fuzzing the round-1 math ops and mt.linalg against torch 2.13: each test
failed before its fix (searchsorted, bucketize, in-place ops on empty tensors, the fused
products' dtype rules, scatter(reduce=) with a number, sinc's slope, matrix_power of ints)."""
import numpy as np
import pytest

import minitf as mt
from minitf import fakedevice
from minitf.errors import ArgumentError, DtypeError, DtypeNotImplemented

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("seq_shape,val_shape", [((2, 0, 3), (2, 0, 4)), ((0, 2, 0), (0, 2, 4)),
                                                 ((2, 3, 0), (2, 3, 2)), ((2, 3), (2, 0)), ((3, 4), (3, 5))])
def test_searchsorted_batched_shapes_as_torch(device, seq_shape, val_shape):
    rng = np.random.default_rng(0)
    seq = np.sort(rng.integers(-3, 4, seq_shape), -1).astype(np.float64)
    val = rng.integers(-4, 5, val_shape).astype(np.float64)
    for side in ("left", "right"):
        ours = mt.searchsorted(mt.tensor(seq, device=device), mt.tensor(val, device=device), side=side)
        theirs = torch.searchsorted(torch.tensor(seq), torch.tensor(val), side=side)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == mt.int64
        assert ours.tolist() == theirs.tolist()


@pytest.mark.parametrize("rows", [[[1.0, 2.0, np.nan], [0.0, np.nan, np.nan]], [[np.nan, np.nan, np.nan]] * 2,
                                  [[-np.inf, 0.0, np.inf], [1.0, 1.0, 1.0]]])
def test_searchsorted_and_bucketize_with_nan_as_torch(device, rows):
    """NaNs sort last; torch's binary search puts a value above the rest (or a NaN) at the end."""
    vals = [[-1.0, 0.0, 1.0, 1.5, 2.0, 3.0, np.nan, np.inf]] * 2
    for right in (False, True):
        ours = mt.searchsorted(mt.tensor(rows, device=device), mt.tensor(vals, device=device), right=right)
        assert ours.tolist() == torch.searchsorted(torch.tensor(rows), torch.tensor(vals), right=right).tolist()
        ours = mt.searchsorted(mt.tensor(rows[0], device=device), mt.tensor(vals[0], device=device), right=right)
        assert ours.tolist() == torch.searchsorted(torch.tensor(rows[0]), torch.tensor(vals[0]), right=right).tolist()
        ours = mt.bucketize(mt.tensor(vals, device=device), mt.tensor(rows[0], device=device), right=right)
        assert ours.tolist() == torch.bucketize(torch.tensor(vals), torch.tensor(rows[0]), right=right).tolist()


def test_searchsorted_makes_as_many_device_ops_for_1_row_as_for_64():
    """No Python loop over rows: the fake device's op count does not grow with the batch."""
    def count(rows):
        seq = mt.tensor(np.sort(np.random.default_rng(1).standard_normal((rows, 7)), -1), device="fake")
        val = mt.tensor(np.random.default_rng(2).standard_normal((rows, 5)), device="fake")
        start = fakedevice.ops[0]
        mt.searchsorted(seq, val)
        return fakedevice.ops[0] - start
    assert count(64) == count(2)


def test_inplace_op_on_an_empty_clone_is_not_an_expanded_view(device):
    """NumPy gives empty arrays zero strides; an empty tensor has nothing to alias (torch writes)."""
    x = mt.zeros((4, 3, 0), device=device).clone()
    index = mt.zeros((2, 2, 0), dtype=mt.int64, device=device)
    with pytest.warns(UserWarning, match="reduce argument of scatter with Tensor src is deprecated"):   # deprecated, as torch's
        out = x.scatter_(0, index, mt.zeros((2, 2, 0), device=device), reduce="add")
    assert out.shape == (4, 3, 0)
    assert x.add_(1).shape == (4, 3, 0)


@pytest.mark.parametrize("name,shapes", [("addmm", [(2, 2), (2, 2), (2, 2)]), ("addmv", [(2,), (2, 2), (2,)]),
                                         ("baddbmm", [(1, 2, 2), (1, 2, 2), (1, 2, 2)]),
                                         ("addbmm", [(2, 2), (1, 2, 2), (1, 2, 2)])])
def test_blas_products_refuse_bool_as_torch(name, shapes):
    args = [mt.ones(s, dtype=mt.bool) for s in shapes]
    with pytest.raises(NotImplementedError):
        getattr(torch, name)(*[torch.ones(s, dtype=torch.bool) for s in shapes])
    with pytest.raises(DtypeNotImplemented, match="bool"):
        getattr(mt, name)(*args)


def test_addr_refuses_a_float_scale_for_integer_tensors_as_torch():
    i, v = mt.ones((2, 2), dtype=mt.int64), mt.ones(2, dtype=mt.int64)
    for kw in ({"alpha": 0.5}, {"beta": 2.0}):
        with pytest.raises(RuntimeError, match="must not be a floating point"):
            torch.addr(torch.ones(2, 2, dtype=torch.long), torch.ones(2, dtype=torch.long),
                       torch.ones(2, dtype=torch.long), **kw)
        with pytest.raises(ArgumentError, match="must not be a floating point"):
            mt.addr(i, v, v, **kw)
    assert mt.addr(i, v, v, alpha=2, beta=3).tolist() == [[5, 5], [5, 5]]
    b = mt.ones(2, dtype=mt.bool)
    assert mt.addr(mt.zeros((2, 2), dtype=mt.bool), b, b).tolist() == [[True, True], [True, True]]
    # addmm casts a float scale for integers instead (torch's kernel does)
    assert mt.addmm(i, i, i, alpha=0.5).tolist() == torch.addmm(*[torch.ones(2, 2, dtype=torch.long)] * 3,
                                                                alpha=0.5).tolist()


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_reduce_with_a_float_number_into_an_int_tensor_casts_it_as_torch(device, reduce):
    x = np.array([1, 2, 3])
    index = np.array([0, 0, 2])
    ours = mt.scatter(mt.tensor(x, device=device), 0, mt.tensor(index, device=device), 2.7, reduce=reduce)
    theirs = torch.scatter(torch.tensor(x), 0, torch.tensor(index), 2.7, reduce=reduce)
    assert ours.dtype == mt.int64 and ours.tolist() == theirs.tolist()


def test_sinc_slope_where_pi_x_squared_underflows_is_zero_as_torch(device):
    """It was 0/0 = NaN for |x| below ~1e-23 in float32."""
    v = np.array([1e-30, -1e-30, 1e-25, 1e-20, 0.0, 0.3], dtype=np.float32)
    x = mt.tensor(v, requires_grad=True, device=device)
    mt.sinc(x).sum().backward()
    t = torch.tensor(v, requires_grad=True)
    torch.sinc(t).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7)
    x = mt.tensor(v.astype(np.float64), requires_grad=True, device=device)
    (g,) = mt.autograd.grad(mt.sinc(x).sum(), x, create_graph=True)   # the graph form too
    assert np.isfinite(g.numpy()).all()
    mt.gradcheck(mt.sinc, (mt.tensor([1e-170, 0.3, -1.7], dtype="float64", requires_grad=True, device=device),))


def test_matrix_power_of_integer_matrices_as_torch(device):
    a = np.array([[[1, 2], [3, 4]], [[0, 1], [-1, 0]]])
    for n in (0, 1, 2, 5):
        ours = mt.linalg.matrix_power(mt.tensor(a, device=device), n)
        theirs = torch.linalg.matrix_power(torch.tensor(a), n)
        assert ours.dtype == mt.int64 and ours.tolist() == theirs.tolist()
    with pytest.raises(DtypeError, match="floating point"):   # a negative power inverts: floats only
        mt.linalg.matrix_power(mt.tensor(a, device=device), -1)
    b = mt.tensor(a != 0, device=device)
    assert mt.linalg.matrix_power(b, 0).tolist() == torch.linalg.matrix_power(torch.tensor(a != 0), 0).tolist()
    assert mt.linalg.matrix_power(b, 1).tolist() == (a != 0).tolist()
    with pytest.raises(DtypeNotImplemented):
        mt.linalg.matrix_power(b, 2)


@pytest.mark.parametrize("eps", [None, 0.0, 0.1])
def test_logit_gradient_outside_its_domain_as_torch(device, eps):
    """NaN outside [0, 1] without eps (the value is NaN there); 0 outside [eps, 1 - eps] with it."""
    v = np.array([np.nan, 0.0, -0.0, 1.0, 0.05, 0.5, -1.0, 2.0, 0.1, 0.9])
    cot = np.arange(v.size, dtype=np.float64)
    x = mt.tensor(v, requires_grad=True, device=device)
    (mt.special.logit(x, eps=eps) * mt.tensor(cot, device=device)).sum().backward()
    # torch's gradient one element at a time: its scalar kernel. Its vectorised kernel differs at
    # -0 (-inf, not +inf) and at NaN with eps (0, not NaN) on AVX2 CPUs but not on AVX-512 ones, so
    # a whole-tensor comparison depends on the machine torch runs on.
    expected = []
    for vi, ci in zip(v, cot):
        t = torch.tensor([vi], requires_grad=True)
        (torch.special.logit(t, eps=eps) * ci).sum().backward()
        expected.append(t.grad.item())
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(mt.logit(mt.tensor(v), eps).numpy(), torch.logit(torch.tensor(v), eps).numpy(), rtol=1e-12)
    inside = mt.tensor([0.2, 0.7, 0.95], dtype="float64", requires_grad=True, device=device)
    mt.gradgradcheck(lambda a: mt.logit(a, eps=eps), (inside,))


@pytest.mark.parametrize("value", [1.5, np.inf, -np.inf, np.nan])
def test_logcumsumexp_of_a_0d_tensor_passes_the_gradient_through_as_torch(device, value):
    x = mt.tensor(value, requires_grad=True, device=device)
    (mt.logcumsumexp(x, 0) * 3.0).backward()
    t = torch.tensor(value, requires_grad=True)
    (torch.logcumsumexp(t, 0) * 3.0).backward()
    assert x.grad.item() == t.grad.item() == 3.0
    (g,) = mt.autograd.grad(mt.logcumsumexp(x, 0) * 3.0, x, create_graph=True)
    assert g.item() == 3.0


@pytest.mark.parametrize("bins", [1, 2, 3, 4, 7, 100])
def test_histc_of_one_huge_value_as_torch(device, bins):
    """v - 1 == v + 1 in the dtype: the value goes to the centre bin, as torch's (was a crash)."""
    for dtype, v in (("float64", [1e30, 1e30]), ("float64", [3e20]), ("float32", [1e30])):
        ours = mt.histc(mt.tensor(v, dtype=dtype, device=device), bins=bins)
        theirs = torch.histc(torch.tensor(v, dtype=getattr(torch, dtype)), bins=bins)
        assert ours.tolist() == theirs.tolist()


def test_pdist_builds_its_pair_indices_on_the_device():
    """No host -> device copy of the pair indices, and no read of their range, per call."""
    x = mt.tensor(np.random.default_rng(0).standard_normal((5, 3)), device="fake", requires_grad=True)
    with fakedevice.count_host_transfers() as n:
        d = mt.pdist(x)
        d.sum().backward()
    assert n == {"to_host": 0, "to_device": 0}
    np.testing.assert_allclose(d.numpy(), torch.pdist(torch.tensor(x.numpy())).numpy(), rtol=1e-12)
