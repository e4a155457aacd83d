"""Fixes from a differential fuzz of the reductions, sorts and scans against torch 2.13 (40 ops x 8
shapes with empty and 0-d ones x 6 dtypes x every dim and keepdim): a 0-d bool's flip, sort, msort,
roll, mode and aminmax kept their dtype (``x * 1`` made them int64) and their torch node names;
roll of a 0-d tensor along a dim is torch's IndexError; any/all of uint8 give uint8, as torch
documents; diff's order n is a non-negative int; chunk and split of an empty dim give torch's empty
pieces. Each asserted without torch, and against torch
where it is installed."""
import numpy as np
import pytest

import minitf as mt

ZERO_D = {   # name -> f(lib, x) of a 0-d x: the kernel is the identity there
    "flip": lambda m, x: m.flip(x, (0,)),
    "sort": lambda m, x: x.sort().values,
    "msort": lambda m, x: m.msort(x),
    "roll": lambda m, x: x.roll(1),
    "mode": lambda m, x: x.mode().values,
    "aminmax(dim)": lambda m, x: m.aminmax(x, dim=0).min,
    "nanmedian(dim)": lambda m, x: x.nanmedian(0).values,
    "kthvalue": lambda m, x: x.kthvalue(1).values,
}
NAMES = {"flip": "FlipBackward0", "sort": "SortBackward0", "msort": "SortBackward0", "roll": "RollBackward0",
         "mode": "ModeBackward0", "aminmax(dim)": "AminmaxBackward0", "nanmedian(dim)": "NanmedianBackward1",
         "kthvalue": "KthvalueBackward0"}


@pytest.mark.parametrize("name", sorted(ZERO_D))
def test_a_0d_tensor_keeps_its_dtype_and_torch_node_name(name, device):
    f = ZERO_D[name]
    if name not in ("kthvalue", "nanmedian(dim)"):   # (torch refuses bool there, and so does minitf)
        for dtype in (mt.bool, mt.uint8, mt.int32):
            y = f(mt, mt.tensor(1, dtype=dtype, device=device))
            assert y.dtype == dtype and y.shape == () and y.item() == 1
    x = mt.tensor(2.5, dtype=mt.float64, device=device, requires_grad=True)
    y = f(mt, x)
    assert y.grad_fn.name() == NAMES[name] and y.item() == 2.5
    y.backward(mt.tensor(3.0, dtype=mt.float64, device=device))
    assert x.grad.item() == 3.0


@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_0d_names_and_dtypes_against_torch():
    torch = pytest.importorskip("torch")
    for name, f in ZERO_D.items():
        for lib in (mt, torch):
            x = lib.tensor(2.5, dtype=lib.float64, requires_grad=True)
            assert f(lib, x).grad_fn.name() == NAMES[name], (lib.__name__, name)
        if name not in ("kthvalue", "nanmedian(dim)"):
            assert str(f(mt, mt.tensor(True)).dtype) == str(f(torch, torch.tensor(True)).dtype).split(".")[1]


def test_roll_of_a_0d_tensor_along_a_dim_is_refused_as_torch():
    x = mt.tensor(2.0)
    with pytest.raises(IndexError, match="no dimensions"):
        x.roll(1, 0)
    assert x.roll(3).item() == 2.0
    torch = pytest.importorskip("torch")
    with pytest.raises(IndexError):
        torch.tensor(2.0).roll(1, 0)


@pytest.mark.parametrize("name", ["any", "all"])
def test_any_all_of_uint8_are_uint8(name, device):
    a = np.array([[0, 3, 1], [1, 1, 2]], dtype=np.uint8)
    x = mt.tensor(a, device=device)
    f = getattr(np, name)
    for dim, keepdim in ((None, False), (0, False), (1, True), ((0, 1), False)):
        y = getattr(x, name)() if dim is None else getattr(mt, name)(x, dim, keepdim)
        want = f(a != 0) if dim is None else f(a != 0, axis=dim, keepdims=keepdim)
        assert y.dtype == mt.uint8 and y.shape == np.shape(want)
        np.testing.assert_array_equal(mt.backend.to_numpy(y.data), want.astype(np.uint8))
    assert getattr(x, name)(dim=()).dtype == mt.uint8             # (reducing nothing: 0/1 per element)
    assert getattr(x.to(mt.int32), name)().dtype == mt.bool       # every other dtype: bool


def test_any_all_dtypes_against_torch():
    torch = pytest.importorskip("torch")
    for dtype in ("uint8", "int8", "int64", "float32", "bool"):
        for name in ("any", "all"):
            ours = getattr(mt.tensor([[0, 1], [1, 1]], dtype=getattr(mt, dtype)), name)(1)
            theirs = getattr(torch.tensor([[0, 1], [1, 1]], dtype=getattr(torch, dtype)), name)(1)
            assert str(ours.dtype) == str(theirs.dtype).split(".")[1] and ours.tolist() == theirs.tolist()


def test_diff_order_is_a_non_negative_int():
    x = mt.tensor([1.0, 4.0, 9.0, 16.0])
    with pytest.raises(RuntimeError, match="non-negative"):    # torch: RuntimeError too
        x.diff(-1)
    for n in (2.0, True):
        with pytest.raises(TypeError, match="must be int"):
            x.diff(n)
    assert x.diff(2).tolist() == [2.0, 2.0] and x.diff(0) is x


def test_aminmax_nodes_are_named_as_torch(device):
    y = mt.tensor([[2.0, 1.0], [3.0, 3.0]], dtype=mt.float64, device=device, requires_grad=True)
    for r in (mt.aminmax(y), mt.aminmax(y, dim=1), mt.aminmax(y, dim=0, keepdim=True)):
        assert r.min.grad_fn.name() == r.max.grad_fn.name() == "AminmaxBackward0"
    r = mt.aminmax(y)
    (r.min + 2 * r.max).backward()   # tied maxima share the gradient, as torch's amax
    np.testing.assert_array_equal(mt.backend.to_numpy(y.grad.data), [[0.0, 1.0], [1.0, 1.0]])


def test_chunk_and_split_of_an_empty_dim_as_torch(device):
    # (a second fuzz, of 80 shape and elementwise ops: these gave no piece at all)
    x = mt.zeros(2, 0, device=device)
    assert [p.shape for p in x.chunk(3, 1)] == [(2, 0)] * 3          # torch: ``chunks`` empty pieces
    assert [p.shape for p in x.split(2, 1)] == [(2, 0)]              # and split(int): one
    assert [p.shape for p in mt.zeros(5, device=device).chunk(3)] == [(2,), (2,), (1,)]
    w = mt.zeros(0, requires_grad=True, device=device)
    assert [p.grad_fn.name() for p in w.chunk(2)] == ["SplitWithSizesBackward0"] * 2
    assert w.split(1)[0].grad_fn.name() == "SplitBackward0"
