"""as_strided, as_strided_, as_strided_scatter, storage_offset, resize_, data_ptr, empty_strided
(the tensor gaps group): values and gradients against torch 2.13, errors, the fake device."""
import numpy as np
import pytest

import minitf as mt
from minitf.errors import ArgumentError, ShapeError

from .torch_compare import compare_with_torch

# (size, stride, offset) over a 12-element storage: overlapping windows, stride 0, empty, 0-d
GEOMETRIES = [((3, 3), (1, 2), 1), ((2, 3), (1, 1), None), ((4,), (0,), 2), ((0, 5), (7, 9), 11),
              ((), (), 5), ((2, 2, 2), (6, 1, 3), 0), ((1,), (1,), 11)]


@pytest.mark.parametrize("size,stride,offset", GEOMETRIES)
def test_as_strided_values_and_gradients_match_torch(size, stride, offset):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal(12)
    compare_with_torch(lambda x: mt.as_strided(x, size, stride, offset),
                       lambda x: torch.as_strided(x, size, stride, offset), [a])


@pytest.mark.parametrize("view", ["slice", "transpose", "expand"])
def test_as_strided_of_a_view_uses_its_storage_as_torch(view):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).standard_normal(12)
    make = {"slice": lambda x: x[2:], "transpose": lambda x: x.reshape(3, 4).t()[1:],
            "expand": lambda x: x[:3].expand(2, 3)}[view]
    for offset in (None, 1):
        y = compare_with_torch(lambda x: make(x).as_strided((2, 2), (1, 3), offset),
                               lambda x: make(x).as_strided((2, 2), (1, 3), offset), [a])
        assert y.storage_offset() == (1 if offset == 1 else {"slice": 2, "transpose": 1, "expand": 0}[view])
    xt = make(torch.tensor(a))
    assert make(mt.tensor(a)).storage_offset() == xt.storage_offset()
    assert make(mt.tensor(a)).stride() == xt.stride()


def test_as_strided_shares_memory_and_gradchecks(device):
    x = mt.arange(12.0, device=device)
    v = x.as_strided((2, 2), (4, 1), 1)
    x[1] = 100.0   # written through the storage: the view sees it
    assert v.tolist() == [[100.0, 2.0], [5.0, 6.0]]
    t = mt.tensor(np.random.default_rng(2).standard_normal(9), dtype="float64", device=device, requires_grad=True)
    assert mt.gradcheck(lambda u: u.as_strided((3, 3), (1, 2), 1), (t,))
    assert mt.gradgradcheck(lambda u: u.as_strided((3, 3), (1, 2), 1) ** 2, (t,))
    e = mt.tensor([1.0, 2.0, 3.0], dtype="float64", device=device, requires_grad=True)
    assert mt.gradcheck(lambda u: u.expand(2, 3).as_strided((2, 2), (1, 1)), (e,))


def test_as_strided_refuses_what_torch_refuses():
    x = mt.arange(12.0)
    with pytest.raises(ShapeError, match="requiring a storage size of 52 are out of bounds for storage of size 48"):
        x.as_strided((3, 5), (4, 1))
    with pytest.raises(ShapeError, match="out of bounds"):
        x[2:].as_strided((2,), (1,), 11)
    with pytest.raises(ArgumentError, match="Negative strides"):
        x.as_strided((3,), (-1,), 5)
    with pytest.raises(ArgumentError, match="invalid storage offset -1"):
        x.as_strided((2,), (1,), -1)
    with pytest.raises(ShapeError, match="mismatch in length"):
        x.as_strided((2, 3), (1,))
    with pytest.raises(TypeError):
        x.as_strided((2.5,), (1,))
    assert x.as_strided((0, 5), (100, 100), 100).shape == (0, 5)   # nothing reached: allowed, as torch


