"""index_reduce, masked_scatter, put, bit shifts, gcd_/lcm_/renorm_, nonzero_static, the random
fills, the complex parts of real tensors, new, apply_/map_/map2_ (the tensor gaps group),
against torch 2.13."""
import numpy as np
import pytest

import minitf as mt
from minitf.errors import DtypeError, DtypeNotImplemented, IndexRangeError, ShapeError

from .torch_compare import compare_with_torch

pytestmark = pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta")   # torch's own warning


def _t(a):
    return mt.tensor(np.asarray(a))


# ------------------------------------------------------------------ index_reduce

@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim,index", [(0, [0, 0, 2]), (-1, [1, 1, 0, 3]), (1, [])])
def test_index_reduce_matches_torch(reduce, include_self, dim, index):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    shape = list(x.shape)
    shape[dim] = len(index)
    src = rng.standard_normal(shape)
    if reduce in ("amax", "amin") and src.size and index[0] == 0:
        src[0, 0] = x[0, 0]   # one tie with x's value: its gradient is shared as torch shares it
    idx = np.asarray(index, dtype=np.int64)
    compare_with_torch(lambda a, s: a.index_reduce(dim, mt.tensor(idx), s, reduce, include_self=include_self),
                       lambda a, s: a.index_reduce(dim, torch.tensor(idx), s, reduce, include_self=include_self),
                       [x, src])


def test_index_reduce_ints_in_place_errors_and_device(device):
    torch = pytest.importorskip("torch")
    x = np.arange(6).reshape(2, 3)
    ours = _t(x).index_reduce(0, _t([0, 0]), _t(np.full((2, 3), 2)), "mean")
    theirs = torch.tensor(x).index_reduce(0, torch.tensor([0, 0]), torch.full((2, 3), 2), "mean")
    assert ours.tolist() == theirs.tolist() and ours.dtype == mt.int64
    y = mt.ones(2, 3, device=device)
    assert y.index_reduce_(0, mt.tensor([1], device=device), mt.full((1, 3), 5.0, device=device), "amax") is y
    assert y.tolist() == [[1.0] * 3, [5.0] * 3]
    with pytest.raises(ValueError, match="prod, mean, amax or amin but got sum"):
        y.index_reduce(0, mt.tensor([0]), mt.ones(1, 3), "sum")
    with pytest.raises(IndexError):
        mt.ones(2, 3).index_reduce(0, mt.tensor([0, 5]), mt.ones(2, 3), "prod")
    with pytest.raises(DtypeError, match="same scalar type"):
        mt.ones(2, 3).index_reduce(0, mt.tensor([0]), mt.ones(1, 3, dtype=mt.float64), "prod")
    with pytest.raises(ShapeError, match="source tensor shape must match"):
        mt.ones(2, 3).index_reduce(0, mt.tensor([0]), mt.ones(1, 2), "prod")
    with pytest.raises(IndexRangeError, match="supposed to be a vector"):
        mt.ones(2, 3).index_reduce(0, mt.tensor([[0]]), mt.ones(1, 3), "prod")
    t = mt.tensor(np.random.default_rng(1).standard_normal((3, 2)), dtype="float64", device=device,
                  requires_grad=True)
    s = mt.tensor(np.random.default_rng(2).standard_normal((2, 2)) + 3, dtype="float64", device=device,
                  requires_grad=True)
    assert mt.gradcheck(lambda a, b: mt.index_reduce(a, 0, mt.tensor([2, 0], device=device), b, "prod"), (t, s))


# ------------------------------------------------------------------ masked_scatter, put

@pytest.mark.parametrize("xshape,mshape", [((2, 3), (2, 3)), ((2, 3), (3,)), ((3,), (2, 1)), ((0, 3), (3,)),
                                           ((), ())])
