"""torch's shape and index helpers (minitf.ops.split_stack, .rearrange, .strided, .embed): values
and gradients against torch 2.13 on a grid of cases (empty and size-1 dims, negative dims,
non-contiguous inputs, broadcasting, dtype promotion, int inputs), gradcheck in float64 on
every device, and torch's errors."""
import numpy as np
import pytest

import minitf as mt
from minitf.errors import ArgumentError, DimError, DtypeError, IndexRangeError, ShapeError

from .conftest import ATOL, RTOL

R = np.random.default_rng(0)


def A(*shape):
    return R.standard_normal(shape)


def I(*vals):
    return np.array(vals, dtype=np.int64)


def _tensors(arrays, device, torch):
    xs = [mt.tensor(a, dtype="float64" if a.dtype.kind == "f" else None, device=device,
                    requires_grad=a.dtype.kind == "f") for a in arrays]
    ts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays] if torch else None
    return xs, ts


def _outs(o):
    return list(o) if isinstance(o, (tuple, list)) else [o]


def compare(fn, tfn, arrays, device, grad=True):
    """fn(*tensors) against tfn(*torch tensors): shapes, dtypes' kinds, values, then the gradients
    of <c, out> for random cotangents c, then gradcheck (float64) of fn."""
    torch = pytest.importorskip("torch")
    xs, ts = _tensors(arrays, device, torch)
    ours, theirs = _outs(fn(*xs)), _outs(tfn(*ts))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert o.device == device
        assert o.shape == tuple(t.shape), (o.shape, tuple(t.shape))
        np.testing.assert_array_equal(o.detach().numpy(), t.detach().numpy())
    floats = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"]
    if not grad or not floats or not any(t.requires_grad for t in theirs):
        return   # (torch's combinations(x, 0) is a constant empty tensor)
    cs = [R.standard_normal(t.shape) for t in theirs]
    loss = sum((o * mt.tensor(c, dtype="float64", device=device)).sum() for o, c in zip(ours, cs))
    tloss = sum((t * torch.tensor(c)).sum() for t, c in zip(theirs, cs))
    loss.backward()
    tloss.backward()
    for k in floats:
        np.testing.assert_allclose(xs[k].grad.numpy(), ts[k].grad.numpy(), rtol=1e-12, atol=1e-12)
    fresh = [mt.tensor(a, dtype="float64" if a.dtype.kind == "f" else None, device=device,
                       requires_grad=a.dtype.kind == "f") for a in arrays]
    assert mt.gradcheck(fn, fresh, rtol=RTOL, atol=ATOL)


# name -> (minitf fn, torch fn name or fn, host arrays)
def _T(name, *args, **kw):
    return lambda torch: (lambda *ts: getattr(torch, name)(*ts, *args, **kw))