def test_as_strided_in_place_and_scatter_match_torch():
    torch = pytest.importorskip("torch")
    z, zt = mt.arange(6.0), torch.arange(6.0)
    assert z.as_strided_((2, 2), (1, 2), 1) is z
    zt.as_strided_((2, 2), (1, 2), 1)
    assert z.tolist() == zt.tolist() and z.stride() == zt.stride() and z.storage_offset() == 1
    with pytest.raises(RuntimeError, match="leaf Variable"):
        mt.zeros(4, requires_grad=True).as_strided_((2,), (1,))
    a = np.random.default_rng(3).standard_normal(12)
    s = np.random.default_rng(4).standard_normal((2, 2))
    # torch 2.13's gradient of as_strided_scatter's input is g AT the written places, where it should
    # be g everywhere else, and src's reads g as if x were contiguous with offset 0 (torch's own
    # gradcheck fails on both): values are compared everywhere, src's gradient where torch's is
    # right (x contiguous from its storage's start), and every gradient is gradchecked
    for k, make in enumerate((lambda x: x, lambda x: x.reshape(3, 4).t(), lambda x: x[2:])):
        for offset in (None, 0, 3):
            ours = mt.as_strided_scatter(make(mt.tensor(a)), mt.tensor(s), (2, 2), (1, 3), offset)
            theirs = torch.as_strided_scatter(make(torch.tensor(a)), torch.tensor(s), (2, 2), (1, 3), offset)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
            if k == 0 or (k == 2 and offset is None):
                compare_with_torch(lambda x, y: mt.as_strided_scatter(make(x), y, (2, 2), (1, 3), offset),
                                   lambda x, y: torch.as_strided_scatter(make(x), y, (2, 2), (1, 3), offset), [a, s],
                                   grad=[1])
            t = mt.tensor(a, requires_grad=True)
            assert mt.gradcheck(lambda x, y: mt.as_strided_scatter(make(x), y, (2, 2), (1, 3), offset),
                                (t, mt.tensor(s, requires_grad=True)))
    with pytest.raises(ShapeError, match="src to have a size equal to the slice"):
        mt.as_strided_scatter(mt.zeros(4), mt.zeros(3), (2,), (1,))
    with pytest.raises(ArgumentError, match="overlaps itself"):
        mt.as_strided_scatter(mt.zeros(4), mt.zeros(2, 2), (2, 2), (1, 1))


def test_as_strided_in_a_graph_and_scatter_gradcheck(device):
    t = mt.tensor(np.random.default_rng(5).standard_normal(8), dtype="float64", device=device, requires_grad=True)
    src = mt.tensor(np.random.default_rng(6).standard_normal(3), dtype="float64", device=device, requires_grad=True)
    assert mt.gradcheck(lambda u, v: mt.as_strided_scatter(u, v, (3,), (2,), 1), (t, src))
    m = mt.tensor(np.random.default_rng(7).standard_normal(12), dtype="float64", device=device, requires_grad=True)
    s2 = mt.tensor(np.random.default_rng(8).standard_normal((2, 2)), dtype="float64", device=device,
                   requires_grad=True)
    assert mt.gradgradcheck(lambda u, v: mt.as_strided_scatter(u.reshape(3, 4).t(), v, (2, 2), (1, 3), 2) ** 2,
                            (m, s2))
    y = t * 2
    y.as_strided_((2, 2), (1, 1), 1)   # recorded: places 1, 2, 2, 3 of y, so of t (times 2)
    y.sum().backward()
    assert t.grad.tolist() == [0.0, 2.0, 4.0, 2.0, 0.0, 0.0, 0.0, 0.0]


def test_resize_as_torch():
    torch = pytest.importorskip("torch")
    for start, sizes in [((6,), (2, 3)), ((6,), (4,)), ((4,), (2, 3)), ((2, 3), (6,)), ((2, 3), (3, 2))]:
        x, xt = mt.arange(float(np.prod(start))).reshape(start), torch.arange(float(np.prod(start))).reshape(start)
        if len(start) == 2:
            x, xt = x.t(), xt.t()   # non-contiguous: resize_ lays the storage out, not the elements
        assert x.resize_(*sizes) is x
        xt.resize_(*sizes)
        assert x.shape == tuple(xt.shape) and x.stride() == xt.stride()
        n = min(int(np.prod(start)), int(np.prod(sizes)))
        assert x.reshape(-1)[:n].tolist() == xt.reshape(-1)[:n].tolist()
    y = mt.zeros(3)
    assert y.resize_as_(mt.zeros(2, 2)).shape == (2, 2) and mt.resize_as_(y, mt.zeros(5)).shape == (5,)
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        mt.zeros(4, requires_grad=True).resize_(2)
    with pytest.raises(ShapeError, match="negative dimension"):
        mt.zeros(4).resize_(-1)


def test_resize_on_the_device_and_storage_helpers(device):
    x = mt.arange(4.0, device=device)
    x.resize_(2, 3)
    assert x.device == device and x.shape == (2, 3) and x.reshape(-1)[:4].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert x[1:].storage_offset() == 3
    assert x[1:].data_ptr() - x.data_ptr() == 3 * 4
    s = mt.empty_strided((2, 3), (1, 2), device=device)
    assert s.stride() == (1, 2) and s.shape == (2, 3)


def test_empty_strided_honours_the_strides_as_torch():
    torch = pytest.importorskip("torch")
    for size, stride in [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((0, 4), (4, 1)), ((3,), (0,))]:
        assert mt.empty_strided(size, stride).stride() == torch.empty_strided(size, stride).stride()