def test_masked_scatter_matches_torch(xshape, mshape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    mask = rng.random(mshape) < 0.5
    x, src = rng.standard_normal(xshape), rng.standard_normal((2, 5))
    compare_with_torch(lambda a, s: a.masked_scatter(mt.tensor(mask), s),
                       lambda a, s: a.masked_scatter(torch.tensor(mask), s), [x, src])


def test_masked_scatter_in_place_gradients_and_errors(device):
    m = mt.tensor([[True, False, True], [False, True, False]], device=device)
    xs = mt.tensor(np.random.default_rng(4).standard_normal((2, 3)), dtype="float64", device=device,
                   requires_grad=True)
    ss = mt.tensor(np.random.default_rng(5).standard_normal(5), dtype="float64", device=device, requires_grad=True)
    assert mt.gradcheck(lambda a, b: a.masked_scatter(m, b), (xs, ss))
    assert mt.gradgradcheck(lambda a, b: a.masked_scatter(m, b) ** 2, (xs, ss))
    y = mt.zeros(2, 3, device=device)
    assert y.masked_scatter_(mt.tensor([True, False, True], device=device), mt.arange(4.0, device=device)) is y
    assert y.tolist() == [[0.0, 0.0, 1.0], [2.0, 0.0, 3.0]]
    with pytest.raises(ShapeError, match="must broadcast to the tensor's shape"):
        mt.zeros(3).masked_scatter_(mt.tensor([[True], [False]]), mt.arange(10.0))
    with pytest.raises(ShapeError, match="Number of elements of source < number of ones in mask"):
        mt.zeros(3).masked_scatter(mt.tensor([True, True, False]), mt.zeros(1))
    with pytest.raises(DtypeError, match="only supports boolean masks"):
        mt.zeros(3).masked_scatter(mt.tensor([1, 0, 1], dtype=mt.uint8), mt.zeros(3))
    with pytest.raises(DtypeError, match="same dtypes"):
        mt.zeros(3).masked_scatter(mt.tensor([True, False, True]), mt.arange(3))


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("index", [[0, -1, 2], [[0, 0], [4, 5]], [], 3])
def test_put_matches_torch(accumulate, index):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    idx = np.asarray(index, dtype=np.int64)
    if not accumulate and idx.size != np.unique(idx % 6).size:
        idx = idx.reshape(-1)[:1].reshape(idx.shape[:0] + (1,) * (idx.ndim > 0))   # (which repeat wins is unspecified)
    x, src = rng.standard_normal((2, 3)), rng.standard_normal(idx.shape)
    compare_with_torch(lambda a, s: a.put(mt.tensor(idx), s, accumulate),
                       lambda a, s: a.put(torch.tensor(idx), s, accumulate), [x, src])


def test_put_in_place_and_errors(device):
    y = mt.zeros(2, 2, device=device)
    assert y.put_(mt.tensor([3, 3], device=device), mt.tensor([1.0, 2.0], device=device), accumulate=True) is y
    assert y.tolist() == [[0.0, 0.0], [0.0, 3.0]]
    with pytest.raises(IndexRangeError, match="tried to access index 6 on a tensor of 6 elements"):
        mt.zeros(2, 3).put(mt.tensor([0, 6]), mt.zeros(2))
    with pytest.raises(IndexRangeError, match="same number of elements"):
        mt.zeros(2, 3).put(mt.tensor([0, 1]), mt.zeros(3))
    with pytest.raises(DtypeError, match="Expected a long tensor for index"):
        mt.zeros(2, 3).put(mt.tensor([0, 1], dtype=mt.int32), mt.zeros(2))
    with pytest.raises(DtypeError, match="same dtype"):
        mt.zeros(2, 3).put(mt.tensor([0, 1]), mt.tensor([1, 2]))


# ------------------------------------------------------------------ shifts, gcd_, lcm_, renorm_

SHIFT_CASES = [("int32", [5, -8, 3, -1, 7], "int64", [-1, -1, 31, 32, 70]), ("int8", [1, -2, 100], None, 7),
               ("uint8", [200, 3, 1], "uint8", [7, 8, 9]), ("int64", [1, 2], None, -1), ("int16", [3], "int64", [[1], [15]])]


@pytest.mark.parametrize("dt,a,bdt,b", SHIFT_CASES)
@pytest.mark.parametrize("op", ["bitwise_left_shift", "bitwise_right_shift"])
def test_shifts_match_torch_including_out_of_range_counts(dt, a, bdt, b, op):
    torch = pytest.importorskip("torch")
    ta = torch.tensor(a, dtype=getattr(torch, dt))
    tb = b if bdt is None else torch.tensor(b, dtype=getattr(torch, bdt))
    ma = mt.tensor(a, dtype=dt)
    mb = b if bdt is None else mt.tensor(b, dtype=bdt)
    ours, theirs = getattr(mt, op)(ma, mb), getattr(torch, op)(ta, tb)
    assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    sym = "<<" if "left" in op else ">>"
    assert eval(f"ma {sym} mb").tolist() == theirs.tolist()


def test_shift_operators_in_place_and_errors(device):
    x = mt.tensor([1, 2, 3], device=device)
    assert (1 << x).tolist() == [2, 4, 8] and (16 >> x).tolist() == [8, 4, 2]
    y = x
    x <<= 1
    assert x is y and x.tolist() == [2, 4, 6]
    x >>= mt.tensor([1, 1, 2], device=device)
    assert x.tolist() == [1, 2, 1]
    with pytest.raises(DtypeNotImplemented):
        mt.tensor([1.5]) << 1
    with pytest.raises(DtypeNotImplemented):
        mt.tensor([True]) << mt.tensor([True])
    u = mt.tensor([1, 2], dtype=mt.uint8)
    u.bitwise_left_shift_(mt.tensor([1, 2]))   # int64 result cast back into uint8, as torch
    assert u.tolist() == [2, 8] and u.dtype == mt.uint8
    g = mt.tensor([4, 6], device=device)
    assert g.gcd_(mt.tensor([6, 4], device=device)) is g and g.tolist() == [2, 2]
    assert mt.lcm_(mt.tensor([4, 6]), mt.tensor([6, 4])).tolist() == [12, 12]


def test_renorm_in_place_matches_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(7).standard_normal((3, 4))
    x, t = mt.tensor(a), torch.tensor(a)
    assert x.renorm_(2, 0, 1.0) is x
    np.testing.assert_allclose(x.numpy(), t.renorm_(2, 0, 1.0).numpy(), rtol=1e-12)


def test_nonzero_static_matches_torch(device):
    torch = pytest.importorskip("torch")
    for a, size, fill in [([[0, 1], [1, 1]], 5, -1), ([0, 1, 1], 1, 9), ([0, 0], 2, 0), ([[0.0, 2.0]], 0, -1)]:
        ours = mt.nonzero_static(mt.tensor(a, device=device), size=size, fill_value=fill)
        theirs = torch.nonzero_static(torch.tensor(a), size=size, fill_value=fill)
        assert ours.tolist() == theirs.tolist() and ours.shape == tuple(theirs.shape) and ours.dtype == mt.int64
    with pytest.raises(ValueError, match="non-negative integer"):
        mt.nonzero_static(mt.tensor([1]), size=-1)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "prod", "amax"])