CASES = {
    "rot90_k1": (lambda x: mt.rot90(x), _T("rot90"), [A(2, 3, 4)]),
    "rot90_k2_dims12": (lambda x: mt.rot90(x, 2, (1, 2)), _T("rot90", 2, (1, 2)), [A(2, 3, 4)]),
    "rot90_k3_negdims": (lambda x: mt.rot90(x, 3, (-1, 0)), _T("rot90", 3, (-1, 0)), [A(2, 3, 4)]),
    "rot90_k-1": (lambda x: mt.rot90(x, -1, (1, 0)), _T("rot90", -1, (1, 0)), [A(3, 2)]),
    "rot90_k4": (lambda x: x.rot90(4), lambda torch: lambda t: t.rot90(4), [A(3, 2)]),
    "rot90_empty": (lambda x: mt.rot90(x), _T("rot90"), [A(0, 3)]),
    "fliplr": (mt.fliplr, _T("fliplr"), [A(2, 3, 2)]),
    "flipud": (lambda x: x.flipud(), _T("flipud"), [A(3)]),
    "unflatten": (lambda x: mt.unflatten(x, 1, (3, 1)), _T("unflatten", 1, (3, 1)), [A(2, 3, 4)]),
    "unflatten_neg": (lambda x: x.unflatten(-1, (2, -1)), _T("unflatten", -1, (2, -1)), [A(2, 3, 4)]),
    "ravel_noncontig": (lambda x: mt.ravel(x.transpose(0, 2)),
                        lambda torch: lambda t: torch.ravel(t.transpose(0, 2)), [A(2, 3, 4)]),
    "ravel_0d": (mt.ravel, _T("ravel"), [np.array(1.5)]),
    "narrow_copy": (lambda x: mt.narrow_copy(x, -1, 1, 2), _T("narrow_copy", -1, 1, 2), [A(2, 3, 4)]),
    "take": (lambda x, i: mt.take(x, i), _T("take"), [A(2, 3), I([0, -1], [5, 0])]),
    "take_repeated_method": (lambda x, i: x.take(i), _T("take"), [A(4), I(1, 1, 3, -4)]),
    "take_empty": (lambda x, i: mt.take(x, i), _T("take"), [A(2, 3), np.zeros((0,), np.int64)]),
    "take_along_dim": (lambda x, i: mt.take_along_dim(x, i, 1), _T("take_along_dim", dim=1),
                       [A(2, 3, 4), I([[0], [2]], [[1], [1]])]),
    "take_along_dim_broadcast": (lambda x, i: mt.take_along_dim(x, i, -1), _T("take_along_dim", dim=-1),
                                 [A(2, 1, 4), I([[[0, 3]], [[1, 1]]]).reshape(1, 2, 2) * 0 + I(0, 3)]),
    "take_along_dim_none": (lambda x, i: x.take_along_dim(i), lambda torch: lambda t, i: t.take_along_dim(i),
                            [A(2, 3), I([1, 5], [0, 0])]),
    "tensor_split_int": (lambda x: mt.tensor_split(x, 3, 1), _T("tensor_split", 3, 1), [A(2, 7)]),
    "tensor_split_more_than_size": (lambda x: mt.tensor_split(x, 5), _T("tensor_split", 5), [A(3, 2)]),
    "tensor_split_indices": (lambda x: x.tensor_split([1, 5, 2, 9], -1),
                             lambda torch: lambda t: t.tensor_split([1, 5, 2, 9], -1), [A(2, 7)]),
    "tensor_split_negative_index": (lambda x: mt.tensor_split(x, [-2]), _T("tensor_split", [-2]), [A(7)]),
    "hsplit_1d": (lambda x: mt.hsplit(x, 3), _T("hsplit", 3), [A(6)]),
    "hsplit_2d_indices": (lambda x: x.hsplit([1, 3]), lambda torch: lambda t: t.hsplit([1, 3]), [A(2, 5)]),
    "vsplit": (lambda x: mt.vsplit(x, 2), _T("vsplit", 2), [A(4, 3)]),
    "dsplit": (lambda x: x.dsplit([1]), lambda torch: lambda t: t.dsplit([1]), [A(2, 2, 4)]),
    "dstack": (lambda a, b: mt.dstack([a, b]), lambda torch: lambda a, b: torch.dstack([a, b]), [A(3), A(3)]),
    "dstack_2d": (lambda a, b: mt.dstack([a, b]), lambda torch: lambda a, b: torch.dstack([a, b]),
                  [A(2, 3), A(2, 3)]),
    "column_stack": (lambda a, b, c: mt.column_stack([a, b, c]),
                     lambda torch: lambda a, b, c: torch.column_stack([a, b, c]), [A(3), A(3, 2), A(3)]),
    "column_stack_0d": (lambda a, b: mt.column_stack([a, b]), lambda torch: lambda a, b: torch.column_stack([a, b]),
                        [np.array(1.0), np.array(2.0)]),
    "row_stack": (lambda a, b: mt.row_stack([a, b]), lambda torch: lambda a, b: torch.row_stack([a, b]),
                  [A(3), A(2, 3)]),
    "atleast_1d": (mt.atleast_1d, _T("atleast_1d"), [np.array(3.0)]),
    "atleast_2d_many": (lambda a, b: mt.atleast_2d(a, b), _T("atleast_2d"), [A(3), np.array(1.0)]),
    "atleast_3d_2d": (mt.atleast_3d, _T("atleast_3d"), [A(2, 3)]),
    "atleast_3d_1d_list": (lambda a, b: mt.atleast_3d([a, b]), lambda torch: lambda a, b: torch.atleast_3d([a, b]),
                           [A(3), A(1, 2, 3, 4)]),
    "block_diag": (lambda a, b, c, d: mt.block_diag(a, b, c, d), _T("block_diag"),
                   [A(2, 3), np.array(2.0), A(3), A(0, 2)]),
    "block_diag_promotes_int": (lambda a, b: mt.block_diag(a, b), _T("block_diag"), [I(1, 2), A(1, 1)]),
    "cartesian_prod": (lambda a, b, c: mt.cartesian_prod(a, b, c), _T("cartesian_prod"), [A(3), A(2), A(1)]),
    "cartesian_prod_one": (mt.cartesian_prod, _T("cartesian_prod"), [A(3)]),
    "combinations": (mt.combinations, _T("combinations"), [A(4)]),
    "combinations_r3_repl": (lambda x: mt.combinations(x, 3, with_replacement=True),
                             _T("combinations", 3, with_replacement=True), [A(3)]),
    "combinations_r_too_big": (lambda x: mt.combinations(x, 5), _T("combinations", 5), [A(4)]),
    "combinations_r0": (lambda x: mt.combinations(x, 0), _T("combinations", 0), [A(4)]),
    "unfold": (lambda x: x.unfold(2, 2, 1), lambda torch: lambda t: t.unfold(2, 2, 1), [A(2, 3, 4)]),
    "unfold_step_gt_size": (lambda x: x.unfold(0, 2, 3), lambda torch: lambda t: t.unfold(0, 2, 3), [A(8, 2)]),
    "unfold_negdim_noncontig": (lambda x: x.transpose(0, 1).unfold(-2, 3, 2),
                                lambda torch: lambda t: t.transpose(0, 1).unfold(-2, 3, 2), [A(7, 3)]),
    "unfold_size0": (lambda x: x.unfold(1, 0, 1), lambda torch: lambda t: t.unfold(1, 0, 1), [A(2, 3)]),
    "unfold_0d": (lambda x: x.unfold(0, 1, 1), lambda torch: lambda t: t.unfold(0, 1, 1), [np.array(2.0)]),
    "select_scatter": (lambda x, s: mt.select_scatter(x, s, 1, -1), _T("select_scatter", 1, -1), [A(2, 3, 4), A(2, 4)]),
    "slice_scatter": (lambda x, s: x.slice_scatter(s, 1, None, None, 2),
                      lambda torch: lambda t, s: t.slice_scatter(s, 1, None, None, 2), [A(2, 3, 4), A(2, 2, 4)]),
    "slice_scatter_clamped": (lambda x, s: mt.slice_scatter(x, s, -1, -5, 10), _T("slice_scatter", -1, -5, 10),
                              [A(2, 3), A(2, 3)]),
    "slice_scatter_empty": (lambda x, s: mt.slice_scatter(x, s, 1, 2, 1), _T("slice_scatter", 1, 2, 1),
                            [A(2, 3), A(2, 0)]),
    "diagonal_scatter": (lambda x, s: mt.diagonal_scatter(x, s, 1), _T("diagonal_scatter", 1), [A(3, 3), A(2)]),
    "diagonal_scatter_dims": (lambda x, s: x.diagonal_scatter(s, -1, 2, 0),
                              lambda torch: lambda t, s: t.diagonal_scatter(s, -1, 2, 0), [A(3, 2, 4), A(2, 3)]),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_matches_torch_values_and_gradients(case, device):
    fn, tfn, arrays = CASES[case]
    torch = pytest.importorskip("torch")
    compare(fn, tfn(torch), arrays, device)


def test_int_inputs_keep_their_dtype(device):
    torch = pytest.importorskip("torch")
    x = np.arange(12).reshape(3, 4)
    for fn, tfn in [(lambda t: mt.rot90(t), torch.rot90), (mt.fliplr, torch.fliplr),
                    (lambda t: t.unfold(1, 2, 2), lambda t: t.unfold(1, 2, 2)),
                    (lambda t: mt.tensor_split(t, 2)[1], lambda t: torch.tensor_split(t, 2)[1]),
                    (lambda t: mt.combinations(t.reshape(-1)[:4]), lambda t: torch.combinations(t.reshape(-1)[:4]))]:
        ours, theirs = fn(mt.tensor(x, device=device)), tfn(torch.tensor(x))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    b = x % 3 == 0
    for k in (0, 4):   # a copy in bool, not a bool times 1
        ours, theirs = mt.rot90(mt.tensor(b, device=device), k), torch.rot90(torch.tensor(b), k)
        assert ours.dtype == np.bool_ and theirs.dtype == torch.bool
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_unfold_is_a_view_and_overlapping_gradients_add_up(device):
    x = mt.arange(6.0, device=device)
    w = x.unfold(0, 3, 1)
    assert w._base is x
    x.data[0] = 10.0   # a change of the base is seen through the view (shared memory)
    assert float(w[0, 0].item()) == 10.0
    y = mt.tensor(np.arange(6.0), dtype="float64", device=device, requires_grad=True)
    y.unfold(0, 3, 1).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [1, 2, 3, 3, 2, 1])   # each element in that many windows


