"""reshape, permute/transpose, getitem, concatenate, stack, split, where, masked_fill:
NumPy references, float64 gradchecks over hypothesis shapes and indices, both devices."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minitf as mt
from minitf import functional as F
from minitf.backend import to_numpy

from .conftest import check_op, device_tensor, floats, shapes


@st.composite
def reshape_targets(draw, shape):
    """A new shape with the same size: the dims shuffled, some 1s inserted, maybe one -1."""
    dims = list(draw(st.permutations(shape)))
    for _ in range(draw(st.integers(0, 2))):
        dims.insert(draw(st.integers(0, len(dims))), 1)
    if dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


@settings(max_examples=20)
@given(data=st.data(), shape=shapes())
def test_reshape(device, data, shape):
    target = data.draw(reshape_targets(shape))
    a = data.draw(floats(shape))
    check_op(lambda t: F.reshape(t, target), lambda a: np.reshape(a, target), [a], device)
    check_op(lambda t: t.reshape(*target), lambda a: np.reshape(a, target), [a], device)


@settings(max_examples=20)
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=4, max_side=3))
def test_permute_and_transpose(device, data, shape):
    ndim = len(shape)
    axes = tuple(data.draw(st.permutations(range(ndim))))
    d0, d1 = data.draw(st.integers(-ndim, ndim - 1)), data.draw(st.integers(-ndim, ndim - 1))
    a = data.draw(floats(shape))
    check_op(lambda t: F.permute(t, axes), lambda a: np.transpose(a, axes), [a], device)
    check_op(lambda t: F.transpose(t, d0, d1), lambda a: np.swapaxes(a, d0, d1), [a], device)
    check_op(lambda t: t.T, lambda a: a.T, [a], device)


@settings(max_examples=25)
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3))
def test_getitem_basic(device, data, shape):
    # ints (negative too), slices with positive steps (a negative one is refused, as torch:
    # tests/test_tensor_torch_warnings.py), Ellipsis and None
    index = _positive_steps(data.draw(hnp.basic_indices(shape, allow_newaxis=True)))
    a = data.draw(floats(shape))
    check_op(lambda t: t[index], lambda a: np.asarray(a[index]), [a], device)


def _positive_steps(index):
    def fix(it):
        return slice(it.start, it.stop, -it.step) if isinstance(it, slice) and it.step is not None and it.step < 0 else it
    return tuple(fix(it) for it in index) if isinstance(index, tuple) else fix(index)


@settings(max_examples=25)
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3))
def test_getitem_integer_arrays(device, data, shape):
    # one integer array per dimension, broadcast against each other; repeats are common
    index = data.draw(hnp.integer_array_indices(shape, result_shape=shapes(min_dims=1, max_dims=2)))
    a = data.draw(floats(shape))
    dev_index = tuple(mt.tensor(i, device=device) for i in index)
    check_op(lambda t: t[dev_index], lambda a: a[index], [a], device)
    if device == "cpu":  # host ndarrays and lists index CPU tensors too
        check_op(lambda t: t[index], lambda a: a[index], [a], device)


@settings(max_examples=15)
@given(data=st.data(), rows=st.integers(1, 4), cols=st.integers(1, 4))
def test_getitem_slice_with_integer_array(device, data, rows, cols):
    idx = np.asarray(data.draw(st.lists(st.integers(-cols, cols - 1), min_size=1, max_size=6)))
    a = data.draw(floats((rows, cols)))
    check_op(lambda t: t[1:, mt.tensor(idx, device=device)], lambda a: a[1:, idx], [a], device)
    check_op(lambda t: t[mt.tensor(idx % rows, device=device), ::2], lambda a: a[idx % rows, ::2], [a], device)


def test_getitem_repeated_indices_accumulate(device):
    x = device_tensor(np.arange(4.0), device)
    idx = mt.tensor([1, 1, 3, 1], device=device)
    x[idx].backward(device_tensor(np.array([1.0, 10.0, 100.0, 1000.0]), device, requires_grad=False))
    assert to_numpy(x.grad.data).tolist() == [0.0, 1011.0, 0.0, 100.0]


@settings(max_examples=20)
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3), n=st.integers(1, 3))
def test_concatenate(device, data, shape, n):
    ndim = len(shape)
    axis = data.draw(st.integers(-ndim, ndim - 1))
    arrays = []
    for _ in range(n):
        s = list(shape)
        s[axis] = data.draw(st.integers(1, 3))
        arrays.append(data.draw(floats(tuple(s))))
    check_op(lambda *ts: F.concatenate(ts, axis=axis), lambda *a: np.concatenate(a, axis=axis), arrays, device)
    check_op(lambda *ts: F.cat(list(ts), axis), lambda *a: np.concatenate(a, axis=axis), arrays, device)


@settings(max_examples=20)
@given(data=st.data(), shape=shapes(min_dims=0, max_dims=3), n=st.integers(1, 3))
def test_stack(device, data, shape, n):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays = [data.draw(floats(shape)) for _ in range(n)]
    check_op(lambda *ts: F.stack(ts, axis=axis), lambda *a: np.stack(a, axis=axis), arrays, device)


@settings(max_examples=20)
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3, max_side=5), by_size=st.booleans())
def test_split(device, data, shape, by_size):
    ndim = len(shape)
    axis = data.draw(st.integers(-ndim, ndim - 1))
    n = shape[axis]
    if by_size:
        size = data.draw(st.integers(1, n + 1))
        spec, cuts = size, list(range(size, n, size))
    else:
        cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
        spec = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    a = data.draw(floats(shape))
    pieces = F.split(device_tensor(a, device), spec, axis=axis)
    expected = np.split(a, cuts, axis=axis)
    assert len(pieces) == len(expected)
    for p, e in zip(pieces, expected):
        np.testing.assert_array_equal(p.numpy(), e)
    # all pieces at once: gradients from every chunk land in the right place
    assert mt.gradcheck(lambda t: tuple(F.split(t, spec, axis=axis)), [device_tensor(a, device)])


@settings(max_examples=20)
@given(data=st.data(),
       shapes3=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3))
def test_where(device, data, shapes3):
    sc, sa, sb = shapes3.input_shapes
    cond = data.draw(hnp.arrays(np.bool_, sc))
    a, b = data.draw(floats(sa)), data.draw(floats(sb))
    c = mt.tensor(cond, device=device)
    check_op(lambda x, y: F.where(c, x, y), lambda x, y: np.where(cond, x, y), [a, b], device)
    check_op(lambda x: F.where(c, x, 0.5), lambda x: np.where(cond, x, 0.5), [a], device)


@settings(max_examples=20)
@given(data=st.data(),
       shapes2=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       value=st.floats(-100, 100, allow_nan=False, width=64))
def test_masked_fill(device, data, shapes2, value):
    sx, sm = shapes2.input_shapes
    if np.broadcast_shapes(sx, sm) != sx:  # the mask may not grow x
        sm = sx
    mask = data.draw(hnp.arrays(np.bool_, sm))
    a = data.draw(floats(sx))
    m = mt.tensor(mask, device=device)
    check_op(lambda x: F.masked_fill(x, m, value), lambda x: np.where(mask, value, x), [a], device)
    check_op(lambda x: x.masked_fill(m, value), lambda x: np.where(mask, value, x), [a], device)


def test_where_gradient_goes_to_the_chosen_branch(device):
    a = device_tensor(np.array([1.0, 2.0, 3.0]), device)
    b = device_tensor(np.array([10.0, 20.0, 30.0]), device)
    cond = mt.tensor([True, False, True], device=device)
    F.where(cond, a, b).backward(device_tensor(np.array([1.0, 2.0, 3.0]), device, requires_grad=False))
    assert to_numpy(a.grad.data).tolist() == [1.0, 0.0, 3.0]
    assert to_numpy(b.grad.data).tolist() == [0.0, 2.0, 0.0]


@pytest.mark.parametrize("device_to", ["cpu", "fake"])
def test_to_device_is_differentiable(device, device_to):
    a = np.array([[0.5, -1.0], [2.0, 0.25]])
    t = device_tensor(a, device)
    out = t.to(device_to)
    assert out.device == device_to
    np.testing.assert_array_equal(out.numpy(), a)
    assert mt.gradcheck(lambda t: t.to(device_to) * t.to(device_to), [t])


@pytest.mark.parametrize("src, dst", [("float32", "float64"), ("float64", "float32"), ("float64", "float16")])
def test_astype_casts_the_gradient_back(device, src, dst):
    x = mt.tensor([0.5, -1.25, 3.0], dtype=src, device=device, requires_grad=True)
    y = x.to(dtype=dst)
    assert y.dtype == np.dtype(dst) and y.device == device
    np.testing.assert_array_equal(y.numpy(), np.array([0.5, -1.25, 3.0], dtype=dst))
    (y * mt.tensor([2.0, 3.0, -4.0], dtype=dst, device=device)).sum().backward()
    assert x.grad.dtype == np.dtype(src)  # the gradient comes back in the input's dtype
    np.testing.assert_array_equal(to_numpy(x.grad.data), [2.0, 3.0, -4.0])