@pytest.mark.parametrize("initial", [None, 0.5])
@pytest.mark.parametrize("shape,how", [((5, 3), "lengths"), ((5, 3), "offsets"), ((5,), "lengths"),
                                       ((5, 2, 2), "offsets")])
def test_segment_reduce_matches_torch(reduce, initial, shape, how):
    torch = pytest.importorskip("torch")
    axis = 0   # (torch's axis is the last dim of lengths: 0 for 1-D lengths)
    data = np.random.default_rng(8).standard_normal(shape)
    if reduce in ("max", "min", "amax") and len(shape) == 1:
        # a tie inside a segment: its gradient is shared, as torch's for 1-D data (for 2-D data
        # torch 2.13 gives each tied element the whole gradient, not matched: a tie there is avoided)
        data[1] = data[0]
    counts = np.array([2, 0, 3])
    seg = counts if how == "lengths" else np.concatenate([[0], np.cumsum(counts)])
    kw = {how: seg}
    compare_with_torch(
        lambda d: mt.segment_reduce(d, reduce, **{k: mt.tensor(v) for k, v in kw.items()}, axis=axis, initial=initial),
        lambda d: torch.segment_reduce(d, reduce, **{k: torch.tensor(v) for k, v in kw.items()}, axis=axis,
                                       initial=initial), [data])