@pytest.mark.parametrize("fn", [lambda x: x.unfold(1, 2, 1), lambda x: mt.rot90(x, 1, (1, 0)),
                                lambda x: mt.select_scatter(x, x[:, 0] * 2, 1, 1),
                                lambda x: mt.slice_scatter(x, x[:, 1:] ** 2, 1, 1),
                                lambda x: mt.take_along_dim(x, mt.tensor([[0, 0, 1]], device=x.device), 1)])
def test_gradgradcheck(fn, device):
    x = mt.tensor(A(2, 3), dtype="float64", device=device, requires_grad=True)
    assert mt.gradgradcheck(lambda t: fn(t) * t.sum(), [x], rtol=RTOL, atol=ATOL)


def _err(torch_call, ours_call, cls):
    """Both libraries refuse: torch with its class (RuntimeError, IndexError), minitf with ``cls``,
    which derives from torch's."""
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as te:
        torch_call(torch)
    with pytest.raises(cls) as oe:
        ours_call()
    assert isinstance(oe.value, type(te.value)), (type(oe.value), type(te.value))
    return str(te.value).split("\n")[0], str(oe.value)


X = np.ones((2, 3, 4))
ERRORS = {
    "rot90_three_dims": (lambda t: t.rot90(t.ones(2, 3, 4), 1, [0, 1, 2]), lambda: mt.rot90(mt.ones(2, 3, 4), 1, [0, 1, 2]),
                         ArgumentError),
    "rot90_1d": (lambda t: t.rot90(t.ones(3)), lambda: mt.rot90(mt.ones(3)), ShapeError),
    "rot90_same_dims": (lambda t: t.rot90(t.ones(2, 3), 1, [1, 1]), lambda: mt.rot90(mt.ones(2, 3), 1, [1, 1]),
                        ArgumentError),
    "rot90_dim_range": (lambda t: t.rot90(t.ones(2, 3), 1, [0, 5]), lambda: mt.rot90(mt.ones(2, 3), 1, [0, 5]), DimError),
    "take_int32": (lambda t: t.take(t.ones(3), t.tensor([0], dtype=t.int32)),
                   lambda: mt.take(mt.ones(3), mt.tensor([0], dtype="int32")), DtypeError),
    "take_range": (lambda t: t.take(t.ones(3), t.tensor([3])), lambda: mt.take(mt.ones(3), mt.tensor([3])),
                   IndexRangeError),
    "take_along_dim_int32": (lambda t: t.take_along_dim(t.ones(3), t.tensor([0], dtype=t.int32), 0),
                             lambda: mt.take_along_dim(mt.ones(3), mt.tensor([0], dtype="int32"), 0), DtypeError),
    "take_along_dim_broadcast": (lambda t: t.take_along_dim(t.ones(2, 3, 4), t.zeros(5, 1, 1, dtype=t.long), 2),
                                 lambda: mt.take_along_dim(mt.ones(2, 3, 4), mt.zeros(5, 1, 1, dtype="int64"), 2),
                                 ShapeError),
    "tensor_split_zero": (lambda t: t.tensor_split(t.ones(3), 0), lambda: mt.tensor_split(mt.ones(3), 0), ArgumentError),
    "tensor_split_0d": (lambda t: t.tensor_split(t.tensor(1.0), 2), lambda: mt.tensor_split(mt.tensor(1.0), 2),
                        ShapeError),
    "hsplit_indivisible": (lambda t: t.hsplit(t.ones(2, 6), 4), lambda: mt.hsplit(mt.ones(2, 6), 4), ArgumentError),
    "vsplit_1d": (lambda t: t.vsplit(t.ones(6), 3), lambda: mt.vsplit(mt.ones(6), 3), ShapeError),
    "dsplit_2d": (lambda t: t.dsplit(t.ones(6, 2), 2), lambda: mt.dsplit(mt.ones(6, 2), 2), ShapeError),
    "block_diag_3d": (lambda t: t.block_diag(t.ones(2, 2, 2)), lambda: mt.block_diag(mt.ones(2, 2, 2)), ShapeError),
    "cartesian_prod_2d": (lambda t: t.cartesian_prod(t.ones(3, 2)), lambda: mt.cartesian_prod(mt.ones(3, 2)), ShapeError),
    "combinations_negative": (lambda t: t.combinations(t.ones(3), -1), lambda: mt.combinations(mt.ones(3), -1),
                              ArgumentError),
    "unflatten_sizes": (lambda t: t.ones(2, 3).unflatten(1, (2, 2)), lambda: mt.ones(2, 3).unflatten(1, (2, 2)),
                        ShapeError),
    "unflatten_empty": (lambda t: t.ones(2, 3).unflatten(1, ()), lambda: mt.ones(2, 3).unflatten(1, ()), ArgumentError),
    "fliplr_1d": (lambda t: t.fliplr(t.ones(3)), lambda: mt.fliplr(mt.ones(3)), ShapeError),
    "flipud_0d": (lambda t: t.flipud(t.tensor(1.0)), lambda: mt.flipud(mt.tensor(1.0)), ShapeError),
    "unfold_size": (lambda t: t.ones(2, 4).unfold(1, 5, 1), lambda: mt.ones(2, 4).unfold(1, 5, 1), ShapeError),
    "unfold_step": (lambda t: t.ones(2, 4).unfold(1, 2, 0), lambda: mt.ones(2, 4).unfold(1, 2, 0), ArgumentError),
    "select_scatter_shape": (lambda t: t.select_scatter(t.ones(2, 3, 4), t.ones(2, 3), 1, 0),
                             lambda: mt.select_scatter(mt.ones(2, 3, 4), mt.ones(2, 3), 1, 0), ShapeError),
    "select_scatter_index": (lambda t: t.select_scatter(t.ones(2, 3, 4), t.ones(2, 4), 1, -4),
                             lambda: mt.select_scatter(mt.ones(2, 3, 4), mt.ones(2, 4), 1, -4), IndexError),
    "slice_scatter_step": (lambda t: t.slice_scatter(t.ones(2, 3), t.ones(2, 3), 1, step=0),
                           lambda: mt.slice_scatter(mt.ones(2, 3), mt.ones(2, 3), 1, step=0), ArgumentError),
    "diagonal_scatter_shape": (lambda t: t.diagonal_scatter(t.zeros(3, 3), t.ones(3), 1),
                               lambda: mt.diagonal_scatter(mt.zeros(3, 3), mt.ones(3), 1), ShapeError),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_errors_as_torch(case):
    torch_call, ours_call, cls = ERRORS[case]
    _err(torch_call, ours_call, cls)


def test_scatters_cast_src_to_input_dtype_and_refuse_other_devices():
    out = mt.select_scatter(mt.zeros(2, 3), mt.ones(3, dtype="float64"), 0, 0)
    assert out.dtype == np.float32
    with pytest.raises(mt.DeviceError):
        mt.slice_scatter(mt.zeros(2, 3), mt.ones(2, 3, device="fake"))