def test_segment_reduce_errors_and_device(device):
    d = mt.arange(5.0, device=device)
    assert mt.segment_reduce(d, "sum", lengths=mt.tensor([2, 3], device=device)).tolist() == [1.0, 9.0]
    with pytest.raises(ShapeError, match="sum to data.size"):
        mt.segment_reduce(mt.arange(5.0), "sum", lengths=mt.tensor([2, 2]))
    with pytest.raises(ValueError, match="negative"):
        mt.segment_reduce(mt.arange(5.0), "sum", lengths=mt.tensor([2, -1, 4]))
    with pytest.raises(ValueError, match="reduce argument"):
        mt.segment_reduce(mt.arange(5.0), "any", lengths=mt.tensor([5]))
    with pytest.raises(DtypeNotImplemented):
        mt.segment_reduce(mt.arange(5), "sum", lengths=mt.tensor([5]))
    with pytest.raises(ValueError, match="axis to be the last dimension of lengths"):
        mt.segment_reduce(mt.zeros(2, 5), "sum", lengths=mt.tensor([5]), axis=1)
    t = mt.tensor(np.random.default_rng(9).standard_normal(5), dtype="float64", device=device, requires_grad=True)
    assert mt.gradcheck(lambda u: mt.segment_reduce(u, "mean", lengths=mt.tensor([2, 0, 3], device=device),
                                                    initial=1.0), (t,))


# ------------------------------------------------------------------ random fills

def test_random_fills_have_their_distributions(device):
    mt.manual_seed(0)
    n = 20000
    c = mt.zeros(n, device=device).cauchy_(1.0, 2.0)
    q = np.quantile(c.numpy(), [0.25, 0.5, 0.75])   # Cauchy quartiles: median -/+ sigma
    np.testing.assert_allclose(q, [-1.0, 1.0, 3.0], atol=0.15)
    ln = mt.zeros(n, dtype=mt.float64, device=device).log_normal_(0.5, 0.25)
    logs = np.log(ln.numpy())
    assert abs(logs.mean() - 0.5) < 0.01 and abs(logs.std() - 0.25) < 0.01
    g = mt.zeros(n, dtype=mt.int64, device=device).geometric_(0.25)
    gv = g.numpy()
    assert gv.min() >= 1 and abs(gv.mean() - 4.0) < 0.1 and abs((gv == 1).mean() - 0.25) < 0.015
    gen = mt.Generator().manual_seed(3)
    a = mt.zeros(5).cauchy_(generator=gen).tolist()
    assert a == mt.zeros(5).cauchy_(generator=mt.Generator().manual_seed(3)).tolist()


def test_random_fills_errors_as_torch():
    with pytest.raises(RuntimeError, match=r"geometric_ expects p to be in \(0, 1\), but got p=1"):
        mt.zeros(3).geometric_(1.0)
    with pytest.raises(RuntimeError, match="cauchy_ expects sigma > 0.0"):
        mt.zeros(3).cauchy_(0, -1)
    with pytest.raises(RuntimeError, match="log_normal_ expects std > 0.0"):
        mt.zeros(3).log_normal_(1, 0)
    with pytest.raises(DtypeError, match="floating point"):
        mt.zeros(3, dtype=mt.int64).cauchy_()
    with pytest.raises(RuntimeError, match="leaf Variable"):
        mt.zeros(3, requires_grad=True).log_normal_()
    x = mt.zeros(3, requires_grad=True)
    y = x * 1
    y.cauchy_()   # in a graph: recorded as a constant, so x's gradient is 0, as torch's
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


# ------------------------------------------------------------------ real tensors as complex ones

def test_complex_parts_of_real_tensors_match_torch(device):
    torch = pytest.importorskip("torch")
    x = mt.tensor([-1.0, 0.0, -0.0, 2.0, float("nan"), -float("inf")], device=device)
    xt = torch.tensor([-1.0, 0.0, -0.0, 2.0, float("nan"), -float("inf")])
    np.testing.assert_array_equal(mt.angle(x).numpy(), torch.angle(xt).numpy())
    for ints in ([-2, 0, 3], [True, False]):
        ours, theirs = mt.angle(mt.tensor(ints)), torch.angle(torch.tensor(ints))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())
        assert ours.dtype == mt.float32 and theirs.dtype == torch.float32
    assert x.real is x and mt.real(x) is x and x.conj() is x and mt.conj_physical(x) is x and x.conj_physical_() is x
    with pytest.raises(DtypeError, match="imag is not implemented for tensors with non-complex dtypes"):
        x.imag
    with pytest.raises(DtypeError, match="view_as_real is only supported for complex tensors"):
        mt.view_as_real(x)
    with pytest.raises(RuntimeError, match="last dimension of size 2"):   # (complex tensors: tests/test_complex.py)
        mt.view_as_complex(mt.zeros(3))
    t = mt.tensor([-1.5, 2.0, 0.5], dtype="float64", device=device, requires_grad=True)
    assert mt.gradcheck(mt.angle, (t,))
    mt.angle(t).sum().backward()
    assert t.grad.tolist() == [0.0, 0.0, 0.0]


# ------------------------------------------------------------------ new, apply_, map_, map2_

def test_new_as_torch(device):
    torch = pytest.importorskip("torch")
    x, xt = mt.zeros(2, dtype=mt.int32, device=device), torch.zeros(2, dtype=torch.int32)
    for args in [(), (2, 3), ([1.7, 2],), ((2, 3),), (mt.Size([2, 3]),)]:
        targs = tuple(torch.Size(a) if isinstance(a, mt.Size) else a for a in args)
        ours, theirs = x.new(*args), xt.new(*targs)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == mt.int32 and ours.device == device
        if args and isinstance(args[0], (list, tuple)) and not isinstance(args[0], mt.Size):
            assert ours.tolist() == theirs.tolist()
    same = mt.zeros(2, dtype=mt.int32, device=device)
    assert x.new(same) is same
    with pytest.raises(TypeError, match="dtype"):
        x.new(mt.zeros(2))


def test_apply_map_map2_as_torch():
    torch = pytest.importorskip("torch")
    a, t = mt.arange(3), torch.arange(3)
    assert a.apply_(lambda v: v * 2.7) is a
    t.apply_(lambda v: v * 2.7)
    assert a.tolist() == t.tolist()   # an int tensor keeps the results truncated
    b = mt.arange(3.0).map_(mt.tensor([1.0, 2.0, 3.0]), lambda u, v: u * v)
    assert b.tolist() == torch.arange(3.0).map_(torch.tensor([1.0, 2.0, 3.0]), lambda u, v: u * v).tolist()
    c = mt.zeros(2, 2).map2_(mt.ones(2), mt.arange(2.0), lambda u, v, w: u + v + w)
    assert c.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    with pytest.raises(RuntimeError, match="Can't call apply_"):
        mt.zeros(2, requires_grad=True).apply_(lambda v: v)
    with pytest.raises(mt.DeviceError, match="only implemented on CPU"):
        mt.zeros(2, device="fake").apply_(lambda v: v)


def test_index_put_and_put_leave_the_ops_index_put_function_bound():
    # a submodule minitf/ops/index_put.py, once imported (by Tensor.index_put), rebound
    # mt.ops.index_put, the function, to the module
    mt.zeros(3, 2).index_put((mt.tensor([0]),), mt.tensor(1.0), accumulate=True)
    mt.zeros(3).put(mt.tensor([0]), mt.tensor([1.0]), accumulate=True)
    mt.zeros(3).put_(mt.tensor([0]), mt.tensor([1.0]))
    assert callable(mt.ops.index_put)


def test_random_fills_take_0d_tensors_as_numbers_as_torch():
    # torch takes a 0-d tensor (float, int or bool) that needs no grad wherever a fill wants a number
    for fill, args in [("normal_", (0.5, 2.0)), ("uniform_", (-1.0, 3.0)), ("exponential_", (2.0,)),
                       ("cauchy_", (1.0, 0.5)), ("log_normal_", (0.0, 0.5)), ("geometric_", (0.3,))]:
        mt.manual_seed(5)
        with_numbers = getattr(mt.zeros(50, dtype=mt.float64), fill)(*args).numpy()
        mt.manual_seed(5)
        with_tensors = getattr(mt.zeros(50, dtype=mt.float64), fill)(*[mt.tensor(a) for a in args]).numpy()
        np.testing.assert_array_equal(with_numbers, with_tensors)
    with pytest.raises(TypeError, match="0-d tensor"):
        mt.zeros(3).cauchy_(mt.tensor([1.0]))
    with pytest.raises(TypeError, match="requires grad"):
        mt.zeros(3).normal_(mt.tensor(0.0, requires_grad=True))
